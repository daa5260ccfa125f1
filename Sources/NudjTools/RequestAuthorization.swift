import Codecs
import Tenancy

/// An HTTP request's tenant and the provider that serves it.
package struct AuthorizedRequest: Sendable {
    package var tenant: TenantContext
    package var provider: NudjToolProvider
}

extension NudjRuntime {
    /// Authorises one HTTP request from its own headers, as every request must be (a session id proves nothing):
    /// `Authorization: Bearer <token>` (prefix optional, any case) or `x-api-token`, plus `x-api-domain`, normalised
    /// and allowlisted exactly as on stdio. Tool selection headers (`X-MCP-Toolsets`, `X-MCP-Tools`,
    /// `X-MCP-Exclude-Tools`, `X-MCP-Readonly`, `x-agent-mode`) select within the operator's selection (its default
    /// toolsets when it names none) and can only narrow it; unknown names are refused. A repeated list header counts
    /// as its values joined (RFC 9110); a repeated `X-MCP-Readonly` or `x-agent-mode` that disagrees is refused.
    ///
    /// `headers` holds the values of the headers this reads, gathered in one pass over the request's fields.
    /// `pathDomain` is the API domain the URL names (`/mcp/<org>`), for clients that can send `Authorization` only;
    /// an `x-api-domain` that names another origin is refused (403).
    package func authorize(
        _ headers: AuthorizationHeaders, pathDomain: String?
    ) -> Result<AuthorizedRequest, AccessRefusal> {
        // Every request of a session repeats the same headers: the answer is remembered by exactly what it is a
        // function of, so that a request costs a look-up instead of parsing, normalising and selecting again.
        authorizations.value(for: AuthorizationKey(values: headers.values, pathDomain: pathDomain)) {
            authorizeAnew(headers, pathDomain: pathDomain)
        }
    }

    /// The headers authorisation reads. A header read in `authorizeAnew` but missing here would let a remembered
    /// answer ignore it: `AuthorizationHeaders` traps on a name it does not hold.
    static let authorizationHeaders = [
        "Authorization", "x-api-token", "x-api-domain", "X-MCP-Toolsets", "X-MCP-Tools", "X-MCP-Exclude-Tools",
        "X-MCP-Readonly", "x-agent-mode",
    ]

    private func authorizeAnew(
        _ headers: AuthorizationHeaders, pathDomain: String?
    ) -> Result<AuthorizedRequest, AccessRefusal> {
        let authorization = headers.first("Authorization")
        let apiToken = headers.first("x-api-token")
        let credential: Credential
        if let authorization {
            guard let parsed = Credential.parse(authorization, kind: .bearer) else {
                return .failure(
                    AccessRefusal(
                        kind: .unauthenticated,
                        message:
                            "The Authorization header is malformed: send `Authorization: Bearer <token>` with the token only."
                    )
                )
            }
            credential = parsed
        } else if let apiToken {
            guard let parsed = Credential.parse(apiToken, kind: .apiToken) else {
                return .failure(
                    AccessRefusal(
                        kind: .unauthenticated, message: "The x-api-token header is empty or malformed."))
            }
            credential = parsed
        } else {
            return .failure(
                AccessRefusal(
                    kind: .unauthenticated,
                    message:
                        "Missing credentials: send `Authorization: Bearer <Nudj MCP token>` (or x-api-token) and `x-api-domain: https://<org>.nudj.cx/api/v2/admin` on every request."
                )
            )
        }
        let headerDomain = headers.first("x-api-domain").flatMap { $0.isEmpty ? nil : $0 }
        if let pathDomain {
            return authorize(
                credential: credential, domainText: pathDomain, fromPath: true, headerDomain: headerDomain,
                headers: headers)
        }
        guard let domainText = headerDomain else {
            return .failure(
                AccessRefusal(
                    kind: .unauthenticated,
                    message:
                        "Missing x-api-domain: send `x-api-domain: https://<org>.nudj.cx/api/v2/admin` naming the organisation the token belongs to."
                )
            )
        }
        return authorize(
            credential: credential, domainText: domainText, fromPath: false, headerDomain: nil, headers: headers)
    }

    private func authorize(
        credential: Credential, domainText: String, fromPath: Bool, headerDomain: String?,
        headers: AuthorizationHeaders
    ) -> Result<AuthorizedRequest, AccessRefusal> {
        let domain: APIDomain
        switch domains.value(for: domainText, make: { policy.normalize(domainText) }) {
        case .success(let normalized): domain = normalized
        case .failure(let error):
            let source = fromPath ? "The organisation in the URL" : "x-api-domain"
            return .failure(AccessRefusal(kind: .domainRefused, message: "\(source) refused: \(error.message)"))
        }
        if let headerDomain {
            guard case .success(let named) = domains.value(for: headerDomain, make: { policy.normalize(headerDomain) }),
                named.origin == domain.origin
            else {
                return .failure(
                    AccessRefusal(
                        kind: .domainRefused,
                        message:
                            "x-api-domain does not name the organisation in the URL (\(domain.organisation)): send one or the other, not both different"
                    ))
            }
        }
        var request = ToolSelection()
        func list(_ name: String) -> Set<String> { ToolSelection.names(headers.all(name).joined(separator: ",")) }
        let chosenToolsets = list("X-MCP-Toolsets")
        request.toolsets = chosenToolsets.isEmpty ? nil : chosenToolsets  // an empty header chooses nothing
        request.tools = list("X-MCP-Tools")
        request.excludedTools = list("X-MCP-Exclude-Tools")
        for name in ["X-MCP-Readonly", "x-agent-mode"]
        where Set(headers.all(name).map { Substring($0).trimmingASCIIWhitespace().lowercased() }).count > 1 {
            return .failure(
                AccessRefusal(kind: .badHeader, message: "\(name) is sent more than once with different values"))
        }
        // A misspelt name would silently select nothing: refuse it, naming what exists.
        if let unknown = request.toolsets?.first(where: { !catalogue.selectableToolsets.contains($0) }) {
            return .failure(
                AccessRefusal(
                    kind: .badHeader,
                    message:
                        "X-MCP-Toolsets names an unknown toolset '\(unknown)'; known: \(catalogue.toolsets.map(\.name).joined(separator: ", ")), all, default"
                )
            )
        }
        for (name, tools) in [("X-MCP-Tools", request.tools), ("X-MCP-Exclude-Tools", request.excludedTools)] {
            if let unknown = tools.first(where: { catalogue.tool(named: $0) == nil }) {
                return .failure(
                    AccessRefusal(
                        kind: .badHeader,
                        message: "\(name) names an unknown tool '\(unknown)'; run `nudj-mcp tools` for the list"))
            }
        }
        if let readOnly = headers.first("X-MCP-Readonly") {
            switch readOnly.lowercased() {
            case "true", "1", "yes", "on": request.readOnly = true
            case "false", "0", "no", "off", "": request.readOnly = false  // a header can turn read-only on, never off
            default:
                return .failure(AccessRefusal(kind: .badHeader, message: "X-MCP-Readonly must be true or false"))
            }
        }
        if let mode = headers.first("x-agent-mode") {
            guard let parsed = AgentMode(rawValue: mode.lowercased()) else {
                return .failure(
                    AccessRefusal(kind: .badHeader, message: "x-agent-mode must be planner or builder"))
            }
            request.agentMode = parsed
        }
        let tenant = tenants.value(for: TenantKey(domain: domain, credential: credential)) {
            TenantContext(domain: domain, credential: credential)
        }
        return .success(AuthorizedRequest(tenant: tenant, provider: provider(for: .success(tenant), request: request)))
    }
}

/// A tenant is a pure function of exactly these.
struct TenantKey: Hashable, Sendable {
    var domain: APIDomain
    var credential: Credential
}

/// The values of the headers an HTTP request's authorisation reads (`NudjRuntime.authorizationHeaders`), in arrival
/// order per name.
package struct AuthorizationHeaders: Sendable {
    var values: [[String]] = Array(repeating: [], count: NudjRuntime.authorizationHeaders.count)

    package init() {}

    /// Records one header field; fields authorisation does not read are ignored.
    package mutating func add(name: String, value: String) {
        if let index = Self.index(of: name) { values[index].append(value) }
    }

    func first(_ name: String) -> String? { all(name).first }

    func all(_ name: String) -> [String] {
        guard let index = Self.index(of: name) else {
            preconditionFailure("\(name) is read by authorisation but not part of its key")
        }
        return values[index]
    }

    private static func index(of name: String) -> Int? {
        NudjRuntime.authorizationHeaders.firstIndex(where: name.equalsIgnoringASCIICase)
    }
}

/// Everything an HTTP request's authorisation depends on: the values of `authorizationHeaders`, in that order, and
/// the domain its URL names.
struct AuthorizationKey: Hashable, Sendable {
    var values: [[String]]
    var pathDomain: String?
}
