import Foundation
import JSONRPC
import TestSupport
import Testing

/// The real binary over stdio against a real sandbox: whole conversations as a client sees them.
@Suite("stdio end to end")
struct StdioEndToEndTests {
    @Test("a session: initialize, list tools, read, paginate, invalid arguments")
    func conversation() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox"])
            let initialize = try client.initialize(version: "2025-06-18")
            #expect(initialize["result"]?["protocolVersion"] == "2025-06-18")
            #expect(initialize["result"]?["serverInfo"]?["name"] == "nudj-mcp")
            let instructions = initialize["result"]?["instructions"]?.stringValue ?? ""
            #expect(instructions.contains("'acme'"))
            #expect(instructions.contains("tenant_forbidden"))

            let tools = try client.request("tools/list")["result"]?["tools"]?.arrayValue ?? []
            let names = tools.compactMap { $0["name"]?.stringValue }
            #expect(names.contains("list_challenges"))
            #expect(
                tools.allSatisfy {
                    $0["inputSchema"]?["type"] == "object" && $0["annotations"] != nil && $0["title"] != nil
                })

            let page = try client.call("list_challenges", ["limit": 5])
            #expect(page["isError"] == nil)
            let structured = try #require(page["structuredContent"])
            #expect(structured["items"]?.arrayValue?.count == 5)
            #expect(structured["page"]?["hasMore"] == true)
            #expect(structured["page"]?["nextArguments"]?["skip"] == 5)
            #expect(page["content"]?[0]?["text"]?.stringValue == JSONWriter.encodeString(structured))

            let id = try #require(structured["items"]?.arrayValue?.first?["id"]?.stringValue)
            let one = try client.call("get_challenge", ["challengeId": .string(id)])
            #expect(one["structuredContent"]?["id"] == .string(id))

            let bad = try client.call("get_challenge", ["challengeId": "nope"])
            #expect(bad["isError"] == true)
            #expect(bad.toolErrorCode == "invalid_input")
            #expect(bad["structuredContent"]?["error"]?["field"] == "challengeId")
        }
    }

    @Test("globex's token against acme's domain is tenant_forbidden, complete in structuredContent")
    func crossTenant() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let client = try StdioClient(
                ["--allow-insecure-localhost"],
                environment: ["NUDJ_MCP_TOKEN": sandbox.token("globex"), "NUDJ_API_DOMAIN": sandbox.domain("acme")]
            )
            try client.initialize()
            let before = (try sandbox.requests("acme"), try sandbox.requests("globex"))
            let result = try client.call("list_challenges")
            #expect(result["isError"] == true)
            let error = try #require(result["structuredContent"]?["error"])
            #expect(error["code"] == "tenant_forbidden")
            #expect(error["httpStatus"] == 403)
            // The token names globex: refused locally, nothing reached either organisation.
            #expect((try sandbox.requests("acme"), try sandbox.requests("globex")) == before)
            #expect(error["organisation"] == "acme")
            #expect(error["apiDomain"] == .string(sandbox.domain("acme")))
            #expect(error["retryable"] == false)
            #expect(error["hint"]?.stringValue?.contains("acme") == true)
            #expect(!client.process.stderrText.contains(sandbox.token("globex")))
        }
    }

    @Test(
        "a legacy API token of another organisation is caught by the API's 403 and still reported as tenant_forbidden")
    func crossTenantUpstream() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let client = try StdioClient(
                ["--allow-insecure-localhost"],
                environment: [
                    "NUDJ_API_TOKEN": sandbox.token("globex", "apiToken"), "NUDJ_API_DOMAIN": sandbox.domain("acme"),
                ]
            )
            try client.initialize()
            let before = try sandbox.requests("acme")
            let result = try client.call("list_users")
            let error = try #require(result["structuredContent"]?["error"])
            #expect(error["code"] == "tenant_forbidden")
            #expect(error["upstreamCode"] == "FORBIDDEN")
            #expect(try sandbox.requests("acme") == before + 1)
        }
    }

    @Test("an expired token is reported as token_expired without calling upstream")
    func expiredToken() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let client = try StdioClient(
                [
                    "--allow-insecure-localhost", "--token", sandbox.token("acme", "expired"), "--api-domain",
                    sandbox.domain("acme"),
                ]
            )
            try client.initialize()
            let before = try sandbox.requests("acme")
            let result = try client.call("list_users")
            #expect(result.toolErrorCode == "token_expired")
            #expect(try sandbox.requests("acme") == before)
        }
    }

    @Test("missing credentials: the server starts and every call says which env vars to set")
    func notConfigured() async throws {
        try await offPool {
            let client = try StdioClient([])
            let initialize = try client.initialize()
            #expect(initialize["result"]?["instructions"]?.stringValue?.contains("not_configured") == true)
            let result = try client.call("list_challenges")
            #expect(result.toolErrorCode == "not_configured")
            let hint = result["structuredContent"]?["error"]?["hint"]?.stringValue ?? ""
            #expect(hint.contains("NUDJ_MCP_TOKEN") && hint.contains("NUDJ_API_DOMAIN"))
        }
    }

    @Test("a domain outside the allowlist is domain_not_allowed and never contacted")
    func refusedDomain() async throws {
        try await offPool {
            let client = try StdioClient(
                [],
                environment: [
                    "NUDJ_MCP_TOKEN": "abc.def.ghi", "NUDJ_API_DOMAIN": "https://evil.example.com/api/v2/admin",
                ])
            try client.initialize()
            let result = try client.call("list_users")
            #expect(result.toolErrorCode == "domain_not_allowed")
        }
    }

    @Test("a Viewer token hides write tools and refuses them locally")
    func viewer() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let client = try StdioClient([
                "--allow-insecure-localhost", "--token", sandbox.token("acme", "viewer"), "--api-domain",
                sandbox.domain("acme"),
            ])
            try client.initialize()
            let names = (try client.request("tools/list")["result"]?["tools"]?.arrayValue ?? []).compactMap {
                $0["name"]?.stringValue
            }
            #expect(names.contains("list_users"))
            #expect(!names.contains("create_user"))
            let before = try sandbox.requests("acme")
            let result = try client.call("create_user", ["email": "x@acme.example.com"])
            #expect(result.toolErrorCode == "forbidden")
            #expect(result["structuredContent"]?["error"]?["message"]?.stringValue?.contains("Viewer") == true)
            #expect(try sandbox.requests("acme") == before)
        }
    }

    @Test("protocol misuse gets the exact JSON-RPC error and the server keeps serving")
    func badInput() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox", "--max-line-bytes", "2048"])
            let process = client.process

            // Before initialize only ping is served.
            #expect(try client.request("ping")["result"] == .object([:]))
            #expect(try client.request("tools/list").errorCode == -32600)

            try client.initialize(version: "2025-06-18")
            try process.send("{not json\n")
            let parse = try process.readJSON()
            #expect(parse.errorCode == -32700)
            #expect(parse["id"] == .null)

            try process.send(
                Array(#"{"jsonrpc":"2.0","id":5,"method":"ping","params":{"x":""#.utf8) + [0xFF, 0xFE]
                    + Array("\"}}\n".utf8))
            #expect(try process.readJSON().errorCode == -32700)

            try process.send(#"{"jsonrpc":"2.0","id":null,"method":"ping"}"# + "\n")
            #expect(try process.readJSON().errorCode == -32600)

            #expect(try client.request("no/such/method").errorCode == -32601)
            #expect(try client.request("tools/call", ["arguments": [:]]).errorCode == -32602)
            #expect(try client.request("tools/call", ["name": "no_such_tool"]).errorCode == -32602)
            #expect(try client.request("tools/list", ["cursor": "garbage"]).errorCode == -32602)

            try process.send(#"[{"jsonrpc":"2.0","id":6,"method":"ping"}]"# + "\n")
            let batch = try process.readJSON()
            #expect(batch.errorCode == -32600)
            #expect(batch["error"]?["message"]?.stringValue?.contains("2025-03-26") == true)

            try process.send(
                #"{"jsonrpc":"2.0","id":7,"method":"ping","params":{"pad":""# + String(repeating: "x", count: 5000)
                    + "\"}}\n")
            let oversized = try process.readJSON()
            #expect(oversized.errorCode == -32600)
            #expect(oversized["error"]?["message"]?.stringValue?.contains("2048") == true)

            // Still serving, and string/integer ids are echoed with their type.
            #expect(try client.request("ping", id: "abc")["id"] == "abc")
            #expect(try client.request("ping", id: 42)["id"] == 42)

            // Notifications are never answered.
            try client.notify("notifications/whatever")
            #expect(try client.request("ping", id: 43)["id"] == 43)
        }
    }

    @Test("version negotiation shapes tools and results per version")
    func versions() async throws {
        try await offPool {
            let old = try StdioClient(["--sandbox"])
            #expect(try old.initialize(version: "2024-11-05")["result"]?["protocolVersion"] == "2024-11-05")
            let oldTool = try #require(try old.request("tools/list")["result"]?["tools"]?[0])
            #expect(oldTool["annotations"] == nil && oldTool["title"] == nil && oldTool["outputSchema"] == nil)
            #expect(try old.call("list_users", ["limit": 1])["structuredContent"] == nil)

            let batching = try StdioClient(["--sandbox"])
            #expect(try batching.initialize(version: "2025-03-26")["result"]?["protocolVersion"] == "2025-03-26")
            let tool = try #require(try batching.request("tools/list")["result"]?["tools"]?[0])
            #expect(tool["annotations"]?["readOnlyHint"] != nil && tool["title"] == nil && tool["outputSchema"] == nil)
            try batching.process.send(
                #"[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/x"},{"jsonrpc":"2.0","id":2,"method":"nope"}]"#
                    + "\n")
            let replies = try #require(try batching.process.readJSON().arrayValue)
            #expect(Set(replies.compactMap { $0["id"]?.intValue }) == [1, 2])

            let future = try StdioClient(["--sandbox"])
            #expect(try future.initialize(version: "2099-01-01")["result"]?["protocolVersion"] == "2025-11-25")
        }
    }

    @Test("a slow call does not block ping, and a cancelled call gets no response")
    func concurrencyAndCancellation() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox", "--fault-latency-ms", "1500"])
            try client.initialize()
            try client.process.send(json: [
                "jsonrpc": "2.0", "id": "slow", "method": "tools/call",
                "params": ["name": "list_users", "arguments": [:]],
            ])
            try client.process.send(json: [
                "jsonrpc": "2.0", "id": "cancel-me", "method": "tools/call",
                "params": ["name": "list_rewards", "arguments": [:]],
            ])
            let started = Date()
            #expect(try client.request("ping", id: "fast")["result"] == .object([:]))
            #expect(Date().timeIntervalSince(started) < 1.0)
            try client.notify("notifications/cancelled", ["requestId": "cancel-me", "reason": "user pressed stop"])
            let (slow, before) = try client.process.readJSON(until: { $0["id"] == "slow" }, timeout: 10)
            #expect(slow["result"]?["structuredContent"] != nil)
            // Both calls took the same 1.5 s upstream; by now the cancelled one would have answered if it could.
            Thread.sleep(forTimeInterval: 0.5)
            try client.process.send(json: ["jsonrpc": "2.0", "id": "after", "method": "ping"])
            let (_, between) = try client.process.readJSON(until: { $0["id"] == "after" })
            #expect(!(before + between).contains { $0["id"] == "cancel-me" })
        }
    }

    @Test("progress notifications precede the response when a progressToken is sent; logs follow setLevel")
    func progressAndLogging() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox"])
            try client.initialize()
            #expect(try client.request("logging/setLevel", ["level": "debug"])["result"] == .object([:]))
            #expect(try client.request("logging/setLevel", ["level": "verbose"]).errorCode == -32602)
            try client.process.send(json: [
                "jsonrpc": "2.0", "id": 9, "method": "tools/call",
                "params": ["name": "list_users", "arguments": [:], "_meta": ["progressToken": "p1"]],
            ])
            let (response, notifications) = try client.process.readJSON(until: { $0["id"] == 9 })
            let progress = notifications.filter { $0["method"] == "notifications/progress" }
            #expect(progress.count >= 2)
            #expect(progress.allSatisfy { $0["params"]?["progressToken"] == "p1" })
            let values = progress.compactMap { $0["params"]?["progress"]?.doubleValue }
            #expect(values == values.sorted() && Set(values).count == values.count)
            #expect(
                notifications.contains { $0["method"] == "notifications/message" && $0["params"]?["level"] == "debug" })
            #expect(response["result"]?["isError"] == nil)
        }
    }

    @Test("EOF during a call: the call completes, its response is flushed, exit 0")
    func eofDuringCall() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox", "--fault-latency-ms", "800"])
            try client.initialize()
            try client.process.send(json: [
                "jsonrpc": "2.0", "id": 77, "method": "tools/call",
                "params": ["name": "list_users", "arguments": ["limit": 1]],
            ])
            client.process.closeInput()
            let response = try client.process.readJSON(timeout: 10)
            #expect(response["id"] == 77)
            #expect(response["result"]?["structuredContent"]?["items"] != nil)
            #expect(try client.process.waitForExit(timeout: 10) == 0)
        }
    }

    @Test("stdin and stdout on Unix sockets, as Node-based clients give them: a session, then EOF and exit 0")
    func socketStreams() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox"], streams: (.socket, .socket))
            try client.initialize()
            for limit in 1...3 {
                let page = try client.call("list_users", ["limit": .int(Int64(limit))])
                #expect(page["structuredContent"]?["items"]?.arrayValue?.count == limit)
            }
            client.process.closeInput()
            #expect(try client.process.waitForExit(timeout: 10) == 0)
        }
    }

    @Test("stdin from a file: every request in it is answered, then the server exits 0")
    func requestsFromAFile() async throws {
        try await offPool {
            let path = FileManager.default.temporaryDirectory.appending(path: "nudj-stdio-\(UUID().uuidString).jsonl")
            defer { try? FileManager.default.removeItem(at: path) }
            var lines = [
                #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"file","version":"1"}}}"#,
                #"{"jsonrpc":"2.0","method":"notifications/initialized"}"#,
            ]
            for id in 2...4 {
                lines.append(
                    #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"list_users","arguments":{"limit":\#(id)}}}"#
                )
            }
            try Data((lines.joined(separator: "\n") + "\n").utf8).write(to: path)
            let client = try StdioClient(["--sandbox"], streams: (.file(path.path), .pipe))
            // Calls run concurrently, so their replies may come in any order.
            var items: [Int64: Int] = [:]
            for _ in 1...4 {
                let reply = try client.process.readJSON(timeout: 10)
                let id = try #require(reply["id"]?.intValue)
                items[id] = reply["result"]?["structuredContent"]?["items"]?.arrayValue?.count ?? -1
            }
            #expect(items == [1: -1, 2: 2, 3: 3, 4: 4])
            #expect(try client.process.waitForExit(timeout: 10) == 0)
        }
    }

    @Test(
        "a client far behind reading replies: the server stops reading requests, then answers every one once it reads")
    func backlogPausesReading() async throws {
        try await offPool {
            let process = try ChildProcess(
                ["stdio", "--sandbox", "--log-level", "warning"], readStdout: false)
            try process.sendInitialize()
            // ~80 KB per reply: 150 of them are past the 8 MiB the server queues before it stops reading requests.
            let calls = 150
            for id in 1...calls {
                try process.send(
                    json: [
                        "jsonrpc": "2.0", "id": .int(Int64(id)), "method": "tools/call",
                        "params": ["name": "list_users", "arguments": ["limit": 100]],
                    ])
            }
            Thread.sleep(forTimeInterval: 1.5)
            // Arrives while the backlog is full: read only once the client has caught up.
            try process.send(json: ["jsonrpc": "2.0", "id": "last", "method": "ping"])
            process.startReadingStdout()
            var answered = Set<JSONValue>()
            while answered.count < calls + 2 {
                let reply = try process.readJSON(timeout: 20)
                let id = try #require(reply["id"])
                #expect(reply["result"]?["isError"] == nil, "\(id)")
                if id != 0 && id != "last" { #expect(reply["result"]?["structuredContent"]?["items"] != nil) }
                answered.insert(id)
            }
            process.closeInput()
            #expect(try process.waitForExit(timeout: 10) == 0)
        }
    }

    @Test(
        "a server that ends right after start (EOF after initialize) exits 0 every time: nothing crashes on the way out"
    )
    func quickExit() async throws {
        try await offPool {
            // The upstream client loads the system trust store on its own thread at start; an exit meanwhile must
            // not run OpenSSL's clean-up under it (that was a SIGSEGV at exit).
            for _ in 0..<12 {
                let client = try StdioClient(["--sandbox"])
                try client.initialize()
                client.process.closeInput()
                #expect(try client.process.waitForExit(timeout: 10) == 0)
            }
        }
    }

    @Test("a parent that never reads stderr does not stall the server; dropped log lines are reported once it does")
    func unreadStderr() async throws {
        try await offPool {
            // ~180 bytes of log per call: 1,200 calls overflow the 64 KiB pipe and the server's 64 KiB backlog.
            let client = try StdioClient(
                ["--sandbox", "--rate-limit-admin", "1000000", "--log-level", "debug"], drainStderr: false)
            try client.initialize()
            for call in 0..<1200 {
                let result = try client.call("list_users", ["limit": 1, "skip": .int(Int64(call % 20))])
                #expect(result["isError"] == nil)
            }
            client.process.drainStderr()
            _ = try client.call("list_users", ["limit": 1])
            client.process.closeInput()
            #expect(try client.process.waitForExit(timeout: 10) == 0)
            #expect(client.process.stderrText.contains("log lines dropped"), "\(client.process.stderrText.suffix(500))")
            // Lines written at once and lines the queue wrote after the pipe filled are whole and never interleaved.
            let lines = client.process.stderrText.split(separator: "\n")
            #expect(lines.count > 300)
            for line in lines { #expect(try JSONParser.parse(String(line)).objectValue?["msg"] != nil, "\(line)") }
        }
    }

    @Test("SIGTERM: the server finishes and exits 0; stdout carried only protocol")
    func sigterm() async throws {
        try await offPool {
            let client = try StdioClient(["--sandbox"])
            try client.initialize()
            _ = try client.call("list_users", ["limit": 2])
            client.process.signal(SIGTERM)
            #expect(try client.process.waitForExit(timeout: 10) == 0)
            while let line = try client.process.readLine(timeout: 2) {
                #expect((try? JSONParser.parse(line))?["jsonrpc"] == "2.0")
            }
        }
    }

    @Test("read-only mode hides writes; toolsets and exclusions shape the list")
    func selection() async throws {
        try await offPool {
            let readOnly = try StdioClient(["--sandbox", "--read-only"])
            try readOnly.initialize()
            let tools = try readOnly.request("tools/list")["result"]?["tools"]?.arrayValue ?? []
            #expect(!tools.isEmpty && tools.allSatisfy { $0["annotations"]?["readOnlyHint"] == true })
            #expect(
                try readOnly.call("update_challenge", ["challengeId": "0123456789abcdef01234567"]).toolErrorCode
                    == "tool_not_enabled")

            let narrow = try StdioClient(["--sandbox", "--toolsets", "users", "--exclude-tools", "anonymise_user"])
            try narrow.initialize()
            let names = (try narrow.request("tools/list")["result"]?["tools"]?.arrayValue ?? []).compactMap {
                $0["name"]?.stringValue
            }
            #expect(Set(names) == ["list_users", "get_user", "create_user", "create_points_transaction"])

            let typo = try ChildProcess(["stdio", "--toolsets", "userz"])
            #expect(try typo.waitForExit() == 2)
            #expect(typo.stderrText.contains("unknown toolset 'userz'"))
        }
    }
}
