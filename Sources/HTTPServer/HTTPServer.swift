import Glibc
import Log
import Synchronization

/// Handles requests. Runs on the Swift concurrency pool, never on the event loop thread.
package protocol HTTPHandler: Sendable {
    /// Must eventually `respond` or `startStream`; a handler that returns without doing either gets a 500.
    func handle(_ request: HTTPRequest, responder: HTTPResponder) async
}

/// An HTTP/1.1 server: one epoll loop thread for I/O; each request's handler is a task the server tracks until it
/// ends, and `run()` returns only after the last one.
///
/// It knows nothing of MCP or Nudj: the MCP transports and the sandbox are both handlers on top of it.
package final class HTTPServer: Sendable {
    /// The bound port (useful when the configuration asked for port 0).
    package let port: Int
    package let host: String
    /// The connection cap in force: the configured one, lowered to fit the open-file limit (see `OpenFileLimit`).
    package let maxConnections: Int
    private let loop: EventLoop
    private let thread: LoopThread
    private let handler: any HTTPHandler
    private let handlers = HandlerTracker()
    private let stopped = Atomic<Bool>(false)
    private let logger: Logger

    /// Binds the listening socket and starts the event loop.
    package init(
        configuration: HTTPServerConfiguration,
        handler: any HTTPHandler,
        logger: Logger,
        accessLogger: Logger? = nil
    ) throws {
        var configuration = configuration
        let fileLimit = OpenFileLimit.current
        let cap = OpenFileLimit.connectionCap(requested: configuration.maxConnections, limit: fileLimit)
        let fields = [
            ("maxConnections", String(cap)), ("requested", String(configuration.maxConnections)),
            ("openFileLimit", String(fileLimit)),
        ]
        if cap < configuration.maxConnections {
            logger.warning("connection cap lowered to fit the open-file limit (raise it with ulimit -n)", fields)
        } else {
            logger.info("connection cap", fields)
        }
        configuration.maxConnections = cap
        maxConnections = cap
        let (fd, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        let loop = try EventLoop(listenFD: fd, configuration: configuration, logger: logger)
        self.port = port
        host = configuration.host
        self.loop = loop
        self.handler = handler
        self.logger = logger
        let access = accessLogger
        let tracker = handlers
        thread = LoopThread(name: "http-loop") {
            loop.run(
                dispatch: { request, responder in
                    guard tracker.enter() else { return false }
                    // Small requests start on the loop thread and run until their first suspension: one thread
                    // hop fewer per request. Large bodies go to the pool so parsing them never stalls the loop.
                    if request.body.count <= 64 * 1024 {
                        Task.immediate { await Self.serve(request, responder, handler, tracker) }
                    } else {
                        Task { await Self.serve(request, responder, handler, tracker) }
                    }
                    return true
                },
                accessLog: { method, path, status, nanos, fields in
                    guard let access, access.isEnabled(.info) else { return }
                    var metadata = [
                        ("method", method), ("path", path), ("status", String(status)),
                        ("ms", String(Double(nanos / 10_000) / 100)),
                    ]
                    metadata += fields
                    access.info("request", metadata)
                }
            )
        }
    }

    private static func serve(
        _ request: HTTPRequest, _ responder: HTTPResponder, _ handler: any HTTPHandler, _ tracker: HandlerTracker
    ) async {
        await handler.handle(request, responder: responder)
        responder.respond(HTTPResponse.text(500, "handler produced no response"))  // no-op if answered
        tracker.leave()
    }

    /// Open connections, including idle keep-alive connections and streams.
    package var connectionCount: Int { loop.connectionCount }

    /// Serves until `shutdown` completes: returns once every handler has finished, so none outlives the server.
    package func run() async { await handlers.waitUntilStopped() }

    /// Stops accepting, lets in-flight handlers finish within `grace`, then closes every connection (open streams
    /// included) and stops the loop. `run()` returns once the last handler has unwound.
    package func shutdown(grace: Duration) async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        loop.beginDraining()
        handlers.stopAccepting()
        _ = await handlers.waitUntilIdle(timeout: grace)
        loop.stop()
        thread.join()
        handlers.markStopped()
    }
}

/// Counts handler tasks so shutdown can wait for them: every task the server starts is tracked until it ends.
final class HandlerTracker: Sendable {
    private struct State {
        var active = 0
        var accepting = true
        var stopped = false
        var idleWaiters: [CheckedContinuation<Void, Never>] = []
        var stopWaiters: [CheckedContinuation<Void, Never>] = []
    }

    private let state = Mutex(State())

    func enter() -> Bool {
        state.withLock { state in
            guard state.accepting else { return false }
            state.active += 1
            return true
        }
    }

    func leave() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.active -= 1
            guard state.active == 0 else { return [] }
            defer { state.idleWaiters.removeAll() }
            return state.idleWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    func stopAccepting() { state.withLock { $0.accepting = false } }

    /// Waits until no handler runs, or `timeout`; returns whether it became idle.
    func waitUntilIdle(timeout: Duration) async -> Bool {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if state.withLock({ $0.active == 0 }) { return true }
            try? await Task.sleep(for: .milliseconds(5))
        }
        return state.withLock { $0.active == 0 }
    }

    func markStopped() {
        let waiters = state.withLock { state -> [CheckedContinuation<Void, Never>] in
            state.stopped = true
            defer { state.stopWaiters.removeAll() }
            return state.stopWaiters
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Suspends until the server has stopped and its last handler has finished.
    func waitUntilStopped() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = state.withLock { state -> Bool in
                if state.stopped { return true }
                state.stopWaiters.append(continuation)
                return false
            }
            if resumeNow { continuation.resume() }
        }
        while state.withLock({ $0.active > 0 }) { try? await Task.sleep(for: .milliseconds(5)) }
    }
}

/// A joinable OS thread for the event loop (the loop blocks in epoll_wait, so it must not occupy a pool thread).
private final class LoopThread: @unchecked Sendable {
    private var handle = pthread_t()

    init(name: String, body: @escaping @Sendable () -> Void) {
        final class Box {
            let body: @Sendable () -> Void
            init(_ body: @escaping @Sendable () -> Void) { self.body = body }
        }
        let box = Unmanaged.passRetained(Box(body)).toOpaque()
        let result = pthread_create(
            &handle, nil,
            { argument in
                let box = Unmanaged<Box>.fromOpaque(argument!).takeRetainedValue()
                box.body()
                return nil
            }, box)
        precondition(result == 0, "pthread_create failed: \(result)")
    }

    func join() { pthread_join(handle, nil) }
}
