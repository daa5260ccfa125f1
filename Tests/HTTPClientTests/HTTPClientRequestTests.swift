import Testing

@testable import HTTPClient

@Suite("Upstream URLs and request bytes")
struct HTTPClientRequestTests {
    @Test(
        "an absolute URL splits into origin, target and authority",
        arguments: [
            (
                "https://acme.nudj.cx/api/v2/admin/users?limit=1", true, "acme.nudj.cx", 443,
                "/api/v2/admin/users?limit=1", "acme.nudj.cx"
            ),
            ("http://127.0.0.1:8080", false, "127.0.0.1", 8080, "/", "127.0.0.1:8080"),
            ("http://Example.COM?x=1#frag", false, "example.com", 80, "/?x=1", "Example.COM"),
            ("https://[::1]:3000/a#b/c", true, "::1", 3000, "/a", "[::1]:3000"),
            ("https://[::1]/", true, "::1", 443, "/", "[::1]"),
            ("http://host:65535/é", false, "host", 65535, "/é", "host:65535"),
        ])
    func splits(url: String, secure: Bool, host: String, port: Int, target: String, authority: String) throws {
        let parsed = try #require(Origin.parse(url))
        #expect(parsed.origin == Origin(secure: secure, host: host, port: port))
        #expect(parsed.target == target)
        #expect(parsed.authority == authority)
    }

    @Test(
        "anything but an http(s) URL with a host and a valid port is refused",
        arguments: [
            "", "ftp://host/", "HTTP://host/", "https://", "https:///path", "https://user@host/", "https://host:/",
            "https://host:0/", "https://host:65536/", "https://host:+80/", "https://host:8x/", "https://[::1/",
            "https://[::1]x/", "https://host/a b", "https://host/\u{7F}", "https://:80/", "https://host:123456/",
        ])
    func refuses(url: String) {
        #expect(Origin.parse(url) == nil)
    }

    @Test("the client writes Host, framing and connection itself, whatever case the caller used")
    func ownsFraming() throws {
        let request = HTTPClientRequest(
            method: "POST", url: "http://h/",
            headers: [
                ("HOST", "evil"), ("content-LENGTH", "9"), ("Transfer-Encoding", "chunked"),
                ("connection", "close"), ("X-Kept", "1"),
            ],
            body: Array("{}".utf8), timeout: .seconds(1))
        let bytes = try #require(request.encoded(target: "/t", authority: "h"))
        #expect(
            String(decoding: bytes, as: UTF8.self)
                == "POST /t HTTP/1.1\r\nHost: h\r\nX-Kept: 1\r\nContent-Length: 2\r\n\r\n{}")
    }
}
