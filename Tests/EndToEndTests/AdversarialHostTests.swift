import Foundation
import Glibc
import JSONRPC
import TestSupport
import Testing

/// A hostile web page or DNS-rebinding name against `serve`: only strict loopback Host and Origin values are served
/// or granted CORS, and `--sandbox` sends tokens to no local port but its own sandbox's.
@Suite("Adversarial: hostile Host and Origin names, and the sandbox's pinned port")
struct AdversarialHostTests {
    /// Names that look local to a careless prefix/suffix check, or that a resolver maps to loopback only in a
    /// non-canonical spelling.
    static let hostileNames = [
        "127.evil.com", "127.0.0.1.nip.io", "127.0.0.1.nip.io:4010", "127.1", "0x7f.0.0.1", "2130706433",
        "127.0.0.256", "localhost.evil.com", "evil-localhost", "[::ffff:127.0.0.1]", "xn--localhost-9ya.com",
        "127.0.0.1@evil.com", "evil.com", "0177.0.0.1", "127.0.0.1:99999",
    ]

    static let loopbackNames = ["127.0.0.1", "127.0.0.1:4010", "localhost", "LOCALHOST:80", "acme.localhost", "[::1]"]

    static func raw(_ port: Int, _ text: String) throws -> RawHTTPClient.Response {
        let client = try RawHTTPClient(port: port)
        try client.send(text)
        return try client.readResponse()
    }

    @Test("a hostile Host is refused with 403 before any routing; loopback names are served")
    func hostileHost() async throws {
        try await offPool {
            let serve = try ServeProcess()
            for name in Self.hostileNames {
                let response = try Self.raw(serve.port, "GET /healthz HTTP/1.1\r\nHost: \(name)\r\n\r\n")
                #expect(response.status == 403, "Host: \(name)")
                #expect(response.header("Access-Control-Allow-Origin") == nil, "Host: \(name)")
            }
            for name in Self.loopbackNames {
                let response = try Self.raw(serve.port, "GET /healthz HTTP/1.1\r\nHost: \(name)\r\n\r\n")
                #expect(response.status == 200, "Host: \(name)")
            }
            #expect(serve.process.isRunning)
        }
    }

    @Test("a hostile Origin gets 403 and no CORS grant, on preflight and on the request itself")
    func hostileOrigin() async throws {
        try await offPool {
            let serve = try ServeProcess()
            let origins =
                Self.hostileNames.map { "https://\($0)" } + [
                    "https://127.0.0.1@evil.com", "http://user:pw@localhost", "chrome-extension://localhost",
                    "http://localhost/path", "null",
                ]
            for origin in origins {
                let preflight = try serve.send(
                    "OPTIONS", "/mcp",
                    headers: [("Origin", origin), ("Access-Control-Request-Method", "POST")])
                #expect(preflight.status == 403, "Origin: \(origin)")
                #expect(preflight.header("Access-Control-Allow-Origin") == nil, "Origin: \(origin)")
                let request = try serve.send("GET", "/healthz", headers: [("Origin", origin)])
                #expect(request.status == 403, "Origin: \(origin)")
                #expect(request.header("Access-Control-Allow-Origin") == nil, "Origin: \(origin)")
            }
            for origin in ["http://localhost:6274", "https://127.0.0.1", "http://[::1]:3000", "http://acme.localhost"] {
                let request = try serve.send("GET", "/healthz", headers: [("Origin", origin)])
                #expect(request.status == 200 && request.header("Access-Control-Allow-Origin") == origin, "\(origin)")
            }
        }
    }

    @Test("serve --sandbox refuses a *.localhost API domain on another port and never connects to it")
    func sandboxPortPinned() async throws {
        try await offPool {
            let bystander = try LoopbackListener()
            let process = try ChildProcess([
                "serve", "--sandbox", "--port", "0", "--log-level", "warning", "--timeout", "2",
            ])
            let ready = try process.readJSON(timeout: 20)
            let url = ready["mcpUrl"]!.stringValue!
            let port = Int(url.split(separator: ":")[2].split(separator: "/")[0])!
            let organisation = ready["orgs"]![0]!
            let subdomain = organisation["subdomain"]!.stringValue!
            let token = organisation["tokens"]!["admin"]!.stringValue!
            let body = ModernEndToEndTests.body(
                "tools/call", params: ["name": "list_communities", "arguments": [:]])
            let headers = ModernEndToEndTests.modernHeaders("tools/call", name: "list_communities")

            let elsewhere = "http://\(subdomain).localhost:\(bystander.port)/api/v2/admin"
            let client = try RawHTTPClient(port: port)
            try client.send(
                RawHTTPClient.request(
                    "POST", "/mcp",
                    headers: headers + [("Authorization", "Bearer \(token)"), ("x-api-domain", elsewhere)], body: body))
            let refused = try client.readResponse()
            #expect(refused.status == 403)
            #expect(
                refused.json["error"]?["message"]?.stringValue?.contains("sandbox's port") == true, "\(refused.text)")
            #expect(!refused.text.contains(token))

            // The sandbox's own domain still works, so the refusal above is the pin and not a broken setup.
            let own = organisation["apiDomain"]!["admin"]!.stringValue!
            let served = try RawHTTPClient(port: port)
            try served.send(
                RawHTTPClient.request(
                    "POST", "/mcp", headers: headers + [("Authorization", "Bearer \(token)"), ("x-api-domain", own)],
                    body: body))
            #expect(try served.readResponse().status == 200)
            usleep(200_000)
            #expect(bystander.acceptedConnections() == 0, "the server connected to a port outside its sandbox")
        }
    }
}
