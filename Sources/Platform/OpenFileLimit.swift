#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's open-file limit (RLIMIT_NOFILE), which bounds connections more tightly than any setting.
package enum OpenFileLimit {
    /// Raises the soft limit to the hard limit (idempotent) and returns the soft limit now in force. Servers need
    /// one descriptor per connection, and the common default soft limit (1,024 on Linux, 256 on macOS) is far below
    /// the default connection cap.
    @discardableResult
    package static func raiseToHard() -> Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return current }
        if limit.rlim_cur < limit.rlim_max {
            // An unlimited hard limit is still capped by the kernel (Linux fs.nr_open, macOS kern.maxfilesperproc):
            // when the hard limit itself is refused, ask for large finite ones, largest first.
            for wanted in [limit.rlim_max, 1 << 20, 1 << 16, 10_240] where wanted > limit.rlim_cur {
                var raised = limit
                raised.rlim_cur = min(limit.rlim_max, wanted)
                if setrlimit(resource, &raised) == 0 { break }
            }
        }
        return current
    }

    /// The soft limit in force.
    package static var current: Int {
        var limit = rlimit()
        guard getrlimit(resource, &limit) == 0 else { return 1024 }
        return limit.rlim_cur >= rlim_t(Int.max) ? Int.max : Int(limit.rlim_cur)
    }

    /// Descriptors kept back from connections for everything else the process opens: upstream sockets, the
    /// sandbox, log and session files, the selector itself. A quarter of the limit, between 32 and 1,024.
    package static func reserve(for limit: Int) -> Int { min(1024, max(32, limit / 4)) }

    /// The connection cap that fits under `limit`: `requested`, lowered to leave the reserve free.
    package static func connectionCap(requested: Int, limit: Int) -> Int {
        max(1, min(requested, limit - reserve(for: limit)))
    }

    #if os(Linux)
    private static let resource = Int32(RLIMIT_NOFILE.rawValue)
    #else
    private static let resource = RLIMIT_NOFILE
    #endif
}
