import HTTPServer
import JSONRPC
import Log
import MCP

/// The deprecated HTTP+SSE transport (2024-11-05): GET /sse opens the stream and announces a POST URL carrying the
/// session; every server message, responses included, goes down that stream.
extension MCPHTTPHandler {
    func openLegacyStream(_ request: HTTPRequest, route: Route, responder: HTTPResponder) {
        guard
            request.headers["Accept"] == nil || request.headers.listContains("Accept", token: "text/event-stream")
                || request.headers.listContains("Accept", token: "*/*")
        else {
            let notAcceptable = WireError.notAcceptable(
                "GET /sse opens an event stream: send Accept: text/event-stream")
            responder.respond(notAcceptable.response())
            return
        }
        guard let (session, _) = openSession(.legacySSE, request, pathDomain: pathDomain(route), responder: responder)
        else { return }
        guard let stream = responder.startStream(status: 200, headers: SSE.headers, heartbeat: SSE.keepAlive) else {
            sessions.remove(session.id, reason: "client gone before the stream opened")
            return
        }
        let events = SSEMessageStream(stream: stream, label: String(session.id.prefix(6)))
        session.setChannel(SSEChannel(stream: events))
        session.attach(events)  // so ending the session (eviction, shutdown) closes its stream
        // The POST URL names this replica (a load balancer routes it back here, where the stream lives) and the
        // organisation when the stream's URL did (the client may be able to send nothing but Authorization).
        let tenant = route.organisation.map { "/" + $0 } ?? ""
        let endpoint = "/messages/\(replicaID)\(tenant)?sessionId=\(session.id)"
        _ = events.sendRaw(SSE.event("endpoint", id: nil, data: Array(endpoint.utf8)))
        let sessions = sessions
        events.onClientGone { sessions.remove(session.id, reason: "stream closed") }
    }

    func postLegacyMessage(_ request: HTTPRequest, pathDomain: String?, responder: HTTPResponder) -> HTTPResponse {
        guard let sessionID = request.query("sessionId") ?? request.query("session_id") else {
            return WireError.badRequest(
                "Missing sessionId: POST to the URL announced by the endpoint event of GET /sse"
            ).response()
        }
        guard let session = sessions.lookup(sessionID), session.kind == .legacySSE, let channel = session.channel else {
            return WireError.notFound(
                "Session not found or expired on replica \(replicaID): open a new stream with GET /sse (a load balancer must route /messages/<replica> to that replica)"
            ).response()
        }
        responder.annotate("session", String(session.id.prefix(8)))
        let grant: GatewayGrant
        switch authorize(request, pathDomain: pathDomain, session: session) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal): return refusal.response()
        }
        responder.annotate("organisation", grant.organisation)
        let value: JSONValue
        do {
            value = try JSONParser.parse(request.body)
        } catch {
            return WireError.badRequest("Parse error: \(error)", code: .parseError).response()
        }
        session.touch()
        session.dispatcher.receive(value, on: channel, provider: grant.provider)
        return .text(202, "Accepted")
    }
}

/// A legacy session's channel: its SSE stream.
private struct SSEChannel: MessageChannel {
    let stream: SSEMessageStream
    func send(_ message: JSONValue) { stream.send(message) }
}
