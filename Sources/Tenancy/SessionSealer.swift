import Codecs
import JSONRPC

/// What a sealed session id carries: everything a replica needs to serve the session without shared state.
///
/// Never the credential: only the organisation's origin and a keyed fingerprint of the credential, so a stolen id is
/// useless without the credential that opened the session (every request must reproduce the binding).
package struct SessionClaims: Sendable, Equatable {
    /// The transport the session belongs to (`streamable`, `sse`): an id is refused on any other.
    package var kind: String
    /// The organisation's `scheme://host[:port]` (`APIDomain.origin`).
    package var origin: String
    /// HMAC-SHA256 of the credential under the fingerprint key derived from the sealing secret.
    package var fingerprint: [UInt8]
    /// The negotiated MCP protocol version.
    package var version: String
    /// Seconds since the epoch.
    package var issuedAt: Int64
    package var expiresAt: Int64
    /// 128 random bits: two sessions of one client never share an id.
    package var nonce: [UInt8]

    package init(
        kind: String, origin: String, fingerprint: [UInt8], version: String, issuedAt: Int64, expiresAt: Int64,
        nonce: [UInt8]
    ) {
        self.kind = kind
        self.origin = origin
        self.fingerprint = fingerprint
        self.version = version
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
        self.nonce = nonce
    }
}

/// A secret the session ids are sealed with: 32 bytes or more of key material, from the operator or drawn at start.
package struct SessionSecret: Sendable {
    fileprivate let sealKey: [UInt8]
    fileprivate let fingerprintKey: [UInt8]

    /// Derives two independent keys (sealing, fingerprinting) so neither use can be turned against the other.
    package init(_ material: [UInt8]) {
        sealKey = SHA256.hmac(key: material, message: Array("nudj-mcp session seal v1".utf8))
        fingerprintKey = SHA256.hmac(key: material, message: Array("nudj-mcp credential fingerprint v1".utf8))
    }

    /// A secret no other process shares: sessions die with the process.
    package static func random() -> SessionSecret {
        var generator = SystemRandomNumberGenerator()
        return SessionSecret((0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) })
    }

    /// Operator-supplied key text (an env var or a file's first line), whitespace-trimmed.
    ///
    /// - Throws: `SessionSecretError` when shorter than 32 characters: a short secret can be guessed.
    package static func parse(_ text: String) throws(SessionSecretError) -> SessionSecret {
        let trimmed = Substring(text).trimmingASCIIWhitespace()
        guard trimmed.utf8.count >= 32 else {
            throw SessionSecretError(
                "a session secret must be at least 32 characters (got \(trimmed.utf8.count)); generate one with `openssl rand -base64 48`"
            )
        }
        return SessionSecret(Array(trimmed.utf8))
    }
}

package struct SessionSecretError: Error, Sendable, CustomStringConvertible {
    package let description: String
    init(_ description: String) { self.description = description }
}

/// Seals and opens session ids: `<nonce>.<payload>.<HMAC-SHA256 of both>`, base64url.
///
/// Ids are issued with the first secret and accepted under any (rotation: deploy `[new, old]`, later `[new]`). The
/// payload is readable by the client (it is its own organisation and protocol version) but cannot be altered.
package struct SessionSealer: Sendable {
    private let secrets: [SessionSecret]

    /// The longest id worth opening: a real one is about 200 characters.
    private static let maxLength = 1024

    package init(secrets: [SessionSecret]) {
        precondition(!secrets.isEmpty, "at least one session secret")
        self.secrets = secrets
    }

    /// The fingerprint a session opened with `credential` carries, under the issuing secret.
    package func fingerprint(_ credential: Credential) -> [UInt8] { fingerprint(credential, secret: secrets[0]) }

    private func fingerprint(_ credential: Credential, secret: SessionSecret) -> [UInt8] {
        SHA256.hmac(key: secret.fingerprintKey, message: CredentialFingerprint.message(credential))
    }

    /// `<nonce>.<payload>.<mac>`, all base64url: the random nonce leads, so an id's first characters tell sessions
    /// apart in logs.
    package func seal(_ claims: SessionClaims) -> String {
        let payload: JSONValue = [
            "k": .string(claims.kind), "o": .string(claims.origin), "f": .string(Base64URL.encode(claims.fingerprint)),
            "v": .string(claims.version), "iat": .int(claims.issuedAt), "exp": .int(claims.expiresAt),
        ]
        let body = Base64URL.encode(claims.nonce) + "." + Base64URL.encode(JSONWriter.encode(payload))
        return body + "." + Base64URL.encode(SHA256.hmac(key: secrets[0].sealKey, message: Array(body.utf8)))
    }

    /// The claims of an id whose seal verifies under one of the secrets and that has not expired, and that secret's
    /// index; `nil` for anything else (forged, altered, expired, malformed — all look alike to the caller).
    package func open(_ id: String, now: Int64) -> OpenedSession? {
        guard id.utf8.count <= Self.maxLength else { return nil }
        let parts = id.split(separator: ".", omittingEmptySubsequences: false)
        // Canonical base64url only: one session has exactly one id (no spare bits to vary).
        guard parts.count == 3, let mac = Base64URL.decode(String(parts[2])), mac.count == 32,
            Base64URL.encode(mac) == parts[2]
        else { return nil }
        let body = Array(id.utf8.prefix(parts[0].utf8.count + 1 + parts[1].utf8.count))
        guard
            let index = secrets.firstIndex(where: {
                constantTimeEqual(SHA256.hmac(key: $0.sealKey, message: body), mac)
            })
        else { return nil }
        guard let nonce = Base64URL.decode(String(parts[0])), Base64URL.encode(nonce) == parts[0],
            let bytes = Base64URL.decode(String(parts[1])),
            case .object(let payload)? = try? JSONParser.parse(bytes, maxDepth: 2),
            let kind = payload["k"]?.stringValue, let origin = payload["o"]?.stringValue,
            let fingerprint = payload["f"]?.stringValue.flatMap(Base64URL.decode),
            let version = payload["v"]?.stringValue, let issuedAt = payload["iat"]?.intValue,
            let expiresAt = payload["exp"]?.intValue
        else { return nil }
        guard now < expiresAt else { return nil }
        let claims = SessionClaims(
            kind: kind, origin: origin, fingerprint: fingerprint, version: version, issuedAt: issuedAt,
            expiresAt: expiresAt, nonce: nonce)
        return OpenedSession(claims: claims, secretIndex: index)
    }

    /// Whether a request's origin and credential reproduce an opened session's binding (under the secret that
    /// sealed it, so ids issued before a rotation keep working).
    package func matches(_ opened: OpenedSession, origin: String, credential: Credential) -> Bool {
        let presented = fingerprint(credential, secret: secrets[opened.secretIndex])
        return constantTimeEqual(presented, opened.claims.fingerprint) && origin == opened.claims.origin
    }
}

package struct OpenedSession: Sendable {
    package let claims: SessionClaims
    fileprivate let secretIndex: Int
}

private func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
}
