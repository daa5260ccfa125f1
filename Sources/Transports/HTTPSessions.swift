import Codecs
import Foundation
import JSONRPC
import Log
import MCP
import Synchronization
import Tenancy

/// One handshake-era HTTP session: bound at creation to an organisation and a credential fingerprint.
///
/// The session never holds the token: every request brings its own credentials, which must reproduce `binding`.
final class HTTPSession: Sendable {
    enum Kind: Sendable {
        /// Streamable HTTP at /mcp.
        case streamable
        /// Legacy HTTP+SSE: every message for the client goes down one GET /sse stream.
        case legacySSE
    }

    let id: String
    let kind: Kind
    let binding: TenantBinding
    let organisation: String
    let legacy: LegacySession
    let inflight = InflightRequests()
    private let lastActivity: Mutex<ContinuousClock.Instant>
    /// The client's GET stream (Streamable HTTP) for notifications not tied to a request.
    private let standaloneStream = Mutex<SSEMessageStream?>(nil)
    /// The duplex session behind a legacy SSE stream.
    private let channelSession = Mutex<ChannelSession?>(nil)

    init(id: String, kind: Kind, binding: TenantBinding, organisation: String, legacy: LegacySession = LegacySession())
    {
        self.id = id
        self.kind = kind
        self.binding = binding
        self.organisation = organisation
        self.legacy = legacy
        lastActivity = Mutex(ContinuousClock.now)
    }

    func touch() { lastActivity.withLock { $0 = ContinuousClock.now } }
    var idleSince: ContinuousClock.Instant { lastActivity.withLock { $0 } }

    /// Replaces the GET stream (a client reconnecting gets the new one; the old one is finished).
    func attach(_ stream: SSEMessageStream) {
        let previous = standaloneStream.withLock { current -> SSEMessageStream? in
            defer { current = stream }
            return current
        }
        previous?.finish()
    }

    func detach(_ stream: SSEMessageStream) {
        standaloneStream.withLock { current in if current === stream { current = nil } }
    }

    var stream: SSEMessageStream? { standaloneStream.withLock { $0 } }

    func setChannelSession(_ session: ChannelSession) { channelSession.withLock { $0 = session } }
    var channel: ChannelSession? { channelSession.withLock { $0 } }

    /// Ends the session: cancels its work and closes its streams.
    func close() {
        inflight.cancelAll()
        channel?.inflight.cancelAll()
        stream?.finish()
    }
}

/// All live HTTP sessions, capped, with idle expiry. Ids are 256-bit random, URL-safe and unguessable.
final class HTTPSessionTable: Sendable {
    private let sessions = Mutex<[String: HTTPSession]>([:])
    let capacity: Int
    let idleTimeout: Duration
    private let logger: Logger

    init(capacity: Int, idleTimeout: Duration, logger: Logger) {
        self.capacity = capacity
        self.idleTimeout = idleTimeout
        self.logger = logger
    }

    var count: Int { sessions.withLock { $0.count } }

    /// A new session, or `nil` when the table is full.
    ///
    /// - Parameters:
    ///   - id: a sealed id (Streamable HTTP); a random one when `nil`.
    ///   - legacy: the session's MCP state, when it was initialised (or restored) before it was registered.
    func create(
        kind: HTTPSession.Kind, binding: TenantBinding, organisation: String, id sealedID: String? = nil,
        legacy: LegacySession = LegacySession(), reason: String = "created"
    ) -> HTTPSession? {
        var generator = SystemRandomNumberGenerator()
        let id = sealedID ?? Base64URL.encode((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let session = HTTPSession(id: id, kind: kind, binding: binding, organisation: organisation, legacy: legacy)
        let registered = sessions.withLock { sessions -> HTTPSession? in
            if let existing = sessions[id] { return existing }  // restored concurrently by another request
            guard sessions.count < capacity else { return nil }
            sessions[id] = session
            return session
        }
        guard let registered else { return nil }
        if registered === session {
            logger.info("session \(reason)", [("session", String(id.prefix(8))), ("organisation", organisation)])
        }
        return registered
    }

    func lookup(_ id: String) -> HTTPSession? { sessions.withLock { $0[id] } }

    func remove(_ id: String, reason: String) {
        guard let session = sessions.withLock({ $0.removeValue(forKey: id) }) else { return }
        session.close()
        logger.info(
            "session ended",
            [("session", String(id.prefix(8))), ("organisation", session.organisation), ("reason", reason)])
    }

    /// Expires sessions idle for longer than `idleTimeout`.
    func expireIdle(now: ContinuousClock.Instant = .now) {
        let expired = sessions.withLock { sessions in
            sessions.values.filter {
                now - $0.idleSince > idleTimeout && $0.inflight.count == 0 && $0.stream == nil && $0.kind == .streamable
            }.map(\.id)
        }
        for id in expired { remove(id, reason: "idle") }
    }

    func closeAll() {
        let all = sessions.withLock { sessions -> [HTTPSession] in
            defer { sessions.removeAll() }
            return Array(sessions.values)
        }
        for session in all { session.close() }
    }
}
