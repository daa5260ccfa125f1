#if canImport(Glibc)
import CSystem
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// One resolved socket address (IPv4 or IPv6), copied out of `getaddrinfo`'s list so it outlives it.
package struct SocketAddress: Sendable, Hashable {
    fileprivate var bytes: [UInt8]
    fileprivate var family: Int32
}

extension Socket {
    /// Resolves `host` (a name or a literal) for a TCP connection to `port`. Blocks: call it off any event loop.
    ///
    /// - Returns: the addresses in the resolver's order of preference; empty when the name has none.
    package static func resolve(host: String, port: Int) -> [SocketAddress] {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = streamType
        hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(host, String(port), &hints, &result) == 0 else { return [] }
        defer { freeaddrinfo(result) }
        var addresses: [SocketAddress] = []
        var next = result
        while let info = next {
            if let address = info.pointee.ai_addr {
                let bytes = [UInt8](
                    UnsafeRawBufferPointer(start: UnsafeRawPointer(address), count: Int(info.pointee.ai_addrlen)))
                let resolved = SocketAddress(bytes: bytes, family: info.pointee.ai_family)
                if !addresses.contains(resolved) { addresses.append(resolved) }
            }
            next = info.pointee.ai_next
        }
        return addresses
    }

    package enum ConnectResult {
        case connected(Int32)
        /// Wait for the descriptor to be writable, then read `pendingError`.
        case inProgress(Int32)
        /// The errno of the failure (no descriptor is left open).
        case failed(Int32)
    }

    /// Starts a non-blocking, close-on-exec TCP connection with Nagle off.
    package static func connect(to address: SocketAddress) -> ConnectResult {
        let fd = socket(address.family, streamType | socketFlags, 0)
        guard fd >= 0 else { return .failed(errno) }
        configure(fd)
        var one: Int32 = 1
        setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
        let status = address.bytes.withUnsafeBytes { raw in
            systemConnect(fd, raw.baseAddress!.assumingMemoryBound(to: sockaddr.self), socklen_t(raw.count))
        }
        if status == 0 { return .connected(fd) }
        let failure = errno
        if failure == EINPROGRESS || failure == EINTR { return .inProgress(fd) }
        close(fd)
        return .failed(failure)
    }

    /// Whether `host` is an IPv4 or IPv6 address literal rather than a name.
    package static func isAddressLiteral(_ host: String) -> Bool {
        var buffer = [UInt8](repeating: 0, count: 16)
        return inet_pton(AF_INET, host, &buffer) == 1 || inet_pton(AF_INET6, host, &buffer) == 1
    }

    /// The outcome of a connection started with `connect`, once the descriptor is writable: 0 when it succeeded.
    package static func pendingError(_ fd: Int32) -> Int32 {
        var failure: Int32 = 0
        var length = socklen_t(MemoryLayout<Int32>.size)
        guard getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length) == 0 else { return errno }
        return failure
    }
}
