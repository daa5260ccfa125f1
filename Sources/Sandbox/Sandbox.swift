import HTTPServer
import JSONRPC
import Log
import TLS
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// A faithful in-memory Nudj API on loopback: real HTTP, organisations by subdomain (`acme.localhost`), minted
/// JWT-shaped tokens, tenancy and RBAC checks, rate limits and the tRPC error envelope.
package final class Sandbox: Sendable {
    /// One seeded organisation and the tokens minted for it.
    package struct Organisation: Sendable {
        package let subdomain: String
        package let id: String
        /// `admin` (Bearer, Admin role), `viewer` (Bearer, Viewer), `expired` (Bearer, expired), `apiToken` (legacy).
        package let tokens: [String: String]
    }

    package let organisations: [Organisation]
    private let server: HTTPServer
    private let handler: SandboxHandler

    package init(configuration: SandboxConfiguration = SandboxConfiguration(), logger: Logger) throws {
        let tokens = SandboxTokens()
        var data: [String: OrganisationData] = [:]
        var organisations: [Organisation] = []
        let now = Int64(Date().timeIntervalSince1970)
        let anchor = configuration.seedAnchor.map { Int64($0.timeIntervalSince1970) } ?? Seed.defaultAnchor()
        for (index, spec) in Seed.organisations.enumerated() {
            let seed = Seed(spec, index: index, anchor: anchor)
            data[spec.subdomain] = seed.data
            func mint(_ role: NudjRole, type: String?, expiresAt: Int64, name: String) -> String {
                tokens.mint(
                    SandboxIdentity(
                        organisation: spec.subdomain,
                        organisationId: seed.organisationId,
                        userId: seed.memberId,
                        role: role,
                        type: type,
                        expiresAt: expiresAt,
                        tokenId: "\(spec.subdomain)-\(name)"
                    )
                )
            }
            organisations.append(
                Organisation(
                    subdomain: spec.subdomain,
                    id: seed.organisationId,
                    tokens: [
                        "admin": mint(.admin, type: "rbac", expiresAt: now + 365 * 86_400, name: "admin"),
                        "viewer": mint(.viewer, type: "rbac", expiresAt: now + 365 * 86_400, name: "viewer"),
                        "expired": mint(.admin, type: "rbac", expiresAt: now - 3_600, name: "expired"),
                        "apiToken": mint(.admin, type: nil, expiresAt: now + 365 * 86_400, name: "api-token"),
                    ]
                )
            )
        }
        handler = SandboxHandler(
            store: SandboxStore(seed: data),
            tokens: tokens,
            routes: Routes.all,
            configuration: configuration,
            logger: logger
        )
        var http = HTTPServerConfiguration()
        http.host = configuration.host
        http.port = configuration.port
        http.tls = configuration.tls
        scheme = configuration.tls == nil ? "http" : "https"
        server = try HTTPServer(configuration: http, handler: handler, logger: logger)
        self.organisations = organisations
        seedAnchor = Date(timeIntervalSince1970: Double(anchor))
    }

    /// The instant every seeded timestamp is relative to (all seeded events lie before it).
    package let seedAnchor: Date

    package var port: Int { server.port }

    /// `http`, or `https` when the sandbox serves TLS.
    package let scheme: String

    /// `http://127.0.0.1:<port>` (`https://` over TLS): the control endpoints (`/_sandbox/stats`) live here.
    package var url: String { "\(scheme)://127.0.0.1:\(port)" }

    /// The API base of one organisation, e.g. `http://acme.localhost:4011/api/v2/admin`.
    package func apiDomain(_ organisation: String, _ api: NudjAPI = .admin) -> String {
        "\(scheme)://\(organisation).localhost:\(port)\(api.basePath)"
    }

    /// Requests that reached each organisation, refused ones included.
    package var requestCounts: [String: Int] { handler.requestCounts }

    package func run() async { await server.run() }

    package func shutdown(grace: Duration = .seconds(2)) async { await server.shutdown(grace: grace) }

    /// The organisations as the ready line lists them.
    package var organisationsJSON: JSONValue {
        .array(
            organisations.map { organisation in
                var domains = JSONObject()
                for api in NudjAPI.allCases { domains[api.rawValue] = .string(apiDomain(organisation.subdomain, api)) }
                var tokens = JSONObject()
                for key in ["admin", "viewer", "expired", "apiToken"] {
                    tokens[key] = .string(organisation.tokens[key]!)
                }
                return [
                    "subdomain": .string(organisation.subdomain), "id": .string(organisation.id),
                    "apiDomain": .object(domains), "tokens": .object(tokens),
                ]
            }
        )
    }

    /// `{"event":"ready","url":…,"orgs":[…]}`.
    package var readyEvent: JSONValue { ["event": "ready", "url": .string(url), "orgs": organisationsJSON] }
}
