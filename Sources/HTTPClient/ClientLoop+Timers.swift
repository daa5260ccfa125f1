import Platform
import TLS

/// The loop's deadlines: each call's hard deadline, each connection's connect or handshake deadline, and idle expiry.
/// Loop thread only.
extension ClientLoop {
    /// How long the selector may wait before the next deadline (-1: none pending).
    func nextTimeoutMilliseconds() -> Int32 {
        var next = UInt64.max
        for call in calls.values { next = min(next, call.deadline) }
        for connection in connections.values {
            switch connection.state {
            case .connecting, .handshaking: next = min(next, connection.connectDeadline)
            case .idle: next = min(next, connection.idleSince &+ idleTimeout)
            default: break
            }
        }
        guard next != UInt64.max else { return -1 }
        let now = monotonicNanoseconds()
        guard next > now else { return 0 }
        return Int32(min((next - now + 999_999) / 1_000_000, 60_000))
    }

    func expireTimers() {
        let now = monotonicNanoseconds()
        for call in calls.values where call.deadline <= now { abandon(call, with: .timeout) }
        for connection in Array(connections.values) where connection.fd >= 0 {
            switch connection.state {
            case .connecting where connection.connectDeadline <= now:
                fail(connection, .unreachable("connect timed out"))
            case .handshaking where connection.connectDeadline <= now:
                fail(connection, .tls(.handshakeTimedOut))
            case .idle where connection.idleSince &+ idleTimeout <= now:
                close(connection)
            default: break
            }
        }
    }
}
