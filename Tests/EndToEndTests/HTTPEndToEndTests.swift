import Foundation
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// The real binary over HTTP against a real sandbox.
@Suite("HTTP end to end")
struct HTTPEndToEndTests {
    static let callUsers =
        #"{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"list_users","arguments":{"limit":1}}}"#

    @Test("a Streamable HTTP session: initialize, list, call, notification, delete")
    func session() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let session = try serve.initialize(acme)
            #expect(session.count >= 40 && session.utf8.allSatisfy { $0 >= 0x21 && $0 <= 0x7E })
            let list = try serve.rpc(session, acme, #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
            #expect(list.status == 200 && list.header("Content-Type") == "application/json")
            #expect((list.json["result"]?["tools"]?.arrayValue?.count ?? 0) > 10)
            let call = try serve.rpc(session, acme + [("MCP-Protocol-Version", "2025-06-18")], Self.callUsers)
            #expect(
                call.json["result"]?["structuredContent"]?["items"]?[0]?["organisationId"]
                    == sandbox.organisation("acme")["id"])
            let notification = try serve.rpc(session, acme, #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#)
            #expect(notification.status == 202 && notification.body.isEmpty)
            let deleted = try serve.send("DELETE", "/mcp", headers: acme + [("Mcp-Session-Id", session)])
            #expect(deleted.status == 204)
            #expect(try serve.rpc(session, acme, Self.callUsers).status == 404)
            let health = try serve.send("GET", "/healthz")
            #expect(health.json["status"] == "ok" && health.json["sessions"] == 0)
        }
    }

    @Test("hijacking a live session with other credentials is refused and nothing reaches upstream")
    func hijack() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let session = try serve.initialize(acme)
            #expect(try serve.rpc(session, acme, Self.callUsers).status == 200)
            let acmeBefore = try sandbox.requests("acme")
            let globexBefore = try sandbox.requests("globex")

            let otherToken = try serve.rpc(
                session, ServeProcess.credentials(sandbox, token: "globex", domain: "acme"), Self.callUsers)
            #expect(otherToken.status == 403)
            #expect(
                otherToken.json["error"]?["message"]?.stringValue?.contains("bound to another organisation") == true)
            let otherDomain = try serve.rpc(
                session, ServeProcess.credentials(sandbox, token: "globex", domain: "globex"), Self.callUsers)
            #expect(otherDomain.status == 403)
            let sameTokenOtherDomain = try serve.rpc(
                session,
                [("Authorization", "Bearer \(sandbox.token("acme"))"), ("x-api-domain", sandbox.domain("globex"))],
                Self.callUsers)
            #expect(sameTokenOtherDomain.status == 403)
            let anonymous = try serve.rpc(session, [], Self.callUsers)
            #expect(anonymous.status == 401)
            #expect(anonymous.header("WWW-Authenticate")?.hasPrefix("Bearer") == true)
            let otherViewerToken = try serve.rpc(
                session,
                [
                    ("Authorization", "Bearer \(sandbox.token("acme", "viewer"))"),
                    ("x-api-domain", sandbox.domain("acme")),
                ], Self.callUsers)
            #expect(otherViewerToken.status == 403)

            #expect(try sandbox.requests("acme") == acmeBefore)
            #expect(try sandbox.requests("globex") == globexBefore)
            // The owner's session still works.
            #expect(try serve.rpc(session, acme, Self.callUsers).status == 200)
            #expect(
                !serve.process.stderrText.contains(sandbox.token("globex"))
                    && !serve.process.stderrText.contains(sandbox.token("acme")))
        }
    }

    @Test("raw HTTP edge cases get their status and a JSON body")
    func edgeCases() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess(["--max-body-bytes", "2048"])
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let initBody =
                #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{}}}"#
            let json = ServeProcess.jsonHeaders

            let missing = try serve.send("POST", "/mcp", headers: json, body: initBody)
            #expect(
                missing.status == 401
                    && missing.json["error"]?["message"]?.stringValue?.contains("x-api-domain") == true)
            let noDomain = try serve.send(
                "POST", "/mcp", headers: json + [("Authorization", "Bearer \(sandbox.token("acme"))")], body: initBody)
            #expect(
                noDomain.status == 401
                    && noDomain.json["error"]?["message"]?.stringValue?.contains("x-api-domain") == true)
            let evil = try serve.send(
                "POST", "/mcp",
                headers: json + [
                    ("Authorization", "Bearer x.y.z"), ("x-api-domain", "https://evil.example.com/api/v2/admin"),
                ], body: initBody)
            #expect(evil.status == 403 && evil.json["error"]?["message"]?.stringValue?.contains("not allowed") == true)
            let mangled = try serve.send(
                "POST", "/mcp",
                headers: json + [("Authorization", "Bearer"), ("x-api-domain", sandbox.domain("acme"))], body: initBody)
            #expect(mangled.status == 401)

            // Header names in any case, Bearer in any case, no space after the colon (Windows launchers).
            let shouty = try serve.send(
                "POST", "/mcp",
                headers: json + [
                    ("AUTHORIZATION", "bearer \(sandbox.token("acme"))"), ("X-API-DOMAIN", sandbox.domain("acme")),
                ], body: initBody)
            #expect(shouty.status == 200 && shouty.header("mcp-session-id") != nil)
            let client = try RawHTTPClient(port: serve.port)
            try client.send(
                "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nAuthorization:Bearer \(sandbox.token("acme"))\r\nx-api-domain:\(sandbox.domain("acme"))\r\nContent-Length: \(initBody.utf8.count)\r\n\r\n\(initBody)"
            )
            #expect(try client.readResponse().status == 200)

            // no session
            #expect(try serve.send("POST", "/mcp", headers: json + acme, body: Self.callUsers).status == 400)
            #expect(
                try serve.send(
                    "POST", "/mcp", headers: json + acme + [("Mcp-Session-Id", "not-a-session")], body: Self.callUsers
                ).status == 404)
            let put = try serve.send("PUT", "/mcp", headers: acme, body: "{}")
            #expect(put.status == 405 && put.header("Allow") == "GET, POST, DELETE")
            #expect(try serve.send("POST", "/sse", headers: json + acme, body: initBody).status == 405)
            #expect(try serve.send("GET", "/nowhere").status == 404)
            let big = try serve.send(
                "POST", "/mcp", headers: json + acme, body: String(repeating: " ", count: 4096) + initBody)
            #expect(big.status == 413 && big.json["error"]?["message"]?.stringValue?.contains("2048") == true)
            let hugeHeader = try serve.send(
                "POST", "/mcp", headers: json + acme + [("X-Padding", String(repeating: "p", count: 20_000))],
                body: initBody)
            #expect(hugeHeader.status == 431)
            let parse = try serve.send("POST", "/mcp", headers: json + acme, body: "{oops")
            #expect(parse.status == 400 && parse.json["error"]?["code"] == -32700)
            let badOrigin = try serve.send(
                "POST", "/mcp", headers: json + acme + [("Origin", "https://evil.example.com")], body: initBody)
            #expect(badOrigin.status == 403)
            let goodOrigin = try serve.send(
                "POST", "/mcp", headers: json + acme + [("Origin", "http://localhost:6274")], body: initBody)
            #expect(
                goodOrigin.status == 200 && goodOrigin.header("Access-Control-Allow-Origin") == "http://localhost:6274")
            let rebinding = try serve.send(
                "POST", "/mcp", headers: json + acme + [("Host", "evil.example.com")], body: initBody)
            #expect(rebinding.status == 403 || rebinding.status == 400)
            let session = try serve.initialize(acme)
            let badVersion = try serve.rpc(session, acme + [("MCP-Protocol-Version", "1999-01-01")], Self.callUsers)
            #expect(
                badVersion.status == 400
                    && badVersion.json["error"]?["message"]?.stringValue?.contains("1999-01-01") == true)
            let wrongType = try serve.send(
                "POST", "/mcp", headers: [("Content-Type", "text/plain")] + acme, body: initBody)
            #expect(wrongType.status == 415)
            let batch = try serve.rpc(session, acme, #"[{"jsonrpc":"2.0","id":5,"method":"ping"}]"#)
            #expect(batch.status == 400 && batch.json["error"]?["code"] == -32600)
            #expect(serve.process.isRunning)
        }
    }

    @Test("a client that disconnects mid-stream does not disturb anyone else")
    func disconnectMidStream() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let session = try serve.initialize(acme)
            let stream = try RawHTTPClient(port: serve.port)
            try stream.send(
                RawHTTPClient.request(
                    "GET", "/mcp", headers: [("Accept", "text/event-stream"), ("Mcp-Session-Id", session)] + acme))
            let head = try stream.readHead()
            #expect(
                head.status == 200 && head.header("Content-Type") == "text/event-stream"
                    && head.header("X-Accel-Buffering") == "no")
            stream.close()
            let progress = try RawHTTPClient(port: serve.port)
            let body =
                #"{"jsonrpc":"2.0","id":3,"method":"tools/call","params":{"name":"list_users","arguments":{},"_meta":{"progressToken":7}}}"#
            try progress.send(
                RawHTTPClient.request(
                    "POST", "/mcp", headers: ServeProcess.jsonHeaders + acme + [("Mcp-Session-Id", session)], body: body
                ))
            let sseHead = try progress.readHead()
            #expect(sseHead.status == 200 && sseHead.header("Content-Type") == "text/event-stream")
            var reader = SSEReader()
            var events: [SSEReader.Event] = []
            while !events.contains(where: { $0.data.contains("\"id\":3") }), let chunk = try progress.readChunk() {
                events += reader.feed(chunk)
            }
            #expect(events.contains { $0.data.contains("notifications/progress") })
            #expect(events.allSatisfy { $0.event == "message" && $0.id != nil })
            progress.close()
            #expect(try serve.rpc(session, acme, Self.callUsers).status == 200)
            #expect(try serve.send("GET", "/healthz").status == 200)
        }
    }

    @Test("legacy HTTP+SSE: endpoint event, POSTs get 202, responses arrive on the stream")
    func legacySSE() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let stream = try RawHTTPClient(port: serve.port)
            try stream.send(RawHTTPClient.request("GET", "/sse", headers: [("Accept", "text/event-stream")] + acme))
            #expect(try stream.readHead().status == 200)
            var reader = SSEReader()
            func next() throws -> SSEReader.Event {
                var events: [SSEReader.Event] = []
                while events.isEmpty, let chunk = try stream.readChunk() { events = reader.feed(chunk) }
                return events[0]
            }
            let endpoint = try next()
            // /messages/<replica>?sessionId=…: the replica (here the host name) lets a load balancer route it back.
            #expect(
                endpoint.event == "endpoint" && endpoint.data.hasPrefix("/messages/")
                    && endpoint.data.contains("?sessionId="))
            let post = { (body: String, credentials: [(String, String)]) throws -> Int in
                try serve.send(
                    "POST", endpoint.data, headers: [("Content-Type", "application/json")] + credentials, body: body
                ).status
            }
            #expect(
                try post(
                    #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2024-11-05","capabilities":{}}}"#,
                    acme) == 202)
            let initialized = try JSONParser.parse(try next().data)
            #expect(initialized["result"]?["protocolVersion"] == "2024-11-05")
            #expect(try post(Self.callUsers, acme) == 202)
            let call = try JSONParser.parse(try next().data)
            #expect(call["id"] == 2 && call["result"]?["content"] != nil && call["result"]?["structuredContent"] == nil)
            let before = try sandbox.requests("acme")
            #expect(
                try post(Self.callUsers, ServeProcess.credentials(sandbox, token: "globex", domain: "globex")) == 403)
            #expect(try post(Self.callUsers, []) == 401)
            #expect(try sandbox.requests("acme") == before)
            #expect(
                try serve.send("POST", "/messages?sessionId=unknown", headers: acme, body: Self.callUsers).status == 404
            )
        }
    }

    @Test("selection headers narrow the tool surface per request; server flags cap them")
    func selectionHeaders() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess(["--toolsets", "users,rewards"])
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            func tools(_ extra: [(String, String)]) throws -> Set<String> {
                let session = try serve.initialize(acme + extra)
                let list = try serve.rpc(session, acme + extra, #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
                return Set(list.json["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? [])
            }
            let all = try tools([])
            #expect(all.contains("list_users") && all.contains("list_rewards") && !all.contains("list_challenges"))
            #expect(
                try tools([("X-MCP-Toolsets", "users")]).allSatisfy {
                    all.contains($0)
                        && ["list_users", "get_user", "create_user", "create_points_transaction", "anonymise_user"]
                            .contains($0)
                })
            #expect(try tools([("X-MCP-Toolsets", "challenges")]).isEmpty, "a header cannot widen past --toolsets")
            #expect(try tools([("X-MCP-Tools", "get_user,list_challenges")]) == ["get_user"])
            #expect(
                try tools([("X-MCP-Readonly", "true")])
                    == all.filter {
                        !$0.hasPrefix("create_") && !$0.hasPrefix("anonymise_") && !$0.hasPrefix("update_")
                            && !$0.hasPrefix("distribute_") && !$0.hasPrefix("process_")
                    })
            #expect(try tools([("x-agent-mode", "planner")]) == (try tools([("X-MCP-Readonly", "true")])))
            #expect(try tools([("x-agent-mode", "builder")]) == all)
            let bad = try serve.send(
                "POST", "/mcp", headers: ServeProcess.jsonHeaders + acme + [("x-agent-mode", "wizard")],
                body: #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#)
            #expect(bad.status == 400)

            let readOnly = try ServeProcess(["--read-only"])
            let session = try readOnly.initialize(acme + [("X-MCP-Readonly", "false")])
            let list = try readOnly.rpc(
                session, acme + [("X-MCP-Readonly", "false")], #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
            #expect(
                list.json["result"]?["tools"]?.arrayValue?.allSatisfy { $0["annotations"]?["readOnlyHint"] == true }
                    == true)
        }
    }

    @Test("200 concurrent sessions across both organisations × 20 calls: every answer from its own organisation")
    func concurrentSessions() async throws {
        try await offPool {
            let sandbox = try SandboxProcess(["--rate-limit-admin", "1000000"])
            let serve = try ServeProcess()
            let results = Mutex<(ok: Int, wrong: Int, failed: Int)>((0, 0, 0))
            let group = DispatchGroup()
            for index in 0..<200 {
                group.enter()
                Thread {
                    defer { group.leave() }
                    let organisation = index % 2 == 0 ? "acme" : "globex"
                    let expected = sandbox.organisation(organisation)["id"]
                    do {
                        let credentials = ServeProcess.credentials(sandbox, token: organisation, domain: organisation)
                        let session = try serve.initialize(credentials)
                        let client = try RawHTTPClient(port: serve.port)
                        for call in 0..<20 {
                            let body =
                                #"{"jsonrpc":"2.0","id":\#(call),"method":"tools/call","params":{"name":"list_users","arguments":{"limit":1,"skip":\#(call)}}}"#
                            try client.send(
                                RawHTTPClient.request(
                                    "POST", "/mcp",
                                    headers: ServeProcess.jsonHeaders + credentials + [("Mcp-Session-Id", session)],
                                    body: body))
                            let response = try client.readResponse()
                            let owner = response.json["result"]?["structuredContent"]?["items"]?[0]?["organisationId"]
                            results.withLock {
                                $0.ok += owner == expected ? 1 : 0
                                $0.wrong += owner != expected ? 1 : 0
                            }
                        }
                    } catch {
                        results.withLock { $0.failed += 1 }
                    }
                }.start()
            }
            group.wait()
            let (ok, wrong, failed) = results.withLock { $0 }
            #expect(failed == 0)
            #expect(wrong == 0)
            #expect(ok == 4000)
        }
    }
}
