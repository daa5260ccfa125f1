#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Process-wide signal dispositions.
package enum ProcessSignals {
    /// SIGTERM and SIGINT: the signals that ask the process to stop.
    package static let termination: [Int32] = [SIGTERM, SIGINT]

    /// A closed peer is handled where it is written (EPIPE), not by a signal that kills the process.
    package static func ignoreBrokenPipe() { signal(SIGPIPE, SIG_IGN) }

    /// Turns off the default action of `number`, so a dispatch signal source can observe it instead.
    package static func ignore(_ number: Int32) { signal(number, SIG_IGN) }
}

/// Work for the end of the process.
package enum ProcessExit {
    /// Runs `handler` when the process exits normally (`exit`, or returning from main), as `atexit(3)` does.
    package static func atExit(_ handler: @escaping @convention(c) () -> Void) { atexit(handler) }

    /// Ends the process with `code`, running the `atExit` handlers (the log's flush).
    package static func now(_ code: Int32) -> Never { exit(code) }
}
