import Dispatch
import Log
import Synchronization

/// Identifies a connection across threads; the generation stops a stale command from reaching a reused fd.
package struct ConnectionRef: Sendable, Hashable {
    var fd: Int32
    var generation: UInt64
}

/// Work handed from handler threads to the event loop. Bytes are fully serialised before they are queued.
package enum LoopCommand: Sendable {
    /// A complete response; afterwards the connection is kept or closed.
    case respond(ConnectionRef, [UInt8], keepAlive: Bool)
    /// A streaming response's head; the connection stays open, with optional periodic heartbeat bytes.
    case beginStream(ConnectionRef, [UInt8], heartbeat: [UInt8]?, chunked: Bool)
    case streamData(ConnectionRef, [UInt8])
    case endStream(ConnectionRef, [UInt8], keepAlive: Bool)
    case abort(ConnectionRef)
}

/// Answers one request: either a complete response or a stream (SSE). Safe to use from any thread.
///
/// If the client goes away first, `isClientGone` turns true and `onClientGone` handlers run once, on a global queue
/// (never on the event loop); writes after that are dropped. Only the first `respond` / `startStream` counts.
package final class HTTPResponder: Sendable {
    private enum Phase {
        case pending
        case streaming
        case done
    }

    private struct State {
        var phase = Phase.pending
        var clientGone = false
        var goneHandlers: [@Sendable () -> Void] = []
        var logFields: [(String, String)] = []
        var status = 0
        var extraHeaders = HTTPHeaders()
    }

    let ref: ConnectionRef
    private let sink: any LoopCommandSink
    private let requestKeepAlive: Bool
    private let headRequest: Bool
    private let http10: Bool
    private let state = Mutex(State())
    private let onComplete: @Sendable (_ status: Int, _ fields: [(String, String)]) -> Void

    init(
        ref: ConnectionRef,
        sink: any LoopCommandSink,
        request: HTTPRequestHead,
        onComplete: @escaping @Sendable (Int, [(String, String)]) -> Void
    ) {
        self.ref = ref
        self.sink = sink
        requestKeepAlive = request.keepAlive
        headRequest = request.method == "HEAD"
        http10 = request.version == "HTTP/1.0"
        self.onComplete = onComplete
    }

    /// The status answered (or the stream opened with); 0 while nothing has been sent.
    package var status: Int { state.withLock { $0.status } }

    /// A responder whose commands go to `sink` rather than to a connection: the seam through which in-process
    /// tests drive a handler (every byte still comes from `HTTPResponseEncoder`). Calling `clientDisconnected()`
    /// plays the client going away.
    package convenience init(for request: HTTPRequest, sink: any LoopCommandSink) {
        let head = HTTPRequestHead(
            method: request.method, target: request.target, version: request.version, headers: request.headers,
            framing: request.body.isEmpty ? .none : .length(request.body.count),
            keepAlive: HTTPHeadParser.keepAlive(version: request.version, headers: request.headers),
            expectsContinue: false)
        self.init(ref: ConnectionRef(fd: -1, generation: 0), sink: sink, request: head) { _, _ in }
    }

    /// Whether the client disconnected before the response finished.
    package var isClientGone: Bool { state.withLock { $0.clientGone } }

    /// Runs `handler` once if the client disconnects before the response is complete (immediately if it already
    /// has). Streaming responses count as incomplete until `finish`.
    package func onClientGone(_ handler: @escaping @Sendable () -> Void) {
        let runNow = state.withLock { state -> Bool in
            if state.clientGone { return true }
            if state.phase != .done { state.goneHandlers.append(handler) }
            return false
        }
        if runNow { handler() }
    }

    /// Adds a header to whichever response is eventually sent (e.g. CORS headers decided before routing).
    package func addHeader(_ name: String, _ value: String) { state.withLock { $0.extraHeaders.set(name, value) } }

    /// Adds a field to this request's access-log line (e.g. session or organisation). Never pass secrets.
    package func annotate(_ key: String, _ value: String) { state.withLock { $0.logFields.append((key, value)) } }

    package func respond(_ response: HTTPResponse) {
        let keepAlive = requestKeepAlive && !response.headers.listContains("Connection", token: "close")
        let extra = state.withLock { state -> HTTPHeaders? in
            guard state.phase == .pending else { return nil }
            state.phase = .done
            state.status = response.status
            state.goneHandlers.removeAll()
            return state.extraHeaders
        }
        guard let extra else { return }
        let bytes = HTTPResponseEncoder.encode(response, extra: extra, keepAlive: keepAlive, includeBody: !headRequest)
        sink.enqueue(.respond(ref, bytes, keepAlive: keepAlive))
        complete()
    }

    /// Drops the connection without a response (for fault injection: a connection reset).
    package func abort() {
        let accepted = state.withLock { state -> Bool in
            guard state.phase != .done else { return false }
            state.phase = .done
            state.goneHandlers.removeAll()
            return true
        }
        if accepted { sink.enqueue(.abort(ref)) }
    }

    /// Starts a streaming response (chunked on HTTP/1.1). `heartbeat`, if given, is written by the server whenever
    /// the stream has been quiet for the configured interval (e.g. an SSE comment), so idle proxies keep it open.
    package func startStream(status: Int, headers: HTTPHeaders, heartbeat: [UInt8]? = nil) -> HTTPStream? {
        let extra = state.withLock { state -> HTTPHeaders? in
            guard state.phase == .pending, !state.clientGone else { return nil }
            state.phase = .streaming
            state.status = status
            return state.extraHeaders
        }
        guard let extra else { return nil }
        let chunked = !http10
        let head = HTTPResponseEncoder.streamHead(
            status: status, headers: headers, extra: extra, chunked: chunked, keepAlive: chunked && requestKeepAlive)
        let stream = HTTPStream(responder: self, chunked: chunked, keepAlive: chunked && requestKeepAlive)
        sink.enqueue(.beginStream(ref, head, heartbeat: heartbeat.map { stream.frame($0) }, chunked: chunked))
        return stream
    }

    fileprivate func enqueueStream(_ command: LoopCommand) -> Bool {
        let open = state.withLock { $0.phase == .streaming && !$0.clientGone }
        if open { sink.enqueue(command) }
        return open
    }

    fileprivate func finishStream(_ trailer: [UInt8], keepAlive: Bool) {
        let finished = state.withLock { state -> Bool in
            guard state.phase == .streaming else { return false }
            state.phase = .done
            state.goneHandlers.removeAll()
            return !state.clientGone
        }
        guard finished else { return }
        sink.enqueue(.endStream(ref, trailer, keepAlive: keepAlive))
        complete()
    }

    /// Called by the event loop when the peer disconnects.
    package func clientDisconnected() {
        let (handlers, wasIncomplete) = state.withLock { state -> ([@Sendable () -> Void], Bool) in
            guard !state.clientGone else { return ([], false) }
            state.clientGone = true
            let handlers = state.goneHandlers
            state.goneHandlers.removeAll()
            let incomplete = state.phase != .done
            if incomplete { state.phase = .done }
            return (handlers, incomplete)
        }
        // Called on the event loop: gone-handlers cancel work, and cancelling runs arbitrary cancellation handlers
        // synchronously, so they run elsewhere — nothing that might wait may ever hold up the loop.
        if !handlers.isEmpty { DispatchQueue.global().async { for handler in handlers { handler() } } }
        if wasIncomplete {
            annotate("client", "gone")
            complete()
        }
    }

    private func complete() {
        let (status, fields) = state.withLock { ($0.status, $0.logFields) }
        onComplete(status, fields)
    }
}

/// An open streaming response. Writes are ordered and never block the caller; a slow reader is disconnected once
/// too much is pending, rather than buffering without bound.
package final class HTTPStream: Sendable {
    private let responder: HTTPResponder
    private let chunked: Bool
    private let keepAlive: Bool

    fileprivate init(responder: HTTPResponder, chunked: Bool, keepAlive: Bool) {
        self.responder = responder
        self.chunked = chunked
        self.keepAlive = keepAlive
    }

    /// Queues bytes; returns `false` once the stream is closed (finished or client gone).
    @discardableResult
    package func write(_ bytes: [UInt8]) -> Bool {
        guard !bytes.isEmpty else { return !isClosed }
        return responder.enqueueStream(.streamData(responder.ref, frame(bytes)))
    }

    /// Ends the stream; the connection is then reused for further requests when possible.
    package func finish() { responder.finishStream(chunked ? HTTPResponseEncoder.lastChunk : [], keepAlive: keepAlive) }

    package var isClosed: Bool { responder.isClientGone }

    package func onClientGone(_ handler: @escaping @Sendable () -> Void) { responder.onClientGone(handler) }

    fileprivate func frame(_ bytes: [UInt8]) -> [UInt8] { chunked ? HTTPResponseEncoder.chunk(bytes) : bytes }
}

/// Where responders send their commands: the event loop (or a test double).
package protocol LoopCommandSink: Sendable {
    func enqueue(_ command: LoopCommand)
}
