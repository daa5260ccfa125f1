/// The three Nudj REST APIs, each under `/api/v2/<name>` on the organisation's host.
package enum NudjAPI: String, Sendable, CaseIterable, Hashable {
    case admin
    case integration
    case analytics

    package var basePath: String {
        switch self {
        case .admin: "/api/v2/admin"
        case .integration: "/api/v2/integration"
        case .analytics: "/api/v2/analytics"
        }
    }
}

/// An organisation's API location after normalisation and allowlisting: the one place upstream URLs come from.
///
/// Built only by `DomainPolicy.normalize`, so holding one means the host passed the allowlist.
package struct APIDomain: Sendable, Hashable, CustomStringConvertible {
    package let scheme: String
    package let host: String
    package let port: Int?
    /// The organisation this domain selects (its subdomain for `*.nudj.cx`).
    package let organisation: String
    /// Whether `organisation` is an organisation subdomain (`*.nudj.cx`, `*.localhost`) rather than a custom host,
    /// so a token's subdomain claim can be compared with it.
    package let organisationIsSubdomain: Bool
    /// `scheme://host[:port]`, the identity two domains must share to be the same tenant. Stored: every request
    /// compares it and builds its URL from it.
    package let origin: String

    init(scheme: String, host: String, port: Int?, organisation: String, organisationIsSubdomain: Bool) {
        self.scheme = scheme
        self.host = host
        self.port = port
        self.organisation = organisation
        self.organisationIsSubdomain = organisationIsSubdomain
        origin = if let port { "\(scheme)://\(host):\(port)" } else { "\(scheme)://\(host)" }
    }

    /// The base URL of one API, e.g. `https://acme.nudj.cx/api/v2/admin`.
    package func baseURL(_ api: NudjAPI) -> String { origin + api.basePath }

    /// The `x-api-domain` header value Nudj expects: the full admin API URL.
    package var headerValue: String { baseURL(.admin) }

    package var description: String { headerValue }
}
