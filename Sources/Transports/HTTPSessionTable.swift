import Codecs
import HTTPServer
import JSONRPC
import Log
import MCP
import Synchronization
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// How the session table protects itself from sessions that cost nothing to create.
struct SessionLimits: Sendable {
    var capacity = 10_000
    /// Established sessions live long: mcp-remote cannot re-initialise after a 404.
    var idleTimeout: Duration = .seconds(8 * 3600)
    /// Idle time after which a session still on probation expires.
    var probationIdleTimeout: Duration = .seconds(300)
    /// Sessions on probation one peer may hold; opening another evicts that peer's oldest.
    var probationPerPeer = 1_000
}

/// All live HTTP sessions, capped, with idle expiry. Ids are 256-bit random, URL-safe and unguessable.
///
/// A flood of `initialize`s with bogus tokens must not lock everyone out: a peer holds at most `probationPerPeer`
/// sessions on probation (its own oldest goes first), a full table evicts the oldest session on probation rather
/// than refusing, and sessions on probation expire after minutes. Only established sessions are never evicted.
final class HTTPSessionTable: Sendable {
    private struct State {
        var sessions: [String: HTTPSession] = [:]
        /// Session ids in creation order, per peer and overall; entries for sessions that ended or left probation
        /// are skipped when met and swept by `expireIdle`.
        var probationByPeer: [String: [String]] = [:]
        var probation: [String] = []
        var probationHead = 0

        /// Records a new session on probation for `peer`; when the peer is at `cap`, evicts and returns its oldest
        /// session still on probation. Amortised O(1): stale entries are dropped from the front here and from the
        /// middle by `sweep`.
        mutating func enterProbation(_ id: String, peer: String, cap: Int) -> HTTPSession? {
            var list = probationByPeer.removeValue(forKey: peer) ?? []  // owned, so no copy on write
            var evicted: HTTPSession?
            if list.count >= cap {
                while let first = list.first, sessions[first]?.onProbation != true { list.removeFirst() }
                if list.count >= cap {
                    evicted = sessions.removeValue(forKey: list.removeFirst())
                }
            }
            list.append(id)
            probationByPeer[peer] = list
            probation.append(id)
            return evicted
        }

        /// The oldest session on probation anywhere, taken off the list.
        mutating func oldestProbationary() -> HTTPSession? {
            while probationHead < probation.count {
                let id = probation[probationHead]
                probationHead += 1
                if let session = sessions[id], session.onProbation { return session }
            }
            return nil
        }

        mutating func sweep() {
            probation = probation[probationHead...].filter { sessions[$0]?.onProbation == true }
            probationHead = 0
            probationByPeer = probationByPeer.compactMapValues { ids in
                let live = ids.filter { sessions[$0]?.onProbation == true }
                return live.isEmpty ? nil : live
            }
        }
    }

    private let state = Mutex(State())
    let limits: SessionLimits
    var capacity: Int { limits.capacity }
    private let server: MCPServer
    private let logger: Logger

    init(limits: SessionLimits, server: MCPServer, logger: Logger) {
        self.limits = limits
        self.server = server
        self.logger = logger
    }

    var count: Int { state.withLock { $0.sessions.count } }

    /// A new session, or `nil` when the table is full of established sessions. May evict sessions on probation.
    ///
    /// - Parameters:
    ///   - id: a sealed id (Streamable HTTP); a random one when `nil`.
    ///   - handshake: the session's MCP state, when it was initialised (or restored) before it was registered.
    ///   - executor: where the session's requests run (the HTTP server loop that read the creating request).
    func create(
        kind: HTTPSession.Kind, binding: TenantBinding, organisation: String, peer: String,
        executor: (any TaskExecutor)? = nil, id sealedID: String? = nil, handshake: HandshakeState = HandshakeState(),
        reason: String = "created"
    ) -> HTTPSession? {
        var generator = SystemRandomNumberGenerator()
        let id = sealedID ?? Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let dispatcher = Dispatcher(
            server: server, handshake: handshake, logger: logger.with("session", String(id.prefix(8))),
            executor: executor)
        let session = HTTPSession(
            id: id, kind: kind, binding: binding, organisation: organisation, peer: peer, dispatcher: dispatcher)
        let (registered, evicted) = state.withLock { state -> (HTTPSession?, [(HTTPSession, String)]) in
            var evicted: [(HTTPSession, String)] = []
            if let existing = state.sessions[id] { return (existing, evicted) }  // restored concurrently
            if state.sessions.count >= limits.capacity {
                guard let oldest = state.oldestProbationary() else { return (nil, evicted) }
                state.sessions[oldest.id] = nil
                evicted.append((oldest, "evicted: the table is full and it was the oldest session on probation"))
            }
            state.sessions[id] = session
            if let oldest = state.enterProbation(id, peer: peer, cap: limits.probationPerPeer) {
                evicted.append(
                    (oldest, "evicted: its peer opened more than \(limits.probationPerPeer) sessions on probation"))
            }
            if state.probation.count > 2 * limits.capacity + 1024 { state.sweep() }
            return (session, evicted)
        }
        for (old, reason) in evicted { ended(old, reason: reason) }
        guard let registered else { return nil }
        if registered === session {
            logger.info("session \(reason)", [("session", String(id.prefix(8))), ("organisation", organisation)])
        }
        return registered
    }

    func lookup(_ id: String) -> HTTPSession? { state.withLock { $0.sessions[id] } }

    func remove(_ id: String, reason: String) {
        guard let session = state.withLock({ $0.sessions.removeValue(forKey: id) }) else { return }
        ended(session, reason: reason)
    }

    private func ended(_ session: HTTPSession, reason: String) {
        session.close()
        logger.info(
            "session ended",
            [("session", String(session.id.prefix(8))), ("organisation", session.organisation), ("reason", reason)])
    }

    /// Expires sessions idle for longer than their timeout (short while on probation) and sweeps the probation
    /// lists.
    func expireIdle(now: ContinuousClock.Instant = .now) {
        let expired = state.withLock { state in
            state.sweep()
            return state.sessions.values.filter {
                let timeout = $0.onProbation ? limits.probationIdleTimeout : limits.idleTimeout
                return now - $0.idleSince > timeout && $0.dispatcher.inflight.count == 0 && $0.stream == nil
                    && $0.kind == .streamable
            }.map(\.id)
        }
        for id in expired { remove(id, reason: "idle") }
    }

    func closeAll() {
        let all = state.withLock { state -> [HTTPSession] in
            defer { state = State() }
            return Array(state.sessions.values)
        }
        for session in all { session.close() }
    }
}

extension HTTPRequest {
    /// The remote address without its port: `127.0.0.2:50412` → `127.0.0.2`, `[::1]:50412` → `[::1]`.
    var peer: String {
        guard let colon = remoteAddress.lastIndex(of: ":") else { return remoteAddress }
        return String(remoteAddress[..<colon])
    }
}
