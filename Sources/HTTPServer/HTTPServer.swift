import Log
import Platform
import Synchronization

/// Handles requests, each in a task of its own: a small request starts on the loop thread that read it and continues
/// there after each suspension (the loop is its executor), so a handler must never block.
package protocol HTTPHandler: Sendable {
    /// Must eventually `respond` or `startStream`; a handler that returns without doing either gets a 500.
    func handle(_ request: HTTPRequest, responder: HTTPResponder) async
}

/// An HTTP/1.1 server: selector loops on threads of their own (`HTTPServerConfiguration.loops`), each doing the I/O of
/// the connections it accepted and running their handlers; each request's handler is a task the server tracks until
/// it ends.
///
/// `init` binds the port (so it is known at once); `run()` serves, and returns after `shutdown` once the loop has
/// stopped and the last handler has finished. It knows nothing of MCP or Nudj: the MCP transports and the sandbox
/// are both handlers on top of it.
package final class HTTPServer: Sendable {
    /// The bound port (useful when the configuration asked for port 0).
    package let port: Int
    package let host: String
    /// The connection cap in force: the configured one, lowered to fit the open-file limit (see `OpenFileLimit`).
    package let maxConnections: Int
    private let loops: [EventLoop]
    private let group: LoopGroup
    private let handler: any HTTPHandler
    private let handlers = HandlerTracker()
    private let phase = Mutex(Phase.bound)
    /// Fires once every loop thread has returned (or, if the server never ran, once shutdown released the socket).
    private let loopEnded = Latch()
    private let loopsRunning: Atomic<Int>
    private let accessLogger: Logger?

    private enum Phase {
        case bound
        case running
        case stopped
    }

    /// Binds the listening socket. Nothing is served until `run()`.
    ///
    /// - Throws: `SystemError` if the address cannot be bound, `EventBackend.UnknownName` for a bad
    ///   `NUDJ_EVENT_BACKEND`.
    /// - Parameter guests: work to run on the loops' threads and selectors (the upstream HTTP client), one per loop,
    ///   attached when its loop starts and detached when it ends; or none.
    package init(
        configuration: HTTPServerConfiguration,
        handler: any HTTPHandler,
        logger: Logger,
        accessLogger: Logger? = nil,
        guests: [any LoopGuest] = []
    ) throws {
        precondition(configuration.loops >= 1, "an HTTP server needs at least one loop")
        precondition(guests.isEmpty || guests.count == configuration.loops, "one guest per loop, or none")
        var configuration = configuration
        let backend = try configuration.eventBackend ?? EventBackend.fromEnvironment()
        let fileLimit = OpenFileLimit.current
        let cap = OpenFileLimit.connectionCap(requested: configuration.maxConnections, limit: fileLimit)
        let fields = [
            ("maxConnections", String(cap)), ("requested", String(configuration.maxConnections)),
            ("openFileLimit", String(fileLimit)), ("eventBackend", backend.rawValue),
            ("loops", String(configuration.loops)),
        ]
        if cap < configuration.maxConnections {
            logger.warning("connection cap lowered to fit the open-file limit (raise it with ulimit -n)", fields)
        } else {
            logger.info("connection cap", fields)
        }
        configuration.maxConnections = cap
        maxConnections = cap
        let (fd, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        let group = LoopGroup()
        var loops: [EventLoop] = []
        do {
            for index in 0..<configuration.loops {
                loops.append(
                    try EventLoop(
                        listenFD: index == 0 ? fd : -1, group: group, backend: backend, configuration: configuration,
                        logger: logger, guest: guests.isEmpty ? nil : guests[index]))
            }
        } catch {
            for loop in loops { loop.discard() }
            if loops.isEmpty { Socket.close(fd) }
            throw error
        }
        group.setMembers(loops)
        self.loops = loops
        self.group = group
        loopsRunning = Atomic(loops.count)
        self.port = port
        host = configuration.host
        self.handler = handler
        self.accessLogger = accessLogger
    }

    /// Open connections, including idle keep-alive connections and streams.
    package var connectionCount: Int { group.openConnections.load(ordering: .relaxed) }

    /// Serves until `shutdown` completes: returns once the loop has stopped and every handler has finished, so none
    /// outlives the server. Calling it again, or after `shutdown`, returns when the server is stopped.
    ///
    /// Serving begins before the first suspension: started with `addImmediateTask` (or `Task.immediate`), the loop
    /// runs at once, even while every thread of the concurrency pool is busy.
    package func run() async {
        let start = phase.withLock { phase -> Bool in
            guard case .bound = phase else { return false }
            phase = .running
            return true
        }
        if start {
            let accessLog = makeAccessLog()
            for loop in loops {
                let dispatch = makeDispatch(for: loop)
                OSThread.start { [self] in
                    loop.run(dispatch: dispatch, accessLog: accessLog)
                    if loopsRunning.wrappingSubtract(1, ordering: .acquiringAndReleasing).newValue == 0 {
                        loopEnded.fire()
                    }
                }
            }
        }
        await loopEnded.wait()
        group.setMembers([])
        await handlers.waitUntilIdle()
    }

    /// Stops accepting, lets in-flight handlers finish within `grace`, then closes every connection (open streams
    /// included) and stops the loop. Returns once the loop has stopped; `run()` returns once the last handler has
    /// unwound.
    package func shutdown(grace: Duration) async {
        let previous = phase.withLock { phase -> Phase in
            defer { phase = .stopped }
            return phase
        }
        switch previous {
        case .stopped:
            await loopEnded.wait()
        case .bound:
            handlers.stopAccepting()
            for loop in loops { loop.discard() }
            group.setMembers([])
            loopEnded.fire()
        case .running:
            for loop in loops { loop.beginDraining() }
            handlers.stopAccepting()
            await handlers.waitUntilIdle(timeout: grace)
            for loop in loops { loop.stop() }
            await loopEnded.wait()
        }
    }

    private func makeDispatch(for loop: EventLoop) -> EventLoop.Dispatch {
        let tracker = handlers
        let handler = handler
        return { request, responder in
            guard tracker.enter() else { return false }
            // Small requests start on the loop thread and stay on it: no thread hop per request. Large bodies go to
            // the pool so parsing them never stalls the loop.
            if request.body.count <= 64 * 1024 {
                Task.immediate(executorPreference: loop) { await Self.serve(request, responder, handler, tracker) }
            } else {
                Task { await Self.serve(request, responder, handler, tracker) }
            }
            return true
        }
    }

    private func makeAccessLog() -> EventLoop.AccessLog {
        let access = accessLogger
        return { method, path, status, nanos, fields in
            guard let access, access.isEnabled(.info) else { return }
            var metadata = [
                ("method", method), ("path", path), ("status", String(status)),
                ("ms", String(Double(nanos / 10_000) / 100)),
            ]
            metadata += fields
            access.info("request", metadata)
        }
    }

    private static func serve(
        _ request: HTTPRequest, _ responder: HTTPResponder, _ handler: any HTTPHandler, _ tracker: HandlerTracker
    ) async {
        await handler.handle(request, responder: responder)
        responder.respond(HTTPResponse.text(500, "handler produced no response"))  // no-op if answered
        tracker.leave()
    }
}
