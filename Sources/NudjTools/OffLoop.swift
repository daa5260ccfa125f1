/// Work on a large upstream body (parsing, shaping, reading an error out of it) runs on the concurrency pool. Calls
/// run on a loop thread (the HTTP server's, or the stdio client's) that serves every other connection meanwhile;
/// parsing megabytes there would stall them all. Small bodies, nearly every one, stay where they are: the hop costs
/// more than the work.
enum OffLoop {
    /// About a millisecond of parsing.
    static let thresholdBytes = 256 * 1024

    static func run<T: Sendable>(bodyBytes: Int, _ work: () -> T) async -> T {
        guard bodyBytes >= thresholdBytes else { return work() }
        return await withTaskExecutorPreference(globalConcurrentExecutor) { work() }
    }
}
