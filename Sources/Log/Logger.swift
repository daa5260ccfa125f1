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
        var text = Self.encode(record)
        // The bytes left for the queue to write, or nil when none are (all written, or the line dropped).
        let pending = text.withUTF8 { utf8 in
            backlog.withLock { backlog -> [UInt8]? in
                var rest = UnsafeRawBufferPointer(utf8)
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
        guard let line = pending else { return }
        let size = line.count
        writer.async { [self, line] in
            Self.writeAll(line)
            let dropped = backlog.withLock { backlog in
                backlog.bytes -= size
                defer { backlog.dropped = 0 }
                return backlog.dropped
            }
            if dropped > 0 {
                let message = "\(dropped) log lines dropped: stderr was not being read"
                Self.writeAll(
                    Array(Self.encode(LogRecord(level: .warning, label: "log", message: message, metadata: [])).utf8))
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

    private static func encode(_ record: LogRecord) -> String {
        var line = "{\"ts\":\"\(timestamp())\",\"level\":\"\(record.level.name)\",\"logger\":"
        appendQuoted(record.label, to: &line)
        line += ",\"msg\":"
        appendQuoted(record.message, to: &line)
        for (key, value) in record.metadata {
            line += ","
            appendQuoted(key, to: &line)
            line += ":"
            appendQuoted(value, to: &line)
        }
        return line + "}\n"
    }

    private static func writeAll(_ line: [UInt8]) {
        line.withUnsafeBytes { _ = FileDescriptor.writeAll(2, $0) }
    }

    /// RFC 3339 UTC with milliseconds, computed without Foundation to keep the hot path light.
    private static func timestamp() -> String {
        let now = UTCTime.now()
        func pad(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(pad(now.year, 4))-\(pad(now.month, 2))-\(pad(now.day, 2))T"
            + "\(pad(now.hour, 2)):\(pad(now.minute, 2)):\(pad(now.second, 2)).\(pad(now.millisecond, 3))Z"
    }

    private static func appendQuoted(_ string: String, to line: inout String) {
        line += "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": line += "\\\""
            case "\\": line += "\\\\"
            case "\n": line += "\\n"
            case "\r": line += "\\r"
            case "\t": line += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    line += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    line.unicodeScalars.append(scalar)
                }
            }
        }
        line += "\""
    }
}
