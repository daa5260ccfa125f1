import Testing

@testable import HTTPClient
@testable import NudjTools

@Suite("Large upstream bodies")
struct OffLoopTests {
    @Test("a large body is worked on off the loop thread its call runs on; a small one stays there, with no hop")
    func largeBodiesLeaveTheLoop() async throws {
        let client = try HTTPClient()
        defer { client.shutdown() }
        let placement = await Task(executorPreference: client.taskExecutor) {
            let onLoop = { client.loop.thread.withLock { $0?.isCurrent } ?? false }
            let small = await OffLoop.run(bodyBytes: OffLoop.thresholdBytes - 1) { onLoop() }
            let large = await OffLoop.run(bodyBytes: OffLoop.thresholdBytes) { onLoop() }
            return [onLoop(), small, large, onLoop()]
        }.value
        #expect(placement == [true, true, false, true])
    }
}
