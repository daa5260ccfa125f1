/// The credential a caller presents, and how it is sent upstream.
///
/// `bearer` (an MCP / RBAC token) goes out as `Authorization: Bearer …` with `x-api-domain`; `apiToken` (a legacy
/// integration token) goes out as `x-api-token`.
package struct Credential: Sendable, Hashable, CustomStringConvertible {
    package enum Kind: String, Sendable, Hashable {
        case bearer
        case apiToken = "api-token"
    }

    package let kind: Kind
    package let secret: Secret

    package init(kind: Kind, secret: Secret) {
        self.kind = kind
        self.secret = secret
    }

    /// Parses a pasted or header value: surrounding whitespace is trimmed and one `Bearer ` prefix (any case) is
    /// dropped. Returns `nil` for an empty value or one with inner whitespace or control characters, the usual
    /// result of a bad paste.
    package static func parse(_ raw: String, kind: Kind) -> Credential? {
        var value = Substring(raw).trimmingASCIIWhitespace()
        if value.count > 7, value.prefix(7).lowercased() == "bearer " {
            value = value.dropFirst(7).trimmingASCIIWhitespace()
        } else if value.lowercased() == "bearer" {
            return nil
        }
        guard !value.isEmpty, value.utf8.allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
        return Credential(kind: kind, secret: Secret(String(value)))
    }

    /// The claims of a JWT-shaped credential, decoded without verifying the signature; `nil` for an opaque one.
    package var claims: TokenClaims? { TokenClaims.decode(secret.reveal()) }

    package var description: String { "\(kind.rawValue) credential <redacted>" }
}

extension Substring {
    package func trimmingASCIIWhitespace() -> Substring {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let start = firstIndex(where: { !isSpace($0) }), let end = lastIndex(where: { !isSpace($0) }) else {
            return ""
        }
        return self[start...end]
    }
}
