import Log
import Platform
import Synchronization

/// One selector loop (epoll, or poll(2); see `EventBackend`) on one thread serving the connections it accepts: idle
/// keep-alive connections and open streams cost memory, not threads. A server runs `HTTPServerConfiguration.loops` of
/// them: the first listens and deals out the connections it accepts (`LoopGroup`). Handlers are tasks that prefer the
/// loop as their executor and talk back through `enqueue`; a guest (the upstream HTTP client) shares the thread and
/// the selector, so a request, its upstream call and its response are handled without waking another thread.
///
/// The loop does I/O only: what bytes mean is `HTTPConnectionMachine`'s business (see `EventLoop+Connections`);
/// accepting, with its limits, is in `EventLoop+Accept`.
///
/// Thread confinement: everything except `inbox` and the atomics is touched only on the loop thread.
final class EventLoop: LoopCommandSink, @unchecked Sendable {
    typealias Dispatch = @Sendable (HTTPRequest, HTTPResponder) -> Bool
    typealias AccessLog =
        @Sendable (
            _ method: String, _ path: String, _ status: Int, _ nanoseconds: UInt64, _ fields: [(String, String)]
        ) -> Void

    let configuration: HTTPServerConfiguration
    let rules: HTTPConnectionMachine.Rules
    let logger: Logger
    let selector: any EventSelector
    private let wakeUp: WakeUp
    let group: LoopGroup
    /// The listening socket (the group's first loop only); -1 for the others, and once it stopped.
    var listenFD: Int32
    /// Whether the listener is out of the selector because the process ran out of descriptors (see `accept`).
    var listenerPaused = false
    /// A descriptor held back so that, out of descriptors, the loop can still accept, answer 503 and close.
    var reserveFD: Int32 = -1
    var lastExhaustionWarning: UInt64 = 0
    /// Commands and task jobs; nil once the loop has ended (jobs then run on the thread that enqueues them).
    private let inbox = Mutex<[LoopWork]?>([])
    let guest: (any LoopGuest)?
    /// When the guest's next timer is due (monotonic nanoseconds; `.max`: none). The guest takes a turn only when
    /// it had events, has queued work or a timer is due: a turn scans its calls and connections.
    private var guestDeadline = UInt64.max
    private let running = Atomic<Bool>(true)
    private let draining = Atomic<Bool>(false)
    private let loopThread = Mutex<OSThread.Identity?>(nil)

    // Loop-thread state.
    var connections: [Connection?] = []
    var generation: UInt64 = 0
    var readBuffer = [UInt8](repeating: 0, count: 64 * 1024)
    private var lastSweep: UInt64 = 0
    /// Hands a request to its handler; `false` when the server no longer takes requests.
    var startHandler: Dispatch = { _, _ in false }
    var accessLog: AccessLog = { _, _, _, _, _ in }

    init(
        listenFD: Int32, group: LoopGroup, backend: EventBackend, configuration: HTTPServerConfiguration,
        logger: Logger, guest: (any LoopGuest)?
    ) throws {
        self.group = group
        self.listenFD = listenFD
        self.guest = guest
        self.configuration = configuration
        rules = HTTPConnectionMachine.Rules(configuration)
        self.logger = logger
        selector = try backend.makeSelector()
        do {
            wakeUp = try WakeUp()
        } catch {
            selector.close()
            throw error
        }
        if listenFD >= 0 { selector.add(listenFD, .read) }
        selector.add(wakeUp.fd, .read)
        // Only the listening loop accepts, so only it keeps a descriptor in reserve (see `acceptConnections`).
        if listenFD >= 0 { reserveFD = Socket.openReserve() }
    }

    /// Open connections of every loop in the group: the cap is the server's.
    var connectionCount: Int { group.openConnections.load(ordering: .relaxed) }

    var isDraining: Bool { draining.load(ordering: .relaxed) }

    // MARK: - Cross-thread entry points

    func enqueue(_ command: LoopCommand) {
        _ = post(.command(command))
    }

    /// Queues work for the loop; false when the loop has ended.
    private func post(_ work: LoopWork) -> Bool {
        let wasEmpty = inbox.withLock { inbox -> Bool? in
            guard inbox != nil else { return nil }
            inbox!.append(work)
            return inbox!.count == 1
        }
        guard let wasEmpty else { return false }
        // On the loop thread itself (a handler that answered before suspending) the loop drains the inbox before
        // it next sleeps (`run` polls without waiting while the inbox is non-empty); no wake-up needed.
        if wasEmpty && !isLoopThread { wakeUp.signal() }
        return true
    }

    /// A connection another loop of the group accepted, to be served here. False when this loop has ended.
    func adoptFromGroup(_ fd: Int32, remote: String) -> Bool { post(.adopt(fd: fd, remote: remote)) }

    private var inboxIsEmpty: Bool { inbox.withLock { $0?.isEmpty ?? true } }

    private var isLoopThread: Bool { loopThread.withLock { $0?.isCurrent ?? false } }

    /// Stops accepting and reading new requests; existing responses and streams continue.
    func beginDraining() {
        draining.store(true, ordering: .relaxed)
        wakeUp.signal()
    }

    /// Ends the loop; every connection is closed (streams get their terminating chunk first, best effort).
    func stop() {
        running.store(false, ordering: .relaxed)
        wakeUp.signal()
    }

    /// Releases the socket, the selector and the wake-up (at the end of `run`, or for a loop that never ran); the
    /// guest's calls end, and task jobs that arrive later run where they are enqueued.
    func discard() {
        guest?.detach()
        let left = inbox.withLock { inbox -> [LoopWork] in
            defer { inbox = nil }
            return inbox ?? []
        }
        for work in left {
            switch work {
            case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
            case .adopt(let fd, _): dropAdopted(fd)
            case .command: continue
            }
        }
        stopListening()
        selector.close()
        wakeUp.close()
        if reserveFD >= 0 { Socket.close(reserveFD) }
    }

    // MARK: - Loop

    func run(dispatch: @escaping Dispatch, accessLog: @escaping AccessLog) {
        startHandler = dispatch
        self.accessLog = accessLog
        loopThread.withLock { $0 = OSThread.current }
        guest?.attach(to: selector)
        var events = [SelectorEvent](repeating: SelectorEvent(), count: 512)
        var wasDraining = false
        while running.load(ordering: .relaxed) {
            // Work queued on this thread (a reply, a resumed handler, a guest's call) skipped the wake-up: poll
            // without sleeping until it is done, or it would wait for the timeout.
            var timeout: Int32 = 250
            if !inboxIsEmpty || (guest?.hasQueuedWork ?? false) {
                timeout = 0
            } else if guestDeadline != .max {
                let now = monotonicNanoseconds()
                timeout = guestDeadline <= now ? 0 : Int32(min(250, (guestDeadline - now + 999_999) / 1_000_000))
            }
            var count = 0
            do {
                count = try selector.wait(timeoutMilliseconds: timeout, into: &events)
            } catch {
                logger.error("selector wait failed", [("error", error.description)])
            }
            // New connections are accepted after the whole batch: a connection closed while the batch is handled
            // (by a reply in the inbox) frees its descriptor, and one accepted meanwhile could take that number and
            // then receive the closed one's event still waiting in this batch (a reset probe was seen).
            var acceptPending = false
            var guestEvents = false
            for index in 0..<count {
                let event = events[index]
                if event.fd == listenFD {
                    acceptPending = true
                } else if event.fd == wakeUp.fd {
                    wakeUp.drain()
                    processInbox()
                } else if let connection = connection(event.fd) {
                    handle(event, on: connection)
                } else if let guest {
                    guest.handle(event)
                    guestEvents = true
                }
            }
            if acceptPending { acceptConnections() }
            if !inboxIsEmpty { processInbox() }
            if let guest, guestEvents || guest.hasQueuedWork || monotonicNanoseconds() >= guestDeadline {
                let wait = guest.turn()
                guestDeadline = wait < 0 ? .max : monotonicNanoseconds() &+ UInt64(wait) * 1_000_000
            }
            if !wasDraining && isDraining {
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
            if connection.machine.isStreaming && connection.machine.chunkedStream {
                connection.output.append(contentsOf: HTTPResponseEncoder.lastChunk)
            }
            _ = flush(connection)
            close(connection, clientGone: true)
        }
        discard()
        // The dispatch closure holds this loop (tasks prefer it as their executor): dropped, so a stopped loop is
        // freed rather than kept by a cycle.
        self.startHandler = { _, _ in false }
        self.accessLog = { _, _, _, _, _ in }
    }

    func connection(_ fd: Int32) -> Connection? {
        Int(fd) < connections.count ? connections[Int(fd)] : nil
    }

    private func connection(_ ref: ConnectionRef) -> Connection? {
        guard let connection = connection(ref.fd), connection.generation == ref.generation else { return nil }
        return connection
    }

    // MARK: - Commands from handlers

    private func processInbox() {
        let work = inbox.withLock { inbox -> [LoopWork] in
            let taken = inbox ?? []
            inbox?.removeAll(keepingCapacity: true)
            return taken
        }
        for item in work {
            let command: LoopCommand
            switch item {
            case .job(let job):
                job.runSynchronously(on: asUnownedTaskExecutor())
                continue
            case .adopt(let fd, let remote):
                adopt(fd, remote: remote)
                continue
            case .command(let queued):
                command = queued
            }
            switch command {
            case .respond(let ref, let bytes, let keepAlive):
                guard let connection = connection(ref) else { continue }
                connection.machine.responseQueued(keepAlive: keepAlive && !isDraining)
                write(bytes, to: connection)
            case .beginStream(let ref, let head, let heartbeat, let chunked):
                guard let connection = connection(ref),
                    connection.machine.streamStarted(
                        heartbeat: heartbeat, chunked: chunked, now: monotonicNanoseconds())
                else { continue }
                write(head, to: connection)
            case .streamData(let ref, let bytes):
                guard let connection = connection(ref), connection.machine.isStreaming else { continue }
                if connection.output.count - connection.outputOffset > configuration.maxPendingStreamBytes {
                    logger.warning("stream reader stalled; disconnecting", [("remote", connection.remote)])
                    close(connection, clientGone: true)
                    continue
                }
                connection.machine.streamWritten(now: monotonicNanoseconds())
                write(bytes, to: connection)
            case .endStream(let ref, let trailer, let keepAlive):
                guard let connection = connection(ref), connection.machine.isStreaming else { continue }
                connection.machine.streamEnded(keepAlive: keepAlive && !isDraining)
                write(trailer, to: connection)
            case .abort(let ref):
                if let connection = connection(ref) { close(connection, clientGone: true) }
            }
        }
    }

    // MARK: - Timers

    private func closeIdleConnections() {
        for case let connection? in connections where connection.machine.isIdle && !connection.outputPending {
            close(connection, clientGone: false)
        }
    }

    private func sweep(now: UInt64) {
        // Descriptors may also have been freed outside the loop (upstream sockets, log files): try again.
        if listenerPaused || reserveFD < 0 { resumeListening() }
        let writeStall = configuration.writeTimeout.nanoseconds
        for case let connection? in connections {
            if connection.handshakeDeadline != 0 {
                if now >= connection.handshakeDeadline { handshakeTimedOut(connection) }
                continue
            }
            if connection.outputPending && now &- connection.lastWriteProgress > writeStall {
                logger.info("dropping connection: write stalled", [("remote", connection.remote)])
                close(connection, clientGone: true)
                continue
            }
            switch connection.machine.tick(now: now, outputPending: connection.outputPending) {
            case .none:
                break
            case .reject(let error, let response):
                refuseRequest(on: connection, error, response: response)
            case .send(let bytes):
                write(bytes, to: connection)
            case .close:
                close(connection, clientGone: false)
            }
        }
    }
}

/// What other threads hand the loop: a command for a connection, a job of a task that prefers the loop, or a
/// connection the group's first loop accepted for it.
private enum LoopWork: Sendable {
    case command(LoopCommand)
    case job(UnownedJob)
    case adopt(fd: Int32, remote: String)
}

/// Handlers run on the loop: a request's work, its upstream call (the guest) and its response stay on one thread.
/// Handlers must never block; a job that arrives after the loop ended runs at once on the enqueuing thread.
extension EventLoop: TaskExecutor {
    func enqueue(_ job: consuming ExecutorJob) {
        let job = UnownedJob(job)
        if !post(.job(job)) { job.runSynchronously(on: asUnownedTaskExecutor()) }
    }
}

/// What a server's loops share: the count of open connections the cap applies to, and the loops themselves, among
/// which the first (the only one that listens) deals out the connections it accepts in turn.
final class LoopGroup: Sendable {
    let openConnections = Atomic<Int>(0)
    private let members = Mutex<[EventLoop]>([])
    private let dealt = Atomic<Int>(0)

    /// Set once the loops exist; emptied when the server has stopped (the loops refer to the group).
    func setMembers(_ loops: [EventLoop]) { members.withLock { $0 = loops } }

    /// The loop the next accepted connection goes to.
    func nextLoop() -> EventLoop? {
        members.withLock { loops in
            loops.isEmpty ? nil : loops[dealt.wrappingAdd(1, ordering: .relaxed).oldValue % loops.count]
        }
    }
}
