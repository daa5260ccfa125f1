#if os(Linux)
import Foundation
import HTTPServer
import Log
import Platform
import Synchronization
import TestSupport
import Testing

@testable import HTTPClient

/// The native client over plain HTTP against a scripted loopback server (Python's standard library, one thread per
/// connection): each answer names the connection it came on, so reuse is observable.
@Suite(
    "HTTP client", .serialized, .enabled(if: FileManager.default.fileExists(atPath: "/usr/bin/python3")))
struct HTTPClientTests {
    @Test("sequential calls reuse one keep-alive connection; a redirect comes back as is")
    func keepAlive() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        // Idle expiry is not under test: a starved test process may take seconds between two calls.
        var configuration = HTTPClientConfiguration()
        configuration.idleTimeout = .seconds(300)
        let client = try HTTPClient(configuration: configuration)
        defer { client.shutdown() }
        var connections: Set<String> = []
        for _ in 0..<5 {
            let response = try await client.execute(server.request("/connection")).get()
            connections.insert(String(decoding: response.body, as: UTF8.self))
        }
        #expect(connections.count == 1)
        let redirect = try await client.execute(server.request("/redirect")).get()
        #expect(redirect.status == 302)
        #expect(redirect.headers["location"] == "/elsewhere")
    }

    @Test("concurrent calls open no more connections than the per-origin cap")
    func perOriginCap() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.maxConnectionsPerOrigin = 2
        let client = try HTTPClient(configuration: configuration)
        defer { client.shutdown() }
        let connections = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    let response = try await client.execute(server.request("/slow-connection")).get()
                    return String(decoding: response.body, as: UTF8.self)
                }
            }
            return try await group.reduce(into: Set<String>()) { $0.insert($1) }
        }
        #expect(connections.count == 2)
    }

    @Test("a call past its deadline times out, a cancelled call ends at once, and neither connection is reused")
    func deadlineAndCancellation() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let client = try HTTPClient()
        defer { client.shutdown() }
        let first = try await client.execute(server.request("/connection")).get().body
        #expect(await client.execute(server.request("/hang", timeout: .milliseconds(300))) == .failure(.timeout))
        let call = Task { await client.execute(server.request("/hang", timeout: .seconds(30))) }
        try await Task.sleep(for: .milliseconds(200))
        let started = ContinuousClock.now
        call.cancel()
        #expect(await call.value == .failure(.cancelled))
        // At once, not at the 30 s deadline; the margin is for a full run sharing two cores.
        #expect(ContinuousClock.now - started < .seconds(15))
        let after = try await client.execute(server.request("/connection")).get().body
        #expect(after != first, "the abandoned connections were closed, so a new one answers")
    }

    @Test(
        "a task that prefers the loop continues on the loop's thread after each response; after shutdown it still runs")
    func loopAsExecutor() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let client = try HTTPClient()
        let onLoop = try await Task.immediate(executorPreference: client.taskExecutor) {
            var answers: [Bool] = []
            for _ in 0..<3 {
                _ = try await client.execute(server.request("/connection")).get()
                answers.append(client.loop.thread.withLock { $0?.isCurrent } ?? false)
            }
            return answers
        }.value
        #expect(onLoop == [true, true, true])
        client.shutdown()
        try await Task.sleep(for: .milliseconds(200))
        // Work for the loop after it stopped runs where it is posted: no task is left waiting forever.
        let after = await Task(executorPreference: client.taskExecutor) {
            await client.execute(server.request("/connection"))
        }.value
        #expect(after == .failure(.cancelled))
    }

    @Test("a body over the size cap fails as an invalid response")
    func sizeCap() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.maxResponseBytes = 1000
        let client = try HTTPClient(configuration: configuration)
        defer { client.shutdown() }
        #expect(
            await client.execute(server.request("/big"))
                == .failure(.invalidResponse("response larger than 1000 bytes")))
        #expect(
            await client.execute(server.request("/big-chunked"))
                == .failure(.invalidResponse("response larger than 1000 bytes")))
        #expect(try await client.execute(server.request("/connection")).get().status == 200)
    }

    @Test("a call on a client that was shut down ends at once as cancelled, never waiting forever")
    func callAfterShutdown() async throws {
        let server = try ScriptedServer()
        defer { server.stop() }
        let client = try HTTPClient()
        #expect(try await client.execute(server.request("/connection")).get().status == 200)
        client.shutdown()
        try await Task.sleep(for: .milliseconds(100))  // the loop thread takes the shutdown and exits
        let outcome = Mutex<Result<HTTPClientResponse, HTTPClientFailure>?>(nil)
        let call = Task {
            outcome.withLock { $0 = nil }
            let result = await client.execute(server.request("/connection"))
            outcome.withLock { $0 = result }
        }
        let started = ContinuousClock.now
        while outcome.withLock({ $0 }) == nil, ContinuousClock.now - started < .seconds(10) {
            try await Task.sleep(for: .milliseconds(20))
        }
        #expect(outcome.withLock { $0 } == .failure(.cancelled))
        _ = call
    }

    @Test(
        "hosted clients run on the HTTP server's loops, one each: a handler's call and its answer stay on its loop's thread, connections are dealt to every loop, deadlines fire, and the server's end cancels what is in flight"
    )
    func hostedOnServerLoops() async throws {
        let upstream = try ScriptedServer()
        defer { upstream.stop() }
        var configuration = HTTPClientConfiguration()
        configuration.idleTimeout = .seconds(300)
        let clients = try HTTPClient.hosted(count: 2, configuration: configuration)
        let handler = ProxyHandler(clients: clients, upstream: upstream)
        var serverConfiguration = HTTPServerConfiguration()
        serverConfiguration.loops = 2
        let server = try HTTPServer(
            configuration: serverConfiguration, handler: handler, logger: .disabled, guests: clients.compactMap(\.guest)
        )
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await server.run() }
            // Two connections, dealt to the two loops in turn.
            let answers = try await offPool {
                var texts: [String] = []
                for _ in 0..<2 {
                    let connection = try RawHTTPClient(port: server.port)
                    for path in ["/connection", "/connection", "/connection", "/hang?ms=300"] {
                        try connection.send(RawHTTPClient.request("GET", path))
                        texts.append(try connection.readResponse().text)
                    }
                }
                return texts
            }
            // On each server connection: one upstream connection (its number) reused, the same loop's client before
            // and after each call; each server connection on the other loop.
            for first in [0, 4] {
                #expect(answers[first..<first + 3].allSatisfy { $0 == answers[first] })
                #expect(answers[first + 3].hasPrefix("timeout "))
            }
            let loopsSeen = answers.map { $0.split(separator: " ").suffix(2).joined(separator: " ") }
            #expect(Set(loopsSeen) == ["loop0 loop0", "loop1 loop1"])
            #expect(loopsSeen[0] != loopsSeen[4])
            // A call in flight when the server ends: it ends as cancelled, and the server's run returns.
            let waiting = try RawHTTPClient(port: server.port)
            try waiting.send(RawHTTPClient.request("GET", "/hang?ms=30000"))
            while handler.started.withLock({ $0 }) < 9 { try await Task.sleep(for: .milliseconds(10)) }
            let stopping = ContinuousClock.now
            await server.shutdown(grace: .milliseconds(100))
            try await group.waitForAll()
            #expect(ContinuousClock.now - stopping < .seconds(15))
            #expect(handler.outcomes.withLock { $0.last } == "cancelled")
        }
        for client in clients {
            #expect(await client.execute(upstream.request("/connection")) == .failure(.cancelled))
        }
    }

    @Test("a refused connection and an unknown host are unreachable")
    func unreachable() async throws {
        let (probe, port) = try Socket.listen(host: "127.0.0.1", port: 0)
        Socket.close(probe)
        let client = try HTTPClient()
        defer { client.shutdown() }
        let refused = HTTPClientRequest(
            method: "GET", url: "http://127.0.0.1:\(port)/", headers: [], body: nil, timeout: .seconds(5))
        #expect(await client.execute(refused) == .failure(.unreachable("connection refused")))
        let unknown = HTTPClientRequest(
            method: "GET", url: "http://no-such-host.invalid/", headers: [], body: nil, timeout: .seconds(5))
        #expect(await client.execute(unknown) == .failure(.unreachable("host not found")))
    }
}

/// Forwards each request's path to the scripted upstream through the hosted client of the loop it runs on, and
/// answers with the outcome and which client's (which server loop's) thread the handler ran on before and after.
private final class ProxyHandler: HTTPHandler {
    let clients: [HTTPClient]
    let upstream: ScriptedServer
    let started = Mutex(0)
    let outcomes = Mutex<[String]>([])

    init(clients: [HTTPClient], upstream: ScriptedServer) {
        self.clients = clients
        self.upstream = upstream
    }

    func handle(_ request: HTTPRequest, responder: HTTPResponder) async {
        let before = onLoop
        started.withLock { $0 += 1 }
        guard let client = clients.first(where: \.isOnLoopThread) else {
            responder.respond(.text(500, "not on a loop"))
            return
        }
        let timeout = Duration.milliseconds(request.query("ms").flatMap { Int($0) } ?? 20_000)
        let outcome: String
        switch await client.execute(upstream.request(request.path, timeout: timeout)) {
        case .success(let response): outcome = String(decoding: response.body, as: UTF8.self)
        case .failure(let failure): outcome = "\(failure)"
        }
        outcomes.withLock { $0.append(outcome) }
        responder.respond(.text(200, "\(outcome) \(before) \(onLoop)"))
    }

    private var onLoop: String { clients.firstIndex(where: \.isOnLoopThread).map { "loop\($0)" } ?? "elsewhere" }
}

private final class ScriptedServer: Sendable {
    let port: Int
    private let process: SpawnedProcess

    private static let script = #"""
        import socketserver, sys, time, itertools
        counter = itertools.count(1)
        class Handler(socketserver.StreamRequestHandler):
            def handle(self):
                me = str(next(counter)).encode()
                while True:
                    line = self.rfile.readline()
                    if not line: return
                    path = line.split()[1].decode()
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""): pass
                    if path == "/hang": time.sleep(60); return
                    if path == "/slow-connection": time.sleep(0.1)
                    if path == "/redirect":
                        self.wfile.write(b"HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\nContent-Length: 0\r\n\r\n")
                    elif path == "/big":
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5000\r\n\r\n" + b"x" * 5000)
                    elif path == "/big-chunked":
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"200\r\n" + b"y" * 512 + b"\r\n" + b"200\r\n" + b"y" * 512 + b"\r\n0\r\n\r\n")
                    else:
                        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(me) + me)
                    self.wfile.flush()
        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True
        server = Server(("127.0.0.1", 0), Handler)
        print(server.server_address[1], flush=True)
        server.serve_forever()
        """#

    init() throws {
        process = try SpawnedProcess("/usr/bin/python3", arguments: ["-c", Self.script], stdout: .pipe)
        var line: [UInt8] = []
        var byte: UInt8 = 0
        while let output = process.stdout, read(output.fd, &byte, 1) == 1, byte != UInt8(ascii: "\n") {
            line.append(byte)
        }
        guard let port = Int(String(decoding: line, as: UTF8.self)) else {
            throw ScriptedServerError.didNotStart
        }
        self.port = port
    }

    func request(_ path: String, timeout: Duration = .seconds(20)) -> HTTPClientRequest {
        HTTPClientRequest(
            method: "GET", url: "http://127.0.0.1:\(port)\(path)", headers: [("Accept", "*/*")], body: nil,
            timeout: timeout)
    }

    func stop() {
        process.signal(SIGKILL)
        _ = process.wait(timeout: 10)
    }
}

private enum ScriptedServerError: Error { case didNotStart }
#endif
