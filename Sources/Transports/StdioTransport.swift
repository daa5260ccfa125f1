import JSONRPC
import Log
import MCP
import Platform
import Synchronization

/// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, one process serving one organisation.
///
/// stdin is read on its own thread (a blocking read must not occupy the concurrency pool), so
/// `notifications/cancelled` arrives while tools run. Every message goes to stdout in a single write; logs go to
/// stderr. On EOF or a shutdown signal, in-flight calls get `shutdownGrace` to finish before the process exits.
package struct StdioTransport: Sendable {
    package let server: MCPServer
    package let provider: any ToolProvider
    package let maxLineBytes: Int
    package let shutdownGrace: Duration
    package let logger: Logger
    /// Where calls continue after they first suspend: the upstream client's loop, so a call's answer is shaped and
    /// written by the thread that received its response (one session's calls are few and light). nil: the pool.
    package let executor: (any TaskExecutor)?

    package init(
        server: MCPServer, provider: any ToolProvider, maxLineBytes: Int, shutdownGrace: Duration, logger: Logger,
        executor: (any TaskExecutor)? = nil
    ) {
        self.server = server
        self.provider = provider
        self.maxLineBytes = maxLineBytes
        self.shutdownGrace = shutdownGrace
        self.logger = logger
        self.executor = executor
    }

    /// Serves until stdin closes or `stop` is signalled; returns once in-flight work is done or abandoned.
    package func run(input: Int32 = 0, output: Int32 = 1, stop: ShutdownSignal) async {
        let channel = FileDescriptorChannel(fd: output, logger: logger)
        let dispatcher = Dispatcher(server: server, logger: logger, executor: executor)
        let provider = provider
        let maxLineBytes = maxLineBytes
        let ended = ShutdownSignal()
        stop.onSignal { ended.fire() }
        // Frames are dispatched on the reader thread as they arrive: parsing is cheap and every request then runs
        // in its own task, so a slow call never holds up the next line.
        BlockingReader(fd: input).start(maxLineBytes: maxLineBytes) { frame in
            guard let frame else {
                ended.fire()
                return false
            }
            switch frame {
            case .line(let bytes):
                channel.waitForRoom()
                if !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    dispatcher.receive(bytes, on: channel, provider: provider)
                }
            case .oversized(let count):
                dispatcher.rejectOversized(byteCount: count, limit: maxLineBytes, on: channel)
            }
            if channel.isClosed { ended.fire() }
            return !ended.hasFired
        }
        await ended.wait()
        let abandoned = await dispatcher.drain(grace: shutdownGrace)
        if abandoned > 0 { logger.warning("cancelled in-flight requests at shutdown", [("count", String(abandoned))]) }
        // Flushing may wait on a client that stopped reading: on a thread of its own, not the concurrency pool.
        await withCheckedContinuation { (done: CheckedContinuation<Void, Never>) in
            OSThread.start {
                channel.flush(timeout: .seconds(2))
                done.resume()
            }
        }
        logger.info("stdio session ended")
    }
}

/// Writes each message as one line, in order, from a thread of its own. A client slow to read stdout then holds up
/// only that thread — and, past `backlogLimit`, the reading of new requests — never the concurrency pool, where a
/// blocked `write` would stall every call, cancellation and the shutdown drain.
final class FileDescriptorChannel: MessageChannel, @unchecked Sendable {
    /// Queued bytes past which the reader stops taking new requests until the client catches up.
    static let backlogLimit = 8 << 20

    private let fd: Int32
    private let logger: Logger
    // Guarded by `condition`.
    private let condition = ConditionLock()
    private var queue: [[UInt8]] = []
    private var queuedBytes = 0
    private var closed = false
    /// The writer thread holds a batch outside the lock: nothing may overtake it.
    private var writerBusy = false
    /// How a reply may go out from the sender's own thread when nothing is queued (saving a thread hand-off per
    /// reply): never in a way that could block it.
    private let immediate: FileDescriptor.ImmediateWrite

    init(fd: Int32, logger: Logger) {
        self.fd = fd
        self.logger = logger
        immediate = FileDescriptor.immediateWrite(for: fd)
        OSThread.start { [self] in writeLoop() }
    }

    var isClosed: Bool { locked { closed } }

    func send(_ message: JSONValue) {
        var writer = JSONWriter(capacity: 512)
        writer.write(message)
        var bytes = writer.bytes
        bytes.append(0x0A)
        locked {
            guard !closed else { return }
            if queue.isEmpty && !writerBusy {
                let written = bytes.withUnsafeBytes { FileDescriptor.tryWrite(fd, $0, immediate) }
                if written == bytes.count { return }
                if written > 0 { bytes.removeFirst(written) }
            }
            queue.append(bytes)
            queuedBytes += bytes.count
            condition.broadcast()
        }
    }

    /// Blocks the (reader) thread while the client is far behind reading replies.
    func waitForRoom() {
        locked { while queuedBytes > Self.backlogLimit && !closed { condition.wait() } }
    }

    /// Waits until every queued message is written, or `timeout` passes (a client that stopped reading stdout must
    /// not keep the process alive).
    func flush(timeout: Duration) {
        let deadline = monotonicNanoseconds() + UInt64(max(0, timeout.components.seconds)) * 1_000_000_000 + 500_000_000
        locked { while queuedBytes > 0 && !closed && condition.wait(untilMonotonic: deadline) {} }
    }

    private func writeLoop() {
        while true {
            let batch = locked { () -> [[UInt8]]? in
                while queue.isEmpty && !closed { condition.wait() }
                guard !closed else { return nil }
                writerBusy = true
                defer { queue.removeAll(keepingCapacity: true) }
                return queue
            }
            guard let batch else { return }
            for (index, bytes) in batch.enumerated() {
                let ok = writeAll(bytes)
                locked {
                    queuedBytes -= bytes.count
                    if !ok { closed = true }
                    if index == batch.count - 1 { writerBusy = false }
                    condition.broadcast()
                }
                if !ok {
                    logger.notice("stdout closed; dropping further output", [("errno", String(lastErrno))])
                    return
                }
            }
        }
    }

    private func writeAll(_ bytes: [UInt8]) -> Bool {
        bytes.withUnsafeBytes { FileDescriptor.writeAll(fd, $0) }
    }

    private func locked<T>(_ body: () -> T) -> T { condition.withLock(body) }
}

/// Reads a file descriptor on a dedicated thread (a blocking read must not occupy the concurrency pool) and hands
/// each newline frame to `onFrame`; `nil` marks end of input. `onFrame` returns `false` to stop reading.
private struct BlockingReader: Sendable {
    let fd: Int32

    func start(maxLineBytes: Int, onFrame: @escaping @Sendable (LineFramer.Frame?) -> Bool) {
        let fd = fd
        OSThread.start {
            var framer = LineFramer(maxLineBytes: maxLineBytes)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            reading: while true {
                let count = buffer.withUnsafeMutableBytes { FileDescriptor.read(fd, into: $0) }
                guard count > 0 else { break }
                let frames = buffer.withUnsafeBytes { framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                for frame in frames where !onFrame(frame) { break reading }
            }
            if let last = framer.finish() { _ = onFrame(last) }
            _ = onFrame(nil)
        }
    }
}
