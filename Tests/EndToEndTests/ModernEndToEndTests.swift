import Foundation
import JSONRPC
import TestSupport
import Testing

/// MCP 2026-07-28: stateless requests that carry their version and capabilities in `_meta`, on stdio and HTTP, next
/// to handshake-era sessions on the same process and endpoint.
@Suite("2026-07-28 end to end")
struct ModernEndToEndTests {
    static let version = "2026-07-28"

    static func meta(_ extra: JSONObject = [:], version: String = version, capabilities: Bool = true) -> JSONObject {
        var meta: JSONObject = [
            "io.modelcontextprotocol/protocolVersion": .string(version),
            "io.modelcontextprotocol/clientInfo": ["name": "modern-e2e", "version": "1"],
        ]
        if capabilities { meta["io.modelcontextprotocol/clientCapabilities"] = .object([:]) }
        for entry in extra { meta[entry.key] = entry.value }
        return meta
    }

    @Test("stdio: discover, list and call without initialize; errors for bad _meta; handshake clients unaffected")
    func stdio() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox"])
            let discover = try client.request("server/discover", ["_meta": .object(Self.meta())])["result"]
            let versions = discover?["supportedVersions"]?.arrayValue?.compactMap(\.stringValue) ?? []
            #expect(
                versions.contains("2026-07-28") && versions.contains("2025-11-25") && versions.contains("2024-11-05"))
            #expect(
                discover?["resultType"] == "complete" && discover?["cacheScope"] == "private"
                    && discover?["ttlMs"]?.intValue != nil)
            #expect(discover?["capabilities"]?["tools"] != nil)
            #expect(discover?["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "nudj-mcp")
            #expect(discover?["instructions"]?.stringValue?.contains("acme") == true)

            let list = try client.request("tools/list", ["_meta": .object(Self.meta())])["result"]
            #expect(list?["resultType"] == "complete" && list?["cacheScope"] == "private")
            #expect(list?["tools"]?[0]?["title"] != nil)

            let call = try client.request(
                "tools/call", ["name": "list_users", "arguments": ["limit": 1], "_meta": .object(Self.meta())])[
                    "result"]
            #expect(call?["resultType"] == "complete")
            #expect(call?["structuredContent"]?["page"] != nil)
            #expect(call?["_meta"]?["io.modelcontextprotocol/serverInfo"]?["version"] != nil)

            let unsupported = try client.request("tools/list", ["_meta": .object(Self.meta(version: "2030-01-01"))])
            #expect(unsupported.errorCode == -32022)
            #expect(unsupported["error"]?["data"]?["requested"] == "2030-01-01")
            #expect(unsupported["error"]?["data"]?["supported"]?.arrayValue?.contains("2025-11-25") == true)
            #expect(
                try client.request("tools/list", ["_meta": .object(Self.meta(capabilities: false))]).errorCode == -32602
            )
            #expect(try client.request("server/discover").errorCode == -32602)
            #expect(
                try client.request(
                    "tools/list", ["_meta": .object(Self.meta(["io.modelcontextprotocol/logLevel": "loud"]))]
                ).errorCode == -32602)
            #expect(try client.request("ping", ["_meta": .object(Self.meta())]).errorCode == -32601)
            #expect(try client.request("subscriptions/listen", ["_meta": .object(Self.meta())]).errorCode == -32601)

            // Logging only when the request asks for a level.
            try client.process.send(json: [
                "jsonrpc": "2.0", "id": "quiet", "method": "tools/call",
                "params": ["name": "list_users", "arguments": [:], "_meta": .object(Self.meta())],
            ])
            let (_, quiet) = try client.process.readJSON(until: { $0["id"] == "quiet" })
            #expect(!quiet.contains { $0["method"] == "notifications/message" })
            try client.process.send(json: [
                "jsonrpc": "2.0", "id": "loud", "method": "tools/call",
                "params": [
                    "name": "list_users", "arguments": [:],
                    "_meta": .object(Self.meta(["io.modelcontextprotocol/logLevel": "debug", "progressToken": "t"])),
                ],
            ])
            let (_, loud) = try client.process.readJSON(until: { $0["id"] == "loud" })
            #expect(loud.contains { $0["method"] == "notifications/message" })
            #expect(loud.contains { $0["method"] == "notifications/progress" })

            // A handshake-era session in the same process keeps its own version.
            #expect(try client.initialize(version: "2025-03-26")["result"]?["protocolVersion"] == "2025-03-26")
            #expect(try client.request("tools/list")["result"]?["tools"]?[0]?["title"] == nil)
            #expect(
                try client.request("tools/list", ["_meta": .object(Self.meta())])["result"]?["tools"]?[0]?["title"]
                    != nil)
        }
    }

    static func modernHeaders(_ method: String, name: String? = nil, version: String = version) -> [(String, String)] {
        var headers = ServeProcess.jsonHeaders + [("MCP-Protocol-Version", version), ("Mcp-Method", method)]
        if let name { headers.append(("Mcp-Name", name)) }
        return headers
    }

    static func body(
        _ method: String, id: Int = 1, params: JSONObject = [:], meta: JSONObject = ModernEndToEndTests.meta()
    ) -> String {
        var params = params
        params["_meta"] = .object(meta)
        return JSONWriter.encodeString([
            "jsonrpc": "2.0", "id": .int(Int64(id)), "method": .string(method), "params": .object(params),
        ])
    }

    @Test("HTTP: header rules and statuses of the stateless era")
    func httpRules() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let call = Self.body("tools/call", id: 7, params: ["name": "list_users", "arguments": ["limit": 1]])

            let ok = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("tools/call", name: "list_users") + acme, body: call)
            #expect(ok.status == 200 && ok.header("Mcp-Session-Id") == nil)
            #expect(ok.json["result"]?["resultType"] == "complete")
            #expect(
                ok.json["result"]?["structuredContent"]?["items"]?[0]?["organisationId"]
                    == sandbox.organisation("acme")["id"])
            let wrapped = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("tools/call", name: "=?base64?bGlzdF91c2Vycw==?=") + acme,
                body: call)
            #expect(wrapped.status == 200)

            for (headers, why) in [
                (
                    ServeProcess.jsonHeaders + [("Mcp-Method", "tools/call"), ("Mcp-Name", "list_users")],
                    "missing version"
                ),
                (Self.modernHeaders("tools/call", name: "list_users", version: "2025-11-25"), "version mismatch"),
                (Self.modernHeaders("tools/list", name: "list_users"), "method mismatch"),
                (Self.modernHeaders("tools/call"), "missing name"),
                (Self.modernHeaders("tools/call", name: "get_user"), "name mismatch"),
                (Self.modernHeaders("tools/call", name: "=?base64?!!!?="), "bad base64"),
            ] {
                let response = try serve.send("POST", "/mcp", headers: headers + acme, body: call)
                #expect(response.status == 400, "\(why)")
                #expect(response.json["error"]?["code"] == -32020, "\(why)")
                #expect(response.json["id"] == 7, "\(why): the error keeps the request id")
            }
            let unsupported = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("tools/list", version: "2030-01-01") + acme,
                body: Self.body("tools/list", meta: Self.meta(version: "2030-01-01")))
            #expect(unsupported.status == 400 && unsupported.json["error"]?["code"] == -32022)
            let noCapabilities = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("tools/list") + acme,
                body: Self.body("tools/list", meta: Self.meta(capabilities: false)))
            #expect(noCapabilities.status == 400 && noCapabilities.json["error"]?["code"] == -32602)
            let unknown = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("prompts/list") + acme, body: Self.body("prompts/list"))
            #expect(unknown.status == 404 && unknown.json["error"]?["code"] == -32601)
            let notification = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("notifications/cancelled") + acme,
                body: #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}"#)
            #expect(notification.status == 202)
            #expect(
                try serve.send(
                    "GET", "/mcp",
                    headers: [("Accept", "text/event-stream"), ("MCP-Protocol-Version", Self.version)] + acme
                ).status == 405)
            #expect(
                try serve.send("DELETE", "/mcp", headers: [("MCP-Protocol-Version", Self.version)] + acme).status == 405
            )

            let discover = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("server/discover") + acme,
                body: Self.body("server/discover"))
            #expect(discover.status == 200 && discover.json["result"]?["cacheScope"] == "private")

            // Progress makes the answer an SSE stream on the request itself.
            let progress = try serve.send(
                "POST", "/mcp", headers: Self.modernHeaders("tools/call", name: "list_users") + acme,
                body: Self.body(
                    "tools/call", id: 8, params: ["name": "list_users", "arguments": [:]],
                    meta: Self.meta(["progressToken": "p"])))
            #expect(progress.header("Content-Type") == "text/event-stream")
            var reader = SSEReader()
            let events = reader.feed(progress.body)
            #expect(events.first?.data.contains("notifications/progress") == true)
            #expect(events.last?.data.contains("\"id\":8") == true)
        }
    }

    @Test("HTTP: closing the response stream cancels the call (the upstream request is abandoned)")
    func closeCancels() async throws {
        try await offPool {
            let sandbox = try SandboxProcess(["--fault-latency-ms", "3000"])
            let serve = try ServeProcess(["--log-level", "info"])
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let client = try RawHTTPClient(port: serve.port)
            let call = Self.body("tools/call", id: 9, params: ["name": "list_users", "arguments": [:]])
            try client.send(
                RawHTTPClient.request(
                    "POST", "/mcp", headers: Self.modernHeaders("tools/call", name: "list_users") + acme, body: call))
            Thread.sleep(forTimeInterval: 0.3)
            let closedAt = Date()
            client.close()
            var line: Substring?
            while line == nil && Date().timeIntervalSince(closedAt) < 2.5 {
                line = serve.process.stderrText.split(separator: "\n").first { $0.contains("\"msg\":\"tool call\"") }
                Thread.sleep(forTimeInterval: 0.05)
            }
            // Finished well before the 3 s upstream delay: the task (and its URLSession request) was cancelled.
            #expect(line != nil, "the call should end soon after the client goes away")
            #expect(line?.contains("\"outcome\":\"upstream_error\"") == true)
        }
    }

    @Test("HTTP: every stateless request is authorised on its own headers; mismatches never reach upstream")
    func httpTenancy() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess()
            let call = Self.body("tools/call", params: ["name": "list_users", "arguments": [:]])
            let headers = Self.modernHeaders("tools/call", name: "list_users")
            let before = (try sandbox.requests("acme"), try sandbox.requests("globex"))

            #expect(try serve.send("POST", "/mcp", headers: headers, body: call).status == 401)
            let evil = try serve.send(
                "POST", "/mcp",
                headers: headers + [
                    ("Authorization", "Bearer \(sandbox.token("acme"))"), ("x-api-domain", "https://evil.example.com"),
                ], body: call)
            #expect(evil.status == 403)
            let crossed = try serve.send(
                "POST", "/mcp", headers: headers + ServeProcess.credentials(sandbox, token: "globex", domain: "acme"),
                body: call)
            #expect(crossed.status == 200)
            #expect(crossed.json["result"]?["isError"] == true)
            #expect(crossed.json["result"]?["structuredContent"]?["error"]?["code"] == "tenant_forbidden")
            #expect((try sandbox.requests("acme"), try sandbox.requests("globex")) == before)

            // A handshake session and stateless requests share the endpoint.
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let session = try serve.initialize(acme, version: "2025-11-25")
            #expect(
                try serve.send(
                    "POST", "/mcp",
                    headers: headers + ServeProcess.credentials(sandbox, token: "globex", domain: "globex"), body: call
                ).status == 200)
            #expect(try serve.rpc(session, acme, HTTPEndToEndTests.callUsers).status == 200)
        }
    }
}
