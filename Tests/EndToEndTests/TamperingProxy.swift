#if os(Linux)
import Foundation
import Glibc
import TestSupport

/// A TCP relay in front of a TLS server that corrupts one byte of the second large TLS record the server sends on
/// each connection: the middle of a response body bigger than two records, as a faulty middlebox or a flipped bit
/// on the wire would. The record layer is read (5-byte headers) so the damage lands inside a record's protected
/// payload, never in the handshake.
final class TamperingProxy: Sendable {
    private let listener: LoopbackListener
    var port: Int { listener.port }

    init(upstreamPort: Int) throws {
        listener = try LoopbackListener { client in
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var upstream = LoopbackListener.loopback(port: upstreamPort)
            let connected = withUnsafePointer(to: &upstream) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard connected else {
                close(client)
                close(server)
                return
            }
            Thread.detachNewThread { Self.relay(from: client, to: server, tamper: false) }
            Thread.detachNewThread { Self.relay(from: server, to: client, tamper: true) }
        }
    }

    /// Copies whole TLS records from one socket to the other until either side ends, then closes both directions.
    private static func relay(from source: Int32, to destination: Int32, tamper: Bool) {
        var pending: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65_536)
        var largeRecords = 0
        defer {
            shutdown(destination, Int32(SHUT_WR))
            shutdown(source, Int32(SHUT_RD))
        }
        while true {
            let count = chunk.withUnsafeMutableBytes { read(source, $0.baseAddress, $0.count) }
            if count < 0 && errno == EINTR { continue }
            guard count > 0 else { return }
            pending += chunk[0..<count]
            // Forward every complete record; keep a partial one until the rest arrives.
            var forward = 0
            while pending.count - forward >= 5 {
                let length = Int(pending[forward + 3]) << 8 | Int(pending[forward + 4])
                guard pending.count - forward >= 5 + length else { break }
                // 23: application data (in TLS 1.3 also the encrypted handshake, whose records are small).
                if tamper && pending[forward] == 23 && length >= 8192 {
                    largeRecords += 1
                    if largeRecords == 2 { pending[forward + 5 + length / 2] ^= 0x01 }
                }
                forward += 5 + length
            }
            guard forward > 0 else { continue }
            let sent = pending.withUnsafeBytes { bytes in
                var offset = 0
                while offset < forward {
                    let written = send(destination, bytes.baseAddress! + offset, forward - offset, Int32(MSG_NOSIGNAL))
                    if written < 0 && errno == EINTR { continue }
                    guard written > 0 else { return false }
                    offset += written
                }
                return true
            }
            guard sent else { return }
            pending.removeFirst(forward)
        }
    }
}
#endif
