#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

// C calls whose names the platform layer's own types reuse (`FileDescriptor.read`, `Socket.listen`…), reached
// through the C module's name so those types do not shadow them (Glibc on Linux, Darwin on macOS).

@inline(__always) func systemRead(_ fd: Int32, _ buffer: UnsafeMutableRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.read(fd, buffer, count)
    #else
    Darwin.read(fd, buffer, count)
    #endif
}

@inline(__always) func systemWrite(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int) -> Int {
    #if canImport(Glibc)
    Glibc.write(fd, buffer, count)
    #else
    Darwin.write(fd, buffer, count)
    #endif
}

/// EBADF from `close` means the process lost track of a descriptor: the same double close, a moment later, would
/// have closed whatever reused the number (another client's connection). Debug builds, which the tests run, trap.
@inline(__always) func systemClose(_ fd: Int32) -> Int32 {
    #if canImport(Glibc)
    let result = Glibc.close(fd)
    #else
    let result = Darwin.close(fd)
    #endif
    assert(fd < 0 || result == 0 || errno != EBADF, "descriptor \(fd) closed twice")
    return result
}

@inline(__always) func systemListen(_ fd: Int32, _ backlog: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.listen(fd, backlog)
    #else
    Darwin.listen(fd, backlog)
    #endif
}

@inline(__always) func systemSend(_ fd: Int32, _ buffer: UnsafeRawPointer?, _ count: Int, _ flags: Int32) -> Int {
    #if canImport(Glibc)
    Glibc.send(fd, buffer, count, flags)
    #else
    Darwin.send(fd, buffer, count, flags)
    #endif
}

@inline(__always) func systemShutdown(_ fd: Int32, _ how: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.shutdown(fd, how)
    #else
    Darwin.shutdown(fd, how)
    #endif
}

@inline(__always) func systemPoll(_ fds: UnsafeMutablePointer<pollfd>, _ count: Int, _ timeout: Int32) -> Int32 {
    #if canImport(Glibc)
    Glibc.poll(fds, nfds_t(count), timeout)
    #else
    Darwin.poll(fds, nfds_t(count), timeout)
    #endif
}

@inline(__always) func systemConnect(_ fd: Int32, _ address: UnsafePointer<sockaddr>, _ length: socklen_t) -> Int32 {
    #if canImport(Glibc)
    Glibc.connect(fd, address, length)
    #else
    Darwin.connect(fd, address, length)
    #endif
}
