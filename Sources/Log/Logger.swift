import Codecs
import Dispatch
import Platform
import Synchronization

/// Severity, using the RFC 5424 names MCP's logging also uses.
package enum LogLevel: Int, Sendable, Comparable, CaseIterable {
    case debug = 0
    case info
    case notice
    case warning
    case error
    case critical
    case alert
    case emergency

    package init?(name: String) {
        switch name.lowercased() {
        case "debug", "trace": self = .debug
        case "info": self = .info
        case "notice": self = .notice
        case "warning", "warn": self = .warning
        case "error": self = .error
        case "critical": self = .critical
        case "alert": self = .alert
        case "emergency": self = .emergency
        default: return nil
        }
    }

    package var name: String {
        switch self {
        case .debug: "debug"
        case .info: "info"
        case .notice: "notice"
        case .warning: "warning"
        case .error: "error"
        case .critical: "critical"
        case .alert: "alert"
        case .emergency: "emergency"
        }
    }

    package static func < (lhs: LogLevel, rhs: LogLevel) -> Bool { lhs.rawValue < rhs.rawValue }
}

/// One log event: a message plus flat string metadata.
package struct LogRecord: Sendable {
    package var level: LogLevel
    package var label: String
    package var message: String
    package var metadata: [(String, String)]

    package init(level: LogLevel, label: String, message: String, metadata: [(String, String)]) {
        self.level = level
        self.label = label
        self.message = message
        self.metadata = metadata
    }
}

/// Where log records go. The process writes JSON lines to stderr; tests capture records in memory.
package protocol LogSink: Sendable {
    var minimumLevel: LogLevel { get }
    func write(_ record: LogRecord)
}

/// A value-type logger: a label, fixed metadata and a sink. Cheap to copy and pass per request.
///
/// Metadata values are plain strings chosen by callers; credentials are never logged because no credential type
/// exposes its value through `description` (see `Secret` in Tenancy).
package struct Logger: Sendable {
    package var label: String
    package var metadata: [(String, String)] = []
    package let sink: any LogSink

    package init(label: String, sink: any LogSink) {
        self.label = label
        self.sink = sink
    }

    /// A logger that discards everything.
    package static let disabled = Logger(label: "disabled", sink: NullLogSink())

    package func with(_ key: String, _ value: String) -> Logger {
        var copy = self
        copy.metadata.append((key, value))
        return copy
    }

    package func isEnabled(_ level: LogLevel) -> Bool { level >= sink.minimumLevel }

    package func log(
        _ level: LogLevel,
        _ message: @autoclosure () -> String,
        _ extra: @autoclosure () -> [(String, String)] = []
    ) {
        guard level >= sink.minimumLevel else { return }
        sink.write(LogRecord(level: level, label: label, message: message(), metadata: metadata + extra()))
    }

    package func debug(_ message: @autoclosure () -> String, _ extra: @autoclosure () -> [(String, String)] = []) {
        log(.debug, message(), extra())
    }

    package func info(_ message: @autoclosure () -> String, _ extra: @autoclosure () -> [(String, String)] = []) {
        log(.info, message(), extra())
    }

    package func notice(_ message: @autoclosure () -> String, _ extra: @autoclosure () -> [(String, String)] = []) {
        log(.notice, message(), extra())
    }

    package func warning(_ message: @autoclosure () -> String, _ extra: @autoclosure () -> [(String, String)] = []) {
        log(.warning, message(), extra())
    }

    package func error(_ message: @autoclosure () -> String, _ extra: @autoclosure () -> [(String, String)] = []) {
        log(.error, message(), extra())
    }
}

package struct NullLogSink: LogSink {
    package init() {}
    package var minimumLevel: LogLevel { .emergency }
    package func write(_ record: LogRecord) {}
}

/// Writes one JSON object per line to stderr: `{"ts":…,"level":…,"logger":…,"msg":…,<metadata>}`.
///
/// stdout is the protocol channel on stdio, so logs must never go there. A line goes out from the caller's thread
/// when nothing is waiting and the write cannot block (`FileDescriptor.tryWrite`: a pipe with room, a socket,
/// a file); otherwise a queue of its own writes it: a parent that stops reading stderr fills the pipe, and a blocking
/// write on the caller's thread would stall every call the server is answering. (Queueing every line woke the queue's
/// thread once per tool call.) Beyond `capacity` bytes waiting, lines are dropped and counted, and the count is
/// logged once stderr moves again. At exit, waiting lines get up to a second to go out.
package final class StderrJSONLogSink: LogSink {
    package let minimumLevel: LogLevel
    private let backlog = Mutex(Backlog())
    private let writer = DispatchQueue(label: "nudj-mcp.stderr")
    private let capacity: Int
    private let immediate = FileDescriptor.immediateWrite(for: 2)

    private struct Backlog {
        var bytes = 0
        var dropped = 0
    }

    package init(minimumLevel: LogLevel, capacity: Int = 64 * 1024) {
        self.minimumLevel = minimumLevel
        self.capacity = capacity
        Self.flushedAtExit.withLock { $0.append(self) }
        _ = Self.registerExitFlush
    }

    package func write(_ record: LogRecord) {
        let line = Self.line(for: record, at: UTCTime.now())
        // The bytes left for the queue to write, or nil when none are (all written, or the line dropped).
        let pending = line.withUnsafeBytes { bytes in
            backlog.withLock { backlog -> [UInt8]? in
                var rest = bytes
                // Nothing waiting, so nothing this line could overtake; the write happens under the lock, so no
                // other line can start between the check and it.
                if backlog.bytes == 0 && backlog.dropped == 0 {
                    let written = FileDescriptor.tryWrite(2, rest, immediate)
                    if written < 0 || written == rest.count { return nil }
                    rest = UnsafeRawBufferPointer(rebasing: rest[written...])
                }
                guard backlog.bytes + rest.count <= capacity else {
                    backlog.dropped += 1
                    return nil
                }
                backlog.bytes += rest.count
                return Array(rest)
            }
        }
        guard let pending else { return }
        let size = pending.count
        writer.async { [self, pending] in
            Self.writeAll(pending)
            let dropped = backlog.withLock { backlog in
                backlog.bytes -= size
                defer { backlog.dropped = 0 }
                return backlog.dropped
            }
            if dropped > 0 {
                let message = "\(dropped) log lines dropped: stderr was not being read"
                Self.writeAll(
                    Self.line(
                        for: LogRecord(level: .warning, label: "log", message: message, metadata: []), at: .now()))
            }
        }
    }

    /// Waits until the lines queued so far are written, or `timeout` seconds pass.
    package func flush(timeout: Double) {
        let done = DispatchSemaphore(value: 0)
        writer.async { done.signal() }
        _ = done.wait(timeout: .now() + timeout)
    }

    private static let flushedAtExit = Mutex<[StderrJSONLogSink]>([])
    private static let registerExitFlush: Void = {
        ProcessExit.atExit {
            for sink in StderrJSONLogSink.flushedAtExit.withLock({ $0 }) { sink.flush(timeout: 1) }
        }
    }()

    /// One record as a JSON line, newline included. Built as bytes: this runs for every tool call at the default
    /// level, and building it from `String` pieces cost more than the rest of a call's bookkeeping.
    package static func line(for record: LogRecord, at time: UTCTime) -> [UInt8] {
        var line: [UInt8] = []
        line.reserveCapacity(192)
        line.append(contentsOf: #"{"ts":""#.utf8)
        appendTimestamp(time, to: &line)
        line.append(contentsOf: #"","level":""#.utf8)
        line.append(contentsOf: record.level.name.utf8)
        line.append(contentsOf: #"","logger":"#.utf8)
        appendQuoted(record.label, to: &line)
        line.append(contentsOf: #","msg":"#.utf8)
        appendQuoted(record.message, to: &line)
        for (key, value) in record.metadata {
            line.append(0x2C)
            appendQuoted(key, to: &line)
            line.append(0x3A)
            appendQuoted(value, to: &line)
        }
        line.append(contentsOf: "}\n".utf8)
        return line
    }

    private static func writeAll(_ line: [UInt8]) {
        line.withUnsafeBytes { _ = FileDescriptor.writeAll(2, $0) }
    }

    /// RFC 3339 UTC with milliseconds, computed without Foundation to keep the hot path light.
    private static func appendTimestamp(_ time: UTCTime, to line: inout [UInt8]) {
        // Each field, zero-padded to its width, then the character that follows it: 2026-03-07T04:05:09.042Z
        let fields: [(Int32, Int, Unicode.Scalar)] = [
            (time.year, 4, "-"), (time.month, 2, "-"), (time.day, 2, "T"), (time.hour, 2, ":"),
            (time.minute, 2, ":"), (time.second, 2, "."), (time.millisecond, 3, "Z"),
        ]
        for (value, width, next) in fields {
            appendDigits(value, width, to: &line)
            line.append(UInt8(ascii: next))
        }
    }

    /// `value` in decimal, zero-padded to `width` digits (more digits if it needs them).
    private static func appendDigits(_ value: Int32, _ width: Int, to line: inout [UInt8]) {
        var limit: Int32 = 1
        for _ in 0..<width { limit &*= 10 }
        guard value >= 0 && value < limit else {
            line.append(contentsOf: String(value).utf8)
            return
        }
        var divisor = limit / 10
        while divisor > 0 {
            line.append(0x30 &+ UInt8(value / divisor % 10))
            divisor /= 10
        }
    }

    /// A JSON string: quotes, backslashes and control characters escaped; everything else (UTF-8) as it is.
    private static func appendQuoted(_ string: String, to line: inout [UInt8]) {
        line.append(0x22)
        var string = string
        string.withUTF8 { utf8 in
            guard let base = utf8.baseAddress else { return }
            var start = 0
            while start < utf8.count {
                let stop = ByteScan.firstJSONEscape(in: UnsafeRawPointer(base), from: start, to: utf8.count)
                line.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<stop]))
                guard stop < utf8.count else { return }
                switch utf8[stop] {
                case 0x22: line.append(contentsOf: #"\""#.utf8)
                case 0x5C: line.append(contentsOf: #"\\"#.utf8)
                case 0x0A: line.append(contentsOf: #"\n"#.utf8)
                case 0x0D: line.append(contentsOf: #"\r"#.utf8)
                case 0x09: line.append(contentsOf: #"\t"#.utf8)
                case let byte:
                    line.append(contentsOf: #"\u00"#.utf8)
                    for nibble in [byte >> 4, byte & 0xF] { line.append(nibble < 10 ? 0x30 + nibble : 0x57 + nibble) }
                }
                start = stop + 1
            }
        }
        line.append(0x22)
    }
}
