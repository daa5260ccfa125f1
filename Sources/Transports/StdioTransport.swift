import JSONRPC
import Log
import MCP
import Platform
import Synchronization

/// MCP over stdio: newline-delimited JSON-RPC on stdin/stdout, one process serving one organisation.
///
/// stdin is read on the upstream client's loop when it is a pipe or socket (as MCP clients give it), so a request
/// reaches the upstream without waking another thread; otherwise (a file, a terminal) on a thread of its own, since a
/// blocking read must not occupy the concurrency pool. Either way `notifications/cancelled` arrives while tools run.
/// Every message goes to stdout in a single write; logs go to stderr. On EOF or a shutdown signal, in-flight calls
/// get `shutdownGrace` to finish before the process exits.
package struct StdioTransport: Sendable {
    package let server: MCPServer
    package let provider: any ToolProvider
    package let maxLineBytes: Int
    package let shutdownGrace: Duration
    package let logger: Logger
    /// The upstream client's loop: calls continue there after they first suspend, so a call's answer is shaped and
    /// written by the thread that received its response (one session's calls are few and light), and stdin is read
    /// there. nil: the concurrency pool, and a reading thread.
    package let executor: (any SessionLoop)?

    package init(
        server: MCPServer, provider: any ToolProvider, maxLineBytes: Int, shutdownGrace: Duration, logger: Logger,
        executor: (any SessionLoop)? = nil
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
        // Frames are dispatched by the reader as they arrive: parsing is cheap and every request then runs in its own
        // task, so a slow call never holds up the next line. Returns whether to read on.
        let onFrame = { @Sendable (frame: LineFramer.Frame?) -> Bool in
            guard let frame else {
                ended.fire()
                return false
            }
            switch frame {
            case .line(let bytes):
                if !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    dispatcher.receive(bytes, on: channel, provider: provider)
                }
            case .oversized(let count):
                dispatcher.rejectOversized(byteCount: count, limit: maxLineBytes, on: channel)
            }
            if channel.isClosed { ended.fire() }
            return !ended.hasFired
        }
        let frames = FrameReader(fd: input, maxLineBytes: maxLineBytes, onFrame: onFrame)
        if let loop = executor, FileDescriptor.isPipeOrSocket(input) {
            let reader = LoopReader(frames, channel: channel)
            channel.onRoom { loop.resumeInput() }
            let watching = loop.watchInput(
                input, onReadable: { reader.readable() }, onEnd: { ended.fire() })
            if !watching { ended.fire() }
        } else {
            // A file or a terminal: blocking reads, on a thread of their own.
            OSThread.start {
                var frames = frames
                repeat { channel.waitForRoom() } while frames.readOnce(whenReady: false)
            }
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
    private var roomAction: (@Sendable () -> Void)?
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
        locked { while !hasRoomLocked { condition.wait() } }
    }

    /// Whether new requests may be read: the client is not far behind reading replies (or never will read them).
    var hasRoom: Bool { locked { hasRoomLocked } }

    private var hasRoomLocked: Bool { queuedBytes <= Self.backlogLimit || closed }

    /// `action` runs (on the writer's thread) each time `hasRoom` turns true again.
    func onRoom(_ action: @escaping @Sendable () -> Void) { locked { roomAction = action } }

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
                let roomMade = locked { () -> (@Sendable () -> Void)? in
                    let hadRoom = hasRoomLocked
                    queuedBytes -= bytes.count
                    if !ok { closed = true }
                    if index == batch.count - 1 { writerBusy = false }
                    condition.broadcast()
                    return hadRoom ? nil : roomAction
                }
                roomMade?()
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

/// stdin as newline frames, one read at a time into a buffer of its own: each frame goes to `onFrame` (`nil`: the
/// end of input), which returns `false` to stop reading. Owned by whichever thread reads.
private struct FrameReader: Sendable {
    private let fd: Int32
    private var framer: LineFramer
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)
    private let onFrame: @Sendable (LineFramer.Frame?) -> Bool

    init(fd: Int32, maxLineBytes: Int, onFrame: @escaping @Sendable (LineFramer.Frame?) -> Bool) {
        self.fd = fd
        framer = LineFramer(maxLineBytes: maxLineBytes)
        self.onFrame = onFrame
    }

    /// Reads once and hands on the frames; returns whether to read again. `whenReady`: a selector reported the
    /// descriptor readable, so the read does not block (and nothing to read after all is not the end); otherwise the
    /// read blocks until there is input.
    mutating func readOnce(whenReady: Bool) -> Bool {
        let fd = fd
        let read = buffer.withUnsafeMutableBytes {
            whenReady ? FileDescriptor.readReady(fd, into: $0) : FileDescriptor.read(fd, into: $0)
        }
        guard let count = read else { return true }
        guard count > 0 else {
            if let last = framer.finish() { _ = onFrame(last) }
            _ = onFrame(nil)
            return false
        }
        let frames = buffer.withUnsafeBytes { framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
        for frame in frames where !onFrame(frame) { return false }
        return true
    }
}

/// A pipe or socket read on a `SessionLoop`'s thread, a turn at a time. While the client is far behind reading
/// replies, the loop stops watching until the channel has room again. Touched only by the loop's thread.
private final class LoopReader: @unchecked Sendable {
    private var frames: FrameReader
    private let channel: FileDescriptorChannel

    init(_ frames: FrameReader, channel: FileDescriptorChannel) {
        self.frames = frames
        self.channel = channel
    }

    func readable() -> InputDemand {
        guard channel.hasRoom else { return .pause }
        return frames.readOnce(whenReady: true) ? .more : .stop
    }
}
