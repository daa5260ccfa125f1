import NudjClient
import Platform

/// glibc gives threads that contend for malloc their own arenas, up to eight per core. nudj-mcp's work hops between
/// dispatch and URLSession threads, so memory freed on one thread is fragmented across many arenas: in the soak
/// (1,000 sessions, 100,000 calls) RSS grew ~60–190 bytes per call more with the default than with one arena per
/// core, at the same throughput. An explicit `MALLOC_ARENA_MAX` from the environment wins.
enum MemoryTuning {
    static func apply() {
        guard ProcessEnvironment.value("MALLOC_ARENA_MAX") == nil else { return }
        Allocator.limitArenas(to: max(2, ProcessEnvironment.onlineProcessorCount))
    }

    /// Gives memory freed after a burst of upstream calls back to the system, once the burst is over.
    ///
    /// glibc keeps freed heap pages (a burst of 5,000 queued calls left RSS ~28 MB above its baseline for good);
    /// `malloc_trim` returns them. It runs only when calls finished since the last check and none is on the wire
    /// now, so a steadily busy or an idle process never pays for it.
    static func releaseAfterBursts(_ limiter: UpstreamLimiter, every interval: Duration = .seconds(1)) async {
        var trimmedAt = limiter.activity.finished
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            let (active, finished) = limiter.activity
            guard active == 0, finished != trimmedAt else { continue }
            trimmedAt = finished
            Allocator.releaseFreeMemory()
        }
    }
}
