/// Who is calling (credential) and for which organisation (API domain): fixed for a session, immutable.
package struct TenantContext: Sendable, CustomStringConvertible {
    package let domain: APIDomain
    package let credential: Credential
    package let claims: TokenClaims?
    package let binding: TenantBinding

    package init(domain: APIDomain, credential: Credential) {
        self.domain = domain
        self.credential = credential
        claims = credential.claims
        binding = TenantBinding(origin: domain.origin, fingerprint: CredentialFingerprint(credential))
    }

    package var description: String {
        "tenant \(domain.organisation) (\(domain.origin)) via \(credential.kind.rawValue)"
    }

    /// The organisation the token claims, when it contradicts the API domain's: such a call can only be refused, so
    /// it is refused locally. Tokens without a subdomain claim, and custom domains, are left to the API to judge.
    package var mismatchedClaim: String? {
        guard domain.organisationIsSubdomain, let claimed = claims?.subdomain, claimed != domain.organisation else {
            return nil
        }
        return claimed
    }
}

/// What a session is bound to: an organisation's origin and a fingerprint of the credential, never the credential.
///
/// Every later request on the session must produce an equal binding, or it is refused before anything reaches
/// upstream. Possessing a session id proves nothing.
package struct TenantBinding: Sendable, Hashable {
    package let origin: String
    package let fingerprint: CredentialFingerprint
}
