import JSONRPC
import Log
import Synchronization
import Testing

import class Foundation.Thread

@testable import MCP

/// A provider whose tools are scripted: `echo` returns its arguments, `slow` waits until cancelled (or 5 s).
struct ScriptedProvider: ToolProvider {
    var instructions: String { "scripted" }
    let tools: [ToolDescriptor]

    init(count: Int = 3) {
        tools = (0..<count).map { index in
            ToolDescriptor(
                name: index == 0 ? "echo" : index == 1 ? "slow" : "tool\(index)",
                title: "Tool \(index)",
                description: "A scripted tool.",
                inputSchema: ["type": "object"],
                outputSchema: ["type": "object"],
                annotations: ["readOnlyHint": true]
            )
        }
    }

    func listTools() -> [ToolDescriptor] { tools }

    func callTool(named name: String, arguments: JSONObject, context: ToolCallContext) async -> ToolCallResult? {
        switch name {
        case "echo":
            context.progress.report(0.5, total: 1, message: "half")
            context.progress.report(0.2)  // not monotonic: dropped
            context.clientLog.log(.info, "echoing")
            return ToolCallResult(content: [["type": "text", "text": "ok"]], structuredContent: .object(arguments))
        case "slow":
            try? await Task.sleep(for: .seconds(5))
            return .text(Task.isCancelled ? "cancelled" : "slept")
        default:
            return tools.contains { $0.name == name } ? .text(name) : nil
        }
    }
}

/// Collects everything a channel session writes.
final class RecordingChannel: MessageChannel {
    let messages = Mutex<[JSONValue]>([])
    func send(_ message: JSONValue) { messages.withLock { $0.append(message) } }
    var all: [JSONValue] { messages.withLock { $0 } }

    /// Waits (bounded) until `predicate` holds for the recorded messages. The bound only matters when a test fails:
    /// in the full `swift test` run other suites starve the cooperative pool for half a minute and more.
    func wait(timeout: Duration = .seconds(120), until predicate: ([JSONValue]) -> Bool) async -> [JSONValue] {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            let current = all
            if predicate(current) { return current }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return all
    }
}

final class RecordingSink: NotificationSink {
    let notifications = Mutex<[Notification]>([])
    func send(_ notification: Notification) { notifications.withLock { $0.append(notification) } }
}

let identity = ServerIdentity(name: "test", version: "1.0", title: "Test", description: "A test server")

func initialize(
    _ server: MCPServer, _ session: HandshakeState, version: String, provider: any ToolProvider = ScriptedProvider()
) async -> Reply {
    await server.respond(
        to: Request(
            id: .int(1), method: "initialize", params: ["protocolVersion": .string(version), "capabilities": [:]]),
        session: session,
        provider: provider,
        notifications: DiscardingNotificationSink()
    )
}

@Suite("Engine: handshake era")
struct HandshakeTests {
    let server = MCPServer(identity: identity, toolsPageSize: 2)

    @Test(
        "initialize echoes a supported version and counter-offers the newest otherwise",
        arguments: [
            ("2024-11-05", "2024-11-05"), ("2025-03-26", "2025-03-26"), ("2025-06-18", "2025-06-18"),
            ("2025-11-25", "2025-11-25"), ("2026-07-28", "2025-11-25"), ("1999-01-01", "2025-11-25"),
        ]
    )
    func negotiation(requested: String, answered: String) async {
        let reply = await initialize(server, HandshakeState(), version: requested)
        guard case .result(_, let result) = reply else {
            Issue.record("expected a result")
            return
        }
        #expect(result["protocolVersion"] == .string(answered))
        #expect(result["instructions"] == "scripted")
        #expect(result["capabilities"]?["tools"] != nil && result["capabilities"]?["logging"] != nil)
        #expect((result["serverInfo"]?["title"] != nil) == (answered >= "2025-06-18"))
    }

    @Test("only ping is served before initialize, and a session initializes once")
    func lifecycle() async {
        let session = HandshakeState()
        let provider = ScriptedProvider()
        let sink = DiscardingNotificationSink()
        #expect(
            await server.respond(
                to: Request(id: .int(1), method: "ping"), session: session, provider: provider, notifications: sink)
                == .result(.int(1), [:]))
        let early = await server.respond(
            to: Request(id: .int(2), method: "tools/list"), session: session, provider: provider, notifications: sink)
        #expect(early.error?.code == .invalidRequest)
        #expect(await initialize(server, session, version: "2025-06-18").error == nil)
        #expect(await initialize(server, session, version: "2025-06-18").error?.code == .invalidRequest)
        let bad = await server.respond(
            to: Request(id: .int(3), method: "initialize", params: ["protocolVersion": 5]), session: HandshakeState(),
            provider: provider, notifications: sink)
        #expect(bad.error?.code == .invalidParams)
    }

    @Test("tools/list pages with opaque cursors; a bad cursor is -32602")
    func pagination() async throws {
        let session = HandshakeState()
        let provider = ScriptedProvider(count: 5)
        _ = await initialize(server, session, version: "2025-06-18", provider: provider)
        var names: [String] = []
        var cursor: JSONValue?
        for _ in 0..<5 {
            var params: JSONObject = [:]
            if let cursor { params["cursor"] = cursor }
            let reply = await server.respond(
                to: Request(id: .int(9), method: "tools/list", params: params), session: session, provider: provider,
                notifications: DiscardingNotificationSink())
            guard case .result(_, let result) = reply else { throw JSONRPCError(.internalError, "no result") }
            names += result["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            cursor = result["nextCursor"]
            if cursor == nil { break }
        }
        #expect(names == provider.tools.map(\.name))
        for bad: JSONValue in ["garbage", .string(ToolsCursor.cursor(for: 99)), 5] {
            let reply = await server.respond(
                to: Request(id: .int(9), method: "tools/list", params: ["cursor": bad]), session: session,
                provider: provider, notifications: DiscardingNotificationSink())
            #expect(reply.error?.code == .invalidParams)
        }
    }

    @Test("tool and result fields follow the negotiated version")
    func shaping() async {
        let tool = ScriptedProvider().tools[0]
        #expect(tool.json(for: .v2024_11_05)["annotations"] == nil)
        #expect(tool.json(for: .v2025_03_26)["annotations"]?["title"] == "Tool 0")
        #expect(tool.json(for: .v2025_03_26)["title"] == nil && tool.json(for: .v2025_03_26)["outputSchema"] == nil)
        #expect(
            tool.json(for: .v2025_06_18)["title"] == "Tool 0" && tool.json(for: .v2025_06_18)["outputSchema"] != nil)
        #expect(tool.json(for: .v2025_06_18)["annotations"]?["title"] == nil)
        let result = ToolCallResult(content: [], structuredContent: ["a": 1], isError: true)
        #expect(result.json(for: .v2025_03_26)["structuredContent"] == nil)
        #expect(result.json(for: .v2025_06_18)["structuredContent"] == ["a": 1])
        #expect(result.json(for: .v2025_03_26)["isError"] == true)
    }

    @Test("tools/call: unknown tools and non-object arguments are -32602; progress is monotonic; logs follow setLevel")
    func calls() async {
        let session = HandshakeState()
        let provider = ScriptedProvider()
        let sink = RecordingSink()
        _ = await initialize(server, session, version: "2025-06-18")
        func call(_ params: JSONObject) async -> Reply {
            await server.respond(
                to: Request(id: .int(5), method: "tools/call", params: params), session: session, provider: provider,
                notifications: sink)
        }
        #expect(await call(["name": "nope"]).error?.code == .invalidParams)
        #expect(await call(["name": "echo", "arguments": [1]]).error?.code == .invalidParams)
        #expect(await call(["arguments": [:]]).error?.code == .invalidParams)
        _ = await call(["name": "echo", "arguments": ["x": 1]])
        #expect(sink.notifications.withLock { $0.isEmpty }, "no progress without a token, no logs without setLevel")
        let level = await server.respond(
            to: Request(id: .int(6), method: "logging/setLevel", params: ["level": "info"]), session: session,
            provider: provider, notifications: sink)
        #expect(level == .result(.int(6), [:]))
        let reply = await call(["name": "echo", "arguments": ["x": 1], "_meta": ["progressToken": "t"]])
        guard case .result(_, let result) = reply else {
            Issue.record("expected a result")
            return
        }
        #expect(result["structuredContent"] == ["x": 1])
        let sent = sink.notifications.withLock { $0 }
        #expect(sent.filter { $0.method == "notifications/progress" }.count == 1)
        #expect(sent.contains { $0.method == "notifications/message" && $0.params?["level"] == "info" })
    }
}

@Suite("Engine: 2026-07-28")
struct ModernTests {
    let server = MCPServer(identity: identity)

    func meta(_ version: String = "2026-07-28") -> JSONObject {
        [
            "io.modelcontextprotocol/protocolVersion": .string(version),
            "io.modelcontextprotocol/clientCapabilities": [:],
        ]
    }

    @Test("discover and list carry resultType, serverInfo and private cache hints")
    func discover() async {
        let reply = await server.respondStateless(
            to: Request(id: .int(1), method: "server/discover", params: ["_meta": .object(meta())]),
            provider: ScriptedProvider(), notifications: DiscardingNotificationSink())
        guard case .result(_, let result) = reply else {
            Issue.record("expected a result")
            return
        }
        #expect(result["resultType"] == "complete" && result["cacheScope"] == "private" && result["ttlMs"] != nil)
        #expect(result["_meta"]?["io.modelcontextprotocol/serverInfo"]?["name"] == "test")
        #expect(result["supportedVersions"]?.arrayValue?.first == "2026-07-28")
    }

    @Test("malformed _meta is -32602, an unknown version -32022 with what is supported")
    func errors() async {
        let unsupported = await server.respondStateless(
            to: Request(id: .int(1), method: "tools/list", params: ["_meta": .object(meta("2031-01-01"))]),
            provider: ScriptedProvider(), notifications: DiscardingNotificationSink())
        #expect(unsupported.error?.code == .unsupportedProtocolVersion)
        #expect(unsupported.error?.data?["requested"] == "2031-01-01")
        var noCapabilities = meta()
        noCapabilities.removeValue(forKey: "io.modelcontextprotocol/clientCapabilities")
        let missing = await server.respondStateless(
            to: Request(id: .int(2), method: "tools/list", params: ["_meta": .object(noCapabilities)]),
            provider: ScriptedProvider(), notifications: DiscardingNotificationSink())
        #expect(missing.error?.code == .invalidParams)
        let removed = await server.respondStateless(
            to: Request(id: .int(3), method: "logging/setLevel", params: ["_meta": .object(meta()), "level": "info"]),
            provider: ScriptedProvider(), notifications: DiscardingNotificationSink())
        #expect(removed.error?.code == .methodNotFound)
    }
}

@Suite("Dispatcher on a duplex channel")
struct DuplexChannelTests {
    let channel = RecordingChannel()

    func makeDispatcher() -> Dispatcher {
        Dispatcher(server: MCPServer(identity: identity), logger: .disabled)
    }

    func send(_ session: Dispatcher, _ text: String) {
        session.receive(Array(text.utf8), on: channel, provider: ScriptedProvider())
    }

    @Test("batches only under 2025-03-26, answered as one array; notification-only batches get nothing")
    func batches() async {
        let session = makeDispatcher()
        send(session, #"[{"jsonrpc":"2.0","id":1,"method":"ping"}]"#)
        #expect(await channel.wait { $0.count == 1 }.first?["error"]?["code"] == -32600)
        send(session, #"{"jsonrpc":"2.0","id":2,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}"#)
        _ = await channel.wait { $0.count == 2 }
        send(
            session,
            #"[{"jsonrpc":"2.0","id":3,"method":"ping"},{"jsonrpc":"2.0","method":"x"},{"id":4},{"jsonrpc":"2.0","id":5,"method":"initialize","params":{}}]"#
        )
        let batch = await channel.wait { $0.count == 3 }.last?.arrayValue ?? []
        #expect(batch.count == 3)
        #expect(batch.contains { $0["id"] == 3 && $0["result"] != nil })
        #expect(batch.contains { $0["id"] == 5 && $0["error"]?["code"] == -32600 })
        send(session, #"[{"jsonrpc":"2.0","method":"x"}]"#)
        send(session, #"[]"#)
        let last = await channel.wait { $0.count == 4 }
        #expect(last.count == 4 && last[3]["error"]?["message"]?.stringValue?.contains("empty") == true)
    }

    @Test("a cancelled request is never answered, duplicates in flight are refused, drain cancels stragglers")
    func cancellation() async {
        let session = makeDispatcher()
        send(session, #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18"}}"#)
        _ = await channel.wait { $0.count == 1 }
        send(session, #"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"slow"}}"#)
        send(session, #"{"jsonrpc":"2.0","id":"s","method":"tools/call","params":{"name":"slow"}}"#)
        let duplicate = await channel.wait { $0.count == 2 }
        #expect(duplicate.last?["error"]?["message"]?.stringValue?.contains("already in flight") == true)
        send(session, #"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"s"}}"#)
        send(session, #"{"jsonrpc":"2.0","id":"p","method":"ping"}"#)
        _ = await channel.wait { $0.contains { $0["id"] == "p" } }
        // Returns as soon as idle; the bound is for a full test run that starves the concurrency pool.
        #expect(await session.inflight.waitUntilIdle(timeout: .seconds(30)))
        #expect(!channel.all.contains { $0["id"] == "s" && $0["result"] != nil })

        send(session, #"{"jsonrpc":"2.0","id":"late","method":"tools/call","params":{"name":"slow"}}"#)
        let cancelled = await session.drain(grace: .milliseconds(100))
        #expect(cancelled == 1)
        send(session, #"{"jsonrpc":"2.0","id":"after","method":"ping"}"#)
        let final = await channel.wait { $0.contains { $0["id"] == "after" } }
        #expect(final.last?["error"]?["message"]?.stringValue?.contains("shutting down") == true)
    }

    @Test("drain waits for a finished request's reply to be written, not just computed (flaky-exit regression)")
    func drainWaitsForDelivery() async {
        let inflight = InflightRequests()
        let written = Mutex(false)
        Task.immediate {
            await inflight.answering {
                _ = await inflight.run(.int(1)) {
                    try? await Task.sleep(for: .milliseconds(10))
                    return .result(.int(1), JSONObject())
                }
                blockForSlowWrite()  // a slow stdout
                written.withLock { $0 = true }
            }
        }
        #expect(await inflight.drain(grace: .seconds(5)) == 0)
        #expect(written.withLock { $0 }, "drain returned while the reply was still being written")
    }

    @Test("a progress reporter stops at the response")
    func progressStops() {
        let sink = RecordingSink()
        let progress = ProgressReporter(token: "t", sink: sink)
        progress.report(1)
        progress.report(1)
        progress.finish()
        progress.report(2)
        #expect(sink.notifications.withLock { $0.count } == 1)
    }
}

/// Blocks the calling thread for 200 ms, as a write to a slow stdout would.
private func blockForSlowWrite() { Thread.sleep(forTimeInterval: 0.2) }
