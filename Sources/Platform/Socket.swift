#if canImport(Glibc)
import CSystem
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Non-blocking TCP sockets: errno-aware wrappers over the calls the HTTP server makes.
package enum Socket {
    /// Creates a non-blocking listening socket bound to `host:port` (IPv4 or IPv6 literal, or `localhost`).
    package static func listen(
        host: String, port: Int, backlog: Int32 = 4096
    ) throws(SystemError) -> (
        fd: Int32, port: Int
    ) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw SystemError(call: "getaddrinfo(\(host))", code: status == EAI_SYSTEM ? errno : EINVAL)
        }
        defer { freeaddrinfo(result) }
        let fd = socket(info.pointee.ai_family, streamType | socketFlags, 0)
        guard fd >= 0 else { throw .last("socket") }
        configure(fd)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let failure = SystemError.last("bind(\(host):\(port))")
            close(fd)
            throw failure
        }
        guard systemListen(fd, backlog) == 0 else {
            let failure = SystemError.last("listen")
            close(fd)
            throw failure
        }
        return (fd, boundPort(fd))
    }

    package static func boundPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return portAndAddress(storage).port
    }

    package enum AcceptResult {
        case accepted(fd: Int32, remote: String)
        case nonePending
        /// EMFILE / ENFILE / ENOBUFS / ENOMEM: the connection stays queued until a descriptor is free.
        case outOfDescriptors
        /// The connection died in the queue (ECONNABORTED, EPROTO) or a signal interrupted: try the next.
        case transientFailure
        case failed
    }

    /// Accepts one pending connection, non-blocking, close-on-exec, with Nagle off.
    package static func accept(_ listener: Int32) -> AcceptResult {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { acceptConfigured(listener, $0, &length) }
        }
        guard fd >= 0 else {
            switch errno {
            case EAGAIN, EWOULDBLOCK: return .nonePending
            case EMFILE, ENFILE, ENOBUFS, ENOMEM: return .outOfDescriptors
            case EINTR, ECONNABORTED, EPROTO, EPERM: return .transientFailure
            default: return .failed
            }
        }
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let (port, address) = portAndAddress(storage)
        return .accepted(fd: fd, remote: "\(address):\(port)")
    }

    package enum IOResult {
        /// This many bytes moved (never 0).
        case done(Int)
        /// Nothing to read / no room to write now; wait for readiness.
        case wouldBlock
        /// Read: the peer closed its side. Write: the connection failed (reset, broken pipe).
        case closed
    }

    /// Reads what is available without blocking.
    package static func receive(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> IOResult {
        while true {
            let count = systemRead(fd, buffer.baseAddress, buffer.count)
            if count > 0 { return .done(count) }
            if count == 0 { return .closed }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? .wouldBlock : .closed
        }
    }

    /// Writes what fits without blocking; a closed peer is reported, never raised as SIGPIPE.
    package static func send(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> IOResult {
        while true {
            let written = systemSend(fd, bytes.baseAddress, bytes.count, sendFlags)
            if written > 0 { return .done(written) }
            if written < 0 && errno == EINTR { continue }
            if written < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return .wouldBlock }
            return .closed
        }
    }

    /// Shuts the write side (the peer reads end-of-stream); `false` if the socket is already gone.
    package static func shutdownWrite(_ fd: Int32) -> Bool { systemShutdown(fd, Int32(SHUT_WR)) == 0 }

    package static func close(_ fd: Int32) { _ = systemClose(fd) }

    /// A spare descriptor (on /dev/null) that the loop can give up to accept a connection when out of descriptors.
    package static func openReserve() -> Int32 { open("/dev/null", O_RDONLY | O_CLOEXEC) }

    /// What `inet_ntop` wrote: the bytes before its terminating NUL.
    private static func text(_ buffer: [CChar]) -> String {
        String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    private static func portAndAddress(_ storage: sockaddr_storage) -> (port: Int, address: String) {
        var storage = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var inAddr = address.pointee.sin_addr
                    inet_ntop(AF_INET, &inAddr, &buffer, socklen_t(buffer.count))
                    return (Int(UInt16(bigEndian: address.pointee.sin_port)), text(buffer))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var inAddr = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &inAddr, &buffer, socklen_t(buffer.count))
                    return (Int(UInt16(bigEndian: address.pointee.sin6_port)), "[\(text(buffer))]")
                }
            }
        default:
            return (0, "-")
        }
    }

    // MARK: - Where Linux and macOS differ

    #if os(Linux)
    static let streamType = Int32(SOCK_STREAM.rawValue)
    /// Non-blocking and close-on-exec from the start, with no window for a fork in between.
    static let socketFlags = Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    private static let sendFlags = Int32(MSG_NOSIGNAL)

    static func configure(_ fd: Int32) {}

    private static func acceptConfigured(
        _ listener: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>
    ) -> Int32 {
        accept4(listener, address, length, socketFlags)
    }
    #else
    static let streamType = SOCK_STREAM
    /// macOS has no SOCK_NONBLOCK / SOCK_CLOEXEC / accept4 / MSG_NOSIGNAL: set the same properties with fcntl and
    /// SO_NOSIGPIPE right after the descriptor exists.
    static let socketFlags: Int32 = 0
    private static let sendFlags: Int32 = 0

    static func configure(_ fd: Int32) {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    private static func acceptConfigured(
        _ listener: Int32, _ address: UnsafeMutablePointer<sockaddr>, _ length: UnsafeMutablePointer<socklen_t>
    ) -> Int32 {
        let fd = Darwin.accept(listener, address, length)
        if fd >= 0 { configure(fd) }
        return fd
    }
    #endif
}
