import Foundation
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// Running as a hosted service: replicas sharing a session secret, restarts, the tenant in the URL, probes, metrics.
@Suite("Hosted end to end")
struct HostedEndToEndTests {
    static let secret = ["NUDJ_SESSION_SECRET": "shared-secret-for-hosted-end-to-end-tests-0123456789"]
    static let callUsers =
        #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_users","arguments":{"limit":1}}}"#
    static let version = [("MCP-Protocol-Version", "2025-06-18")]

    /// The users a successful `list_users` returned, or `nil` for anything else (an error, a tool error).
    static func users(_ response: RawHTTPClient.Response) -> [JSONValue]? {
        guard response.status == 200, response.json["result"]?["isError"] != .bool(true) else { return nil }
        let text = response.json["result"]?["content"]?[0]?["text"]?.stringValue ?? ""
        let page = try? JSONParser.parse(text)
        return (page?["items"] ?? page?["edges"])?.arrayValue  // the list shape differs between catalogue versions
    }

    @Test("a session made on one replica is served by another sharing the secret, and only for its own credentials")
    func sessionAcrossReplicas() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let first = try ServeProcess(environment: Self.secret)
            let second = try ServeProcess(environment: Self.secret)
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let globex = ServeProcess.credentials(sandbox, token: "globex", domain: "globex")
            let session = try first.initialize(acme)
            #expect(Self.users(try second.rpc(session, acme + Self.version, Self.callUsers)) != nil)
            #expect(Self.users(try first.rpc(session, acme + Self.version, Self.callUsers)) != nil)

            // The id alone proves nothing: another organisation's credentials, or acme's domain with globex's token.
            let acmeBefore = try sandbox.requests("acme")
            let globexBefore = try sandbox.requests("globex")
            let fresh = try ServeProcess(environment: Self.secret)
            #expect(try fresh.rpc(session, globex + Self.version, Self.callUsers).status == 403)
            let mixed = [
                ("Authorization", "Bearer \(sandbox.token("globex"))"), ("x-api-domain", sandbox.domain("acme")),
            ]
            #expect(try fresh.rpc(session, mixed + Self.version, Self.callUsers).status == 403)
            #expect(try fresh.rpc(session, Self.version, Self.callUsers).status == 401)
            #expect(try sandbox.requests("acme") == acmeBefore && sandbox.requests("globex") == globexBefore)
            // …and a refused attempt restores nothing: the rightful owner still gets served there.
            #expect(Self.users(try fresh.rpc(session, acme + Self.version, Self.callUsers)) != nil)

            // Altered ids and ids sealed under another secret are unknown.
            var altered = Array(session)
            let middle = altered.count / 2
            altered[middle] = altered[middle] == "A" ? "B" : "A"
            #expect(try second.rpc(String(altered), acme + Self.version, Self.callUsers).status == 404)
            let stranger = try ServeProcess(
                environment: ["NUDJ_SESSION_SECRET": "a-different-secret-nobody-else-shares-000000"])
            #expect(try stranger.rpc(session, acme + Self.version, Self.callUsers).status == 404)
        }
    }

    @Test("a restarted server keeps sessions when the secret is configured, and loses them when it is not")
    func restart() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("nudj-secret-\(UUID().uuidString)")
            try "new-secret-line-one-0123456789abcdefghijk\n".write(to: file, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: file) }

            let before = try ServeProcess(["--session-secret-file", file.path])
            let session = try before.initialize(acme)
            before.process.signal()
            #expect(try before.process.waitForExit(timeout: 20) == 0)
            let after = try ServeProcess(["--session-secret-file", file.path])
            #expect(Self.users(try after.rpc(session, acme + Self.version, Self.callUsers)) != nil)

            // Rotation: a new first line issues, the old second line still opens existing sessions.
            try "rotated-secret-line-zero-0123456789abcdefg\nnew-secret-line-one-0123456789abcdefghijk\n".write(
                to: file, atomically: true, encoding: .utf8)
            let rotated = try ServeProcess(["--session-secret-file", file.path])
            #expect(Self.users(try rotated.rpc(session, acme + Self.version, Self.callUsers)) != nil)

            // No secret: today's behaviour, sessions die with the process.
            let ephemeral = try ServeProcess()
            let lost = try ephemeral.initialize(acme)
            let other = try ServeProcess()
            #expect(try other.rpc(lost, acme + Self.version, Self.callUsers).status == 404)
        }
    }

    @Test("DELETE ends a session on the replica that gets it; that replica refuses the id from then on")
    func deleteIsPerReplica() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let serve = try ServeProcess(environment: Self.secret)
            let session = try serve.initialize(acme)
            let deleted = try serve.send("DELETE", "/mcp", headers: acme + [("Mcp-Session-Id", session)])
            #expect(deleted.status == 204)
            #expect(try serve.rpc(session, acme + Self.version, Self.callUsers).status == 404)
        }
    }

    @Test("the tenant in the URL: Authorization alone works; a disagreeing x-api-domain is 403; bad labels are 404")
    func pathTenant() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let template = sandbox.domain("acme").replacingOccurrences(of: "acme", with: "{org}")
            let serve = try ServeProcess(["--tenant-url-template", template, "--replica-id", "r7"])
            let bearer = [("Authorization", "Bearer \(sandbox.token("acme"))")]
            let session = try serve.initialize(bearer, path: "/mcp/acme")
            #expect(Self.users(try serve.rpc(session, bearer + Self.version, Self.callUsers, path: "/mcp/acme")) != nil)
            // Same organisation named twice is fine; a different one is refused before anything is sent.
            let agreeing = bearer + [("x-api-domain", sandbox.domain("acme"))]
            #expect(
                Self.users(try serve.rpc(session, agreeing + Self.version, Self.callUsers, path: "/mcp/acme")) != nil)
            let before = try sandbox.requests("globex")
            let disagreeing = bearer + [("x-api-domain", sandbox.domain("globex"))]
            #expect(try serve.rpc(session, disagreeing + Self.version, Self.callUsers, path: "/mcp/acme").status == 403)
            #expect(
                try serve.send(
                    "POST", "/mcp/acme", headers: ServeProcess.jsonHeaders + disagreeing, body: Self.initialize
                )
                .status == 403)
            // The session is bound to acme: the same id under /mcp/globex is another organisation.
            let globexBearer = [("Authorization", "Bearer \(sandbox.token("globex"))")]
            #expect(
                try serve.rpc(session, globexBearer + Self.version, Self.callUsers, path: "/mcp/globex").status == 403)
            #expect(try sandbox.requests("globex") == before)
            for bad in ["/mcp/acme.evil", "/mcp/-acme", "/mcp/ac%2Fme", "/mcp/acme/extra"] {
                #expect(
                    try serve.send("POST", bad, headers: ServeProcess.jsonHeaders + bearer, body: Self.initialize)
                        .status == 404, "\(bad)")
            }

            // Legacy SSE with the tenant in the URL: the POST URL keeps it, and names the replica.
            let stream = try RawHTTPClient(port: serve.port)
            try stream.send(
                RawHTTPClient.request("GET", "/sse/acme", headers: [("Accept", "text/event-stream")] + bearer))
            #expect(try stream.readHead().status == 200)
            var reader = SSEReader()
            var events: [SSEReader.Event] = []
            while events.isEmpty, let chunk = try stream.readChunk() { events = reader.feed(chunk) }
            let endpoint = try #require(events.first)
            #expect(endpoint.event == "endpoint" && endpoint.data.hasPrefix("/messages/r7/acme?sessionId="))
            let posted = try serve.send(
                "POST", endpoint.data, headers: [("Content-Type", "application/json")] + bearer,
                body: Self.initialize)
            #expect(posted.status == 202)
        }
    }

    static let initialize =
        #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"e2e","version":"1"}}}"#

    @Test("OAuth discovery paths are 404 at once; a 401 challenges Bearer without resource_metadata")
    func noOAuth() async throws {
        try await offPool {
            let serve = try ServeProcess()
            for path in [
                "/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp",
                "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration",
            ] {
                #expect(try serve.send("GET", path).status == 404, "\(path)")
            }
            #expect(try serve.send("POST", "/register", body: "{}").status == 404)
            let refused = try serve.send("POST", "/mcp", headers: ServeProcess.jsonHeaders, body: Self.initialize)
            #expect(refused.status == 401)
            let challenge = try #require(refused.header("WWW-Authenticate"))
            #expect(challenge.hasPrefix("Bearer") && !challenge.contains("resource_metadata"))
        }
    }

    @Test("/readyz turns 503 on SIGTERM while an in-flight call finishes; /metrics counts without tenant labels")
    func drainAndMetrics() async throws {
        try await offPool {
            let sandbox = try SandboxProcess(["--fault-latency-ms", "1500"])
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let serve = try ServeProcess(["--drain-delay", "3", "--shutdown-grace", "10"], environment: Self.secret)
            #expect(try serve.send("GET", "/readyz").status == 200)
            let session = try serve.initialize(acme)

            let result = Mutex<RawHTTPClient.Response?>(nil)
            let done = DispatchSemaphore(value: 0)
            Thread {
                result.withLock { $0 = try? serve.rpc(session, acme + Self.version, Self.callUsers) }
                done.signal()
            }.start()
            Thread.sleep(forTimeInterval: 0.5)  // the call is now waiting on the slow upstream
            serve.process.signal()
            Thread.sleep(forTimeInterval: 0.3)
            let readiness = try serve.send("GET", "/readyz")
            #expect(readiness.status == 503 && readiness.json["status"] == "draining")
            #expect(done.wait(timeout: .now() + 20) == .success)
            #expect(result.withLock { $0 }.flatMap(Self.users) != nil, "the in-flight call finished")
            #expect(try serve.process.waitForExit(timeout: 30) == 0)
        }
        try await offPool {
            let sandbox = try SandboxProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let serve = try ServeProcess(environment: Self.secret)
            let session = try serve.initialize(acme)
            _ = try serve.rpc(session, acme + Self.version, Self.callUsers)
            // A request is counted just after its response is written: poll until the call's count shows (bounded).
            var metrics = try serve.send("GET", "/metrics")
            let deadline = Date().addingTimeInterval(10)
            let counted = #"nudj_mcp_http_requests_total{transport="streamable_http",status="2xx"} 2"#
            while !String(decoding: metrics.body, as: UTF8.self).contains(counted), Date() < deadline {
                Thread.sleep(forTimeInterval: 0.05)
                metrics = try serve.send("GET", "/metrics")
            }
            #expect(metrics.status == 200 && metrics.header("Content-Type")?.hasPrefix("text/plain") == true)
            let text = String(decoding: metrics.body, as: UTF8.self)
            #expect(text.contains(#"nudj_mcp_tool_calls_total{tool="list_users",code="ok"} 1"#))
            #expect(text.contains(counted))
            #expect(text.contains("nudj_mcp_upstream_request_duration_seconds_count 1"))
            #expect(text.contains("nudj_mcp_sessions 1"))
            #expect(!text.contains("acme") && !text.contains(String(session.prefix(8))))
        }
    }
}
