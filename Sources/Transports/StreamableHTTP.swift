import HTTPServer
import JSONRPC
import Log
import MCP
import Platform
import Tenancy

/// Streamable HTTP at `/mcp`: handshake-era sessions (2025-03-26, 2025-06-18, 2025-11-25) and stateless 2026-07-28
/// requests on the same endpoint.
extension MCPHTTPHandler {
    func postMCP(_ request: HTTPRequest, pathDomain: String?, responder: HTTPResponder) async {
        if let type = request.headers["Content-Type"], !type.lowercased().hasPrefix("application/json") {
            responder.respond(WireError(415, .invalidRequest, "Content-Type must be application/json").response())
            return
        }
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body)
        } catch {
            responder.respond(WireError.badRequest("Parse error: \(error)", code: .parseError).response())
            return
        }
        if case .success(.request(let single)) = JSONRPC.classify(value), StatelessMeta.isStateless(single) {
            await postStateless(single, request: request, pathDomain: pathDomain, responder: responder)
            return
        }
        if case .object = value,
            request.headers["MCP-Protocol-Version"].map({ ProtocolVersion(rawValue: $0).isStateless }) == true
        {
            // A stateless client that sent a notification or a request without the required _meta.
            let id = JSONRPC.classify(value).requestID
            if case .success(.notification) = JSONRPC.classify(value) {
                responder.respond(HTTPResponse(status: 202))
            } else {
                let missing = WireError.badRequest(
                    "Missing params._meta with \(StatelessMeta.protocolVersionKey)", code: .invalidParams)
                responder.respond(missing.response(id: id))
            }
            return
        }
        let isBatch: Bool
        let classified: [Result<Message, InvalidMessage>]
        if case .array(let elements) = value {
            isBatch = true
            classified = elements.map(JSONRPC.classify)
        } else {
            isBatch = false
            classified = [JSONRPC.classify(value)]
        }
        if !isBatch, case .success(.request(let first)) = classified[0], first.method == "initialize" {
            await initialize(first, request: request, pathDomain: pathDomain, responder: responder)
            return
        }

        guard let sessionID = request.headers["Mcp-Session-Id"] else {
            let missing = WireError.badRequest(
                "Missing Mcp-Session-Id header: send initialize first and echo the session id it returns")
            responder.respond(missing.response(id: classified.first?.requestID))
            return
        }
        let session: HTTPSession
        let grant: GatewayGrant
        switch resolveSession(sessionID, request, pathDomain: pathDomain) {
        case .found(let found, let authorized): (session, grant) = (found, authorized)
        case .refused(let refusal):
            responder.respond(refusal.response(id: classified.first?.requestID))
            return
        }
        responder.annotate("session", String(session.id.prefix(8)))
        responder.annotate("organisation", grant.organisation)
        let dispatcher = session.dispatcher
        if let header = request.headers["MCP-Protocol-Version"], !ProtocolVersion(rawValue: header).isSupportedHandshake
        {
            let unsupported = WireError.badRequest(
                "Unsupported MCP-Protocol-Version '\(header)'; this session speaks \(dispatcher.handshake.negotiatedVersion?.rawValue ?? "?")"
            )
            responder.respond(unsupported.response())
            return
        }
        session.touch()
        let accepted = dispatcher.accept(classified, isBatch: isBatch, provider: grant.provider)
        if let refusal = accepted.refusal {
            responder.respond(WireError.badRequest(refusal).response())
            return
        }
        if accepted.isSilent {
            responder.respond(HTTPResponse(status: 202))
            return
        }
        let acceptsStream = request.headers.listContains("Accept", token: "text/event-stream")
        let wantsStream =
            acceptsStream && (dispatcher.handshake.clientLogLevel != nil || accepted.wantsProgress)
        if wantsStream, let stream = responder.startStream(status: 200, headers: SSE.headers, heartbeat: SSE.keepAlive)
        {
            let events = SSEMessageStream(stream: stream, label: String(session.id.prefix(6)))
            let replies = await dispatcher.answer(
                accepted, provider: grant.provider, notifications: StreamNotificationSink(stream: events))
            if isBatch {
                events.send(.array(replies.map(\.json)))
            } else {
                for reply in replies { events.send(reply.json) }
            }
            events.finish()
        } else {
            let sink: any NotificationSink =
                session.stream.map { StreamNotificationSink(stream: $0) } ?? DiscardingNotificationSink()
            let replies = await dispatcher.answer(accepted, provider: grant.provider, notifications: sink)
            if replies.isEmpty {
                responder.respond(HTTPResponse(status: 202))  // every request was cancelled: nothing to answer
            } else {
                let body: JSONValue = isBatch ? .array(replies.map(\.json)) : replies[0].json
                let status = ReplyStatus.session(ranRequests: !accepted.requests.isEmpty)
                responder.respond(.json(status, JSONWriter.encode(body)))
            }
        }
    }

    /// Answers `initialize` and, when it succeeds, opens a session whose id seals its binding and version.
    private func initialize(
        _ initialize: Request, request: HTTPRequest, pathDomain: String?, responder: HTTPResponder
    ) async {
        let grant: GatewayGrant
        switch authorize(request, pathDomain: pathDomain) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal):
            responder.respond(refusal.response(id: initialize.id))
            return
        }
        let state = HandshakeState()
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
                kind: .streamable, binding: grant.binding, organisation: grant.organisation, peer: request.peer,
                executor: request.executor, id: id,
                handshake: state)
        else {
            let message = "Session capacity reached (\(sessions.capacity) live sessions); retry shortly"
            responder.respond(WireError.unavailable(message).response(id: initialize.id))
            return
        }
        responder.annotate("session", String(session.id.prefix(8)))
        responder.annotate("organisation", grant.organisation)
        responder.respond(.json(200, JSONWriter.encode(reply.json), headers: ["Mcp-Session-Id": session.id]))
    }

    /// The sealed-claims kind of a Streamable HTTP session.
    static let streamableKind = "streamable"

    static func epochSeconds() -> Int64 { wallClockSeconds() }

    /// The Streamable HTTP session an `Mcp-Session-Id` names, authorised for this request: live on this replica, or
    /// restored from its seal (another replica or a previous process issued it). A forged, altered, expired or
    /// revoked id is unknown (404); credentials that do not reproduce the sealed binding are refused (403) before
    /// anything is restored or sent upstream.
    func resolveSession(_ id: String, _ request: HTTPRequest, pathDomain: String?) -> SessionResolution {
        let now = Self.epochSeconds()
        let unknown = WireError.notFound("Session not found or expired: initialize a new session")
        if let session = sessions.lookup(id) {
            guard session.kind == .streamable else { return .refused(unknown) }
            switch authorize(request, pathDomain: pathDomain, session: session) {
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
        switch authorize(request, pathDomain: pathDomain) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal): return .refused(refusal)
        }
        let tag = String(id.prefix(8))
        guard configuration.sealer.matches(opened, origin: grant.binding.origin, credential: grant.credential) else {
            return .refused(bindingMismatch(session: tag, organisation: opened.claims.origin, grant: grant))
        }
        guard
            let session = sessions.create(
                kind: .streamable, binding: grant.binding, organisation: grant.organisation, peer: request.peer,
                executor: request.executor, id: id,
                handshake: HandshakeState(restoring: version), reason: "restored")
        else {
            let message = "Session capacity reached (\(sessions.capacity) live sessions); retry shortly"
            return .refused(.unavailable(message))
        }
        // Restored concurrently by another request with other credentials: the live session's binding decides.
        guard session.binding == grant.binding else {
            return .refused(bindingMismatch(session: tag, organisation: session.organisation, grant: grant))
        }
        return .found(session, grant)
    }

    /// GET /mcp: the session's stream for server messages not tied to a request.
    func openStandaloneStream(_ request: HTTPRequest, pathDomain: String?, responder: HTTPResponder) async {
        if let version = request.headers["MCP-Protocol-Version"], ProtocolVersion(rawValue: version).isStateless {
            let notAllowed = WireError.methodNotAllowed(
                "GET is not part of MCP \(version): stateless requests are POSTed", allow: "POST")
            responder.respond(notAllowed.response())
            return
        }
        guard request.headers.listContains("Accept", token: "text/event-stream") else {
            let notAcceptable = WireError.notAcceptable(
                "GET /mcp opens an event stream: send Accept: text/event-stream")
            responder.respond(notAcceptable.response())
            return
        }
        guard let sessionID = request.headers["Mcp-Session-Id"] else {
            responder.respond(WireError.badRequest("Missing Mcp-Session-Id header").response())
            return
        }
        let session: HTTPSession
        switch resolveSession(sessionID, request, pathDomain: pathDomain) {
        case .found(let found, _): session = found
        case .refused(let refusal):
            responder.respond(refusal.response())
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
        if let version = request.headers["MCP-Protocol-Version"], ProtocolVersion(rawValue: version).isStateless {
            return WireError.methodNotAllowed(
                "DELETE is not part of MCP \(version): there are no sessions", allow: "POST"
            ).response()
        }
        guard let sessionID = request.headers["Mcp-Session-Id"] else {
            return WireError.badRequest("Missing Mcp-Session-Id header").response()
        }
        let session: HTTPSession
        switch resolveSession(sessionID, request, pathDomain: pathDomain) {
        case .found(let found, _): session = found
        case .refused(let refusal): return refusal.response()
        }
        responder.annotate("session", String(session.id.prefix(8)))
        if let opened = configuration.sealer.open(session.id, now: Self.epochSeconds()) {
            revoked.revoke(session.id, until: opened.claims.expiresAt)
        }
        sessions.remove(session.id, reason: "client ended it")
        return HTTPResponse(status: 204)
    }
}

/// A Streamable HTTP session found (or restored) and authorised for one request, or why it is refused.
enum SessionResolution {
    case found(HTTPSession, GatewayGrant)
    case refused(WireError)
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
