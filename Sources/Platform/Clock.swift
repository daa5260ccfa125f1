#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Monotonic clock in nanoseconds: deadlines must not move when the wall clock does.
package func monotonicNanoseconds() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return UInt64(spec.tv_sec) * 1_000_000_000 + UInt64(spec.tv_nsec)
}

/// Whole seconds since 1970-01-01T00:00:00Z on the wall clock (for expiry claims and timestamps others read).
package func wallClockSeconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec)
}

/// The wall clock in UTC, broken down (for log timestamps, without Foundation on the hot path).
package struct UTCTime: Sendable {
    package var year: Int32
    package var month: Int32
    package var day: Int32
    package var hour: Int32
    package var minute: Int32
    package var second: Int32
    package var millisecond: Int32

    package init(
        year: Int32, month: Int32, day: Int32, hour: Int32, minute: Int32, second: Int32, millisecond: Int32
    ) {
        self.year = year
        self.month = month
        self.day = day
        self.hour = hour
        self.minute = minute
        self.second = second
        self.millisecond = millisecond
    }

    package static func now() -> UTCTime {
        var spec = timespec()
        clock_gettime(CLOCK_REALTIME, &spec)
        var seconds = time_t(spec.tv_sec)
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return UTCTime(
            year: parts.tm_year + 1900, month: parts.tm_mon + 1, day: parts.tm_mday, hour: parts.tm_hour,
            minute: parts.tm_min, second: parts.tm_sec, millisecond: Int32(spec.tv_nsec / 1_000_000))
    }
}
