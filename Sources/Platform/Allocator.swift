#if canImport(Glibc)
import CSystem
import Glibc
#endif

/// glibc malloc tuning. Elsewhere (macOS's allocator) there is nothing to tune: both calls do nothing.
package enum Allocator {
    /// Caps glibc's per-thread malloc arenas at `count`.
    package static func limitArenas(to count: Int) {
        #if os(Linux)
        _ = mallopt(M_ARENA_MAX, Int32(clamping: count))
        #endif
    }

    /// Returns freed heap pages to the system.
    package static func releaseFreeMemory() {
        #if os(Linux)
        _ = malloc_trim(0)
        #endif
    }
}
