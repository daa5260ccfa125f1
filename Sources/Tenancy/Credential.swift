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
        // Over the contiguous bytes: this runs on every HTTP request, and a token is hundreds of bytes.
        var raw = raw
        let token = raw.withUTF8 { bytes -> String? in
            let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }
            var start = 0
            var end = bytes.count
            while start < end && isSpace(bytes[start]) { start += 1 }
            while end > start && isSpace(bytes[end - 1]) { end -= 1 }
            if end - start >= 6, zip(bytes[start..<start + 6], "bearer".utf8).allSatisfy({ $0 | 0x20 == $1 }) {
                if end - start == 6 { return nil }
                if bytes[start + 6] == 0x20 {
                    start += 7
                    while start < end && isSpace(bytes[start]) { start += 1 }
                }
            }
            guard start < end, bytes[start..<end].allSatisfy({ $0 > 0x20 && $0 != 0x7F }) else { return nil }
            return String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<end]), as: UTF8.self)
        }
        return token.map { Credential(kind: kind, secret: Secret($0)) }
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
