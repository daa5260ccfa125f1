import Platform
import Synchronization
import TLS

/// The client's event loop: one thread, one selector, every connection. Calls arrive through the inbox;
/// everything else is touched only by the loop thread.
///
/// The thread is its own (`run`), or a host loop's: as a `LoopGuest` it shares the HTTP server's thread and selector.
final class ClientLoop: @unchecked Sendable {
    private let configuration: HTTPClientConfiguration
    /// Its own (given to `init`), or the host's (given to `attach`).
    private var selector: (any EventSelector)?
    private let ownsSelector: Bool
    private let inbox: ClientInbox
    /// Taken when the first TLS connection needs it; nil if OpenSSL could not set up.
    private var tls: TrustStore
    private let resolver: HostResolver

    /// Loop thread only (as is everything below): also read by the timers in ClientLoop+Timers.swift.
    var connections: [Int32: ClientConnection] = [:]
    private var pools: [Origin: OriginPool] = [:]
    var calls: [UInt64: PendingCall] = [:]
    /// Connections to open at the end of this turn. Sockets are opened only between batches of events: a descriptor
    /// closed during a batch (here or by the host) may not be reused while events for it are still in that batch.
    private var connectQueue: [ClientConnection] = []
    /// A stdio session's input, and whether the selector watches it now (false while paused).
    private var input: ClientInbox.InputWatch?
    private var inputWatched = false
    private var finished = false
    private var events = [SelectorEvent](repeating: SelectorEvent(), count: 256)
    private let readBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 64 * 1024, alignment: 16)
    let connectTimeout: UInt64
    let idleTimeout: UInt64

    /// - Parameter selector: the loop's own; nil for a guest, which takes its host's at `attach`.
    init(configuration: HTTPClientConfiguration, selector: (any EventSelector)?, tls: TrustStore) throws(SystemError) {
        self.configuration = configuration
        self.selector = selector
        ownsSelector = selector != nil
        self.tls = tls
        let inbox = try ClientInbox()
        self.inbox = inbox
        resolver = HostResolver(ttl: configuration.dnsCacheTTL.clientNanoseconds) { key, addresses in
            inbox.post(.resolved(key: key, addresses: addresses))
        }
        connectTimeout = configuration.connectTimeout.clientNanoseconds
        idleTimeout = configuration.idleTimeout.clientNanoseconds
        selector?.add(inbox.wakeUp.fd, .read)
    }

    /// Any thread: queues a message, and wakes the loop unless this is its own thread (which looks before it waits).
    @discardableResult
    func post(_ message: ClientInbox.Message) -> Bool { inbox.post(message, wake: !isLoopThread) }

    /// The loop's thread, once `run` or `attach` has begun (tests check where preferring tasks run).
    let thread = Mutex<OSThread.Identity?>(nil)

    /// Whether the caller runs on the loop's thread (its own, or its host's).
    var isLoopThread: Bool { thread.withLock { $0?.isCurrent ?? false } }

    /// The loop on a thread of its own, until `.shutdown`.
    func run() {
        guard let selector else { return }
        thread.withLock { $0 = OSThread.current }
        var timeout = nextTimeoutMilliseconds()
        while !finished {
            let count = (try? selector.wait(timeoutMilliseconds: timeout, into: &events)) ?? 0
            for index in 0..<count { handle(events[index]) }
            timeout = turn()
        }
    }

    /// One event for one of the loop's descriptors.
    func handle(_ event: SelectorEvent) {
        guard !finished else { return }
        if event.fd == inbox.wakeUp.fd {
            inbox.wakeUp.drain()
        } else if event.fd == input?.fd {
            readInput()
        } else if let connection = connections[event.fd] {
            handle(event, on: connection)
        }
    }

    /// After a batch of events: messages, connections to open, timers. Returns how long the next wait may last.
    func turn() -> Int32 {
        guard !finished else { return -1 }
        // Messages this turn's own work posts (a task resumed when another ends) are taken in the same turn, for a
        // few rounds at most, so the loop still looks at its descriptors.
        var rounds = 0
        repeat {
            for message in inbox.take() {
                switch message {
                case .start(let call): start(call)
                case .cancel(let id): if let call = calls[id] { abandon(call, with: .cancelled) }
                case .resolved(let key, let addresses): resolved(key, addresses)
                case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
                case .watchInput(let watch): watchInput(watch)
                case .resumeInput: if !inputWatched { watchInput(input) }
                case .shutdown:
                    shutdown()
                    return -1
                }
            }
            rounds += 1
        } while rounds < 4 && !inbox.isEmpty
        while !connectQueue.isEmpty {
            let connection = connectQueue.removeFirst()
            if !connection.closed { connect(connection) }
        }
        expireTimers()
        return inbox.isEmpty ? nextTimeoutMilliseconds() : 0
    }

    var hasQueuedWork: Bool { !inbox.isEmpty }

    // MARK: - Input

    private func watchInput(_ watch: ClientInbox.InputWatch?) {
        guard let watch, let selector else { return }
        if inputWatched, let old = input { selector.remove(old.fd) }
        input = watch
        inputWatched = true
        selector.add(watch.fd, .read)
    }

    private func readInput() {
        guard let watch = input, inputWatched else { return }
        let demand = watch.onReadable()
        guard demand != .more else { return }
        if demand == .stop { input = nil }
        inputWatched = false
        selector?.remove(watch.fd)
    }

    // MARK: - Calls

    private func start(_ call: PendingCall) {
        if call.token.cancelled.load(ordering: .acquiring) {
            call.continuation.resume(returning: .failure(.cancelled))
            return
        }
        calls[call.token.id] = call
        guard let addresses = resolver.addresses(for: call) else { return }
        call.addresses = addresses
        assign(call)
    }

    private func resolved(_ key: String, _ addresses: [SocketAddress]?) {
        for call in resolver.finished(key, addresses) where calls[call.token.id] === call {
            switch addresses {
            case nil: complete(call, .failure(.unreachable("cannot start a DNS lookup")))
            case let addresses? where addresses.isEmpty: complete(call, .failure(.unreachable("host not found")))
            case let addresses?:
                call.addresses = addresses
                assign(call)
            }
        }
    }

    /// A call with addresses: an idle connection, a new one, or a place in the origin's queue.
    private func assign(_ call: PendingCall) {
        let pool = pool(call.origin)
        if let connection = pool.idle.popLast() {
            use(connection, for: call)
        } else if pool.open < configuration.maxConnectionsPerOrigin {
            open(for: call)
        } else {
            pool.waiting.append(call)
        }
    }

    private func pool(_ origin: Origin) -> OriginPool {
        if let pool = pools[origin] { return pool }
        let pool = OriginPool()
        pools[origin] = pool
        return pool
    }

    private func complete(_ call: PendingCall, _ result: Result<HTTPClientResponse, HTTPClientFailure>) {
        calls[call.token.id] = nil
        call.connection = nil
        call.continuation.resume(returning: result)
    }

    /// Cancellation or deadline: the call's connection (if any) is closed, since its response is no longer wanted.
    func abandon(_ call: PendingCall, with failure: HTTPClientFailure) {
        if let connection = call.connection {
            connection.call = nil
            close(connection)
        } else if call.addresses.isEmpty {
            resolver.forget(call)
        } else if let pool = pools[call.origin] {
            pool.waiting.removeAll { $0 === call }
        }
        complete(call, .failure(failure))
    }

    // MARK: - Connections

    private func open(for call: PendingCall) {
        pool(call.origin).open += 1
        let connection = ClientConnection(
            origin: call.origin, addresses: call.addresses,
            connectDeadline: monotonicNanoseconds() &+ connectTimeout)
        connection.call = call
        call.connection = connection
        connectQueue.append(connection)
    }

    /// Tries the addresses in order until one connects or is in progress.
    private func connect(_ connection: ClientConnection) {
        while connection.addressIndex < connection.addresses.count {
            switch Socket.connect(to: connection.addresses[connection.addressIndex]) {
            case .connected(let fd):
                register(connection, fd)
                connected(connection)
                return
            case .inProgress(let fd):
                register(connection, fd)
                connection.state = .connecting
                setInterest(connection, .write)
                return
            case .failed:
                connection.addressIndex += 1
            }
        }
        fail(connection, .unreachable("connection refused"))
    }

    private func register(_ connection: ClientConnection, _ fd: Int32) {
        connection.fd = fd
        connection.interest = []
        connections[fd] = connection
        selector?.add(fd, [])
    }

    private func connected(_ connection: ClientConnection) {
        guard connection.origin.secure else {
            beginRequest(connection)
            return
        }
        if case .loading(let background) = tls { tls = .ready(background.take()) }
        guard case .ready(let context?) = tls,
            let session = TLSSession(context: context, fd: connection.fd, host: connection.origin.host)
        else {
            fail(connection, .unreachable("TLS: cannot start a session"))
            return
        }
        connection.tls = session
        connection.state = .handshaking
        handshake(connection)
    }

    private func handshake(_ connection: ClientConnection) {
        guard let session = connection.tls else { return }
        switch session.handshake() {
        case .done: beginRequest(connection)
        case .wantRead: setInterest(connection, .read)
        case .wantWrite: setInterest(connection, .write)
        case .closed: fail(connection, .tls(.closedDuringHandshake))
        case .failed(let failure): fail(connection, .tls(failure))
        }
    }

    private func use(_ connection: ClientConnection, for call: PendingCall) {
        connection.reused = true
        connection.call = call
        call.connection = connection
        beginRequest(connection)
    }

    private func beginRequest(_ connection: ClientConnection) {
        guard let call = connection.call else {
            release(connection)
            return
        }
        connection.state = .writing
        connection.written = 0
        connection.parser = HTTPResponseParser(maxBodyBytes: configuration.maxResponseBytes, requestMethod: call.method)
        write(connection)
    }

    private func write(_ connection: ClientConnection) {
        guard let call = connection.call else { return }
        while connection.written < call.outbound.count {
            let step = call.outbound.withUnsafeBytes { bytes in
                connection.send(UnsafeRawBufferPointer(rebasing: bytes[connection.written...]))
            }
            switch step {
            case .done(let count): connection.written += count
            case .wantWrite:
                setInterest(connection, .write)
                return
            case .wantRead:
                setInterest(connection, .read)
                return
            case .closed: return lost(connection, .unreachable("connection lost"))
            case .failed(let failure): return lost(connection, .tls(failure))
            }
        }
        connection.state = .reading
        setInterest(connection, .read)
    }

    private func read(_ connection: ClientConnection) {
        while connection.call != nil, connection.parser != nil {
            let step = connection.receive(into: readBuffer)
            let progress: HTTPResponseParser.Progress
            // The parser is mutated in place (through `!`), so its body buffer is never copied.
            switch step {
            case .done(let count):
                progress = connection.parser!.feed(UnsafeRawBufferPointer(rebasing: readBuffer[..<count]))
            case .wantRead:
                setInterest(connection, .read)
                return
            case .wantWrite:
                setInterest(connection, .write)
                return
            case .closed:
                if !connection.parser!.started { return lost(connection, .unreachable("connection closed")) }
                progress = connection.parser!.finishAtEndOfStream()
                if case .failed = progress { return fail(connection, .unreachable("connection lost mid-response")) }
            case .failed(let failure):
                if !connection.parser!.started { return lost(connection, .tls(failure)) }
                return fail(connection, .tls(failure))
            }
            switch progress {
            case .needMore: continue
            case .failed(.tooLarge(let limit)):
                return fail(connection, .invalidResponse("response larger than \(limit) bytes"))
            case .failed(.malformed(let reason)):
                return fail(connection, .invalidResponse("malformed response: \(reason)"))
            case .complete(let response, let consumed):
                let clean: Bool
                if case .done(let count) = step { clean = consumed == count } else { clean = false }
                finish(connection, response, reusable: response.keepAlive && clean)
                return
            }
        }
    }

    /// The connection broke before a response: a reused one is replaced once (the server may have closed it while
    /// idle, before it saw the request); otherwise the call fails.
    private func lost(_ connection: ClientConnection, _ failure: HTTPClientFailure) {
        guard let call = connection.call, connection.reused, !call.retried, !(connection.parser?.started ?? false)
        else {
            fail(connection, failure)
            return
        }
        call.retried = true
        connection.call = nil
        call.connection = nil
        close(connection)
        open(for: call)
    }

    private func finish(_ connection: ClientConnection, _ response: HTTPClientResponse, reusable: Bool) {
        guard let call = connection.call else { return }
        connection.call = nil
        connection.parser = nil
        complete(call, .success(response))
        if reusable { release(connection) } else { close(connection) }
    }

    /// Hands a free connection to the next waiting call, or parks it idle.
    private func release(_ connection: ClientConnection) {
        let pool = pool(connection.origin)
        if !pool.waiting.isEmpty {
            use(connection, for: pool.waiting.removeFirst())
            return
        }
        connection.state = .idle
        connection.idleSince = monotonicNanoseconds()
        // Readable while idle means the server closed it (or sent something unasked): either way it is done.
        setInterest(connection, .read)
        pool.idle.append(connection)
    }

    func fail(_ connection: ClientConnection, _ failure: HTTPClientFailure) {
        let call = connection.call
        connection.call = nil
        close(connection)
        if let call { complete(call, .failure(failure)) }
    }

    func close(_ connection: ClientConnection) {
        guard !connection.closed else { return }
        connection.closed = true
        if connection.fd >= 0 {
            selector?.remove(connection.fd)
            connection.tls?.free()
            connection.tls = nil
            Socket.close(connection.fd)
            connections[connection.fd] = nil
            connection.fd = -1
        }
        let pool = pool(connection.origin)
        pool.open -= 1
        if connection.state == .idle { pool.idle.removeAll { $0 === connection } }
        if !pool.waiting.isEmpty && pool.open < configuration.maxConnectionsPerOrigin {
            open(for: pool.waiting.removeFirst())
        }
    }

    // MARK: - Events and timers

    private func handle(_ event: SelectorEvent, on connection: ClientConnection) {
        switch connection.state {
        case .connecting:
            let failure = Socket.pendingError(connection.fd)
            if failure == 0 && (event.writable || !event.failed) {
                connected(connection)
                return
            }
            // This address refused: try the next one with a new socket.
            selector?.remove(connection.fd)
            Socket.close(connection.fd)
            connections[connection.fd] = nil
            connection.fd = -1
            connection.addressIndex += 1
            connectQueue.append(connection)
        case .handshaking: handshake(connection)
        case .writing: write(connection)
        case .reading: read(connection)
        case .idle: close(connection)
        }
    }

    /// Ends every call and connection; the inbox refuses later messages. A guest leaves the host's selector open.
    private func shutdown() {
        guard !finished else { return }
        finished = true
        for call in Array(calls.values) { abandon(call, with: .cancelled) }
        for connection in Array(connections.values) where connection.fd >= 0 { close(connection) }
        connectQueue.removeAll()
        if let watch = input {
            if inputWatched { selector?.remove(watch.fd) }
            input = nil
            inputWatched = false
            watch.onEnd()
        }
        if let selector {
            selector.remove(inbox.wakeUp.fd)
            if ownsSelector { selector.close() }
        }
        for message in inbox.close() {
            switch message {
            case .start(let call): call.continuation.resume(returning: .failure(.cancelled))
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            case .watchInput(let watch): watch.onEnd()
            case .cancel, .resolved, .resumeInput, .shutdown: continue
            }
        }
        readBuffer.deallocate()
    }

    // MARK: - Interest

    private func setInterest(_ connection: ClientConnection, _ interest: SelectorInterest) {
        guard connection.interest != interest, connection.fd >= 0 else { return }
        connection.interest = interest
        selector?.modify(connection.fd, interest)
    }

}

/// A guest of the HTTP server's loop (`HTTPClient.hosted(count:configuration:)`).
extension ClientLoop: LoopGuest {
    func attach(to selector: any EventSelector) {
        precondition(!ownsSelector && self.selector == nil, "a client loop is attached once, and only without its own")
        thread.withLock { $0 = OSThread.current }
        self.selector = selector
        selector.add(inbox.wakeUp.fd, .read)
    }

    func detach() { shutdown() }
}

/// The loop runs the work of tasks that prefer it: a call's caller then continues on the thread that received its
/// response, instead of waking a thread of the concurrency pool to do so (stdio, where one session's calls are few:
/// two context switches fewer per call). Work that arrives after shutdown runs at once on the posting thread, so no
/// task is left waiting. A stdio session's input is read here too, so a request starts without a wake-up.
extension ClientLoop: SessionLoop {
    func watchInput(
        _ fd: Int32, onReadable: @escaping @Sendable () -> InputDemand, onEnd: @escaping @Sendable () -> Void
    ) -> Bool {
        post(.watchInput(ClientInbox.InputWatch(fd: fd, onReadable: onReadable, onEnd: onEnd)))
    }

    func resumeInput() { post(.resumeInput) }

    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        // From the loop's own thread (a call's caller resumed by its response), no wake-up: the loop turns before it
        // next waits.
        if !post(.job(job)) { job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}
