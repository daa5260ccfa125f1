import Foundation
import JSONRPC
import Synchronization

/// The built `nudj-mcp` binary: `NUDJ_MCP_BIN`, else `.build/debug/nudj-mcp` next to the package.
package func nudjMCPBinary() -> String {
    if let path = ProcessInfo.processInfo.environment["NUDJ_MCP_BIN"], !path.isEmpty { return path }
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    return root.appending(path: ".build/debug/nudj-mcp").path
}

/// A spawned process with line-oriented stdin/stdout and captured stderr. Every wait is bounded.
package final class ChildProcess: @unchecked Sendable {
    package struct Timeout: Error, CustomStringConvertible {
        package var description: String
        package init(description: String) { self.description = description }
    }

    private let process: SpawnedProcess
    private let output = Output()

    /// What the reader threads fill. Separate from `ChildProcess` so the threads do not keep it alive: its `deinit`
    /// must be able to run (and stop the child) while the child is still writing.
    private final class Output: Sendable {
        let lines = Mutex<[[UInt8]]>([])
        let lineSignal = DispatchSemaphore(value: 0)
        let stderrBytes = Mutex<[UInt8]>([])
        /// Whether a thread reads stderr, and whether it has reached its end.
        let stderrState = Mutex<(draining: Bool, ended: Bool)>((false, false))
        let stderrEnded = DispatchSemaphore(value: 0)
        let stdoutClosed = Mutex(false)
    }

    /// Starts `executable` (default: the nudj-mcp binary) with `arguments` and extra environment.
    /// - Parameter drainStderr: `false` leaves stderr unread, like a careless parent, until `drainStderr()`.
    /// - Parameter readStdout: `false` leaves stdout unread (a parent that stopped reading replies) until
    ///   `startReadingStdout()`.
    /// - Parameter streams: how stdin and stdout reach the child (`.pipe` or `.socket` each; stdin may be a `.file`).
    package init(
        _ arguments: [String], environment: [String: String] = [:], executable: String = nudjMCPBinary(),
        drainStderr: Bool = true, readStdout: Bool = true,
        streams: (stdin: SpawnedProcess.Stream, stdout: SpawnedProcess.Stream) = (.pipe, .pipe)
    ) throws {
        _ = Self.brokenPipesAreErrors
        var env = ProcessInfo.processInfo.environment
        // A test's settings are its own; only the run-wide choices (which binary, which upstream client) pass through.
        let runWide: Set<String> = ["NUDJ_MCP_BIN", "NUDJ_UPSTREAM_CLIENT"]
        for key in env.keys where key.hasPrefix("NUDJ_") && !runWide.contains(key) { env.removeValue(forKey: key) }
        if executable == nudjMCPBinary() {
            for (key, value) in SandboxTLSMode.childEnvironment { env[key] = value }
        }
        for (key, value) in environment { env[key] = value }
        process = try SpawnedProcess(
            executable, arguments: arguments, environment: env, stdin: streams.stdin, stdout: streams.stdout,
            stderr: .pipe)
        LiveChildren.add(process.pid)
        let output = output
        if readStdout, let stdout = process.stdout { Self.readLines(stdout, into: output) }
        if drainStderr { self.drainStderr() }
    }

    /// Reads stdout from now on, for a child started with `readStdout: false`: a parent that catches up.
    package func startReadingStdout() {
        if let stdout = process.stdout { Self.readLines(stdout, into: output) }
    }

    private static func readLines(_ stdout: SpawnedProcess.Descriptor, into output: Output) {
        Thread {
            var pending: [UInt8] = []
            while true {
                let data = Self.readChunk(stdout)
                if data.isEmpty { break }
                pending.append(contentsOf: data)
                while let newline = pending.firstIndex(of: 0x0A) {
                    let line = Array(pending[..<newline])
                    pending.removeFirst(newline + 1)
                    output.lines.withLock { $0.append(line) }
                    output.lineSignal.signal()
                }
            }
            if !pending.isEmpty {
                output.lines.withLock { $0.append(pending) }
                output.lineSignal.signal()
            }
            output.stdoutClosed.withLock { $0 = true }
            output.lineSignal.signal()
        }.start()
    }

    /// Writing to a child that has exited must fail that test with EPIPE, not kill the whole test process with
    /// SIGPIPE (which took every suite running beside it down).
    private static let brokenPipesAreErrors: Void = { _ = Glibc.signal(SIGPIPE, SIG_IGN) }()

    /// The next bytes from a pipe; empty at end of file. A read a signal interrupts (EINTR) is retried.
    private static func readChunk(_ pipe: SpawnedProcess.Descriptor) -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(pipe.fd, $0.baseAddress, $0.count) }
            if count >= 0 { return Array(buffer[..<count]) }
            if errno != EINTR { return [] }
        }
    }

    /// Starts reading stderr into `stderrText` (call once, only when the initialiser was told not to).
    package func drainStderr() {
        guard let stderr = process.stderr else { return }
        let output = output
        output.stderrState.withLock { $0.draining = true }
        Thread {
            while true {
                let data = Self.readChunk(stderr)
                if data.isEmpty { break }
                output.stderrBytes.withLock { $0.append(contentsOf: data) }
            }
            output.stderrState.withLock { $0.ended = true }
            output.stderrEnded.signal()
        }.start()
    }

    deinit { terminate() }

    package var pid: Int32 { process.pid }

    package func send(_ text: String) throws { try send(Array(text.utf8)) }

    /// Writes all of `bytes` to the child's stdin; throws if it cannot (EPIPE once the child has gone).
    package func send(_ bytes: [UInt8]) throws {
        guard let stdin = process.stdin else { return }
        var sent = 0
        while sent < bytes.count {
            let count = bytes.withUnsafeBytes { write(stdin.fd, $0.baseAddress! + sent, $0.count - sent) }
            if count > 0 {
                sent += count
            } else if count < 0 && errno != EINTR {
                throw Timeout(description: "writing to the child's stdin failed: errno \(errno)")
            }
        }
    }

    /// Sends a JSON value as one line.
    package func send(json: JSONValue) throws { try send(JSONWriter.encode(json) + [0x0A]) }

    /// Closes the child's stdin (EOF).
    package func closeInput() { process.stdin?.close() }

    /// The next stdout line; throws after `timeout` seconds, or `nil` once stdout has closed.
    package func readLine(timeout: Double = 10) throws -> [UInt8]? {
        let deadline = DispatchTime.now() + timeout
        while true {
            if let line = output.lines.withLock({ $0.isEmpty ? nil : $0.removeFirst() }) { return line }
            if output.stdoutClosed.withLock({ $0 }) { return nil }
            if output.lineSignal.wait(timeout: deadline) == .timedOut {
                throw Timeout(description: "no output within \(timeout) s; stderr: \(stderrText.suffix(2000))")
            }
        }
    }

    /// The next stdout line parsed as JSON.
    package func readJSON(timeout: Double = 10) throws -> JSONValue {
        guard let line = try readLine(timeout: timeout) else {
            throw Timeout(description: "stdout closed; stderr: \(stderrText.suffix(2000))")
        }
        return try JSONParser.parse(line)
    }

    /// Reads JSON lines until one satisfies `predicate` (notifications before a response are returned too).
    package func readJSON(
        until predicate: (JSONValue) -> Bool, timeout: Double = 10
    ) throws -> (match: JSONValue, skipped: [JSONValue]) {
        var skipped: [JSONValue] = []
        while true {
            let value = try readJSON(timeout: timeout)
            if predicate(value) { return (value, skipped) }
            skipped.append(value)
        }
    }

    package var stderrText: String { String(decoding: output.stderrBytes.withLock { $0 }, as: UTF8.self) }

    /// Sends a signal (SIGTERM by default).
    package func signal(_ number: Int32 = SIGTERM) { process.signal(number) }

    /// Waits for exit; returns the status, or throws after `timeout`.
    package func waitForExit(timeout: Double = 10) throws -> Int32 {
        guard let status = process.wait(timeout: timeout) else {
            throw Timeout(description: "process did not exit within \(timeout) s")
        }
        LiveChildren.remove(process.pid)
        // The child's exit can be seen before the thread reading its stderr has read the last of it (a usage error
        // printed just before exit): wait for that end, briefly, so `stderrText` is complete.
        let state = output.stderrState.withLock { $0 }
        if state.draining && !state.ended, output.stderrEnded.wait(timeout: .now() + 5) == .success {
            output.stderrEnded.signal()  // for a later waiter
        }
        return status
    }

    package var isRunning: Bool { process.isRunning }

    package func terminate() {
        if process.isRunning {
            process.signal(SIGTERM)
            _ = try? waitForExit(timeout: 5)
        }
        if !process.isRunning { LiveChildren.remove(process.pid) }
    }
}

/// Children still running when the test process exits get SIGTERM. A `ChildProcess` is normally stopped by its
/// owner's `deinit`, but an owner captured by a thread that is still being torn down can outlive the last test;
/// without this its server would be orphaned.
private enum LiveChildren {
    private static let pids: Mutex<Set<Int32>> = {
        atexit {
            for pid in LiveChildren.pids.withLock({ $0 }) { kill(pid, SIGTERM) }
        }
        return Mutex([])
    }()

    static func add(_ pid: Int32) { pids.withLock { _ = $0.insert(pid) } }
    static func remove(_ pid: Int32) { pids.withLock { _ = $0.remove(pid) } }
}
