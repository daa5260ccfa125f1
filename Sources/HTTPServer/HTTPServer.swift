import Glibc
import Log
import Synchronization

/// Handles requests. Runs on the Swift concurrency pool, never on the event loop thread.
package protocol HTTPHandler: Sendable {
    /// Must eventually `respond` or `startStream`; a handler that returns without doing either gets a 500.
    func handle(_ request: HTTPRequest, responder: HTTPResponder) async
}

/// An HTTP/1.1 server: one epoll loop thread for I/O, handlers as child tasks of `run()`.
///
/// It knows nothing of MCP or Nudj: the MCP transports and the sandbox are both handlers on top of it.
package final class HTTPServer: Sendable {
    /// The bound port (useful when the configuration asked for port 0).
    package let port: Int
    package let host: String
    private let loop: EventLoop
    private let thread: LoopThread
    private let handler: any HTTPHandler
    private let requests: AsyncStream<(HTTPRequest, HTTPResponder)>
    private let continuation: AsyncStream<(HTTPRequest, HTTPResponder)>.Continuation
    private let activeHandlers = Atomic<Int>(0)
    private let stopped = Atomic<Bool>(false)
    private let logger: Logger

    /// Binds the listening socket and starts the event loop; requests queue until `run()` is called.
    package init(
        configuration: HTTPServerConfiguration,
        handler: any HTTPHandler,
        logger: Logger,
        accessLogger: Logger? = nil
    ) throws {
        let (fd, port) = try Socket.listen(host: configuration.host, port: configuration.port)
        let loop = try EventLoop(listenFD: fd, configuration: configuration, logger: logger)
        (requests, continuation) = AsyncStream.makeStream(of: (HTTPRequest, HTTPResponder).self)
        self.port = port
        host = configuration.host
        self.loop = loop
        self.handler = handler
        self.logger = logger
        let continuation = continuation
        let access = accessLogger
        thread = LoopThread(name: "http-loop") {
            loop.run(
                dispatch: { request, responder in
                    if case .enqueued = continuation.yield((request, responder)) { return true }
                    return false
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

    /// Open connections, including idle keep-alive connections and streams.
    package var connectionCount: Int { loop.connectionCount }

    /// Serves until `shutdown` completes. Each request is a child task, so none outlives the server.
    package func run() async {
        await withDiscardingTaskGroup { group in
            for await (request, responder) in requests {
                activeHandlers.add(1, ordering: .relaxed)
                group.addTask {
                    await self.handler.handle(request, responder: responder)
                    responder.respond(HTTPResponse.text(500, "handler produced no response"))  // no-op if answered
                    self.activeHandlers.subtract(1, ordering: .relaxed)
                }
            }
        }
    }

    /// Stops accepting, lets in-flight handlers finish within `grace`, then closes every connection (open streams
    /// included) and stops the loop. `run()` returns once the last handler has unwound.
    package func shutdown(grace: Duration) async {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        loop.beginDraining()
        continuation.finish()
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: grace)
        while activeHandlers.load(ordering: .relaxed) > 0 && clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        loop.stop()
        thread.join()
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
