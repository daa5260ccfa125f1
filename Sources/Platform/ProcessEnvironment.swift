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
}
