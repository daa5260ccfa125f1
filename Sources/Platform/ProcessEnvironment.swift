#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The process's environment read straight from libc: `ProcessInfo.environment` copies every variable into a
/// dictionary and `activeProcessorCount` reads cgroup files, together about a millisecond of a stdio start that
/// needs a handful of values.
package enum ProcessEnvironment {
    /// The variables whose names start with `prefix`.
    package static func variables(withPrefix prefix: String) -> [String: String] {
        var found: [String: String] = [:]
        #if canImport(Darwin)
        let table = _NSGetEnviron()?.pointee
        #else
        let table: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = environ
        #endif
        guard var entry = table else { return found }
        let prefixLength = prefix.utf8.count
        while let pointer = entry.pointee {
            entry += 1
            // Only the matching entries become Strings.
            guard strncmp(pointer, prefix, prefixLength) == 0 else { continue }
            let text = String(cString: pointer)
            guard let equals = text.firstIndex(of: "=") else { continue }
            found[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return found
    }

    package static func value(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }

    /// Processors online, without the cgroup reading Foundation does (only a cap on malloc arenas depends on it).
    package static var onlineProcessorCount: Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    /// The processors this process may keep busy: those online, fewer under a cgroup CPU quota (a container's CPU
    /// limit, such as Kubernetes' `limits.cpu`), rounded up. Reads the cgroup files: for start-up choices of a server.
    package static var usableProcessorCount: Int {
        let online = onlineProcessorCount
        let v2 = try? FileDescriptor.contents(ofFile: "/sys/fs/cgroup/cpu.max", limit: 256)
        let quota: Double?
        if let v2 {
            quota = cpuQuota(cpuMax: String(decoding: v2, as: UTF8.self))
        } else {
            let v1Quota = try? FileDescriptor.contents(ofFile: "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", limit: 64)
            let v1Period = try? FileDescriptor.contents(ofFile: "/sys/fs/cgroup/cpu/cpu.cfs_period_us", limit: 64)
            quota = cpuQuota(
                quota: v1Quota.map { String(decoding: $0, as: UTF8.self) },
                period: v1Period.map { String(decoding: $0, as: UTF8.self) })
        }
        guard let quota else { return online }
        return max(1, min(online, Int(quota.rounded(.up))))
    }

    /// Processors a cgroup v2 `cpu.max` allows (`"200000 100000"`: 2); nil for `max` or anything unreadable.
    package static func cpuQuota(cpuMax: String) -> Double? {
        let fields = cpuMax.split(whereSeparator: { $0 == " " || $0 == "\n" })
        guard fields.count == 2 else { return nil }
        return cpuQuota(quota: String(fields[0]), period: String(fields[1]))
    }

    /// Processors a cgroup v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` pair allows; nil for no quota (-1).
    package static func cpuQuota(quota: String?, period: String?) -> Double? {
        func number(_ text: String?) -> Double? {
            text.flatMap { Double($0.filter { $0 != "\n" && $0 != " " }) }
        }
        guard let quota = number(quota), let period = number(period), quota > 0, period > 0 else { return nil }
        return quota / period
    }
}
