import HTTPServer
import JSONRPC
import Log
import Synchronization

/// Server-sent events framing for MCP: each JSON-RPC message is one `event: message` with a single `data:` line
/// (the JSON writer never emits raw newlines) and an id unique within its stream.
enum SSE {
    /// Written by the HTTP server when a stream has been quiet (well under the 60 s proxy idle cut-off).
    static let keepAlive = Array(": keep-alive\n\n".utf8)

    static func event(_ name: String, id: String?, data: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(data.count + 48)
        if let id { bytes += Array("id: \(id)\n".utf8) }
        bytes += Array("event: \(name)\ndata: ".utf8)
        bytes += data
        bytes += [0x0A, 0x0A]
        return bytes
    }

    static var headers: HTTPHeaders {
        ["Content-Type": "text/event-stream", "Cache-Control": "no-cache, no-transform", "X-Accel-Buffering": "no"]
    }
}

/// An open SSE stream carrying JSON-RPC messages, numbering its events.
final class SSEMessageStream: Sendable {
    private let stream: HTTPStream
    private let counter = Mutex(0)
    /// Whether the stream still counts in the open-streams gauge (cleared exactly once: finish, client gone or
    /// deinit, whichever comes first).
    private let counted = Atomic(true)
    let label: String

    init(stream: HTTPStream, label: String) {
        self.stream = stream
        self.label = label
        Metrics.process.streamOpened()
        stream.onClientGone { [weak self] in self?.uncount() }
    }

    deinit { uncount() }

    private func uncount() {
        if counted.exchange(false, ordering: .relaxed) { Metrics.process.streamClosed() }
    }

    var isClosed: Bool { stream.isClosed }

    @discardableResult
    func send(_ message: JSONValue) -> Bool {
        let number = counter.withLock { value -> Int in
            value += 1
            return value
        }
        return stream.write(SSE.event("message", id: "\(label)-\(number)", data: JSONWriter.encode(message)))
    }

    func sendRaw(_ bytes: [UInt8]) -> Bool { stream.write(bytes) }

    func finish() {
        stream.finish()
        uncount()
    }

    func onClientGone(_ handler: @escaping @Sendable () -> Void) { stream.onClientGone(handler) }
}
