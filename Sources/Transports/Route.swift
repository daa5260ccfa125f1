import Log

/// Where a request goes: its endpoint, and the organisation or replica its path names.
///
/// `/mcp/<org>` and `/sse/<org>` carry the tenant for clients that can send only `Authorization`;
/// `/messages/<replica>[/<org>]` is the legacy SSE POST URL, which a load balancer routes to the replica holding
/// the stream.
struct Route {
    /// `/mcp`, `/sse`, `/messages`, or the path itself when it is none of them.
    let endpoint: String
    /// The organisation subdomain the path names, lowercased.
    let organisation: String?
    /// The replica a `/messages/<replica>` path names.
    let replica: String?
    /// The path names an organisation that cannot be a subdomain label.
    let badTenant: Bool
    let isOAuthDiscovery: Bool

    init(path: String) {
        isOAuthDiscovery =
            path.hasPrefix("/.well-known/oauth-") || path.hasPrefix("/.well-known/openid-configuration")
            || path == "/register"
        let segments = path.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true).map {
            String(Substring($0))
        }
        var endpoint = path
        var organisation: String?
        var replica: String?
        var badTenant = false
        switch segments.first {
        case "mcp", "sse":
            if segments.count <= 2 {
                endpoint = "/" + segments[0]
                if segments.count == 2 {
                    organisation = segments[1].lowercased()
                    badTenant = !Self.isLabel(segments[1])
                }
            }
        case "messages":
            if segments.count <= 3 {
                endpoint = "/messages"
                replica = segments.count > 1 ? segments[1] : nil
                if segments.count == 3 {
                    organisation = segments[2].lowercased()
                    badTenant = !Self.isLabel(segments[2])
                }
            }
        default: break
        }
        self.endpoint = endpoint
        self.organisation = badTenant ? nil : organisation
        self.replica = replica
        self.badTenant = badTenant
    }

    var transport: Metrics.Transport {
        switch endpoint {
        case "/mcp": .streamableHTTP
        case "/sse", "/messages": .sse
        default: .other
        }
    }

    /// One DNS label: what an organisation subdomain can be (and nothing a path or host could be smuggled in).
    static func isLabel(_ text: String) -> Bool {
        (1...63).contains(text.utf8.count) && text.first != "-" && text.last != "-"
            && text.utf8.allSatisfy { byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == 0x2D
            }
    }
}
