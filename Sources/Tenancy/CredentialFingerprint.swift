/// A keyed, one-way fingerprint of a credential: what a session remembers instead of the token.
///
/// HMAC-SHA256 under a key drawn at process start, so fingerprints mean nothing outside this process and cannot be
/// reversed or precomputed. Compared in constant time.
package struct CredentialFingerprint: Sendable, Hashable, CustomStringConvertible {
    private let digest: [UInt8]

    private static let processKey: [UInt8] = {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }()

    package init(_ credential: Credential) {
        digest = SHA256.hmac(key: Self.processKey, message: Self.message(credential))
    }

    /// The bytes a credential is fingerprinted as (kind, NUL, value), shared with sealed session ids.
    static func message(_ credential: Credential) -> [UInt8] {
        Array(credential.kind.rawValue.utf8) + [0] + Array(credential.secret.reveal().utf8)
    }

    package static func == (lhs: CredentialFingerprint, rhs: CredentialFingerprint) -> Bool {
        guard lhs.digest.count == rhs.digest.count else { return false }
        var difference: UInt8 = 0
        for index in lhs.digest.indices { difference |= lhs.digest[index] ^ rhs.digest[index] }
        return difference == 0
    }

    package func hash(into hasher: inout Hasher) { hasher.combine(digest) }

    /// A short, non-secret tag for logs (the first 6 bytes of the keyed digest).
    package var description: String { digest.prefix(6).map { String($0, radix: 16).leftPad(2) }.joined() }
}

extension String {
    func leftPad(_ width: Int) -> String { String(repeating: "0", count: max(0, width - count)) + self }
}
