import HTTPServer
import MCP
import Tenancy

/// What the HTTP transports need from the tool layer: turn one request's headers into a tenant binding and a
/// provider bound to that tenant, or the refusal.
package protocol HTTPGateway: Sendable {
    /// - Parameter pathDomain: the API domain named by the URL (`/mcp/<org>`), which `x-api-domain` may repeat but
    ///   not contradict.
    func authorize(_ headers: HTTPHeaders, pathDomain: String?) -> Result<GatewayGrant, AccessRefusal>
}

package struct GatewayGrant: Sendable {
    package var binding: TenantBinding
    package var organisation: String
    package var provider: any ToolProvider
    /// Only to fingerprint it for a sealed session id; never stored.
    package var credential: Credential

    package init(binding: TenantBinding, organisation: String, provider: any ToolProvider, credential: Credential) {
        self.binding = binding
        self.organisation = organisation
        self.provider = provider
        self.credential = credential
    }
}

/// HTTP-level settings of the MCP endpoints.
package struct MCPHTTPConfiguration: Sendable {
    /// Browser origins allowed besides localhost ones (`Origin` present and not allowed → 403).
    package var allowedOrigins: [String] = []
    /// When bound to loopback, the `Host` header must name loopback too (DNS-rebinding guard).
    package var requireLoopbackHost = true
    package var maxSessions = 10_000
    /// Sessions live long: mcp-remote cannot re-initialise after a 404.
    package var sessionIdleTimeout: Duration = .seconds(8 * 3600)
    /// Sessions that have not yet made a successful call expire after this much idle time.
    package var sessionProbationIdleTimeout: Duration = .seconds(300)
    /// Sessions on probation one peer (remote address) may hold; its oldest is evicted past this.
    package var maxProbationSessionsPerPeer = 1_000
    package var version = "0.0.0"
    /// Seals Streamable HTTP session ids. Replicas sharing its secret serve each other's sessions; the default, a
    /// random per-process secret, loses every session with the process.
    package var sealer = SessionSealer(secrets: [.random()])
    /// How long a sealed session id is honoured after `initialize`, in seconds (idle sessions are dropped from
    /// memory sooner and restored from the id on their next request).
    package var sessionMaxAge: Int64 = 7 * 86_400
    /// This replica's name in legacy SSE POST URLs (`/messages/<replica>`), which the load balancer routes on.
    package var replicaID = "local"
    /// The API domain `/mcp/<org>` and `/sse/<org>` stand for; `{org}` is replaced by the organisation.
    package var pathTenantDomain = "https://{org}.nudj.cx/api/v2/admin"

    package init() {}
}
