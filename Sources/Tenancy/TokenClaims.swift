import Codecs
import JSONRPC

/// RBAC roles, lowest first. Only Viewer is read-only across the board.
package enum NudjRole: Int, Sendable, Comparable, CaseIterable {
    case viewer
    case moderator
    case manager
    case admin
    case superAdmin

    package init?(claim: String) {
        let normalized = claim.lowercased().filter { $0 != "-" && $0 != "_" && $0 != " " }
        switch normalized {
        case "viewer", "analytics", "analyst": self = .viewer
        case "moderator": self = .moderator
        case "manager", "creator": self = .manager
        case "admin": self = .admin
        case "superadmin", "owner": self = .superAdmin
        default: return nil
        }
    }

    package var name: String {
        switch self {
        case .viewer: "Viewer"
        case .moderator: "Moderator"
        case .manager: "Manager"
        case .admin: "Admin"
        case .superAdmin: "SuperAdmin"
        }
    }

    package static func < (lhs: NudjRole, rhs: NudjRole) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// The claims nudj-mcp reads from a JWT-shaped token, decoded without verifying the signature.
///
/// The Nudj API verifies tokens; the server only uses claims to fail fast and to explain errors: an expired token is
/// reported without a round trip, a Viewer token hides write tools, and a 403 is classified as a tenancy mismatch
/// when the token names another organisation. An opaque token has no claims and is simply sent.
package struct TokenClaims: Sendable, Equatable {
    package var organisationId: String?
    /// The organisation subdomain the token was minted for, when the token carries one.
    package var subdomain: String?
    package var role: NudjRole?
    package var type: String?
    /// Expiry, in seconds since the epoch.
    package var expiresAt: Int64?

    package init(
        organisationId: String? = nil,
        subdomain: String? = nil,
        role: NudjRole? = nil,
        type: String? = nil,
        expiresAt: Int64? = nil
    ) {
        self.organisationId = organisationId
        self.subdomain = subdomain
        self.role = role
        self.type = type
        self.expiresAt = expiresAt
    }

    /// Decodes the payload of `header.payload.signature`; `nil` when the token is not a JWT with a JSON object payload.
    package static func decode(_ token: String) -> TokenClaims? {
        let segments = token.split(separator: ".", omittingEmptySubsequences: false)
        guard segments.count == 3, !segments[1].isEmpty, segments[1].count <= 16_384,
            let bytes = Base64URL.decode(String(segments[1])),
            case .object(let payload)? = try? JSONParser.parse(bytes, maxDepth: 16)
        else { return nil }
        var claims = TokenClaims()
        claims.organisationId = payload["organisationId"]?.stringValue ?? payload["orgId"]?.stringValue
        claims.subdomain = (payload["subdomain"]?.stringValue ?? payload["organisationSubdomain"]?.stringValue)?
            .lowercased()
        claims.type = payload["type"]?.stringValue
        claims.expiresAt = payload["exp"]?.intValue
        if let role = payload["role"]?.stringValue {
            claims.role = NudjRole(claim: role)
        } else if let roles = payload["roles"]?.arrayValue {
            // Nudj role strings look like `orgId-…:role-viewer`; the highest role named wins.
            claims.role = roles.compactMap(\.stringValue).compactMap { (entry: String) -> NudjRole? in
                guard let marker = entry.firstRange(of: "role-") else { return nil }
                return NudjRole(claim: String(entry[marker.upperBound...]))
            }.max()
        }
        return claims
    }

    package func isExpired(now: Int64) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= now
    }
}
