import HTTPServer
import JSONRPC
import Log
import MCP
import Tenancy

import struct Foundation.Date

/// Streamable HTTP at `/mcp`: handshake-era sessions (2025-03-26, 2025-06-18, 2025-11-25) and stateless 2026-07-28
/// requests on the same endpoint.
extension MCPHTTPHandler {
    func postMCP(_ request: HTTPRequest, pathDomain: String?, responder: HTTPResponder) async {
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            responder.respond(Self.rpcError(415, .invalidRequest, "Content-Type must be application/json"))
            return
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body)
        } catch {
            responder.respond(Self.rpcError(400, .parseError, "Parse error: \(error)"))
            return
        }
        let isBatch: Bool
        let elements: [JSONValue]
        if case .array(let array) = value {
            isBatch = true
            elements = array
        } else {
            isBatch = false
            elements = [value]
        }
        let classified = elements.map(JSONRPC.classify)  // once per message; everything below reads this
        if !isBatch, case .success(.request(let single)) = classified[0], ModernMeta.isModern(single) {
            await postModern(single, request: request, pathDomain: pathDomain, responder: responder)
            return
        }
        if case .object = value,
            request.headers["MCP-Protocol-Version"].map({ ProtocolVersion(rawValue: $0).isModern }) == true
        {
            // A modern client that sent a notification or a request without the required _meta.
            if case .success(.notification) = classified[0] {
                responder.respond(HTTPResponse(status: 202))
            } else {
                responder.respond(
                    Self.rpcError(
                        400, .invalidParams, "Missing params._meta with \(ModernMeta.protocolVersionKey)",
                        id: classified[0].requestID))
            }
            return
        }
        if !isBatch, case .success(.request(let first)) = classified[0], first.method == "initialize" {
            await initialize(first, request: request, pathDomain: pathDomain, responder: responder)
            return
        }

        guard let sessionID = request.headers["Mcp-Session-Id"] else {
            responder.respond(
                Self.rpcError(
                    400, .invalidRequest,
                    "Missing Mcp-Session-Id header: send initialize first and echo the session id it returns",
                    id: classified.first?.requestID))
            return
        }
        let session: HTTPSession
        let grant: GatewayGrant
        switch resolveSession(sessionID, request, pathDomain: pathDomain, id: classified.first?.requestID) {
        case .found(let found, let authorized): (session, grant) = (found, authorized)
        case .refused(let refusal):
            responder.respond(refusal)
            return
        }
        responder.annotate("session", String(session.id.prefix(8)))
        responder.annotate("organisation", grant.organisation)
        if let header = request.headers["MCP-Protocol-Version"], !ProtocolVersion(rawValue: header).isSupportedHandshake
        {
            responder.respond(
                Self.rpcError(
                    400, .invalidRequest,
                    "Unsupported MCP-Protocol-Version '\(header)'; this session speaks \(session.legacy.negotiatedVersion?.rawValue ?? "?")"
                ))
            return
        }
        session.touch()
        let version = session.legacy.negotiatedVersion ?? .v2025_03_26
        if isBatch, let refusal = server.limits.batchRefusal(length: elements.count, version: version) {
            logger.warning("batch refused", [("length", String(elements.count)), ("reason", refusal.message)])
            responder.respond(Self.rpcError(400, refusal.code, refusal.message, data: refusal.data))
            return
        }

        var requests: [Request] = []
        var immediate: [Reply] = []
        for message in classified {
            switch message {
            case .failure(let invalid): immediate.append(.error(invalid.id, invalid.error))
            case .success(.notification(let notification)): receive(notification, session: session)
            case .success(.response): break
            case .success(.request(let request)):
                if request.method == "initialize" {
                    immediate.append(
                        .error(
                            request.id,
                            JSONRPCError(.invalidRequest, "Invalid Request: initialize must not be part of a batch")))
                } else {
                    requests.append(request)
                }
            }
        }
        if requests.isEmpty && immediate.isEmpty {
            responder.respond(HTTPResponse(status: 202))
            return
        }
        let acceptsStream = request.headers.listContains("Accept", token: "text/event-stream")
        let wantsStream =
            acceptsStream
            && (session.legacy.clientLogLevel != nil
                || requests.contains { $0.params?["_meta"]?["progressToken"] != nil })
        if wantsStream, let stream = responder.startStream(status: 200, headers: SSE.headers, heartbeat: SSE.keepAlive)
        {
            let events = SSEMessageStream(stream: stream, label: String(session.id.prefix(6)))
            let replies = await run(
                requests, session: session, provider: grant.provider,
                notifications: StreamNotificationSink(stream: events))
            let all = (immediate + replies).map(\.json)
            if isBatch { events.send(.array(all)) } else { for reply in all { events.send(reply) } }
            events.finish()
        } else {
            let sink: any NotificationSink =
                session.stream.map { StreamNotificationSink(stream: $0) } ?? DiscardingNotificationSink()
            let replies =
                immediate + (await run(requests, session: session, provider: grant.provider, notifications: sink))
            if replies.isEmpty {
                responder.respond(HTTPResponse(status: 202))  // every request was cancelled: nothing to answer
            } else {
                let body: JSONValue = isBatch ? .array(replies.map(\.json)) : replies[0].json
                let status = requests.isEmpty ? 400 : 200
                responder.respond(.json(status, JSONWriter.encode(body)))
            }
        }
    }

    /// Answers `initialize` and, when it succeeds, opens a session whose id seals its binding and version.
    private func initialize(
        _ initialize: Request, request: HTTPRequest, pathDomain: String?, responder: HTTPResponder
    ) async {
        let grant: GatewayGrant
        switch authorize(request, pathDomain: pathDomain, id: initialize.id) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal):
            responder.respond(refusal)
            return
        }
        let state = LegacySession()
        let reply = server.initialize(initialize, session: state, provider: grant.provider)
        guard case .result = reply, let version = state.negotiatedVersion else {
            responder.respond(.json(200, JSONWriter.encode(reply.json)))
            return
        }
        let now = Self.epochSeconds()
        var generator = SystemRandomNumberGenerator()
        let claims = SessionClaims(
            kind: Self.streamableKind, origin: grant.binding.origin,
            fingerprint: configuration.sealer.fingerprint(grant.credential), version: version.rawValue, issuedAt: now,
            expiresAt: now + configuration.sessionMaxAge,
            nonce: (0..<16).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
        let id = configuration.sealer.seal(claims)
        guard
            let session = sessions.create(
                kind: .streamable, binding: grant.binding, organisation: grant.organisation, peer: request.peer, id: id,
                legacy: state)
        else {
            let message = "Session capacity reached (\(sessions.capacity) live sessions); retry shortly"
            responder.respond(
                Self.rpcError(503, .internalError, message, id: initialize.id, headers: ["Retry-After": "5"]))
            return
        }
        responder.annotate("session", String(session.id.prefix(8)))
        responder.annotate("organisation", grant.organisation)
        responder.respond(.json(200, JSONWriter.encode(reply.json), headers: ["Mcp-Session-Id": session.id]))
    }

    /// The sealed-claims kind of a Streamable HTTP session.
    static let streamableKind = "streamable"

    static func epochSeconds() -> Int64 { Int64(Date().timeIntervalSince1970) }

    /// The Streamable HTTP session an `Mcp-Session-Id` names, authorised for this request: live on this replica, or
    /// restored from its seal (another replica or a previous process issued it). A forged, altered, expired or
    /// revoked id is unknown (404); credentials that do not reproduce the sealed binding are refused (403) before
    /// anything is restored or sent upstream.
    func resolveSession(
        _ id: String, _ request: HTTPRequest, pathDomain: String?, id rpcID: RequestID?
    )
        -> SessionResolution
    {
        let now = Self.epochSeconds()
        let unknown = Self.rpcError(
            404, .invalidRequest, "Session not found or expired: initialize a new session", id: rpcID)
        if let session = sessions.lookup(id) {
            guard session.kind == .streamable else { return .refused(unknown) }
            switch authorize(request, pathDomain: pathDomain, session: session, id: rpcID) {
            case .granted(let grant): return .found(session, grant)
            case .refused(let refusal): return .refused(refusal)
            }
        }
        guard !revoked.isRevoked(id, now: now), let opened = configuration.sealer.open(id, now: now),
            opened.claims.kind == Self.streamableKind
        else { return .refused(unknown) }
        let version = ProtocolVersion(rawValue: opened.claims.version)
        guard version.isSupportedHandshake else { return .refused(unknown) }
        let grant: GatewayGrant
        switch authorize(request, pathDomain: pathDomain, id: rpcID) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal): return .refused(refusal)
        }
        let tag = String(id.prefix(8))
        guard configuration.sealer.matches(opened, origin: grant.binding.origin, credential: grant.credential) else {
            return .refused(bindingMismatch(session: tag, organisation: opened.claims.origin, grant: grant, id: rpcID))
        }
        guard
            let session = sessions.create(
                kind: .streamable, binding: grant.binding, organisation: grant.organisation, peer: request.peer, id: id,
                legacy: LegacySession(restoring: version), reason: "restored")
        else {
            let message = "Session capacity reached (\(sessions.capacity) live sessions); retry shortly"
            return .refused(Self.rpcError(503, .internalError, message, id: rpcID, headers: ["Retry-After": "5"]))
        }
        // Restored concurrently by another request with other credentials: the live session's binding decides.
        guard session.binding == grant.binding else {
            return .refused(bindingMismatch(session: tag, organisation: session.organisation, grant: grant, id: rpcID))
        }
        return .found(session, grant)
    }

    private func receive(_ notification: Notification, session: HTTPSession) {
        if notification.method == "notifications/cancelled" {
            if let raw = notification.params?["requestId"], let id = RequestID(raw) { session.inflight.cancel(id) }
            return
        }
    }

    /// Runs requests concurrently in the session's registry (so `notifications/cancelled` on another POST reaches
    /// them); cancelled requests produce no reply.
    private func run(
        _ requests: [Request],
        session: HTTPSession,
        provider: any ToolProvider,
        notifications: any NotificationSink
    ) async -> [Reply] {
        await withTaskGroup(of: (Int, Reply?).self) { group in
            for (index, request) in requests.enumerated() {
                group.addTask {
                    let reply = await withCheckedContinuation { (continuation: CheckedContinuation<Reply?, Never>) in
                        let started = session.inflight.start(
                            request.id,
                            takesSlot: RequestLimits.takesCallSlot(request),
                            work: {
                                await self.server.respond(
                                    to: request, session: session.legacy, provider: provider,
                                    notifications: notifications)
                            },
                            deliver: { continuation.resume(returning: $0) }
                        )
                        if let refusal = session.inflight.refusal(started, id: request.id) {
                            continuation.resume(returning: .error(request.id, refusal))
                        }
                    }
                    return (index, reply)
                }
            }
            var replies: [(Int, Reply)] = []
            for await (index, reply) in group { if let reply { replies.append((index, reply)) } }
            return replies.sorted { $0.0 < $1.0 }.map(\.1)
        }
    }

    /// GET /mcp: the session's stream for server messages not tied to a request.
    func openStandaloneStream(_ request: HTTPRequest, pathDomain: String?, responder: HTTPResponder) async {
        if let version = request.headers["MCP-Protocol-Version"], ProtocolVersion(rawValue: version).isModern {
            responder.respond(
                Self.rpcError(
                    405, .invalidRequest, "GET is not part of MCP \(version): stateless requests are POSTed",
                    headers: ["Allow": "POST"]))
            return
        }
        guard request.headers.listContains("Accept", token: "text/event-stream") else {
            responder.respond(
                Self.rpcError(406, .invalidRequest, "GET /mcp opens an event stream: send Accept: text/event-stream"))
            return
        }
        guard let sessionID = request.headers["Mcp-Session-Id"] else {
            responder.respond(Self.rpcError(400, .invalidRequest, "Missing Mcp-Session-Id header"))
            return
        }
        let session: HTTPSession
        switch resolveSession(sessionID, request, pathDomain: pathDomain, id: nil) {
        case .found(let found, _): session = found
        case .refused(let refusal):
            responder.respond(refusal)
            return
        }
        responder.annotate("session", String(session.id.prefix(8)))
        guard let stream = responder.startStream(status: 200, headers: SSE.headers, heartbeat: SSE.keepAlive) else {
            return
        }
        let events = SSEMessageStream(stream: stream, label: "\(session.id.prefix(6))-get")
        session.attach(events)
        session.touch()
        events.onClientGone { [weak session] in session?.detach(events) }
    }

    /// DELETE /mcp: the client ends its session on this replica (and this replica refuses its id from now on).
    func deleteSession(_ request: HTTPRequest, pathDomain: String?, responder: HTTPResponder) -> HTTPResponse {
        if let version = request.headers["MCP-Protocol-Version"], ProtocolVersion(rawValue: version).isModern {
            return Self.rpcError(
                405, .invalidRequest, "DELETE is not part of MCP \(version): there are no sessions",
                headers: ["Allow": "POST"])
        }
        guard let sessionID = request.headers["Mcp-Session-Id"] else {
            return Self.rpcError(400, .invalidRequest, "Missing Mcp-Session-Id header")
        }
        let session: HTTPSession
        switch resolveSession(sessionID, request, pathDomain: pathDomain, id: nil) {
        case .found(let found, _): session = found
        case .refused(let refusal): return refusal
        }
        responder.annotate("session", String(session.id.prefix(8)))
        if let opened = configuration.sealer.open(session.id, now: Self.epochSeconds()) {
            revoked.revoke(session.id, until: opened.claims.expiresAt)
        }
        sessions.remove(session.id, reason: "client ended it")
        return HTTPResponse(status: 204)
    }
}

/// A Streamable HTTP session found (or restored) and authorised for one request, or the response refusing it.
enum SessionResolution {
    case found(HTTPSession, GatewayGrant)
    case refused(HTTPResponse)
}

/// Request-scoped notifications on an SSE stream.
struct StreamNotificationSink: NotificationSink {
    let stream: SSEMessageStream
    func send(_ notification: Notification) { stream.send(notification.json) }
}

extension Result where Success == Message, Failure == InvalidMessage {
    /// The id of the message, when it has one, for error replies.
    var requestID: RequestID? {
        switch self {
        case .success(.request(let request)): request.id
        case .success(.response(let id)): id
        case .success(.notification): nil
        case .failure(let invalid): invalid.id
        }
    }
}
