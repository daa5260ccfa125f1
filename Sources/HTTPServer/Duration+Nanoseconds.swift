extension Duration {
    /// Whole nanoseconds, for comparison with `monotonicNanoseconds()`; negative durations count as zero.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        return UInt64(max(0, seconds)) * 1_000_000_000 + UInt64(max(0, attoseconds) / 1_000_000_000)
    }
}
