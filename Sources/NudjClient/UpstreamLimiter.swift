import Dispatch
import Synchronization

/// The process-wide cap on concurrent upstream requests: a first-in, first-out async semaphore whose waits have a
/// deadline and end at once when the waiting task is cancelled.
///
/// Per-session caps bound one client; this bounds all of them together, so no mix of sessions, batches and
/// stateless requests can put more than `limit` requests on the wire (and their buffers in memory) at once. Time
/// spent waiting counts toward the call's own deadline.
package final class UpstreamLimiter: Sendable {
    package let limit: Int

    private struct Waiter {
        let continuation: CheckedContinuation<Bool, Never>
        let timer: DeadlineTimer
    }

    private struct State {
        var available: Int
        var waiters: [UInt64: Waiter] = [:]
        /// Tickets in arrival order from `head`; tickets of waiters that gave up are skipped when met.
        var order: [UInt64] = []
        var head = 0
        var nextTicket: UInt64 = 0
        /// Turns given back since start: lets a watcher tell a quiet process from one that just finished work.
        var released: UInt64 = 0

        mutating func takeOldestWaiter() -> Waiter? {
            defer {
                if head == order.count {
                    order.removeAll(keepingCapacity: order.count < 1024)
                    head = 0
                } else if head > 64 && head * 2 > order.count {
                    order.removeFirst(head)
                    head = 0
                }
            }
            while head < order.count {
                let ticket = order[head]
                head += 1
                if let waiter = waiters.removeValue(forKey: ticket) { return waiter }
            }
            return nil
        }
    }

    private let state: Mutex<State>

    package init(limit: Int) {
        precondition(limit > 0)
        self.limit = limit
        state = Mutex(State(available: limit))
    }

    /// Requests on the wire now, and callers waiting for a turn.
    package var occupancy: (active: Int, waiting: Int) {
        state.withLock { (limit - $0.available, $0.waiters.count) }
    }

    /// Requests on the wire now, and how many have finished since start.
    package var activity: (active: Int, finished: UInt64) {
        state.withLock { (limit - $0.available, $0.released) }
    }

    /// Waits for a turn until `deadline`. Returns `true` with a turn that must be given back with `release()`, or
    /// `false` (no turn) when the deadline passed or the task was cancelled first.
    package func acquire(deadline: ContinuousClock.Instant) async -> Bool {
        let granted = state.withLock { state -> Bool in
            guard state.available > 0, state.waiters.isEmpty else { return false }
            state.available -= 1
            return true
        }
        if granted { return true }
        if Task.isCancelled { return false }
        let ticket = state.withLock { state -> UInt64 in
            state.nextTicket += 1
            return state.nextTicket
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                let timer = DeadlineTimer()
                let immediate = state.withLock { state -> Bool? in
                    if Task.isCancelled { return false }
                    if state.available > 0 && state.waiters.isEmpty {
                        state.available -= 1
                        return true
                    }
                    state.waiters[ticket] = Waiter(continuation: continuation, timer: timer)
                    state.order.append(ticket)
                    return nil
                }
                if let immediate {
                    continuation.resume(returning: immediate)
                    return
                }
                timer.start(at: deadline) { [weak self] in self?.giveUp(ticket) }
            }
        } onCancel: {
            giveUp(ticket)
        }
    }

    /// Gives a turn back: straight to the oldest waiter, if any.
    package func release() {
        let next = state.withLock { state -> Waiter? in
            state.released &+= 1
            if let waiter = state.takeOldestWaiter() { return waiter }
            state.available += 1
            return nil
        }
        guard let next else { return }
        next.timer.cancel()
        next.continuation.resume(returning: true)
    }

    /// Removes a waiter that timed out or was cancelled; a no-op once it has been given a turn.
    private func giveUp(_ ticket: UInt64) {
        guard let waiter = state.withLock({ $0.waiters.removeValue(forKey: ticket) }) else { return }
        waiter.timer.cancel()
        waiter.continuation.resume(returning: false)
    }
}

/// A one-shot dispatch timer. Not `Task.sleep`: on Linux a cancelled sleep keeps its timer (and memory) until the
/// deadline, while a cancelled dispatch source is released at once. Cancelling never blocks.
private final class DeadlineTimer: @unchecked Sendable {
    // Dispatch sources are thread-safe; the wrapper only tells the compiler so.
    private let source = DispatchSource.makeTimerSource(queue: .global())

    func start(at deadline: ContinuousClock.Instant, _ fire: @escaping @Sendable () -> Void) {
        let remaining = ContinuousClock.now.duration(to: deadline)
        let (seconds, attoseconds) = remaining.components
        let nanoseconds = max(0, min(seconds, 86_400 * 365) * 1_000_000_000 + attoseconds / 1_000_000_000)
        source.setEventHandler { [source] in
            source.cancel()
            fire()
        }
        source.schedule(deadline: .now() + .nanoseconds(Int(nanoseconds)))
        source.activate()
    }

    func cancel() { source.cancel() }

    deinit {
        // A source that was never activated must not be released suspended.
        source.cancel()
        source.activate()
    }
}
