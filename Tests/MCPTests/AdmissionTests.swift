import JSONRPC
import Log
import Synchronization
import Testing

@testable import MCP

/// A latch a test opens to let scripted work finish.
private final class Gate: Sendable {
    private let state = Mutex<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let openNow = state.withLock { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if openNow { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// What happened to each request: started (in order), and how it was delivered.
private final class Outcomes: Sendable {
    let started = Mutex<[Int64]>([])
    let delivered = Mutex<[Int64: Bool]>([:])  // id → answered (true) or cancelled (false)

    var startOrder: [Int64] { started.withLock { $0 } }
    var deliveries: [Int64: Bool] { delivered.withLock { $0 } }
}

@Suite("Admission: batch cap and per-session call slots")
struct AdmissionTests {
    /// Admits request `id` now and runs it in a task of its own; returns the refusal, or `nil` once admitted.
    private func start(
        _ inflight: InflightRequests, _ id: Int64, takesSlot: Bool = true, gate: Gate, log: Outcomes
    ) -> JSONRPCError? {
        let admission: InflightRequests.Admission
        switch inflight.admit(.int(id), takesSlot: takesSlot) {
        case .success(let admitted): admission = admitted
        case .failure(let refusal): return refusal
        }
        Task {
            await inflight.answering {
                let reply = await inflight.run(admission) {
                    log.started.withLock { $0.append(id) }
                    await gate.wait()
                    return .result(.int(id), JSONObject())
                }
                log.delivered.withLock { $0[id] = reply != nil }
            }
        }
        return nil
    }

    /// Waits until `condition` holds; the generous bound only matters when a test fails (see `RecordingChannel`).
    private func settle(_ condition: () -> Bool) async {
        let deadline = ContinuousClock.now + .seconds(120)
        while !condition() && ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(2)) }
    }

    @Test("batches longer than the cap are refused whole with -32600 naming the cap; at the cap they pass")
    func batchCap() {
        var limits = RequestLimits()
        limits.maxBatchLength = 100
        #expect(limits.batchRefusal(length: 100, version: .v2025_03_26) == nil)
        let refusal = limits.batchRefusal(length: 10_000, version: .v2025_03_26)
        #expect(refusal?.code == .invalidRequest)
        #expect(refusal?.message.contains("10000") == true && refusal?.message.contains("100") == true)
        #expect(refusal?.data?["limit"] == 100)
        #expect(limits.batchRefusal(length: 0, version: .v2025_03_26)?.message.contains("empty") == true)
        #expect(limits.batchRefusal(length: 1, version: .v2025_06_18)?.code == .invalidRequest)
        #expect(limits.batchRefusal(length: 1, version: nil)?.message.contains("uninitialized") == true)
    }

    @Test("a dispatcher answers an over-long batch with one -32600 and runs none of it")
    func channelBatchCap() async {
        let channel = RecordingChannel()
        var limits = RequestLimits()
        limits.maxBatchLength = 3
        let session = Dispatcher(server: MCPServer(identity: identity, limits: limits), logger: .disabled)
        session.receive(
            Array(#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-03-26"}}"#.utf8),
            on: channel, provider: ScriptedProvider())
        let calls = (1...4).map {
            #"{"jsonrpc":"2.0","id":\#($0),"method":"tools/call","params":{"name":"echo"}}"#
        }
        session.receive(
            Array(("[" + calls.joined(separator: ",") + "]").utf8), on: channel, provider: ScriptedProvider())
        let replies = await channel.wait { $0.count == 2 }
        #expect(replies.count == 2)
        #expect(replies.last?["error"]?["code"] == -32600)
        #expect(replies.last?["error"]?["message"]?.stringValue?.contains("limit of 3") == true)
        #expect(session.inflight.count == 0)
        session.receive(
            Array(("[" + calls.prefix(3).joined(separator: ",") + "]").utf8), on: channel, provider: ScriptedProvider())
        #expect(await channel.wait { $0.count == 3 }.last?.arrayValue?.count == 3)
    }

    @Test("calls beyond the running cap wait in order, past the queue they are refused as retryable -32000")
    func slotsAndQueue() async {
        let inflight = InflightRequests(maxRunning: 2, maxQueued: 3)
        let gate = Gate()
        let log = Outcomes()
        for id in 1...5 { #expect(start(inflight, Int64(id), gate: gate, log: log) == nil) }
        let refusal = start(inflight, 6, gate: gate, log: log)
        #expect(refusal?.code == .serverBusy && refusal?.code.rawValue == -32000)
        #expect(refusal?.data?["retryable"] == true)
        #expect(refusal?.message.contains("2 running, 3 waiting") == true)
        await settle { log.startOrder.count == 2 }
        #expect(log.startOrder == [1, 2], "only two run; the rest wait without a task")
        #expect(inflight.occupancy == (running: 2, waiting: 3))

        // Requests that take no slot (ping, tools/list) are never held up by full slots.
        let quick = await inflight.run(.int(99), takesSlot: false) { .result(.int(99), JSONObject()) }
        #expect(quick == .result(.int(99), JSONObject()))
        #expect(inflight.occupancy == (running: 2, waiting: 3))

        gate.open()
        await settle { log.deliveries.count == 5 }
        #expect(log.startOrder == [1, 2, 3, 4, 5], "waiting calls run in arrival order")
        #expect(log.deliveries.values.allSatisfy { $0 })
        #expect(inflight.occupancy == (running: 0, waiting: 0))
        #expect(await inflight.waitUntilIdle(timeout: .seconds(120)))
    }

    @Test("a waiting call that is cancelled is dropped at once, never runs, and frees its queue place")
    func cancelWaiting() async {
        let inflight = InflightRequests(maxRunning: 1, maxQueued: 1)
        let gate = Gate()
        let log = Outcomes()
        #expect(start(inflight, 1, gate: gate, log: log) == nil)
        #expect(start(inflight, 2, gate: gate, log: log) == nil)
        #expect(start(inflight, 3, gate: gate, log: log)?.code == .serverBusy)
        inflight.cancel(.int(2))
        #expect(inflight.occupancy == (running: 1, waiting: 0))
        await settle { log.deliveries[2] != nil }
        #expect(log.deliveries[2] == false, "the cancelled waiter is told, with no reply, while 1 still runs")
        #expect(start(inflight, 3, gate: gate, log: log) == nil, "its place in the queue is free again")
        // The id of a dropped request may be reused at once.
        #expect(start(inflight, 2, gate: gate, log: log)?.code == .serverBusy)
        gate.open()
        await settle { log.deliveries.count == 3 }
        #expect(log.startOrder == [1, 3])
        #expect(log.deliveries == [1: true, 2: false, 3: true])
        #expect(await inflight.waitUntilIdle(timeout: .seconds(120)))
    }

    @Test("drain lets waiting calls run within the grace, then cancels what is left, running or waiting")
    func drainWithQueue() async {
        let inflight = InflightRequests(maxRunning: 1, maxQueued: 5)
        let gate = Gate()
        let log = Outcomes()
        for id in 1...3 { #expect(start(inflight, Int64(id), gate: gate, log: log) == nil) }
        let cancelled = await inflight.drain(grace: .milliseconds(100))
        #expect(cancelled == 3)
        // The running one was cancelled (its work ignores cancellation here and still waits on the gate).
        await settle { log.deliveries.count == 2 }
        #expect(log.deliveries[2] == false && log.deliveries[3] == false)
        #expect(start(inflight, 4, gate: gate, log: log)?.message.contains("shutting down") == true)
        gate.open()
        await settle { log.deliveries.count == 3 }
        #expect(log.deliveries[1] == false, "a cancelled request is never answered")
        #expect(log.startOrder == [1])
        #expect(await inflight.waitUntilIdle(timeout: .seconds(120)))

        // With slots freeing during the grace, queued calls are served, not dropped.
        let served = InflightRequests(maxRunning: 1, maxQueued: 5)
        let open = Gate()
        open.open()
        let served2 = Outcomes()
        for id in 1...3 { _ = start(served, Int64(id), gate: open, log: served2) }
        #expect(await served.drain(grace: .seconds(5)) == 0)
        #expect(served2.deliveries == [1: true, 2: true, 3: true])
    }

    @Test("cancelAll drops every waiting call and cancels running ones; the registry ends idle")
    func cancelAll() async {
        let inflight = InflightRequests(maxRunning: 2, maxQueued: 100)
        let gate = Gate()
        let log = Outcomes()
        for id in 1...50 { _ = start(inflight, Int64(id), gate: gate, log: log) }
        await settle { log.startOrder.count == 2 }
        inflight.cancelAll()
        #expect(inflight.occupancy == (running: 2, waiting: 0))
        await settle { log.deliveries.count == 48 }
        #expect(log.deliveries.count == 48)
        gate.open()
        #expect(await inflight.waitUntilIdle(timeout: .seconds(120)))
        #expect(log.deliveries.count == 50 && log.deliveries.values.allSatisfy { !$0 })
        #expect(log.startOrder.count == 2)
        #expect(inflight.occupancy == (running: 0, waiting: 0))
    }
}
