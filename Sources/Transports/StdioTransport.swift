import Foundation
import Glibc
import JSONRPC
import Log
import MCP
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

    package init(
        server: MCPServer, provider: any ToolProvider, maxLineBytes: Int, shutdownGrace: Duration, logger: Logger
    ) {
        self.server = server
        self.provider = provider
        self.maxLineBytes = maxLineBytes
        self.shutdownGrace = shutdownGrace
        self.logger = logger
    }

    /// Serves until stdin closes or `stop` is signalled; returns once in-flight work is done or abandoned.
    package func run(input: Int32 = 0, output: Int32 = 1, stop: ShutdownSignal) async {
        let channel = FileDescriptorChannel(fd: output, logger: logger)
        let session = ChannelSession(server: server, channel: channel, logger: logger)
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
                if !bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) {
                    session.receive(bytes, provider: provider)
                }
            case .oversized(let count):
                session.rejectOversized(byteCount: count, limit: maxLineBytes)
            }
            if channel.isClosed { ended.fire() }
            return !ended.hasFired
        }
        await ended.wait()
        let abandoned = await session.drain(grace: shutdownGrace)
        if abandoned > 0 { logger.warning("cancelled in-flight requests at shutdown", [("count", String(abandoned))]) }
        logger.info("stdio session ended")
    }
}

/// Writes each message as one line with a single `write` per message, so concurrent responses never interleave.
final class FileDescriptorChannel: MessageChannel {
    private let fd: Int32
    private let lock = Mutex(false)  // true once the peer is gone
    private let logger: Logger

    init(fd: Int32, logger: Logger) {
        self.fd = fd
        self.logger = logger
    }

    var isClosed: Bool { lock.withLock { $0 } }

    func send(_ message: JSONValue) {
        var writer = JSONWriter(capacity: 512)
        writer.write(message)
        var bytes = writer.bytes
        bytes.append(0x0A)
        lock.withLock { closed in
            guard !closed else { return }
            var offset = 0
            while offset < bytes.count {
                let written = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + offset, $0.count - offset) }
                if written < 0 {
                    if errno == EINTR { continue }
                    closed = true
                    logger.notice("stdout closed; dropping further output", [("errno", String(errno))])
                    return
                }
                offset += written
            }
        }
    }
}

/// Reads a file descriptor on a dedicated thread (a blocking read must not occupy the concurrency pool) and hands
/// each newline frame to `onFrame`; `nil` marks end of input. `onFrame` returns `false` to stop reading.
private struct BlockingReader: Sendable {
    let fd: Int32

    func start(maxLineBytes: Int, onFrame: @escaping @Sendable (LineFramer.Frame?) -> Bool) {
        let fd = fd
        let thread = Thread {
            var framer = LineFramer(maxLineBytes: maxLineBytes)
            var buffer = [UInt8](repeating: 0, count: 64 * 1024)
            reading: while true {
                let count = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
                if count < 0 && errno == EINTR { continue }
                guard count > 0 else { break }
                let frames = buffer.withUnsafeBytes { framer.append(UnsafeRawBufferPointer(rebasing: $0[0..<count])) }
                for frame in frames where !onFrame(frame) { break reading }
            }
            if let last = framer.finish() { _ = onFrame(last) }
            _ = onFrame(nil)
        }
        thread.start()
    }
}
