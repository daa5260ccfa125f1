import HTTPServer
import JSONRPC
import Log
import MCP
import Synchronization
import Tenancy

/// The MCP HTTP endpoints: Streamable HTTP at `/mcp`, legacy HTTP+SSE at `/sse` + `/messages`, `/healthz`.
///
/// Every request is authorised on its own headers; a request on a session must reproduce the session's binding
/// (organisation and credential fingerprint) or it is refused with 403 before anything reaches upstream.
package final class MCPHTTPHandler: HTTPHandler {
    let server: MCPServer
    let gateway: any HTTPGateway
    let configuration: MCPHTTPConfiguration
    let sessions: HTTPSessionTable
    /// Ids ended with DELETE on this replica; another replica may still restore them (see README: Deploy).
    let revoked = RevokedSessions(capacity: 10_000)
    let logger: Logger
    private let draining = Atomic(false)

    package init(server: MCPServer, gateway: any HTTPGateway, configuration: MCPHTTPConfiguration, logger: Logger) {
        self.server = server
        self.gateway = gateway
        self.configuration = configuration
        self.logger = logger
        var limits = SessionLimits()
        limits.capacity = configuration.maxSessions
        limits.idleTimeout = configuration.sessionIdleTimeout
        limits.probationIdleTimeout = configuration.sessionProbationIdleTimeout
        limits.probationPerPeer = configuration.maxProbationSessionsPerPeer
        sessions = HTTPSessionTable(limits: limits, server: server, logger: logger)
    }

    package var sessionCount: Int { sessions.count }

    var replicaID: String { configuration.replicaID }

    /// Whether `/readyz` says this replica takes new work.
    var isReady: Bool { !draining.load(ordering: .relaxed) }

    /// Turns `/readyz` to 503 so the load balancer stops sending new work; requests keep being served meanwhile.
    package func beginDraining() { draining.store(true, ordering: .relaxed) }

    /// Expires idle sessions; call periodically.
    package func expireIdleSessions() { sessions.expireIdle() }

    package func closeAllSessions() { sessions.closeAll() }

    package func handle(_ request: HTTPRequest, responder: HTTPResponder) async {
        let origin = request.headers["Origin"]
        if let failure = checkHostAndOrigin(request) {
            responder.respond(failure.response())
            return
        }
        if request.method == "OPTIONS" {
            responder.respond(preflight(request))
            return
        }
        if let origin, originAllowed(origin) {
            var cors = HTTPHeaders()
            Self.addCORS(&cors, origin: origin)
            for field in cors { responder.addHeader(field.name, field.value) }
        }
        var response: HTTPResponse?
        let route = Route(path: request.path)
        switch (route.endpoint, request.method) {
        case ("/healthz", "GET"), ("/healthz", "HEAD"):
            response = .json(
                200,
                JSONWriter.encode([
                    "status": "ok", "version": .string(configuration.version), "sessions": .int(Int64(sessions.count)),
                ]))
        case ("/readyz", "GET"), ("/readyz", "HEAD"):
            let ready = isReady
            response = .json(
                ready ? 200 : 503,
                JSONWriter.encode(["status": ready ? "ready" : "draining", "replica": .string(replicaID)]))
        case ("/metrics", "GET"):
            response = HTTPResponse(
                status: 200, headers: ["Content-Type": "text/plain; version=0.0.4; charset=utf-8"],
                body: Array(Metrics.process.render(sessions: sessions.count, ready: isReady).utf8))
        case (_, _) where route.isOAuthDiscovery:
            // Clients that start OAuth discovery on a 401 must learn at once that there is none.
            response = .json(
                404,
                JSONWriter.encode([
                    "error": [
                        "message":
                            "This server does not use OAuth: send Authorization: Bearer <Nudj MCP token> (and the organisation in the URL or x-api-domain)"
                    ]
                ]))
        case (_, _) where route.badTenant:
            response = WireError.notFound(
                "Not found: the organisation in /mcp/<org> or /sse/<org> must be one subdomain label (letters, digits, hyphens)"
            ).response()
        case ("/mcp", "POST"):
            await postMCP(request, pathDomain: pathDomain(route), responder: responder)
        case ("/mcp", "GET"):
            await openStandaloneStream(request, pathDomain: pathDomain(route), responder: responder)
        case ("/mcp", "DELETE"):
            response = deleteSession(request, pathDomain: pathDomain(route), responder: responder)
        case ("/sse", "GET"):
            openLegacyStream(request, route: route, responder: responder)
        case ("/sse", "POST") where request.query("sessionId") != nil, ("/messages", "POST"):
            response = postLegacyMessage(request, pathDomain: pathDomain(route), responder: responder)
        case ("/sse", "POST"):
            // 405, not 400: mcp-remote's http-first strategy falls back to HTTP+SSE only on 404/405.
            response = WireError.methodNotAllowed(
                "POST /sse is not Streamable HTTP: GET /sse opens the legacy HTTP+SSE transport, Streamable HTTP is at /mcp",
                allow: "GET"
            ).response()
        case ("/mcp", _), ("/sse", _), ("/messages", _):
            response = WireError.methodNotAllowed(
                "Method \(request.method) is not allowed on \(request.path)",
                allow: route.endpoint == "/mcp" ? "GET, POST, DELETE" : route.endpoint == "/sse" ? "GET" : "POST"
            ).response()
        default:
            response = .json(
                404,
                JSONWriter.encode([
                    "error": [
                        "message": .string(
                            "Not found. MCP endpoints: POST/GET/DELETE /mcp or /mcp/<org> (Streamable HTTP), GET /sse or /sse/<org> (HTTP+SSE), GET /healthz, /readyz, /metrics"
                        )
                    ]
                ]))
        }
        if let response { responder.respond(response) }
        let status = responder.status
        if status != 0 { Metrics.process.countRequest(route.transport, status: status) }
    }

    /// The API domain `/mcp/<org>` names, under the configured template (allowlisted later like any domain).
    func pathDomain(_ route: Route) -> String? {
        route.organisation.map { configuration.pathTenantDomain.replacing("{org}", with: $0) }
    }

    // MARK: - Origin, Host, CORS

    private func checkHostAndOrigin(_ request: HTTPRequest) -> WireError? {
        if configuration.requireLoopbackHost, let host = request.headers["Host"],
            !LoopbackHost.isLoopback(authority: host)
        {
            return .forbidden("Host '\(host)' is not allowed: this server only answers to localhost names")
        }
        if let origin = request.headers["Origin"], !originAllowed(origin) {
            return .forbidden("Origin '\(origin)' is not allowed")
        }
        return nil
    }

    /// An origin the operator listed (exactly, or `*`), or a loopback origin under the one strict classifier.
    func originAllowed(_ origin: String) -> Bool {
        if origin == "null" { return false }
        if configuration.allowedOrigins.contains(origin) || configuration.allowedOrigins.contains("*") { return true }
        return LoopbackHost.isLoopback(origin: origin)
    }

    private func preflight(_ request: HTTPRequest) -> HTTPResponse {
        var headers: HTTPHeaders = [
            "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
            "Access-Control-Allow-Headers":
                "Authorization, Content-Type, Accept, x-api-domain, x-api-token, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID, X-MCP-Toolsets, X-MCP-Tools, X-MCP-Exclude-Tools, X-MCP-Readonly, x-agent-mode",
            "Access-Control-Max-Age": "600",
        ]
        if let origin = request.headers["Origin"] { Self.addCORS(&headers, origin: origin) }
        return HTTPResponse(status: 204, headers: headers)
    }

    static func addCORS(_ headers: inout HTTPHeaders, origin: String) {
        headers.set("Access-Control-Allow-Origin", origin)
        headers.set("Access-Control-Expose-Headers", "Mcp-Session-Id, MCP-Protocol-Version")
        headers.set("Vary", "Origin")
    }

    // MARK: - Authorisation

    /// Authorises the request's own headers; on a session, they must reproduce the session's binding.
    func authorize(_ request: HTTPRequest, pathDomain: String?, session: HTTPSession? = nil) -> Authorization {
        switch gateway.authorize(request.headers, pathDomain: pathDomain) {
        case .failure(let refusal):
            return .refused(WireError(refusal))
        case .success(let grant):
            if let session, grant.binding != session.binding {
                return .refused(
                    bindingMismatch(
                        session: String(session.id.prefix(8)), organisation: session.organisation, grant: grant))
            }
            return .granted(grant)
        }
    }

    /// The 403 for a request whose credentials do not reproduce its session's binding (logged: it is either a
    /// misconfigured client or someone holding another client's session id).
    func bindingMismatch(session: String, organisation: String, grant: GatewayGrant) -> WireError {
        logger.warning(
            "request refused: credentials do not match the session's binding",
            [("session", session), ("sessionOrganisation", organisation), ("requestOrganisation", grant.organisation)]
        )
        return .forbidden(
            "This session is bound to another organisation or credential; open a new session with your own credentials")
    }
}

extension MCPHTTPHandler {
    /// Authorises a request that opens a session and creates the session bound to its credentials, or answers the
    /// refusal (401/403/400) or the capacity error (503) itself and returns `nil`.
    func openSession(
        _ kind: HTTPSession.Kind, _ request: HTTPRequest, pathDomain: String?, responder: HTTPResponder
    ) -> (session: HTTPSession, grant: GatewayGrant)? {
        let grant: GatewayGrant
        switch authorize(request, pathDomain: pathDomain) {
        case .granted(let authorized): grant = authorized
        case .refused(let refusal):
            responder.respond(refusal.response())
            return nil
        }
        guard
            let session = sessions.create(
                kind: kind, binding: grant.binding, organisation: grant.organisation, peer: request.peer,
                executor: request.executor)
        else {
            let message =
                "Session capacity reached (\(sessions.capacity) established sessions); retry shortly"
            responder.respond(WireError.unavailable(message).response())
            return nil
        }
        responder.annotate("session", String(session.id.prefix(8)))
        responder.annotate("organisation", grant.organisation)
        return (session, grant)
    }
}

/// The outcome of authorising one HTTP request.
enum Authorization {
    case granted(GatewayGrant)
    /// Why it is refused (401, 403 or 400).
    case refused(WireError)
}
