#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A mutex with a condition variable, for dedicated threads that sleep until another thread changes shared state
/// (the stdio writer). Blocking: never use it on a thread of the concurrency pool.
package final class ConditionLock: @unchecked Sendable {
    // Heap-allocated: pthread objects must not move, and a Swift stored property may.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)

    package init() {
        pthread_mutex_init(mutex, nil)
        pthread_cond_init(condition, nil)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    package func withLock<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }

    /// Releases the lock, sleeps until `broadcast` (or a spurious wake-up) and takes it again. Call with the lock
    /// held, in a loop that re-checks its condition.
    package func wait() { pthread_cond_wait(condition, mutex) }

    /// Like `wait`, but gives up at `deadline` (a `monotonicNanoseconds()` value); `false` once it has passed.
    package func wait(untilMonotonic deadline: UInt64) -> Bool {
        let now = monotonicNanoseconds()
        guard deadline > now else { return false }
        // pthread_cond_timedwait takes a wall-clock time: convert the remaining interval, re-checked by the caller.
        var wall = timespec()
        clock_gettime(CLOCK_REALTIME, &wall)
        let remaining = deadline - now
        var seconds = wall.tv_sec + Int(remaining / 1_000_000_000)
        var nanoseconds = wall.tv_nsec + Int(remaining % 1_000_000_000)
        if nanoseconds >= 1_000_000_000 {
            seconds += 1
            nanoseconds -= 1_000_000_000
        }
        var until = timespec(tv_sec: seconds, tv_nsec: nanoseconds)
        pthread_cond_timedwait(condition, mutex, &until)
        return monotonicNanoseconds() < deadline
    }

    package func broadcast() { pthread_cond_broadcast(condition) }
}
