import Foundation
import JSONRPC
import TestSupport
import Testing

/// Upstream faults (injected by the sandbox) and client faults: each maps to its documented tool error within the
/// timeout; nothing crashes, nothing hangs, other work carries on.
@Suite("Faults end to end")
struct FaultEndToEndTests {
    static let faults: [String: (arguments: [String], code: String)] = [
        "HTTP 500": (["--fault", "status", "--fault-status", "500"], "upstream_error"),
        "HTTP 503": (["--fault", "status", "--fault-status", "503"], "upstream_unavailable"),
        "connection reset": (["--fault", "reset"], "upstream_unavailable"),
        "malformed JSON": (["--fault", "malformed"], "invalid_upstream_response"),
        "truncated JSON": (["--fault", "truncated"], "invalid_upstream_response"),
        "slow body": (["--fault", "slow-body"], "upstream_timeout"),
        "body cut half-way": (["--fault", "cut-body"], "upstream_unavailable"),
        "latency over the timeout": (["--fault-latency-ms", "4000"], "upstream_timeout"),
        "429 storm": (["--fault", "rate-limit"], "rate_limited"),
    ]

    @Test(
        "each upstream fault becomes its documented tool error, in time, and the server keeps serving",
        arguments: faults.keys.sorted())
    func upstreamFault(name: String) async throws {
        let (arguments, code) = Self.faults[name]!
        try await offPool {
            let sandbox = try SandboxProcess(arguments)
            let client = try StdioClient([
                "--allow-insecure-localhost", "--timeout", "2", "--token", sandbox.token("acme"), "--api-domain",
                sandbox.domain("acme"),
            ])
            try client.initialize()
            let started = Date()
            let result = try client.call("list_users", ["limit": 1])
            #expect(Date().timeIntervalSince(started) < 8)
            #expect(result["isError"] == true)
            #expect(result.toolErrorCode == code, "\(name): \(result["structuredContent"]?["error"] ?? .null)")
            #expect(result["structuredContent"]?["error"]?["hint"]?.stringValue?.isEmpty == false)
            if code == "rate_limited" {
                #expect((result["structuredContent"]?["error"]?["retryAfterSeconds"]?.doubleValue ?? 0) > 2)
            }
            #expect(try client.request("ping")["result"] != nil)
            #expect(client.process.isRunning)
        }
    }

    @Test("an unreachable API is upstream_unavailable, quickly")
    func unreachable() async throws {
        try await offPool {
            let client = try StdioClient([
                "--allow-insecure-localhost", "--token", "a.b.c", "--api-domain",
                "http://acme.localhost:1/api/v2/admin",
            ])
            try client.initialize()
            let started = Date()
            #expect(try client.call("list_users").toolErrorCode == "upstream_unavailable")
            // Refused at once: far below the 30 s timeout (the margin is for a loaded machine).
            #expect(Date().timeIntervalSince(started) < 15)
        }
    }

    @Test("clients that disconnect mid-call or send half a request do not disturb the server")
    func clientFaults() async throws {
        try await offPool {
            let sandbox = try SandboxProcess(["--fault-latency-ms", "500"])
            let serve = try ServeProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let session = try serve.initialize(acme)
            for _ in 0..<5 {
                let client = try RawHTTPClient(port: serve.port)
                try client.send(
                    RawHTTPClient.request(
                        "POST", "/mcp", headers: ServeProcess.jsonHeaders + acme + [("Mcp-Session-Id", session)],
                        body: HTTPEndToEndTests.callUsers))
                client.close()  // gone while the call is upstream
                let half = try RawHTTPClient(port: serve.port)
                try half.send("POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 500\r\n\r\n{\"jsonrpc\"")
                half.close()
            }
            // (The abandoned calls still hold id 2 until they finish: a disconnect is not a cancellation.)
            let call =
                #"{"jsonrpc":"2.0","id":99,"method":"tools/call","params":{"name":"list_users","arguments":{"limit":1}}}"#
            let response = try serve.rpc(session, acme, call)
            #expect(response.status == 200 && response.json["result"]?["structuredContent"] != nil)
            #expect(serve.process.isRunning)
        }
    }

    @Test("SIGTERM under load: completed calls are delivered, the server exits 0")
    func sigtermUnderLoad() async throws {
        try await offPool {
            let sandbox = try SandboxProcess(["--fault-latency-ms", "1500"])
            // A grace far above the calls' 1.5 s: a loaded machine must not decide the test.
            let client = try StdioClient([
                "--allow-insecure-localhost", "--token", sandbox.token("acme"), "--api-domain", sandbox.domain("acme"),
                "--shutdown-grace", "30",
            ])
            try client.initialize()
            // 12 calls (below the per-session cap, so none queue); SIGTERM once every one has reached the API, so
            // each is in flight when the signal lands, however loaded the machine.
            let before = try sandbox.requests("acme")
            for id in 0..<12 {
                try client.process.send(json: [
                    "jsonrpc": "2.0", "id": .int(Int64(id)), "method": "tools/call",
                    "params": ["name": "list_users", "arguments": ["limit": 1]],
                ])
            }
            let started = Date()
            while try sandbox.requests("acme") < before + 12 && Date().timeIntervalSince(started) < 30 {
                Thread.sleep(forTimeInterval: 0.05)
            }
            client.process.signal(SIGTERM)
            var answered = Set<Int64>()
            var others: [String] = []
            while let line = try client.process.readLine(timeout: 30) {
                let message = try JSONParser.parse(line)
                if let id = message["id"]?.intValue, message["result"]?["structuredContent"] != nil {
                    answered.insert(id)
                } else {
                    others.append(String(decoding: line.prefix(300), as: UTF8.self))
                }
            }
            #expect(try client.process.waitForExit(timeout: 30) == 0)
            #expect(
                answered == Set(0..<12),
                "calls in flight at SIGTERM finish within the grace period; other lines: \(others); stderr: \(client.process.stderrText.suffix(1500))"
            )
        }
    }
}
