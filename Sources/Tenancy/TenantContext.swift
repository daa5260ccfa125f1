/// Who is calling (credential) and for which organisation (API domain): fixed for a session, immutable.
package struct TenantContext: Sendable, CustomStringConvertible {
    package let domain: APIDomain
    package let credential: Credential
    package let claims: TokenClaims?
    package let binding: TenantBinding

    package init(domain: APIDomain, credential: Credential) {
        self.domain = domain
        self.credential = credential
        claims = TokenClaims.decode(credential.secret.reveal())
        binding = TenantBinding(origin: domain.origin, fingerprint: CredentialFingerprint(credential))
    }

    package var description: String { "tenant \(domain.organisation) (\(domain.origin)) via \(credential.kind.rawValue)" }
}

/// What a session is bound to: an organisation's origin and a fingerprint of the credential, never the credential.
///
/// Every later request on the session must produce an equal binding, or it is refused before anything reaches
/// upstream. Possessing a session id proves nothing.
package struct TenantBinding: Sendable, Hashable {
    package let origin: String
    package let fingerprint: CredentialFingerprint
}
