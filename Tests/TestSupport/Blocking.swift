import Foundation

/// Runs blocking work (socket reads, waiting on a child process) on its own thread.
///
/// Swift's cooperative pool has one thread per core (two here); a test that blocks one of them while the server
/// under test needs it to run handlers can deadlock, especially with tests running in parallel.
package func offPool<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
    try await withCheckedThrowingContinuation { continuation in
        let thread = Thread { continuation.resume(with: Result { try body() }) }
        thread.stackSize = 1 << 20
        thread.start()
    }
}
