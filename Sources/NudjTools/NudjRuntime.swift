import Log
import MCP
import NudjClient
import Tenancy

/// The process-wide pieces every session shares (catalogue, upstream client, result budget, domain policy, the
/// operator's tool selection), and the one place a tenant-bound `NudjToolProvider` is made.
package struct NudjRuntime: Sendable {
    package let catalogue: Catalogue
    package let client: NudjClient
    package let shaper: ResultShaper
    package let policy: DomainPolicy
    package let selection: ToolSelection
    package let logger: Logger
    /// Headers are client-chosen: every table is bounded.
    private let views = MemoTable<ViewKey, ToolView>(capacity: 256)
    /// Every request of a session repeats its `x-api-domain` and credential; normalising the domain, decoding the
    /// token's claims and fingerprinting it cost more than the rest of a request's handling. Remembered for a minute,
    /// so a token is not held long after its sessions end.
    let domains = MemoTable<String, Result<APIDomain, DomainError>>(capacity: 4096, lifetime: .seconds(60))
    let tenants = MemoTable<TenantKey, TenantContext>(capacity: 4096, lifetime: .seconds(60))
    /// An HTTP request's whole authorisation, by the headers it depends on: the same lifetime as the tables above.
    let authorizations = MemoTable<AuthorizationKey, Result<AuthorizedRequest, AccessRefusal>>(
        capacity: 4096, lifetime: .seconds(60))

    package init(
        catalogue: Catalogue,
        client: NudjClient,
        shaper: ResultShaper,
        policy: DomainPolicy,
        selection: ToolSelection,
        logger: Logger
    ) {
        self.catalogue = catalogue
        self.client = client
        self.shaper = shaper
        self.policy = policy
        self.selection = selection
        self.logger = logger
    }

    /// A provider for one tenant (or for a missing / refused one, whose calls then explain what to fix).
    package func provider(
        for tenant: Result<TenantContext, TenantProblem>, request: ToolSelection? = nil
    ) -> NudjToolProvider {
        let role = (try? tenant.get().claims?.role) ?? nil
        let view = views.value(for: ViewKey(request: request, role: role)) {
            ToolView(catalogue: catalogue, server: selection, request: request, role: role)
        }
        return NudjToolProvider(
            catalogue: catalogue, view: view, tenant: tenant, client: client, shaper: shaper, logger: logger)
    }

    /// The configured credential: a Bearer MCP token is preferred over a legacy API token; `nil` when neither parses.
    package static func credential(bearer: String?, apiToken: String?) -> Credential? {
        bearer.flatMap { Credential.parse($0, kind: .bearer) }
            ?? apiToken.flatMap { Credential.parse($0, kind: .apiToken) }
    }

    /// Resolves configured credentials (env or flags) into a tenant: a Bearer MCP token is preferred over a legacy
    /// API token; the domain is normalised and allowlisted.
    package func tenant(bearer: String?, apiToken: String?, domain: String?) -> Result<TenantContext, TenantProblem> {
        let credential = Self.credential(bearer: bearer, apiToken: apiToken)
        let domainText = domain.map { String(Substring($0).trimmingASCIIWhitespace()) }.flatMap {
            $0.isEmpty ? nil : $0
        }
        switch (credential, domainText) {
        case (nil, nil):
            return .failure(
                .notConfigured(
                    "Set NUDJ_MCP_TOKEN (an MCP token from Settings → Developer → MCP Tokens) and NUDJ_API_DOMAIN (https://<org>.nudj.cx/api/v2/admin) in the env block of this server in your MCP client config, or start nudj-mcp with --sandbox to try the built-in simulator."
                )
            )
        case (nil, _):
            let hint =
                (bearer ?? apiToken) == nil
                ? "NUDJ_MCP_TOKEN is not set. Add it to the env block of this server in your MCP client config (or use NUDJ_API_TOKEN for a legacy API token)."
                : "NUDJ_MCP_TOKEN / NUDJ_API_TOKEN is empty or contains spaces; paste the token again without surrounding text."
            return .failure(.notConfigured(hint))
        case (_, nil):
            return .failure(
                .notConfigured(
                    "NUDJ_API_DOMAIN is not set. Add it to the env block of this server in your MCP client config, e.g. https://<org>.nudj.cx/api/v2/admin (or just <org>)."
                )
            )
        case (let credential?, let domain?):
            switch policy.normalize(domain) {
            case .success(let normalized): return .success(TenantContext(domain: normalized, credential: credential))
            case .failure(let error): return .failure(.domainNotAllowed(error.message))
            }
        }
    }
}

/// What a tool view is made from: the request's selection and the token's role (a small set in practice).
private struct ViewKey: Hashable, Sendable {
    var request: ToolSelection?
    var role: NudjRole?
}
