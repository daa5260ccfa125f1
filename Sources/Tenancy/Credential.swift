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
        // Byte-wise: this runs on every HTTP request, and a token is hundreds of bytes (no grapheme breaking, no
        // lower-cased copy of it).
        var value = Substring(raw).trimmingASCIIWhitespace()
        let bytes = value.utf8
        if bytes.count >= 6, zip(bytes.prefix(6), "bearer".utf8).allSatisfy({ $0 | 0x20 == $1 }) {
            if bytes.count == 6 { return nil }
            let afterWord = bytes.index(bytes.startIndex, offsetBy: 6)
            if bytes[afterWord] == 0x20 { value = value[bytes.index(after: afterWord)...].trimmingASCIIWhitespace() }
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
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
        guard let start = utf8.firstIndex(where: { !isSpace($0) }), let end = utf8.lastIndex(where: { !isSpace($0) })
        else { return "" }
        return self[start...end]
    }
}
