#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A dedicated OS thread, for work that blocks in a system call (an event loop waiting for readiness) and so
/// must not occupy a thread of the concurrency pool. Detached: whoever needs its end is told by `body` itself.
package enum OSThread {
    package static func start(_ body: @escaping @Sendable () -> Void) {
        precondition(tryStart(body), "pthread_create failed")
    }

    /// Like `start`, but reports a thread the system refused (out of threads or memory) instead of stopping.
    package static func tryStart(_ body: @escaping @Sendable () -> Void) -> Bool {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        #if os(Linux)
        var handle = pthread_t()
        #else
        var handle: pthread_t?
        #endif
        let result = pthread_create(
            &handle, nil,
            { argument in
                Unmanaged<Box>.fromOpaque(unwrap(argument)).takeRetainedValue().body()
                return nil
            }, box)
        guard result == 0 else {
            Unmanaged<Box>.fromOpaque(box).release()
            return false
        }
        #if os(Linux)
        pthread_detach(handle)
        #else
        if let handle { pthread_detach(handle) }
        #endif
        return true
    }

    /// Blocks the calling thread for `duration` (a thread of its own: never one of the concurrency pool).
    package static func sleep(for duration: Duration) {
        let (seconds, attoseconds) = duration.components
        var remaining = timespec(tv_sec: Int(seconds), tv_nsec: Int(attoseconds / 1_000_000_000))
        var request = remaining
        while nanosleep(&request, &remaining) != 0 && errno == EINTR { request = remaining }
    }

    /// The calling thread, comparable with `isCurrent`.
    package static var current: Identity { Identity(thread: pthread_self()) }

    package struct Identity: @unchecked Sendable {
        fileprivate let thread: pthread_t
        package var isCurrent: Bool { pthread_equal(thread, pthread_self()) != 0 }
    }
}

/// The thread argument is optional on Linux and not on macOS; this accepts both.
private func unwrap(_ pointer: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer { pointer! }
