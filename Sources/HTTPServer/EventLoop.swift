import Log
import Platform
import Synchronization

/// One selector loop (epoll, or poll(2); see `EventBackend`) on one thread serving every connection: idle keep-alive connections and open streams cost memory,
/// not threads. Handlers run elsewhere (the Swift concurrency pool) and talk back through `enqueue`.
///
/// Thread confinement: everything except `inbox` is touched only on the loop thread; `inbox` is behind a Mutex.
final class EventLoop: LoopCommandSink, @unchecked Sendable {
    typealias Dispatch = @Sendable (HTTPRequest, HTTPResponder) -> Bool
    typealias AccessLog =
        @Sendable (
            _ method: String, _ path: String, _ status: Int, _ nanoseconds: UInt64, _ fields: [(String, String)]
        ) -> Void

    private let configuration: HTTPServerConfiguration
    private let logger: Logger
    private let selector: any EventSelector
    private let wakeUp: WakeUp
    private var listenFD: Int32
    /// Whether the listener is out of the selector because the process ran out of descriptors (see `acceptConnections`).
    private var listenerPaused = false
    /// A descriptor held back so that, out of descriptors, the loop can still accept, answer 503 and close.
    private var reserveFD: Int32 = -1
    private var lastExhaustionWarning: UInt64 = 0
    private let inbox = Mutex<[LoopCommand]>([])
    private let running = Atomic<Bool>(true)
    private let draining = Atomic<Bool>(false)
    private let openConnections = Atomic<Int>(0)

    // Loop-thread state.
    private var connections: [Connection?] = []
    private var generation: UInt64 = 0
    private var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var lastSweep: UInt64 = 0
    private var dispatch: Dispatch = { _, _ in false }
    private var accessLog: AccessLog = { _, _, _, _, _ in }

    init(listenFD: Int32, backend: EventBackend, configuration: HTTPServerConfiguration, logger: Logger) throws {
        self.listenFD = listenFD
        self.configuration = configuration
        self.logger = logger
        selector = try backend.makeSelector()
        wakeUp = try WakeUp()
        selector.add(listenFD, .read)
        selector.add(wakeUp.fd, .read)
        reserveFD = Socket.openReserve()
    }

    var connectionCount: Int { openConnections.load(ordering: .relaxed) }

    // MARK: - Cross-thread entry points

    func enqueue(_ command: LoopCommand) {
        let wasEmpty = inbox.withLock { inbox -> Bool in
            inbox.append(command)
            return inbox.count == 1
        }
        // On the loop thread itself (a handler that answered before suspending) the loop drains the inbox before
        // it next sleeps (`run` polls without waiting while the inbox is non-empty); no wake-up needed.
        if wasEmpty && !isLoopThread { wake() }
    }

    private let loopThread = Mutex<OSThread.Identity?>(nil)

    private var isLoopThread: Bool { loopThread.withLock { $0?.isCurrent ?? false } }

    private func wake() { wakeUp.signal() }

    /// Stops accepting and reading new requests; existing responses and streams continue.
    func beginDraining() {
        draining.store(true, ordering: .relaxed)
        wake()
    }

    /// Ends the loop; every connection is closed (streams get their terminating chunk first, best effort).
    func stop() {
        running.store(false, ordering: .relaxed)
        wake()
    }

    // MARK: - Loop

    /// Releases the socket and the selector of a loop that never ran.
    func discard() {
        stopListening()
        selector.close()
        wakeUp.close()
        if reserveFD >= 0 { Socket.close(reserveFD) }
    }

    func run(dispatch: @escaping Dispatch, accessLog: @escaping AccessLog) {
        self.dispatch = dispatch
        self.accessLog = accessLog
        loopThread.withLock { $0 = OSThread.current }
        var events = [SelectorEvent](repeating: SelectorEvent(), count: 512)
        var wasDraining = false
        while running.load(ordering: .relaxed) {
            // A reply enqueued on this thread (a pipelined request answered during the last drain) skipped the
            // wake-up: poll without sleeping until the inbox is empty, or it would wait for the timeout.
            let timeout: Int32 = inbox.withLock { $0.isEmpty } ? 250 : 0
            var count = 0
            do {
                count = try selector.wait(timeoutMilliseconds: timeout, into: &events)
            } catch {
                logger.error("selector wait failed", [("error", error.description)])
            }
            for index in 0..<count {
                let event = events[index]
                if event.fd == listenFD {
                    acceptConnections()
                } else if event.fd == wakeUp.fd {
                    wakeUp.drain()
                    processInbox()
                } else if let connection = connection(event.fd) {
                    handle(event, on: connection)
                }
            }
            if inbox.withLock({ !$0.isEmpty }) { processInbox() }
            if !wasDraining && draining.load(ordering: .relaxed) {
                wasDraining = true
                stopListening()
                closeIdleConnections()
            }
            let now = monotonicNanoseconds()
            if now &- lastSweep >= 1_000_000_000 {
                lastSweep = now
                sweep(now: now)
            }
        }
        processInbox()
        for case let connection? in connections {
            if connection.isStreaming && connection.chunkedStream {
                connection.output.append(contentsOf: Array("0\r\n\r\n".utf8))
            }
            _ = flush(connection)
            close(connection, clientGone: true)
        }
        discard()
    }

    private func stopListening() {
        guard listenFD >= 0 else { return }
        if !listenerPaused { selector.remove(listenFD) }
        Socket.close(listenFD)
        listenFD = -1
    }

    /// Out of descriptors and no reserve to shed with: a level-triggered listener with a pending connection would
    /// wake the selector forever, so it leaves the selector until a descriptor may be free again (a connection closed, or the
    /// next sweep).
    private func pauseListening() {
        guard listenFD >= 0, !listenerPaused else { return }
        selector.remove(listenFD)
        listenerPaused = true
        warnOutOfDescriptors()
    }

    /// At most one warning per 10 s: exhaustion comes in floods.
    private func warnOutOfDescriptors() {
        let now = monotonicNanoseconds()
        guard lastExhaustionWarning == 0 || now &- lastExhaustionWarning > 10_000_000_000 else { return }
        lastExhaustionWarning = now
        logger.warning(
            "out of file descriptors: new connections get 503 until connections close",
            [("connections", String(connectionCount)), ("paused", String(listenerPaused))])
    }

    private func resumeListening() {
        if reserveFD < 0 { reserveFD = Socket.openReserve() }
        guard listenFD >= 0, listenerPaused else { return }
        listenerPaused = false
        selector.add(listenFD, .read)
    }

    private func updateInterest(_ connection: Connection) {
        var interest = SelectorInterest.peerHangup
        if !connection.readPaused { interest.insert(.read) }
        if connection.outputPending { interest.insert(.write) }
        guard interest != connection.interest else { return }
        connection.interest = interest
        selector.modify(connection.fd, interest)
    }

    private func connection(_ fd: Int32) -> Connection? {
        Int(fd) < connections.count ? connections[Int(fd)] : nil
    }

    private func connection(_ ref: ConnectionRef) -> Connection? {
        guard let connection = connection(ref.fd), connection.generation == ref.generation else { return nil }
        return connection
    }

    // MARK: - Accept

    private func acceptConnections() {
        for _ in 0..<256 {
            guard listenFD >= 0, !listenerPaused else { return }
            switch Socket.accept(listenFD) {
            case .accepted(let fd, let remote):
                if connectionCount >= configuration.maxConnections {
                    refuse(fd, reason: "server is at its connection limit; retry shortly")
                    logger.warning(
                        "connection refused: limit reached", [("limit", String(configuration.maxConnections))])
                    continue
                }
                adopt(fd, remote: remote)
            case .nonePending:
                return
            case .outOfDescriptors:
                // The level-triggered listener stays readable while a connection waits, so the waiting client must
                // be taken off the queue: the reserve descriptor lets the loop accept it, answer 503 and close.
                // Without a reserve the listener leaves the selector until a descriptor is freed. Either way, no spin.
                guard reserveFD >= 0 else {
                    pauseListening()
                    return
                }
                Socket.close(reserveFD)
                let result = Socket.accept(listenFD)
                if case .accepted(let fd, _) = result {
                    refuse(fd, reason: "server is out of file descriptors; retry shortly")
                }
                reserveFD = Socket.openReserve()
                warnOutOfDescriptors()
                guard reserveFD >= 0, case .accepted = result else {
                    if case .nonePending = result { return }
                    pauseListening()
                    return
                }
            case .transientFailure:
                continue
            case .failed:
                return
            }
        }
    }

    private func adopt(_ fd: Int32, remote: String) {
        generation &+= 1
        let connection = Connection(fd: fd, generation: generation, remote: remote, now: monotonicNanoseconds())
        while connections.count <= Int(fd) { connections.append(nil) }
        connections[Int(fd)] = connection
        openConnections.add(1, ordering: .relaxed)
        connection.interest = [.read, .peerHangup]
        selector.add(fd, connection.interest)
    }

    /// Answers a connection the server will not serve with 503 and closes it. Whatever the client already sent is
    /// read first, so the close does not turn into a reset that destroys the answer in flight.
    private func refuse(_ fd: Int32, reason: String) {
        let response = configuration.errorBody(503, reason)
        var bytes = Array(
            "HTTP/1.1 503 Service Unavailable\r\nContent-Length: \(response.body.count)\r\nContent-Type: application/json\r\nRetry-After: 1\r\nConnection: close\r\n\r\n"
                .utf8
        )
        bytes += response.body
        _ = bytes.withUnsafeBytes { Socket.send(fd, $0) }
        _ = Socket.shutdownWrite(fd)
        _ = readBuffer.withUnsafeMutableBytes { Socket.receive(fd, into: $0) }
        Socket.close(fd)
    }

    // MARK: - Events

    private func handle(_ event: SelectorEvent, on connection: Connection) {
        if event.failed {
            close(connection, clientGone: true)
            return
        }
        if event.writable {
            guard flush(connection) else { return }
        }
        if event.readable || event.peerHangup {
            readAvailable(connection)
        }
    }

    private func readAvailable(_ connection: Connection) {
        if case .lingering = connection.state {
            discardInput(connection)
            return
        }
        let limit = configuration.limits.maxHeadBytes + configuration.limits.maxBodyBytes + 64 * 1024
        reading: while true {
            switch readBuffer.withUnsafeMutableBytes({ Socket.receive(connection.fd, into: $0) }) {
            case .done(let count):
                connection.input.append(contentsOf: readBuffer[0..<count])
                connection.lastActivity = monotonicNanoseconds()
                if connection.input.count > limit {
                    // Buffered far ahead of what the current request needs: stop reading until it is consumed.
                    connection.readPaused = true
                    break
                }
                if count < readBuffer.count { break }
            case .wouldBlock:
                break reading
            case .closed:
                // Peer closed (or the socket failed). A client that disconnects mid-request or mid-stream has gone.
                close(connection, clientGone: true)
                return
            }
        }
        processInput(connection)
        if connection.isOpen { updateInterest(connection) }
    }

    /// Parses as many requests as the buffered bytes complete, dispatching one at a time (pipelined requests wait
    /// for the previous response, as HTTP/1.1 requires).
    private func processInput(_ connection: Connection) {
        while connection.isOpen {
            switch connection.state {
            case .awaitingResponse, .streaming, .lingering, .closing:
                return
            case .head:
                guard !connection.input.isEmpty else {
                    connection.headStartedAt = nil
                    return
                }
                if connection.headStartedAt == nil { connection.headStartedAt = monotonicNanoseconds() }
                let outcome: HTTPHeadParser.Outcome
                do {
                    outcome = try connection.input.withUnsafeBufferPointer {
                        buffer throws(HTTPParseError) -> HTTPHeadParser.Outcome in
                        try HTTPHeadParser.parse(buffer, limits: configuration.limits)
                    }
                } catch {
                    fail(connection, error)
                    return
                }
                guard case .head(let head, let consumed) = outcome else { return }
                connection.input.removeFirst(consumed)
                connection.headStartedAt = nil
                if draining.load(ordering: .relaxed) {
                    fail(connection, HTTPParseError(503, "server is shutting down"))
                    return
                }
                switch head.framing {
                case .none:
                    dispatch(head, body: [], on: connection)
                case .length(let length):
                    if head.expectsContinue { write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), to: connection) }
                    connection.state = .body(head, .length(length), startedAt: monotonicNanoseconds())
                case .chunked:
                    if head.expectsContinue { write(Array("HTTP/1.1 100 Continue\r\n\r\n".utf8), to: connection) }
                    let decoder = ChunkedDecoder(maxBodyBytes: configuration.limits.maxBodyBytes)
                    connection.state = .body(head, .chunked(decoder), startedAt: monotonicNanoseconds())
                }
            case .body(let head, .length(let length), _):
                guard connection.input.count >= length else { return }
                let body = Array(connection.input[0..<length])
                connection.input.removeFirst(length)
                dispatch(head, body: body, on: connection)
            case .body(let head, .chunked(var decoder), let startedAt):
                let consumed: Int
                do {
                    consumed = try connection.input.withUnsafeBufferPointer { buffer throws(HTTPParseError) -> Int in
                        try decoder.feed(buffer)
                    }
                } catch {
                    fail(connection, error)
                    return
                }
                connection.input.removeFirst(consumed)
                if decoder.isComplete {
                    dispatch(head, body: decoder.body, on: connection)
                } else {
                    connection.state = .body(head, .chunked(decoder), startedAt: startedAt)
                    return
                }
            }
        }
    }

    private func dispatch(_ head: HTTPRequestHead, body: [UInt8], on connection: Connection) {
        let request = HTTPRequest(
            method: head.method,
            target: head.target,
            headers: head.headers,
            body: body,
            version: head.version,
            remoteAddress: connection.remote
        )
        let started = monotonicNanoseconds()
        let method = head.method
        let path = request.path
        let accessLog = accessLog
        let responder = HTTPResponder(
            ref: ConnectionRef(fd: connection.fd, generation: connection.generation),
            sink: self,
            request: head
        ) { status, fields in
            accessLog(method, path, status, monotonicNanoseconds() &- started, fields)
        }
        connection.state = .awaitingResponse(responder)
        if connection.readPaused {
            connection.readPaused = false
            updateInterest(connection)
        }
        if !dispatch(request, responder) {
            responder.respond(configuration.errorBody(503, "server is shutting down"))
        }
    }

    /// Answers a request the server refuses itself, then closes (the rest of the stream cannot be trusted).
    private func fail(_ connection: Connection, _ error: HTTPParseError) {
        logger.info(
            "request refused",
            [("status", String(error.status)), ("reason", error.message), ("remote", connection.remote)])
        let response = configuration.errorBody(error.status, error.message)
        var text = "HTTP/1.1 \(error.status) \(HTTPResponse.reasonPhrase(error.status))\r\n"
        for field in response.headers { text += "\(field.name): \(field.value)\r\n" }
        text += "Content-Length: \(response.body.count)\r\nConnection: close\r\n\r\n"
        connection.state = .closing
        connection.readPaused = true
        write(Array(text.utf8) + response.body, to: connection, then: .close)
        accessLog("-", "-", error.status, 0, [("reason", error.message)])
    }

    // MARK: - Commands from handlers

    private func processInbox() {
        let commands = inbox.withLock { inbox -> [LoopCommand] in
            let taken = inbox
            inbox.removeAll(keepingCapacity: true)
            return taken
        }
        for command in commands {
            switch command {
            case .respond(let ref, let bytes, let keepAlive):
                guard let connection = connection(ref) else { continue }
                let reuse = keepAlive && !draining.load(ordering: .relaxed)
                write(bytes, to: connection, then: reuse ? .keepAlive : .close)
            case .beginStream(let ref, let head, let heartbeat, let chunked):
                guard let connection = connection(ref), case .awaitingResponse(let responder) = connection.state else {
                    continue
                }
                connection.state = .streaming(responder)
                connection.heartbeat = heartbeat
                connection.chunkedStream = chunked
                connection.lastStreamWrite = monotonicNanoseconds()
                write(head, to: connection)
            case .streamData(let ref, let bytes):
                guard let connection = connection(ref), connection.isStreaming else { continue }
                if connection.output.count - connection.outputOffset > configuration.maxPendingStreamBytes {
                    logger.warning("stream reader stalled; disconnecting", [("remote", connection.remote)])
                    close(connection, clientGone: true)
                    continue
                }
                connection.lastStreamWrite = monotonicNanoseconds()
                write(bytes, to: connection)
            case .endStream(let ref, let trailer, let keepAlive):
                guard let connection = connection(ref), connection.isStreaming else { continue }
                connection.heartbeat = nil
                let reuse = keepAlive && !draining.load(ordering: .relaxed)
                write(trailer, to: connection, then: reuse ? .keepAlive : .close)
            case .abort(let ref):
                if let connection = connection(ref) { close(connection, clientGone: true) }
            }
        }
    }

    // MARK: - Writing

    private func write(_ bytes: [UInt8], to connection: Connection, then completion: Connection.AfterFlush? = nil) {
        guard connection.isOpen else { return }
        connection.output.append(contentsOf: bytes)
        if let completion { connection.afterFlush = completion }
        if flush(connection) { updateInterest(connection) }
    }

    /// Writes pending output; returns `false` if the connection was closed in the process.
    @discardableResult
    private func flush(_ connection: Connection) -> Bool {
        while connection.outputPending {
            let result = connection.output.withUnsafeBytes {
                Socket.send(connection.fd, UnsafeRawBufferPointer(rebasing: $0[connection.outputOffset...]))
            }
            switch result {
            case .done(let written):
                connection.outputOffset += written
                connection.lastWriteProgress = monotonicNanoseconds()
            case .wouldBlock:
                updateInterest(connection)
                return true
            case .closed:
                close(connection, clientGone: true)
                return false
            }
        }
        connection.output.removeAll(keepingCapacity: connection.output.capacity <= 64 * 1024)
        connection.outputOffset = 0
        guard let next = connection.afterFlush else { return true }
        connection.afterFlush = nil
        switch next {
        case .close:
            linger(connection)
            return false
        case .keepAlive:
            connection.state = .head
            connection.heartbeat = nil
            connection.lastActivity = monotonicNanoseconds()
            if connection.input.capacity > 64 * 1024 && connection.input.isEmpty { connection.input = [] }
            processInput(connection)
            if connection.isOpen { updateInterest(connection) }
            return connection.isOpen
        }
    }

    // MARK: - Closing and timers

    private func close(_ connection: Connection, clientGone: Bool) {
        guard connection.isOpen else { return }
        connection.isOpen = false
        selector.remove(connection.fd)
        Socket.close(connection.fd)
        if connections.indices.contains(Int(connection.fd)), connections[Int(connection.fd)] === connection {
            connections[Int(connection.fd)] = nil
        }
        openConnections.subtract(1, ordering: .relaxed)
        if listenerPaused { resumeListening() }
        switch connection.state {
        case .awaitingResponse(let responder), .streaming(let responder):
            if clientGone { responder.clientDisconnected() }
        default:
            break
        }
        connection.state = .closing
    }

    /// Closes after a response without destroying it: closing a socket with unread input (a body the server
    /// refused, pipelined requests) sends a reset that can overtake the response in flight. So the write side is
    /// shut (the client sees the end of the response), what the client still sends is read and dropped, and the
    /// socket closes at the client's EOF — or after `lingerTimeout` / `lingerBytes`, whichever comes first.
    private func linger(_ connection: Connection) {
        guard Socket.shutdownWrite(connection.fd) else {
            close(connection, clientGone: false)
            return
        }
        connection.state = .lingering(until: monotonicNanoseconds() &+ Self.lingerTimeout, budget: Self.lingerBytes)
        connection.input = []
        connection.readPaused = false
        updateInterest(connection)
        discardInput(connection)
    }

    private static let lingerTimeout: UInt64 = 2_000_000_000
    private static let lingerBytes = 1024 * 1024

    private func discardInput(_ connection: Connection) {
        guard case .lingering(let until, var budget) = connection.state else { return }
        while budget > 0 {
            switch readBuffer.withUnsafeMutableBytes({ Socket.receive(connection.fd, into: $0) }) {
            case .done(let count):
                budget -= count
                continue
            case .wouldBlock:
                connection.state = .lingering(until: until, budget: budget)
                return
            case .closed:
                break  // EOF or error: the client has what it will read
            }
            break
        }
        close(connection, clientGone: false)
    }

    private func closeIdleConnections() {
        for case let connection? in connections {
            if case .head = connection.state, connection.input.isEmpty, !connection.outputPending {
                close(connection, clientGone: false)
            }
        }
    }

    private func sweep(now: UInt64) {
        // Descriptors may also have been freed outside the loop (upstream sockets, log files): try again.
        if listenerPaused || reserveFD < 0 { resumeListening() }
        let head = configuration.headTimeout.nanoseconds
        let body = configuration.bodyTimeout.nanoseconds
        let idle = configuration.idleTimeout.nanoseconds
        let writeStall = configuration.writeTimeout.nanoseconds
        let heartbeat = configuration.heartbeatInterval.nanoseconds
        for case let connection? in connections {
            if connection.outputPending && now &- connection.lastWriteProgress > writeStall {
                logger.info("dropping connection: write stalled", [("remote", connection.remote)])
                close(connection, clientGone: true)
                continue
            }
            switch connection.state {
            case .head:
                if let started = connection.headStartedAt, now &- started > head {
                    fail(
                        connection, HTTPParseError(408, "request head not received within \(configuration.headTimeout)")
                    )
                } else if connection.headStartedAt == nil, !connection.outputPending,
                    now &- connection.lastActivity > idle
                {
                    close(connection, clientGone: false)
                }
            case .body(_, _, let startedAt):
                if now &- startedAt > body {
                    fail(
                        connection, HTTPParseError(408, "request body not received within \(configuration.bodyTimeout)")
                    )
                }
            case .streaming:
                if let bytes = connection.heartbeat, now &- connection.lastStreamWrite >= heartbeat {
                    connection.lastStreamWrite = now
                    write(bytes, to: connection)
                }
            case .lingering(let until, _):
                if now > until { close(connection, clientGone: false) }
            case .awaitingResponse, .closing:
                break
            }
        }
    }
}

/// One client connection; confined to the loop thread.
final class Connection {
    enum BodyProgress {
        case length(Int)
        case chunked(ChunkedDecoder)
    }

    enum State {
        case head
        case body(HTTPRequestHead, BodyProgress, startedAt: UInt64)
        case awaitingResponse(HTTPResponder)
        case streaming(HTTPResponder)
        /// The response is sent and the write side shut; input is dropped until the client's EOF or the deadline.
        case lingering(until: UInt64, budget: Int)
        case closing
    }

    enum AfterFlush {
        case keepAlive
        case close
    }

    let fd: Int32
    let generation: UInt64
    let remote: String
    var state = State.head
    var input: [UInt8] = []
    var output: [UInt8] = []
    var outputOffset = 0
    var afterFlush: AfterFlush?
    var interest: SelectorInterest = []
    var readPaused = false
    var isOpen = true
    var headStartedAt: UInt64?
    var lastActivity: UInt64
    var lastWriteProgress: UInt64
    var lastStreamWrite: UInt64 = 0
    var heartbeat: [UInt8]?
    var chunkedStream = true

    init(fd: Int32, generation: UInt64, remote: String, now: UInt64) {
        self.fd = fd
        self.generation = generation
        self.remote = remote
        lastActivity = now
        lastWriteProgress = now
    }

    var outputPending: Bool { outputOffset < output.count }

    var isStreaming: Bool { if case .streaming = state { true } else { false } }
}
