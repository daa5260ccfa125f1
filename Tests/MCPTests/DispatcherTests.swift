import JSONRPC
import Log
import Synchronization
import Testing

@testable import MCP

/// A provider whose `hold` tool runs until the test releases it (or the call is cancelled), recording every start.
private final class HeldProvider: ToolProvider {
    private let state = Mutex<(started: [String], releases: [CheckedContinuation<Void, Never>])>(([], []))

    var instructions: String { "held" }
    func listTools() -> [ToolDescriptor] { [] }

    var started: [String] { state.withLock { $0.started } }

    func callTool(named name: String, arguments: JSONObject, context: ToolCallContext) async -> ToolCallResult? {
        let tag = arguments["tag"]?.stringValue ?? name
        guard name == "hold" else { return .text(tag) }
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    state.started.append(tag)
                    if Task.isCancelled { return true }
                    state.releases.append(continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            release()
        }
        return .text(Task.isCancelled ? "cancelled \(tag)" : "released \(tag)")
    }

    /// Lets every held call finish.
    func release() {
        let releases = state.withLock { state in
            defer { state.releases = [] }
            return state.releases
        }
        for release in releases { release.resume() }
    }
}

/// The dispatcher alone, without any transport: JSON texts in, replies out.
@Suite("Dispatcher: one place for JSON-RPC session semantics")
struct DispatcherTests {
    private let channel = RecordingChannel()
    private let provider = HeldProvider()

    private func dispatcher(maxRunning: Int = 16, maxQueued: Int = 256, version: String = "2025-03-26") -> Dispatcher {
        var limits = RequestLimits()
        limits.maxRunningCalls = maxRunning
        limits.maxQueuedCalls = maxQueued
        let dispatcher = Dispatcher(server: MCPServer(identity: identity, limits: limits), logger: .disabled)
        let accepted = dispatcher.accept(
            message(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"\#(version)"}}"#),
            provider: provider)
        #expect(accepted.immediate.first?.error == nil && accepted.requests.isEmpty)
        return dispatcher
    }

    private func message(_ text: String) -> JSONValue { try! JSONParser.parse(Array(text.utf8)) }

    private func call(_ id: String, _ tool: String = "hold") -> String {
        #"{"jsonrpc":"2.0","id":"\#(id)","method":"tools/call","params":{"name":"\#(tool)","arguments":{"tag":"\#(id)"}}}"#
    }

    /// Waits until `condition` holds; the generous bound only matters when a test fails (see `RecordingChannel`).
    private func settle(_ condition: () -> Bool) async {
        let deadline = ContinuousClock.now + .seconds(120)
        while !condition() && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(2)) }
    }

    @Test("a mixed batch: notifications applied, invalid and initialize answered, replies in arrival order")
    func mixedBatch() async throws {
        let dispatcher = dispatcher()
        let batch = message(
            "[" + call("a", "quick") + #",{"jsonrpc":"2.0","method":"notifications/initialized"},"#
                + #"{"jsonrpc":"2.0","id":"i","method":"initialize","params":{"protocolVersion":"2025-03-26"}},"#
                + #"{"id":7},"# + #"{"jsonrpc":"2.0","id":"p","method":"ping"},"# + call("b", "quick") + "]")
        let accepted = dispatcher.accept(batch, provider: provider)
        #expect(accepted.isBatch && accepted.refusal == nil)
        #expect(accepted.requests.map(\.id) == [.string("a"), .string("p"), .string("b")])
        let replies = await dispatcher.answer(accepted, provider: provider, notifications: DiscardingNotificationSink())
        // Immediate errors first (initialize in a batch, the invalid element), then requests in arrival order.
        try #require(replies.map(\.id) == [.string("i"), .int(7), .string("a"), .string("p"), .string("b")])
        #expect(replies[0].error?.message.contains("must not be part of a batch") == true)
        #expect(replies[1].error?.code == .invalidRequest)
        #expect(replies[2].result?["content"]?[0]?["text"] == "a")
        #expect(replies[4].result?["content"]?[0]?["text"] == "b")

        // Only notifications: nothing to answer at all.
        let silent = dispatcher.accept(
            message(#"[{"jsonrpc":"2.0","method":"x"},{"jsonrpc":"2.0","id":1,"result":{}}]"#), provider: provider)
        #expect(silent.isSilent)
        // Batches outside 2025-03-26 are refused whole, before anything in them is applied.
        let strict = self.dispatcher(version: "2025-06-18")
        let refused = strict.accept(message("[" + call("c", "quick") + "]"), provider: provider)
        #expect(refused.refusal?.code == .invalidRequest && refused.requests.isEmpty)
    }

    @Test("a duplicate id in flight is refused, in one batch and across messages; the id is free after the reply")
    func duplicateIDs() async throws {
        let dispatcher = dispatcher()
        dispatcher.receive(message(call("d")), on: channel, provider: provider)
        dispatcher.receive(
            message("[" + call("d") + "," + call("e", "quick") + "," + call("e", "quick") + "]"), on: channel,
            provider: provider)
        let replies = await channel.wait { $0.count == 1 }
        let batch = replies.first?.arrayValue ?? []
        try #require(batch.count == 3)
        #expect(
            batch[0]["id"] == "d" && batch[0]["error"]?["message"]?.stringValue?.contains("already in flight") == true)
        #expect(batch[1]["id"] == "e" && batch[1]["result"] != nil, "the first of two equal ids runs")
        #expect(
            batch[2]["id"] == "e" && batch[2]["error"]?["message"]?.stringValue?.contains("already in flight") == true)
        provider.release()
        _ = await channel.wait { $0.count == 2 }
        #expect(channel.all.count == 2 && channel.all.last?["result"]?["content"]?[0]?["text"] == "released d")
        dispatcher.receive(message(call("d", "quick")), on: channel, provider: provider)
        #expect(await channel.wait { $0.count == 3 }.last?["result"] != nil, "a finished id may be reused")
    }

    @Test("cancelling a running call cancels its task and suppresses its reply; a queued one never runs")
    func cancellation() async {
        let dispatcher = dispatcher(maxRunning: 1, maxQueued: 4)
        dispatcher.receive(message(call("run")), on: channel, provider: provider)
        dispatcher.receive(message(call("queued")), on: channel, provider: provider)
        await settle { provider.started == ["run"] }
        #expect(dispatcher.inflight.occupancy == (running: 1, waiting: 1))
        dispatcher.receive(
            message(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"queued"}}"#),
            on: channel,
            provider: provider)
        #expect(dispatcher.inflight.occupancy == (running: 1, waiting: 0), "the queued call leaves the queue at once")
        dispatcher.receive(
            message(#"{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"run"}}"#), on: channel,
            provider: provider)
        #expect(await dispatcher.inflight.waitUntilIdle(timeout: .seconds(120)))
        dispatcher.receive(message(#"{"jsonrpc":"2.0","id":"after","method":"ping"}"#), on: channel, provider: provider)
        let all = await channel.wait { $0.contains { $0["id"] == "after" } }
        #expect(all.map { $0["id"] } == ["after"], "neither cancelled call is answered")
        #expect(provider.started == ["run"], "the cancelled queued call never ran")
        #expect(dispatcher.inflight.occupancy == (running: 0, waiting: 0))
    }

    @Test("on shutdown, new requests get a shutting-down error; calls past the grace are cancelled, unanswered")
    func shutdown() async {
        let dispatcher = dispatcher()
        dispatcher.receive(message(call("long")), on: channel, provider: provider)
        await settle { provider.started == ["long"] }
        // Starts on this thread: the dispatcher stops admitting before the drain first waits.
        let drained = Task.immediate { await dispatcher.drain(grace: .milliseconds(200)) }
        dispatcher.receive(
            message("[" + call("late", "quick") + #",{"jsonrpc":"2.0","id":"ping","method":"ping"}]"#), on: channel,
            provider: provider)
        let batch = await channel.wait { $0.count == 1 }.first?.arrayValue ?? []
        #expect(batch.count == 2)
        #expect(batch.allSatisfy { $0["error"]?["message"]?.stringValue?.contains("shutting down") == true })
        #expect(await drained.value == 1)
        #expect(!channel.all.contains { $0["id"] == "long" }, "a call cancelled by shutdown is not answered")
    }
}

extension Reply {
    fileprivate var id: RequestID? {
        switch self {
        case .result(let id, _): id
        case .error(let id, _): id
        }
    }

    fileprivate var result: JSONValue? {
        if case .result(_, let result) = self { .object(result) } else { nil }
    }
}
