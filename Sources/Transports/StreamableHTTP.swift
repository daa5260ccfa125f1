import HTTPServer
import JSONRPC
import Log
import MCP

/// Streamable HTTP at `/mcp`: handshake-era sessions (2025-03-26, 2025-06-18, 2025-11-25) and stateless 2026-07-28
/// requests on the same endpoint.
extension MCPHTTPHandler {
    func postMCP(_ request: HTTPRequest, responder: HTTPResponder) async {
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
            await postModern(single, request: request, responder: responder)
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
            await initialize(first, request: request, responder: responder)
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
        guard let session = sessions.lookup(sessionID), session.kind == .streamable else {
            responder.respond(
                Self.rpcError(
                    404, .invalidRequest, "Session not found or expired: initialize a new session",
                    id: classified.first?.requestID))
            return
        }
        responder.annotate("session", String(session.id.prefix(8)))
        let grant: GatewayGrant
        switch authorize(request, session: session, id: classified.first?.requestID) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal):
            responder.respond(refusal)
            return
        }
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

    private func initialize(_ initialize: Request, request: HTTPRequest, responder: HTTPResponder) async {
        guard let (session, grant) = openSession(.streamable, request, responder: responder, id: initialize.id) else {
            return
        }
        let reply = await server.respond(
            to: initialize, session: session.legacy, provider: grant.provider,
            notifications: DiscardingNotificationSink())
        if case .error = reply {
            sessions.remove(session.id, reason: "initialize failed")
            responder.respond(.json(200, JSONWriter.encode(reply.json)))
            return
        }
        responder.respond(.json(200, JSONWriter.encode(reply.json), headers: ["Mcp-Session-Id": session.id]))
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
    func openStandaloneStream(_ request: HTTPRequest, responder: HTTPResponder) async {
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
        guard let session = sessions.lookup(sessionID), session.kind == .streamable else {
            responder.respond(
                Self.rpcError(404, .invalidRequest, "Session not found or expired: initialize a new session"))
            return
        }
        responder.annotate("session", String(session.id.prefix(8)))
        if case .refused(let refusal) = authorize(request, session: session) {
            responder.respond(refusal)
            return
        }
        guard let stream = responder.startStream(status: 200, headers: SSE.headers, heartbeat: SSE.keepAlive) else {
            return
        }
        let events = SSEMessageStream(stream: stream, label: "\(session.id.prefix(6))-get")
        session.attach(events)
        session.touch()
        events.onClientGone { [weak session] in session?.detach(events) }
    }

    /// DELETE /mcp: the client ends its session.
    func deleteSession(_ request: HTTPRequest, responder: HTTPResponder) -> HTTPResponse {
        if let version = request.headers["MCP-Protocol-Version"], ProtocolVersion(rawValue: version).isModern {
            return Self.rpcError(
                405, .invalidRequest, "DELETE is not part of MCP \(version): there are no sessions",
                headers: ["Allow": "POST"])
        }
        guard let sessionID = request.headers["Mcp-Session-Id"] else {
            return Self.rpcError(400, .invalidRequest, "Missing Mcp-Session-Id header")
        }
        guard let session = sessions.lookup(sessionID), session.kind == .streamable else {
            return Self.rpcError(404, .invalidRequest, "Session not found or expired")
        }
        responder.annotate("session", String(session.id.prefix(8)))
        if case .refused(let refusal) = authorize(request, session: session) { return refusal }
        sessions.remove(session.id, reason: "client ended it")
        return HTTPResponse(status: 204)
    }
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
