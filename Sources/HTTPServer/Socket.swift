import CSystem
import Glibc

/// Thin, errno-aware wrappers over the socket calls the server makes. All platform code lives here.
enum Socket {
    struct Failure: Error, CustomStringConvertible {
        var call: String
        var code: Int32
        var description: String { "\(call) failed: \(errnoDescription(code))" }
    }

    /// Creates a non-blocking listening socket bound to `host:port` (IPv4 or IPv6 literal, or `localhost`).
    static func listen(host: String, port: Int, backlog: Int32 = 4096) throws -> (fd: Int32, port: Int) {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host, String(port), &hints, &result)
        guard status == 0, let info = result else {
            throw Failure(call: "getaddrinfo(\(host))", code: status == EAI_SYSTEM ? errno : EINVAL)
        }
        defer { freeaddrinfo(result) }
        let fd = socket(
            info.pointee.ai_family,
            Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw Failure(call: "socket", code: errno) }
        var one: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        guard bind(fd, info.pointee.ai_addr, info.pointee.ai_addrlen) == 0 else {
            let code = errno
            close(fd)
            throw Failure(call: "bind(\(host):\(port))", code: code)
        }
        guard Glibc.listen(fd, backlog) == 0 else {
            let code = errno
            close(fd)
            throw Failure(call: "listen", code: code)
        }
        return (fd, boundPort(fd))
    }

    static func boundPort(_ fd: Int32) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return portAndAddress(storage).port
    }

    enum AcceptResult {
        case accepted(fd: Int32, remote: String)
        case nonePending
        /// EMFILE / ENFILE / ENOBUFS / ENOMEM: the connection stays queued until a descriptor is free.
        case outOfDescriptors
        /// The connection died in the queue (ECONNABORTED, EPROTO) or a signal interrupted: try the next.
        case transientFailure
        case failed
    }

    /// Accepts one pending connection.
    static func accept(_ listener: Int32) -> AcceptResult {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let fd = withUnsafeMutablePointer(to: &storage) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                accept4(listener, $0, &length, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
            }
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

    /// A spare descriptor (on /dev/null) that the loop can give up to accept a connection when out of descriptors.
    static func openReserve() -> Int32 { Glibc.open("/dev/null", O_RDONLY | O_CLOEXEC) }

    private static func portAndAddress(_ storage: sockaddr_storage) -> (port: Int, address: String) {
        var storage = storage
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { address in
                    var inAddr = address.pointee.sin_addr
                    inet_ntop(AF_INET, &inAddr, &buffer, socklen_t(buffer.count))
                    return (Int(UInt16(bigEndian: address.pointee.sin_port)), cString(buffer))
                }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { address in
                    var inAddr = address.pointee.sin6_addr
                    inet_ntop(AF_INET6, &inAddr, &buffer, socklen_t(buffer.count))
                    return (Int(UInt16(bigEndian: address.pointee.sin6_port)), "[\(cString(buffer))]")
                }
            }
        default:
            return (0, "-")
        }
    }
}

func cString(_ buffer: [CChar]) -> String {
    String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

func errnoDescription(_ code: Int32) -> String {
    guard let message = strerror(code) else { return "errno \(code)" }
    var bytes: [UInt8] = []
    var pointer = message
    while pointer.pointee != 0 {
        bytes.append(UInt8(bitPattern: pointer.pointee))
        pointer += 1
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Monotonic clock in nanoseconds: deadlines must not move when the wall clock does.
func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// The process's open-file limit (RLIMIT_NOFILE), which bounds connections more tightly than any setting.
package enum OpenFileLimit {
    /// Raises the soft limit to the hard limit (idempotent) and returns the soft limit now in force. Servers need
    /// one descriptor per connection, and the common default soft limit (1,024) is far below the default
    /// connection cap.
    @discardableResult
    package static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return current }
        if limit.rlim_cur < limit.rlim_max {
            var raised = limit
            raised.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised) != 0 {
                // An unlimited hard limit is still capped by the kernel (fs.nr_open); ask for a large finite one.
                raised.rlim_cur = min(limit.rlim_max, 1 << 20)
                _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &raised)
            }
        }
        return current
    }

    /// The soft limit in force.
    package static var current: Int {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return 1024 }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// Descriptors kept back from connections for everything else the process opens: upstream sockets, the
    /// sandbox, log and session files, epoll itself. A quarter of the limit, between 32 and 1,024.
    package static func reserve(for limit: Int) -> Int { min(1024, max(32, limit / 4)) }

    /// The connection cap that fits under `limit`: `requested`, lowered to leave the reserve free.
    package static func connectionCap(requested: Int, limit: Int) -> Int {
        max(1, min(requested, limit - reserve(for: limit)))
    }
}
