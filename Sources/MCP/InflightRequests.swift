import JSONRPC
import Synchronization

/// The requests a connection is working on, so they can be cancelled one by one and drained on shutdown.
///
/// Every request runs in its own task (a slow `tools/call` must never hold up `ping`); the registry is what keeps
/// those tasks structured: nothing runs that shutdown does not wait for or cancel.
package final class InflightRequests: Sendable {
    package enum StartResult: Sendable, Equatable {
        case started
        /// An earlier request with the same id is still running; JSON-RPC ids must be unique while in flight.
        case duplicate
        /// The connection is shutting down and takes no new work.
        case shuttingDown
    }

    private struct Entry {
        var task: Task<Void, Never>?
        var cancelled = false
    }

    private struct State {
        var entries: [RequestID: Entry] = [:]
        var delivering = 0
        var accepting = true
        var idleWaiters: [Int: CheckedContinuation<Void, Never>] = [:]
        var nextWaiter = 0

        var isIdle: Bool { entries.isEmpty && delivering == 0 }
    }

    private let state = Mutex(State())

    package init() {}

    package var count: Int { state.withLock { $0.entries.count } }

    /// Runs `work` for request `id`; `deliver` receives its reply, or `nil` if the request was cancelled, in which
    /// case no response may be sent.
    package func start(
        _ id: RequestID,
        work: @escaping @Sendable () async -> Reply,
        deliver: @escaping @Sendable (Reply?) -> Void
    ) -> StartResult {
        let admitted = state.withLock { state -> StartResult in
            guard state.accepting else { return .shuttingDown }
            guard state.entries[id] == nil else { return .duplicate }
            state.entries[id] = Entry()
            return .started
        }
        guard admitted == .started else { return admitted }
        // Starts on the caller's thread and runs until its first suspension: quick requests (ping, tools/list,
        // a refused call) are answered without a thread hop.
        let task = Task.immediate {
            let reply = await work()
            let cancelled = self.finish(id)
            deliver(cancelled ? nil : reply)
            self.delivered()
        }
        // The task may already have finished, or been cancelled before its handle was stored.
        let cancelNow = state.withLock { state -> Bool in
            guard state.entries[id] != nil else { return false }
            state.entries[id]!.task = task
            return state.entries[id]!.cancelled
        }
        if cancelNow { task.cancel() }
        return .started
    }

    /// Cancels one request (`notifications/cancelled`). Unknown or finished ids are ignored, as the spec says.
    package func cancel(_ id: RequestID) {
        let task = state.withLock { state -> Task<Void, Never>? in
            guard state.entries[id] != nil else { return nil }
            state.entries[id]!.cancelled = true
            return state.entries[id]!.task
        }
        task?.cancel()
    }

    /// Cancels everything still running (e.g. the client's connection is gone).
    package func cancelAll() {
        let tasks = state.withLock { state -> [Task<Void, Never>] in
            for id in state.entries.keys { state.entries[id]!.cancelled = true }
            return state.entries.values.compactMap(\.task)
        }
        for task in tasks { task.cancel() }
    }

    /// Stops taking new requests, lets running ones finish within `grace`, then cancels the rest and waits briefly
    /// for them to unwind. Returns how many had to be cancelled.
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
    /// unwritten, or the process could exit first.
    private func finish(_ id: RequestID) -> Bool {
        state.withLock { state in
            state.delivering += 1
            return state.entries.removeValue(forKey: id)?.cancelled ?? false
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
