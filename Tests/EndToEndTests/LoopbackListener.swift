#if os(Linux)
import Foundation
import Glibc
import TestSupport

/// A raw TCP listener on 127.0.0.1 (a free port) for test servers that must misbehave below HTTP, or only count who
/// connects.
///
/// With `onAccept`, a thread hands each accepted connection over. That thread owns the descriptor and closes it once
/// woken by deinit's shutdown: closed any earlier, its blocked (or next) `accept` could run on a reused descriptor
/// number and take another test's connections (one "closed mid-line" in a full run).
final class LoopbackListener: Sendable {
    let port: Int
    private let fd: Int32
    private let threaded: Bool

    /// Connections stay queued until `acceptedConnections()` takes them.
    init() throws {
        (fd, port) = try Self.listen(flags: Int32(SOCK_NONBLOCK.rawValue))
        threaded = false
    }

    init(onAccept: @escaping @Sendable (Int32) -> Void) throws {
        let (fd, port) = try Self.listen(flags: 0)
        (self.fd, self.port, threaded) = (fd, port, true)
        Thread.detachNewThread {
            while true {
                let connection = accept(fd, nil, nil)
                guard connection >= 0 else {
                    close(fd)
                    return
                }
                onAccept(connection)
            }
        }
    }

    deinit {
        if threaded { shutdown(fd, Int32(SHUT_RDWR)) } else { close(fd) }
    }

    /// Accepts (and closes) every queued connection; returns how many there were. Only without `onAccept`.
    func acceptedConnections() -> Int {
        var count = 0
        while true {
            let client = accept(fd, nil, nil)
            guard client >= 0 else { return count }
            close(client)
            count += 1
        }
    }

    /// `127.0.0.1:port` as a socket address.
    static func loopback(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        return address
    }

    private static func listen(flags: Int32) throws -> (fd: Int32, port: Int) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | flags, 0)
        var address = loopback(port: 0)
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let listening = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, length) == 0 && Glibc.listen(fd, 16) == 0 && getsockname(fd, $0, &length) == 0
            }
        }
        guard listening else {
            let failure = errno
            close(fd)
            throw ChildProcess.Timeout(description: "cannot listen on loopback (errno \(failure))")
        }
        return (fd, Int(UInt16(bigEndian: address.sin_port)))
    }
}
#endif
