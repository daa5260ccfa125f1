import Synchronization

/// `Regex` with an `AnyRegexOutput` is not declared `Sendable`; compiled patterns are immutable and only used for
/// matching, which is thread-safe.
package struct SendableRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    private static let cache = Mutex<[String: SendableRegex]>([:])

    /// Compiled once per distinct pattern (the same patterns recur across many tools).
    static func compiled(_ source: String) -> SendableRegex? {
        if let cached = cache.withLock({ $0[source] }) { return cached }
        guard let regex = try? Regex(source) else { return nil }
        let compiled = SendableRegex(regex: regex)
        cache.withLock { $0[source] = compiled }
        return compiled
    }
}
