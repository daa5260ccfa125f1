import JSONRPC
import Synchronization

/// The requests a session is working on, so they can be cancelled one by one, capped, and drained on shutdown.
///
/// Every request runs in its own task (a slow `tools/call` must never hold up `ping`); the registry is what keeps
/// those tasks structured: nothing runs that shutdown does not wait for or cancel. Requests that take a call slot
/// (`RequestLimits.takesCallSlot`) run at most `maxRunning` at once; the next `maxQueued` wait in arrival order as
/// plain data (no task until a slot frees); past that they are refused, so one session's work is bounded.
package final class InflightRequests: Sendable {
    package enum StartResult: Sendable, Equatable {
        /// Running, or waiting for a slot; `deliver` will be called either way.
        case started
        /// An earlier request with the same id is still running; JSON-RPC ids must be unique while in flight.
        case duplicate
        /// The connection is shutting down and takes no new work.
        case shuttingDown
        /// Every running and waiting slot is taken: a retryable refusal.
        case busy
    }

    package typealias Work = @Sendable () async -> Reply
    package typealias Deliver = @Sendable (Reply?) -> Void

    private struct Waiting {
        let work: Work
        let deliver: Deliver
    }

    private struct Entry {
        var task: Task<Void, Never>?
        var cancelled = false
        var takesSlot: Bool
        /// Set while the request waits for a slot.
        var waiting: Waiting?
    }

    private struct State {
        var entries: [RequestID: Entry] = [:]
        var delivering = 0
        var accepting = true
        var running = 0
        /// Ids waiting for a slot, oldest first from `queueHead`; ids cancelled while waiting are skipped lazily.
        var queue: [RequestID] = []
        var queueHead = 0
        var waitingCount = 0
        var idleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0

        var isIdle: Bool { entries.isEmpty && delivering == 0 }

        /// Takes the oldest waiting request out of the queue (its entry stays: it is about to run).
        mutating func popWaiting() -> (RequestID, Waiting)? {
            defer {
                if queueHead == queue.count {
                    queue.removeAll(keepingCapacity: queue.count < 1024)
                    queueHead = 0
                } else if queueHead > 64 && queueHead * 2 > queue.count {
                    queue.removeFirst(queueHead)
                    queueHead = 0
                }
            }
            while queueHead < queue.count {
                let id = queue[queueHead]
                queueHead += 1
                if let waiting = entries[id]?.waiting {
                    entries[id]!.waiting = nil
                    waitingCount -= 1
                    return (id, waiting)
                }
            }
            return nil
        }
    }

    private let state = Mutex(State())
    package let maxRunning: Int
    package let maxQueued: Int

    /// - Parameters:
    ///   - maxRunning: requests that take a call slot and may run at once.
    ///   - maxQueued: such requests that may wait for a slot before further ones are refused as `.busy`.
    package init(maxRunning: Int = .max, maxQueued: Int = 0) {
        precondition(maxRunning > 0 && maxQueued >= 0)
        self.maxRunning = maxRunning
        self.maxQueued = maxQueued
    }

    package convenience init(limits: RequestLimits) {
        self.init(maxRunning: limits.maxRunningCalls, maxQueued: limits.maxQueuedCalls)
    }

    /// Requests admitted and not yet answered, running or waiting.
    package var count: Int { state.withLock { $0.entries.count } }

    /// Slot-taking requests running now, and waiting for a slot.
    package var occupancy: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waitingCount) } }

    /// Runs `work` for request `id`, now or when a slot frees; `deliver` receives its reply, or `nil` if the request
    /// was cancelled, in which case no response may be sent.
    package func start(
        _ id: RequestID, takesSlot: Bool = false, work: @escaping Work, deliver: @escaping Deliver
    )
        -> StartResult
    {
        let admitted = state.withLock { state -> StartResult? in
            guard state.accepting else { return .shuttingDown }
            guard state.entries[id] == nil else { return .duplicate }
            guard takesSlot else {
                state.entries[id] = Entry(takesSlot: false)
                return nil
            }
            if state.running < maxRunning {
                state.running += 1
                state.entries[id] = Entry(takesSlot: true)
                return nil
            }
            guard state.waitingCount < maxQueued else { return .busy }
            state.entries[id] = Entry(takesSlot: true, waiting: Waiting(work: work, deliver: deliver))
            state.queue.append(id)
            state.waitingCount += 1
            return .started
        }
        if let admitted { return admitted }
        // Starts on the caller's thread and runs until its first suspension: quick requests (ping, tools/list,
        // a refused call) are answered without a thread hop.
        launch(id, work: work, deliver: deliver, immediately: true)
        return .started
    }

    /// The error that answers a request `start` did not admit, or `nil` when it was admitted.
    package func refusal(_ result: StartResult, id: RequestID) -> JSONRPCError? {
        switch result {
        case .started: nil
        case .duplicate: JSONRPCError(.invalidRequest, "Request id \(id) is already in flight")
        case .shuttingDown:
            JSONRPCError(.internalError, "Session is closing: the server is shutting down or the session ended")
        case .busy:
            JSONRPCError(
                .serverBusy,
                "Too many calls in flight on this session (\(maxRunning) running, \(maxQueued) waiting); retry request \(id) when earlier calls have finished",
                data: [
                    "retryable": true, "retryAfterSeconds": 1, "maxRunningCalls": .int(Int64(maxRunning)),
                    "maxQueuedCalls": .int(Int64(maxQueued)),
                ]
            )
        }
    }

    private func launch(_ id: RequestID, work: @escaping Work, deliver: @escaping Deliver, immediately: Bool) {
        let body: @Sendable () async -> Void = {
            let reply = await work()
            let (cancelled, next) = self.finish(id)
            // The freed slot goes to the oldest waiting request. A new task, not an immediate one: a chain of
            // requests that finish without suspending must not nest on one stack.
            if let (nextID, waiting) = next {
                self.launch(nextID, work: waiting.work, deliver: waiting.deliver, immediately: false)
            }
            deliver(cancelled ? nil : reply)
            self.delivered()
        }
        let task = immediately ? Task.immediate(operation: body) : Task(operation: body)
        // The task may already have finished, or been cancelled before its handle was stored.
        let cancelNow = state.withLock { state -> Bool in
            guard state.entries[id] != nil, state.entries[id]!.waiting == nil else { return false }
            state.entries[id]!.task = task
            return state.entries[id]!.cancelled
        }
        if cancelNow { task.cancel() }
    }

    /// Cancels one request (`notifications/cancelled`). Unknown or finished ids are ignored, as the spec says; a
    /// waiting request is dropped from the queue without ever running.
    package func cancel(_ id: RequestID) {
        let (task, dropped) = state.withLock { state -> (Task<Void, Never>?, Deliver?) in
            guard let entry = state.entries[id] else { return (nil, nil) }
            if let waiting = entry.waiting {
                state.entries[id] = nil
                state.waitingCount -= 1
                state.delivering += 1
                return (nil, waiting.deliver)
            }
            state.entries[id]!.cancelled = true
            return (entry.task, nil)
        }
        task?.cancel()
        if let dropped {
            dropped(nil)
            delivered()
        }
    }

    /// Cancels everything still running or waiting (e.g. the client's connection is gone).
    package func cancelAll() {
        let (tasks, dropped) = state.withLock { state -> ([Task<Void, Never>], [Deliver]) in
            var tasks: [Task<Void, Never>] = []
            var dropped: [Deliver] = []
            for (id, entry) in state.entries {
                if let waiting = entry.waiting {
                    state.entries[id] = nil
                    dropped.append(waiting.deliver)
                } else {
                    state.entries[id]!.cancelled = true
                    if let task = entry.task { tasks.append(task) }
                }
            }
            state.waitingCount = 0
            state.queue.removeAll()
            state.queueHead = 0
            state.delivering += dropped.count
            return (tasks, dropped)
        }
        for task in tasks { task.cancel() }
        for deliver in dropped {
            deliver(nil)
            delivered()
        }
    }

    /// Stops taking new requests, lets running and waiting ones finish within `grace`, then cancels the rest and
    /// waits briefly for them to unwind. Returns how many had to be cancelled.
    @discardableResult
    package func drain(grace: Duration) async -> Int {
        state.withLock { $0.accepting = false }
        if await waitUntilIdle(timeout: grace) { return 0 }
        let remaining = count
        cancelAll()
        _ = await waitUntilIdle(timeout: .seconds(2))
        return remaining
    }

    /// Frees the id (it may be reused as soon as its reply is out) and returns whether the request was cancelled.
    /// The request still counts as in flight until `delivered()`: `drain` must not report idle while a reply is
    /// unwritten, or the process could exit first. A slot-taking request hands its slot to the oldest waiting one,
    /// which is returned to be launched.
    private func finish(_ id: RequestID) -> (cancelled: Bool, next: (RequestID, Waiting)?) {
        state.withLock { state in
            state.delivering += 1
            let entry = state.entries.removeValue(forKey: id)
            guard entry?.takesSlot == true else { return (entry?.cancelled ?? false, nil) }
            if let next = state.popWaiting() { return (entry!.cancelled, next) }
            state.running -= 1
            return (entry!.cancelled, nil)
        }
    }

    private func delivered() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.delivering -= 1
            guard state.isIdle else { return [] }
            defer { state.idleWaiters.removeAll() }
            return Array(state.idleWaiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until no request is in flight, or until `timeout`; returns whether it became idle.
    package func waitUntilIdle(timeout: Duration) async -> Bool {
        await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.idle() }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            return first
        }
    }

    /// Suspends until idle; returns `false` if the waiting task was cancelled first.
    private func idle() async -> Bool {
        let ticket = state.withLock { state -> Int in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                let resumeNow = state.withLock { state -> Bool in
                    if state.isIdle || Task.isCancelled { return true }
                    state.idleWaiters[ticket] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
            return !Task.isCancelled
        } onCancel: {
            let waiter = state.withLock { $0.idleWaiters.removeValue(forKey: ticket) }
            waiter?.resume()
        }
    }
}
