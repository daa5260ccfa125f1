import Testing

@testable import Tenancy

@Suite("The one loopback-host classifier behind every Host, Origin and allowlist decision")
struct LoopbackHostTests {
    @Test(
        "loopback authorities: dotted-quad 127/8, [::1], localhost and *.localhost, any case, port or trailing dot",
        arguments: [
            "127.0.0.1", "127.0.0.1:4010", "127.255.255.254", "127.0.0.0", "127.10.200.3:1", "[::1]", "[::1]:4010",
            "localhost", "LOCALHOST:6274", "localhost.", "localhost.:80", "acme.localhost", "a.b-c.localhost:4011",
            "xn--caf-dma.localhost", "127.0.0.1.", "127.0.0.1:65535",
        ]
    )
    func loopback(authority: String) {
        #expect(LoopbackHost.isLoopback(authority: authority))
    }

    @Test(
        "hostile and ambiguous names are not loopback",
        arguments: [
            // DNS names that merely start or end like loopback.
            "127.evil.com", "127.0.0.1.nip.io", "127.0.0.1.nip.io:4010", "localhost.evil.com", "evil-localhost",
            "evillocalhost", "localhost.evil.com:80", "127.0.0.1.evil.com", "xn--localhost-abc.com",
            // Non-canonical IPv4 spellings a resolver may still map to 127.0.0.1: refused, browsers never send them.
            "127.1", "127.0.1", "0x7f.0.0.1", "0177.0.0.1", "127.0.0.01", "127.000.0.1", "2130706433",
            "127.0.0.256", "127.0.0.1.1", "127..0.1", "128.0.0.1", "0.0.0.0", "127.0.0.-1", "127.0.0.1e0",
            // IPv6 other than the canonical [::1], and unbracketed IPv6 in an authority.
            "[::ffff:127.0.0.1]", "[0:0:0:0:0:0:0:1]", "[::1%25lo]", "::1", "[::1", "[::1]x", "[::2]",
            // Malformed authorities.
            "", ":4010", "127.0.0.1:", "127.0.0.1:99999", "127.0.0.1:80:80", "127.0.0.1:+80", "127.0.0.1:0x50",
            "user@127.0.0.1", "127.0.0.1@evil.com", "127.0.0.1/x", "localhost?x", "localhost#x", "local host",
            "127.0.0.1\\@evil.com", ".localhost", "a..localhost", "-a.localhost", "a_b.localhost",
            "localhost..", "１２７.0.0.1",
        ]
    )
    func notLoopback(authority: String) {
        #expect(!LoopbackHost.isLoopback(authority: authority))
    }

    @Test(
        "origins: http(s) with a loopback authority only; userinfo, paths and other schemes never",
        arguments: [
            ("http://localhost:6274", true), ("https://127.0.0.1", true), ("http://[::1]:3000", true),
            ("HTTP://Acme.Localhost:4010", true), ("https://127.evil.com", false),
            ("https://127.0.0.1@evil.com", false),
            ("https://user:pw@localhost", false), ("http://127.0.0.1.nip.io", false), ("http://localhost/path", false),
            ("chrome-extension://localhost", false), ("file://localhost", false), ("null", false), ("localhost", false),
            ("http://", false), ("http://localhost.evil.com", false), ("https://[::ffff:127.0.0.1]", false),
        ] as [(String, Bool)]
    )
    func origins(origin: String, loopback: Bool) {
        #expect(LoopbackHost.isLoopback(origin: origin) == loopback)
    }

    @Test(
        "bare configured hosts (--host) accept ::1 with or without brackets",
        arguments: [
            ("::1", true), ("[::1]", true), ("127.0.0.1", true), ("127.0.0.2", true), ("localhost", true),
            ("0.0.0.0", false), ("::", false), ("10.0.0.1", false), ("127.1", false), ("example.com", false),
        ] as [(String, Bool)]
    )
    func bareHosts(host: String, loopback: Bool) {
        #expect(LoopbackHost.isLoopback(host: host) == loopback)
    }

    @Test("authorities split into a lowercased host and port")
    func split() {
        #expect(LoopbackHost.split(authority: "Acme.Localhost:4011")! == ("acme.localhost", 4011))
        #expect(LoopbackHost.split(authority: "[::1]:80")! == ("::1", 80))
        #expect(LoopbackHost.split(authority: "localhost")! == ("localhost", nil))
        #expect(LoopbackHost.split(authority: "a@localhost") == nil)
    }
}
