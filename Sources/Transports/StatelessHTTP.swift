import Codecs
import HTTPServer
import JSONRPC
import Log
import MCP

/// Stateless MCP 2026-07-28 over Streamable HTTP: no session; each request names its version and capabilities in
/// `_meta`, mirrors them in headers, and is authorised on its own credentials exactly like a new session.
extension MCPHTTPHandler {
    func postStateless(_ rpc: Request, request: HTTPRequest, pathDomain: String?, responder: HTTPResponder) async {
        // 1. Header rules: MCP-Protocol-Version, Mcp-Method and (for named methods) Mcp-Name must match the body.
        if let mismatch = Self.headerMismatch(rpc, headers: request.headers) {
            responder.respond(WireError.badRequest(mismatch, code: .headerMismatch).response(id: rpc.id))
            return
        }
        // 2. _meta rules: required keys (-32602) and a supported version (-32022).
        if case .failure(let error) = StatelessMeta.parse(rpc.params) {
            let reply = Reply.error(rpc.id, error)
            responder.respond(.json(ReplyStatus.stateless(reply), JSONWriter.encode(reply.json)))
            return
        }
        // 3. Tenancy: this request's own credentials, checked like a new session's.
        let grant: GatewayGrant
        switch authorize(request, pathDomain: pathDomain) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal):
            responder.respond(refusal.response(id: rpc.id))
            return
        }
        responder.annotate("organisation", grant.organisation)
        responder.annotate("era", "2026-07-28")

        let acceptsStream = request.headers.listContains("Accept", token: "text/event-stream")
        let meta = rpc.params?["_meta"]?.objectValue
        let wantsStream = acceptsStream && (meta?["progressToken"] != nil || meta?[StatelessMeta.logLevelKey] != nil)
        var stream: SSEMessageStream?
        if wantsStream {
            guard let opened = responder.startStream(status: 200, headers: SSE.headers, heartbeat: SSE.keepAlive) else {
                return
            }
            stream = SSEMessageStream(stream: opened, label: "r")
        }
        let notifications: any NotificationSink =
            stream.map { StreamNotificationSink(stream: $0) } ?? DiscardingNotificationSink()
        // A closed response stream cancels the call (the spec's only cancellation on HTTP for this version).
        let server = server
        let provider = grant.provider
        let work = Task(executorPreference: request.executor) {
            await server.respondStateless(to: rpc, provider: provider, notifications: notifications)
        }
        responder.onClientGone { work.cancel() }
        let reply = await work.value
        guard !responder.isClientGone else { return }
        if let stream {
            stream.send(reply.json)
            stream.finish()
        } else {
            responder.respond(.json(ReplyStatus.stateless(reply), JSONWriter.encode(reply.json)))
        }
    }

    /// Why the routing headers disagree with the body, or `nil` when they agree.
    static func headerMismatch(_ rpc: Request, headers: HTTPHeaders) -> String? {
        let bodyVersion = rpc.params?["_meta"]?[StatelessMeta.protocolVersionKey]?.stringValue
        guard let version = headers["MCP-Protocol-Version"].map(decodeHeaderValue) else {
            return "Missing MCP-Protocol-Version header"
        }
        guard let decodedVersion = version else { return "MCP-Protocol-Version header is not valid base64" }
        if decodedVersion != bodyVersion {
            return
                "MCP-Protocol-Version header '\(decodedVersion)' does not match _meta \(StatelessMeta.protocolVersionKey) '\(bodyVersion ?? "")'"
        }
        guard let methodHeader = headers["Mcp-Method"] else { return "Missing Mcp-Method header" }
        guard let method = decodeHeaderValue(methodHeader) else { return "Mcp-Method header is not valid base64" }
        if method != rpc.method {
            return "Mcp-Method header '\(method)' does not match the body's method '\(rpc.method)'"
        }
        let named: String?
        switch rpc.method {
        case "tools/call", "prompts/get": named = rpc.params?["name"]?.stringValue
        case "resources/read": named = rpc.params?["uri"]?.stringValue
        default: named = nil
        }
        if let named {
            guard let nameHeader = headers["Mcp-Name"] else { return "Missing Mcp-Name header for \(rpc.method)" }
            guard let name = decodeHeaderValue(nameHeader) else { return "Mcp-Name header is not valid base64" }
            if name != named { return "Mcp-Name header '\(name)' does not match the body's '\(named)'" }
        }
        return nil
    }

    /// Decodes `=?base64?…?=`-wrapped header values; plain values pass through. `nil` for bad base64 or UTF-8.
    static func decodeHeaderValue(_ value: String) -> String? {
        guard value.hasPrefix("=?base64?"), value.hasSuffix("?="), value.count >= 11 else { return value }
        let encoded = String(value.dropFirst(9).dropLast(2))
        guard let bytes = Base64.decode(encoded) else { return nil }
        return String(validating: bytes, as: UTF8.self)
    }
}
