/// The server side of one HTTP/1.1 connection as a pure state machine: bytes, responses and clock ticks go in,
/// actions come out. It owns keep-alive, pipelining (one request at a time, in order), 100-continue, the size
/// limits and the head/body/idle timeouts — and touches no socket, so tests drive it byte by byte.
///
/// The event loop owns the socket and the output buffer: it feeds what it reads to `receive`, asks `nextAction`
/// what the buffered bytes mean, queues what it is told to send, and reports `outputDrained` when everything
/// queued has been written.
struct HTTPConnectionMachine {
    /// What the machine needs to know; times in nanoseconds of a monotonic clock.
    struct Rules {
        var limits: HTTPParserLimits
        var headTimeout: UInt64
        var bodyTimeout: UInt64
        var idleTimeout: UInt64
        var heartbeatInterval: UInt64
        /// A response that closes is followed by this long (at most) of reading and dropping what the client sends.
        var lingerTimeout: UInt64 = 2_000_000_000
        var lingerBytes = 1024 * 1024
        /// Renders the server's own refusals.
        var errorBody: @Sendable (_ status: Int, _ message: String) -> HTTPResponse
        var headTimeoutText: String
        var bodyTimeoutText: String

        init(_ configuration: HTTPServerConfiguration) {
            limits = configuration.limits
            headTimeout = configuration.headTimeout.nanoseconds
            bodyTimeout = configuration.bodyTimeout.nanoseconds
            idleTimeout = configuration.idleTimeout.nanoseconds
            heartbeatInterval = configuration.heartbeatInterval.nanoseconds
            errorBody = configuration.errorBody
            headTimeoutText = "\(configuration.headTimeout)"
            bodyTimeoutText = "\(configuration.bodyTimeout)"
        }

        /// Input buffered beyond what the current request can need: reading pauses until it is consumed.
        var readAheadLimit: Int { limits.maxHeadBytes + limits.maxBodyBytes + 64 * 1024 }
    }

    enum BodyProgress {
        case length(Int)
        case chunked(ChunkedDecoder)
    }

    enum State {
        /// Waiting for (the rest of) a request head.
        case head
        case body(HTTPRequestHead, BodyProgress, startedAt: UInt64)
        /// A request is with the handler; later pipelined requests wait in `input`.
        case awaitingResponse
        case streaming
        /// A response that closes the connection is queued; then the write side is shut.
        case closing
        /// The response is sent and the write side shut; input is dropped until the client's EOF or the deadline.
        case lingering(until: UInt64, budget: Int)
        case closed
    }

    enum Action {
        /// Nothing to do until more bytes arrive (or a response is queued).
        case none
        /// Queue these bytes for the client, then ask again (the interim 100 Continue).
        case send([UInt8])
        /// Hand this request to a handler; the machine now awaits its response.
        case dispatch(HTTPRequestHead, body: [UInt8])
        /// Queue this refusal; the connection closes once it is written (the rest of the input cannot be trusted).
        case reject(HTTPParseError, response: [UInt8])
    }

    enum Timer {
        case none
        case reject(HTTPParseError, response: [UInt8])
        case send([UInt8])
        case close
    }

    enum AfterOutput {
        /// Nothing was waiting for the output.
        case nothing
        /// The response is out and the connection reusable: the next pipelined request may be buffered already
        /// (ask `nextAction`).
        case reused
        /// The response is out and the connection closes: shut the write side and call `startLingering`.
        case linger
    }

    let rules: Rules
    private(set) var state = State.head
    /// Bytes received and not yet consumed by a request.
    private(set) var input: [UInt8] = []
    /// Whether reading is paused (too much buffered, or the connection is closing).
    private(set) var readPaused = false
    private var headStartedAt: UInt64?
    private var lastActivity: UInt64
    private var closeAfterOutput: Bool?
    /// A streaming response's heartbeat bytes, sent whenever the stream has been quiet for the interval.
    private var heartbeat: [UInt8]?
    private var lastStreamWrite: UInt64 = 0
    private(set) var chunkedStream = true

    init(rules: Rules, now: UInt64) {
        self.rules = rules
        lastActivity = now
    }

    var isStreaming: Bool { if case .streaming = state { true } else { false } }

    /// Whether a handler holds this connection's current request (it is told when the client goes away).
    var hasHandler: Bool {
        switch state {
        case .awaitingResponse, .streaming: true
        default: false
        }
    }

    /// Between requests with nothing buffered: safe to close when the server drains.
    var isIdle: Bool { if case .head = state { input.isEmpty } else { false } }

    // MARK: - Input

    /// Buffers bytes read from the client. Returns `false` once so much is buffered that reading should pause.
    mutating func receive(_ bytes: UnsafeRawBufferPointer, now: UInt64) -> Bool {
        input.append(contentsOf: bytes.assumingMemoryBound(to: UInt8.self))  // contiguous: one memcpy
        lastActivity = now
        if input.count > rules.readAheadLimit { readPaused = true }
        return !readPaused
    }

    /// What the buffered input means now. Call until it returns `.none`.
    mutating func nextAction(now: UInt64, draining: Bool) -> Action {
        switch state {
        case .awaitingResponse, .streaming, .closing, .lingering, .closed:
            return .none
        case .head:
            guard !input.isEmpty else {
                headStartedAt = nil
                return .none
            }
            if headStartedAt == nil { headStartedAt = now }
            let outcome: HTTPHeadParser.Outcome
            do {
                outcome = try input.withUnsafeBufferPointer { buffer throws(HTTPParseError) -> HTTPHeadParser.Outcome in
                    try HTTPHeadParser.parse(buffer, limits: rules.limits)
                }
            } catch {
                return .reject(error, response: refuse(error))
            }
            guard case .head(let head, let consumed) = outcome else { return .none }
            input.removeFirst(consumed)
            headStartedAt = nil
            if draining {
                let error = HTTPParseError(503, "server is shutting down")
                return .reject(error, response: refuse(error))
            }
            switch head.framing {
            case .none:
                return dispatch(head, body: [])
            case .length(let length):
                state = .body(head, .length(length), startedAt: now)
            case .chunked:
                let decoder = ChunkedDecoder(maxBodyBytes: rules.limits.maxBodyBytes)
                state = .body(head, .chunked(decoder), startedAt: now)
            }
            return head.expectsContinue
                ? .send(HTTPResponseEncoder.continueResponse) : nextAction(now: now, draining: draining)
        case .body(let head, .length(let length), _):
            guard input.count >= length else { return .none }
            let body = Array(input[0..<length])
            input.removeFirst(length)
            return dispatch(head, body: body)
        case .body(let head, .chunked(var decoder), let startedAt):
            let consumed: Int
            do {
                consumed = try input.withUnsafeBufferPointer { buffer throws(HTTPParseError) -> Int in
                    try decoder.feed(buffer)
                }
            } catch {
                return .reject(error, response: refuse(error))
            }
            input.removeFirst(consumed)
            guard decoder.isComplete else {
                state = .body(head, .chunked(decoder), startedAt: startedAt)
                return .none
            }
            return dispatch(head, body: decoder.body)
        }
    }

    private mutating func dispatch(_ head: HTTPRequestHead, body: [UInt8]) -> Action {
        state = .awaitingResponse
        readPaused = false
        return .dispatch(head, body: body)
    }

    /// Refuses the request in progress: returns the answer to queue; the connection closes after it.
    private mutating func refuse(_ error: HTTPParseError) -> [UInt8] {
        state = .closing
        readPaused = true
        closeAfterOutput = true
        return HTTPResponseEncoder.encode(rules.errorBody(error.status, error.message), keepAlive: false)
    }

    // MARK: - Responses

    /// A complete response was queued; once written, the connection is reused or closed.
    mutating func responseQueued(keepAlive: Bool) { closeAfterOutput = !keepAlive }

    /// A streaming response's head is being queued. `false` if no request awaits a response.
    mutating func streamStarted(heartbeat: [UInt8]?, chunked: Bool, now: UInt64) -> Bool {
        guard case .awaitingResponse = state else { return false }
        state = .streaming
        self.heartbeat = heartbeat
        chunkedStream = chunked
        lastStreamWrite = now
        return true
    }

    /// Stream data is being queued.
    mutating func streamWritten(now: UInt64) { lastStreamWrite = now }

    /// The stream's last bytes are queued; once written, the connection is reused or closed.
    mutating func streamEnded(keepAlive: Bool) {
        heartbeat = nil
        closeAfterOutput = !keepAlive
    }

    /// Everything queued has been written.
    mutating func outputDrained(now: UInt64) -> AfterOutput {
        guard let close = closeAfterOutput else { return .nothing }
        closeAfterOutput = nil
        if close {
            state = .closing
            return .linger
        }
        state = .head
        heartbeat = nil
        lastActivity = now
        if input.isEmpty && input.capacity > 64 * 1024 { input = [] }
        return .reused
    }

    // MARK: - Closing

    /// The write side is shut: drop input until the client's EOF, the deadline or the byte budget.
    mutating func startLingering(now: UInt64) {
        state = .lingering(until: now &+ rules.lingerTimeout, budget: rules.lingerBytes)
        input = []
        readPaused = false
    }

    /// Input dropped while lingering; `false` once the budget is spent (close now).
    mutating func discarded(_ count: Int) -> Bool {
        guard case .lingering(let until, let budget) = state else { return false }
        state = .lingering(until: until, budget: budget - count)
        return budget - count > 0
    }

    var isLingering: Bool { if case .lingering = state { true } else { false } }

    mutating func closed() { state = .closed }

    // MARK: - Time

    /// What the passing of time requires. `outputPending`: bytes are still waiting to be written.
    mutating func tick(now: UInt64, outputPending: Bool) -> Timer {
        switch state {
        case .head:
            if let started = headStartedAt, now &- started > rules.headTimeout {
                let error = HTTPParseError(408, "request head not received within \(rules.headTimeoutText)")
                return .reject(error, response: refuse(error))
            }
            if headStartedAt == nil, !outputPending, now &- lastActivity > rules.idleTimeout { return .close }
            return .none
        case .body(_, _, let startedAt):
            guard now &- startedAt > rules.bodyTimeout else { return .none }
            let error = HTTPParseError(408, "request body not received within \(rules.bodyTimeoutText)")
            return .reject(error, response: refuse(error))
        case .streaming:
            guard let bytes = heartbeat, now &- lastStreamWrite >= rules.heartbeatInterval else { return .none }
            lastStreamWrite = now
            return .send(bytes)
        case .lingering(let until, _):
            return now > until ? .close : .none
        case .awaitingResponse, .closing, .closed:
            return .none
        }
    }
}
