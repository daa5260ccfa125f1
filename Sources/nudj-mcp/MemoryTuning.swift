import Foundation

#if canImport(CSystem)
import CSystem
#endif

/// glibc gives threads that contend for malloc their own arenas, up to eight per core. nudj-mcp's work hops between
/// dispatch and URLSession threads, so memory freed on one thread is fragmented across many arenas: in the soak
/// (1,000 sessions, 100,000 calls) RSS grew ~60–190 bytes per call more with the default than with one arena per
/// core, at the same throughput. An explicit `MALLOC_ARENA_MAX` from the environment wins.
enum MemoryTuning {
    static func apply(environment: [String: String]) {
        #if canImport(CSystem)
        guard environment["MALLOC_ARENA_MAX"] == nil else { return }
        _ = mallopt(M_ARENA_MAX, Int32(max(2, ProcessInfo.processInfo.activeProcessorCount)))
        #endif
    }
}
