import Testing

@testable import Tenancy

@Suite("API domain normalisation and allowlist")
struct DomainPolicyTests {
    let policy = DomainPolicy()
    let local = DomainPolicy(allowInsecureLocalhost: true)
    let custom = DomainPolicy(extraPatterns: ["*.example.com", "api.partner.io"])

    @Test(
        "the three accepted spellings normalise to one admin URL",
        arguments: [
            "https://acme.nudj.cx/api/v2/admin", "acme.nudj.cx", "acme", "  acme  ", "HTTPS://ACME.nudj.cx/",
            "https://acme.nudj.cx/api/v2/integration", "https://acme.nudj.cx/api/v2/analytics/", "acme.nudj.cx.",
            "https://acme.nudj.cx:443/api/v2/admin",
        ]
    )
    func accepted(input: String) throws {
        let domain = try policy.normalize(input).get()
        #expect(domain.headerValue == "https://acme.nudj.cx/api/v2/admin")
        #expect(domain.organisation == "acme")
        #expect(domain.baseURL(.integration) == "https://acme.nudj.cx/api/v2/integration")
        #expect(domain.baseURL(.analytics) == "https://acme.nudj.cx/api/v2/analytics")
    }

    @Test(
        "anything that could turn the server into a proxy is refused",
        arguments: [
            ("https://evil.com/api/v2/admin", "not allowed"),
            ("http://acme.nudj.cx/api/v2/admin", "plain http"),
            ("https://127.0.0.1/api/v2/admin", "IP addresses"),
            ("https://[::1]/api/v2/admin", "IP addresses"),
            ("https://2130706433/api/v2/admin", "IP addresses"),
            ("https://user:pw@acme.nudj.cx/api/v2/admin", "user information"),
            ("https://acme.nudj.cx:8443/api/v2/admin", "port 8443"),
            ("https://acme.nudj.cx/api/v3/admin", "path must be"),
            ("https://acme.nudj.cx/api/v2/admin/../../x", "path must be"),
            ("https://acme.nudj.cx/api/v2/admin?x=1", "query"),
            ("https://acme.nudj.cx#frag", "query or fragment"),
            ("ftp://acme.nudj.cx", "scheme"),
            ("https://nudj.cx/api/v2/admin", "not allowed"),
            ("https://acme.nudj.cx.evil.com/api/v2/admin", "not allowed"),
            ("https://evilnudj.cx/api/v2/admin", "not allowed"),
            ("http://acme.localhost:4010/api/v2/admin", "--allow-insecure-localhost"),
            ("acme nudj", "spaces"),
            ("", "empty"),
            ("https://-acme.nudj.cx", "valid hostname"),
        ]
    )
    func refused(input: String, reason: String) {
        guard case .failure(let error) = policy.normalize(input) else {
            Issue.record("\(input) should be refused")
            return
        }
        #expect(error.message.contains(reason), "\(error.message)")
    }

    @Test("localhost is reachable over http only when insecure localhost is enabled")
    func insecureLocalhost() throws {
        let domain = try local.normalize("http://acme.localhost:4011/api/v2/admin").get()
        #expect(domain.origin == "http://acme.localhost:4011")
        #expect(domain.organisation == "acme")
        #expect(try local.normalize("acme.localhost:4011").get().scheme == "http")
        #expect(throws: DomainError.self) { try local.normalize("http://127.0.0.1:4011").get() }
        #expect(throws: DomainError.self) { try local.normalize("http://acme.nudj.cx").get() }
    }

    @Test("operator patterns widen the allowlist, exactly as written")
    func customPatterns() throws {
        #expect(try custom.normalize("https://shop.example.com").get().organisation == "shop")
        #expect(try custom.normalize("api.partner.io").get().organisation == "api.partner.io")
        #expect(throws: DomainError.self) { try custom.normalize("x.api.partner.io").get() }
        #expect(throws: DomainError.self) { try custom.normalize("example.com").get() }
    }

    @Test("two spellings of one organisation bind to the same tenant")
    func sameOrigin() throws {
        #expect(
            try policy.normalize("acme").get().origin
                == policy.normalize("https://acme.nudj.cx/api/v2/admin").get().origin)
        #expect(try policy.normalize("acme").get().origin != policy.normalize("globex").get().origin)
    }
}

@Suite("Plain-http localhost pinned to the in-process sandbox's port")
struct SandboxPortPinningTests {
    let pinned = DomainPolicy(insecureLocalhost: .onlyPort(4011))

    @Test("the sandbox's own port passes for every organisation")
    func ownPort() throws {
        let domain = try pinned.normalize("http://acme.localhost:4011/api/v2/admin").get()
        #expect(domain.origin == "http://acme.localhost:4011")
        #expect(try pinned.normalize("http://globex.localhost:4011").get().organisation == "globex")
    }

    @Test(
        "any other local port, or none, is refused and names the sandbox's port",
        arguments: [
            "http://acme.localhost:4012/api/v2/admin", "http://acme.localhost/api/v2/admin",
            "https://acme.localhost:4012/api/v2/admin", "http://localhost:22", "acme.localhost:80",
        ]
    )
    func otherPorts(input: String) {
        guard case .failure(let error) = pinned.normalize(input) else {
            Issue.record("\(input) should be refused")
            return
        }
        #expect(error.message.contains("sandbox's port 4011"), "\(error.message)")
    }

    @Test("nudj.cx domains still pass under the usual allowlist")
    func httpsAllowlist() throws {
        #expect(try pinned.normalize("acme").get().headerValue == "https://acme.nudj.cx/api/v2/admin")
        #expect(throws: DomainError.self) { try pinned.normalize("https://evil.com").get() }
    }
}
