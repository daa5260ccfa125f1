import Codecs
import JSONRPC
import Synchronization
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Who a sandbox token says it is.
struct SandboxIdentity: Sendable, Equatable {
    var organisation: String
    var organisationId: String
    var userId: String
    var role: NudjRole
    /// `rbac` for Bearer-style tokens; `nil` for legacy API tokens (which carry no type claim).
    var type: String?
    var expiresAt: Int64
    var tokenId: String
}

/// Mints JWT-shaped tokens (`header.payload.signature`, HMAC-SHA256 under a per-process key) and remembers them:
/// a token the sandbox did not mint, or one revoked, is refused with 401 like the real API would.
final class SandboxTokens: Sendable {
    private let key: [UInt8]
    private let minted = Mutex<[String: SandboxIdentity]>([:])

    init() {
        var generator = SystemRandomNumberGenerator()
        key = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }

    func mint(_ identity: SandboxIdentity) -> String {
        let header = Base64URL.encode(Array(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        var payload: JSONObject = [
            "sub": .string(identity.userId),
            "organisationId": .string(identity.organisationId),
            "role": .string(identity.role.name),
            "iat": .int(Int64(Date().timeIntervalSince1970)),
            "exp": .int(identity.expiresAt),
            "jti": .string(identity.tokenId),
        ]
        // RBAC Bearer tokens name their organisation's subdomain; legacy API tokens carry only organisationId, so a
        // mismatch with them is only discovered by the API (as with real tokens that lack such a claim).
        if let type = identity.type {
            payload["type"] = .string(type)
            payload["subdomain"] = .string(identity.organisation)
        }
        let body = Base64URL.encode(JSONWriter.encode(.object(payload)))
        let signature = Base64URL.encode(SHA256.hmac(key: key, message: Array("\(header).\(body)".utf8)))
        let token = "\(header).\(body).\(signature)"
        minted.withLock { $0[token] = identity }
        return token
    }

    /// The identity of a token this sandbox minted and has not revoked.
    func identity(of token: String) -> SandboxIdentity? {
        let segments = token.split(separator: ".")
        guard segments.count == 3 else { return nil }
        let expected = Base64URL.encode(SHA256.hmac(key: key, message: Array("\(segments[0]).\(segments[1])".utf8)))
        guard expected == segments[2] else { return nil }
        return minted.withLock { $0[token] }
    }

    /// Revokes every token with this id; returns whether one existed.
    func revoke(tokenId: String, organisation: String) -> Bool {
        minted.withLock { tokens in
            let matching = tokens.filter { $0.value.tokenId == tokenId && $0.value.organisation == organisation }.map(
                \.key)
            for token in matching { tokens.removeValue(forKey: token) }
            return !matching.isEmpty
        }
    }
}
