// Fuzz target: API-domain normalisation, credential parsing and JWT claims. Beyond not crashing: an accepted
// domain is always https under nudj.cx (or plain/secure localhost when allowed), never an IP, never with user info,
// and always ends up at /api/v2/<api> on its own host.

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTenancy(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    for policy in [DomainPolicy(), DomainPolicy(allowInsecureLocalhost: true)] {
        guard case .success(let domain) = policy.normalize(text) else { continue }
        let loopback = domain.host == "localhost" || domain.host.hasSuffix(".localhost")
        precondition(loopback ? policy.allowInsecureLocalhost : domain.scheme == "https", "insecure scheme accepted")
        precondition(loopback || domain.host.hasSuffix(".nudj.cx"), "host outside the allowlist: \(domain.host)")
        precondition(!domain.host.contains("@") && !domain.host.contains("/") && !domain.host.contains(":"), "bad host")
        precondition(!domain.host.split(separator: ".").last!.allSatisfy(\.isNumber), "IP literal accepted")
        precondition(domain.baseURL(.admin) == domain.origin + "/api/v2/admin", "base URL left its origin")
    }
    if let credential = Credential.parse(text, kind: .bearer) {
        precondition("\(credential)" == "bearer credential <redacted>", "a credential printed more than its kind")
        precondition("\(credential.secret)" == "<redacted>", "a secret printed itself")
        _ = TenantContext(domain: try! DomainPolicy().normalize("acme").get(), credential: credential).mismatchedClaim
    }
    _ = TokenClaims.decode(text)
    return 0
}
