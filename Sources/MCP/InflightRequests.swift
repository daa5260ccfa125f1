import JSONRPC
import Synchronization

/// The requests a session is working on, so they can be cancelled one by one, capped, and drained on shutdown.
///
/// Every request runs in its own task (a slow `tools/call` must never hold up `ping`); the registry is what keeps
/// those tasks accounted for: nothing runs that shutdown does not wait for or cancel. Requests that take a call slot
/// (`RequestLimits.takesCallSlot`) run at most `maxRunning` at once; the next `maxQueued` wait in arrival order as
/// plain data (a suspended caller, no task) until a slot frees; past that they are refused, so one session's work is
/// bounded.
package final class InflightRequests: Sendable {
    package typealias Work = @Sendable () async -> Reply

    /// A request admitted by `admit` and not yet run: pass it to `run` exactly once.
    package struct Admission: Sendable {
        let id: RequestID
        let ticket: Int
        let waiting: Bool
    }

    private struct Entry {
        let ticket: Int
        var task: Task<Reply, Never>?
        var cancelled = false
        var takesSlot: Bool
        /// Set while the request waits for a slot.
        var waiting = false
        /// The suspended caller of a waiting request, once it has suspended.
        var waiter: CheckedContinuation<Bool, Never>?
    }

    private struct State {
        var entries: [RequestID: Entry] = [:]
        /// Answers being computed or written outside the registry (see `answering`).
        var answering = 0
        var accepting = true
        var running = 0
        var nextTicket = 0
        /// Requests waiting for a slot, oldest first from `queueHead`; those cancelled while waiting are skipped.
        var queue: [(id: RequestID, ticket: Int)] = []
        var queueHead = 0
        var waitingCount = 0
        var idleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0

        var isIdle: Bool { entries.isEmpty && answering == 0 }

        /// Hands a freed slot to the oldest waiting request; returns its caller to resume, or `nil` when the caller
        /// has not suspended yet (it then finds the slot granted) or nobody waits (the slot is released).
        mutating func passSlot() -> CheckedContinuation<Bool, Never>? {
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
                let (id, ticket) = queue[queueHead]
                queueHead += 1
                guard entries[id]?.ticket == ticket, entries[id]!.waiting else { continue }
                entries[id]!.waiting = false
                waitingCount -= 1
                defer { entries[id]!.waiter = nil }
                return entries[id]!.waiter
            }
            running -= 1
            return nil
        }
    }

    private let state = Mutex(State())
    package let maxRunning: Int
    package let maxQueued: Int
    /// Where requests run after their first suspension (nil: the concurrency pool).
    let executor: (any TaskExecutor)?

    /// - Parameters:
    ///   - maxRunning: requests that take a call slot and may run at once.
    ///   - maxQueued: such requests that may wait for a slot before further ones are refused as busy.
    ///   - executor: where requests continue after they first suspend; nil for the concurrency pool.
    package init(maxRunning: Int = .max, maxQueued: Int = 0, executor: (any TaskExecutor)? = nil) {
        precondition(maxRunning > 0 && maxQueued >= 0)
        self.maxRunning = maxRunning
        self.maxQueued = maxQueued
        self.executor = executor
    }

    package convenience init(limits: RequestLimits, executor: (any TaskExecutor)? = nil) {
        self.init(maxRunning: limits.maxRunningCalls, maxQueued: limits.maxQueuedCalls, executor: executor)
    }

    /// Requests admitted and not yet answered, running or waiting.
    package var count: Int { state.withLock { $0.entries.count } }

    /// Slot-taking requests running now, and waiting for a slot.
    package var occupancy: (running: Int, waiting: Int) { state.withLock { ($0.running, $0.waitingCount) } }

    /// Admits request `id` (synchronously, so admission follows arrival order), or says why it is refused:
    /// a duplicate id in flight, a registry that is shutting down, or every running and waiting slot taken.
    package func admit(_ id: RequestID, takesSlot: Bool = false) -> Result<Admission, JSONRPCError> {
        let outcome = state.withLock { state -> Result<Admission, Refusal> in
            guard state.accepting else { return .failure(.shuttingDown) }
            guard state.entries[id] == nil else { return .failure(.duplicate) }
            state.nextTicket += 1
            let ticket = state.nextTicket
            guard takesSlot else {
                state.entries[id] = Entry(ticket: ticket, takesSlot: false)
                return .success(Admission(id: id, ticket: ticket, waiting: false))
            }
            if state.running < maxRunning {
                state.running += 1
                state.entries[id] = Entry(ticket: ticket, takesSlot: true)
                return .success(Admission(id: id, ticket: ticket, waiting: false))
            }
            guard state.waitingCount < maxQueued else { return .failure(.busy) }
            state.entries[id] = Entry(ticket: ticket, takesSlot: true, waiting: true)
            state.queue.append((id, ticket))
            state.waitingCount += 1
            return .success(Admission(id: id, ticket: ticket, waiting: true))
        }
        return outcome.mapError { refusal(of: $0, id: id) }
    }

    /// Runs an admitted request: waits for its slot if it has none, then runs `work` in a task of its own that
    /// `cancel` reaches. Returns its reply, or `nil` if it was cancelled, in which case no response may be sent.
    ///
    /// The task starts on the caller's thread and runs until its first suspension, so quick requests (ping,
    /// tools/list, a refused call) are answered without a thread hop. Cancelling the caller does not cancel the
    /// request: only `cancel` and `cancelAll` do (a closed HTTP connection is not a cancellation).
    package func run(_ admission: Admission, work: @escaping Work) async -> Reply? {
        if admission.waiting, !(await slotGranted(admission)) { return nil }
        let task = Task.immediate(executorPreference: executor, operation: work)
        let cancelNow = state.withLock { state -> Bool in
            state.entries[admission.id]!.task = task
            return state.entries[admission.id]!.cancelled
        }
        if cancelNow { task.cancel() }
        let reply = await task.value
        let (cancelled, next) = state.withLock { state -> (Bool, CheckedContinuation<Bool, Never>?) in
            let entry = state.entries.removeValue(forKey: admission.id)!
            return (entry.cancelled, entry.takesSlot ? state.passSlot() : nil)
        }
        // The freed slot goes to the oldest waiting request; it resumes on the executor, not nested on this stack.
        next?.resume(returning: true)
        if state.withLock({ $0.isIdle }) { wakeIdleWaiters() }
        return cancelled ? nil : reply
    }

    /// Admits and runs request `id`; a refusal is its error reply.
    package func run(_ id: RequestID, takesSlot: Bool = false, work: @escaping Work) async -> Reply? {
        switch admit(id, takesSlot: takesSlot) {
        case .success(let admission): await run(admission, work: work)
        case .failure(let refusal): .error(id, refusal)
        }
    }

    /// Counts `body` (computing and writing answers) as work in flight, so `drain` does not report idle while a
    /// reply is unwritten and the process could exit first.
    package func answering(_ body: () async -> Void) async {
        state.withLock { $0.answering += 1 }
        await body()
        let idle = state.withLock { state -> Bool in
            state.answering -= 1
            return state.isIdle
        }
        if idle { wakeIdleWaiters() }
    }

    /// Suspends a waiting request until a slot is handed to it (`true`) or it is cancelled (`false`).
    private func slotGranted(_ admission: Admission) async -> Bool {
        await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
            let decided = state.withLock { state -> Bool? in
                guard let entry = state.entries[admission.id], entry.ticket == admission.ticket else { return false }
                guard entry.waiting else { return true }  // a slot came before the caller suspended
                state.entries[admission.id]!.waiter = continuation
                return nil
            }
            if let decided { continuation.resume(returning: decided) }
        }
    }

    private enum Refusal: Error { case duplicate, shuttingDown, busy }

    private func refusal(of refusal: Refusal, id: RequestID) -> JSONRPCError {
        switch refusal {
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

    /// Cancels one request (`notifications/cancelled`). Unknown or finished ids are ignored, as the spec says; a
    /// waiting request is dropped from the queue without ever running, and its id may be reused at once.
    package func cancel(_ id: RequestID) {
        let (task, dropped, idle) = state.withLock {
            state -> (Task<Reply, Never>?, CheckedContinuation<Bool, Never>??, Bool) in
            guard let entry = state.entries[id] else { return (nil, nil, false) }
            if entry.waiting {
                state.entries[id] = nil
                state.waitingCount -= 1
                return (nil, .some(entry.waiter), state.isIdle)
            }
            state.entries[id]!.cancelled = true
            return (entry.task, nil, false)
        }
        task?.cancel()
        if case .some(let waiter) = dropped { waiter?.resume(returning: false) }
        if idle { wakeIdleWaiters() }
    }

    /// Cancels everything still running or waiting (e.g. the client's connection is gone).
    package func cancelAll() {
        let (tasks, dropped, idle) = state.withLock {
            state -> ([Task<Reply, Never>], [CheckedContinuation<Bool, Never>], Bool) in
            var tasks: [Task<Reply, Never>] = []
            var dropped: [CheckedContinuation<Bool, Never>] = []
            for (id, entry) in state.entries {
                if entry.waiting {
                    state.entries[id] = nil
                    if let waiter = entry.waiter { dropped.append(waiter) }
                } else {
                    state.entries[id]!.cancelled = true
                    if let task = entry.task { tasks.append(task) }
                }
            }
            state.waitingCount = 0
            state.queue.removeAll()
            state.queueHead = 0
            return (tasks, dropped, state.isIdle)
        }
        for task in tasks { task.cancel() }
        for waiter in dropped { waiter.resume(returning: false) }
        if idle { wakeIdleWaiters() }
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

    private func wakeIdleWaiters() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
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
