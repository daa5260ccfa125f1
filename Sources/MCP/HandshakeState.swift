import JSONRPC
import Log
import Synchronization

/// What the `initialize` handshake (protocol versions up to 2025-11-25) leaves behind for a session's later
/// requests: lifecycle phase, negotiated version and the client's log level. Stateless 2026-07-28 requests carry all
/// of this in their own `_meta` instead.
///
/// One per dispatcher: per stdio process, per Streamable HTTP or legacy HTTP+SSE session. Requests run concurrently, so the state is
/// behind a lock and every read takes a consistent snapshot.
package final class HandshakeState: Sendable {
    private struct State {
        var version: ProtocolVersion?
        var clientLogLevel: LogLevel?
        var callSucceeded = false
    }

    private let state: Mutex<State>

    package init() { state = Mutex(State()) }

    /// A session re-created from a sealed id by a replica (or a restarted process) that did not see its
    /// `initialize`: initialised, at the sealed version. The client's log level is per replica and starts unset.
    package init(restoring version: ProtocolVersion) {
        state = Mutex(State(version: version))
    }

    /// The version agreed by `initialize`, or `nil` before it.
    package var negotiatedVersion: ProtocolVersion? { state.withLock { $0.version } }

    /// The level set with `logging/setLevel`; no log notifications are sent until the client sets one.
    package var clientLogLevel: LogLevel? { state.withLock { $0.clientLogLevel } }

    /// Records a successful `initialize`; returns `false` if the session was already initialised.
    func begin(version: ProtocolVersion) -> Bool {
        state.withLock { state in
            guard state.version == nil else { return false }
            state.version = version
            return true
        }
    }

    /// Whether a `tools/call` has succeeded, which proves the upstream accepted the session's credential: until
    /// then an HTTP session is on probation (it may be bogus) and is the first to go under pressure.
    package var hasSucceededCall: Bool { state.withLock { $0.callSucceeded } }

    func markCallSucceeded() { state.withLock { $0.callSucceeded = true } }

    func setClientLogLevel(_ level: LogLevel) { state.withLock { $0.clientLogLevel = level } }
}
