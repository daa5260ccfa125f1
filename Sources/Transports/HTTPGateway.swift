import HTTPServer
import MCP
import Tenancy

/// What the HTTP transports need from the tool layer: turn one request's headers into a tenant binding and a
/// provider bound to that tenant, or refuse with a status.
package protocol HTTPGateway: Sendable {
    func authorize(_ headers: HTTPHeaders) -> Result<GatewayGrant, GatewayRefusal>
}

package struct GatewayGrant: Sendable {
    package var binding: TenantBinding
    package var organisation: String
    package var provider: any ToolProvider

    package init(binding: TenantBinding, organisation: String, provider: any ToolProvider) {
        self.binding = binding
        self.organisation = organisation
        self.provider = provider
    }
}

package struct GatewayRefusal: Error, Sendable {
    /// 401 (missing or malformed credentials), 403 (refused domain) or 400 (bad header value).
    package var status: Int
    package var message: String

    package init(status: Int, message: String) {
        self.status = status
        self.message = message
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

    package init() {}
}
