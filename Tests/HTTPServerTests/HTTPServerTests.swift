import Codecs
import Foundation
import Log
import Platform
import Synchronization
import TestSupport
import Testing

@testable import HTTPServer

/// Echoes requests back as text, streams on /stream, and records disconnects.
private final class EchoHandler: HTTPHandler {
    let gone = Mutex(0)
    let handled = Mutex(0)

    func handle(_ request: HTTPRequest, responder: HTTPResponder) async {
        handled.withLock { $0 += 1 }
        switch request.path {
        case "/stream":
            responder.onClientGone { self.gone.withLock { $0 += 1 } }
            guard
                let stream = responder.startStream(
                    status: 200,
                    headers: ["Content-Type": "text/event-stream"],
                    heartbeat: Array(": ping\n\n".utf8)
                )
            else { return }
            stream.write(Array("data: one\n\n".utf8))
            stream.write(Array("data: two\n\n".utf8))
            if request.query("end") == "1" { stream.finish() }
        case "/slow":
            // Answered 300 ms later from another thread (the handler returns once it has answered). Not after
            // Task.sleep: the whole test run can starve the concurrency pool for many seconds.
            await withCheckedContinuation { (answered: CheckedContinuation<Void, Never>) in
                DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) {
                    responder.respond(.text(200, "slow"))
                    answered.resume()
                }
            }
        case "/silent":
            return  // never answers: the server must answer for it
        default:
            let text =
                "\(request.method) \(request.target) \(request.body.count) \(String(decoding: request.body, as: UTF8.self))"
            responder.respond(.text(200, text, headers: ["X-Seen-Host": request.headers["HOST"] ?? "-"]))
        }
    }
}

private func configured(_ change: (inout HTTPServerConfiguration) -> Void) -> HTTPServerConfiguration {
    var configuration = HTTPServerConfiguration()
    change(&configuration)
    return configuration
}

private func withServer(
    _ configuration: HTTPServerConfiguration = HTTPServerConfiguration(),
    _ body: (Int, EchoHandler) async throws -> Void
) async throws {
    let handler = EchoHandler()
    let server = try HTTPServer(configuration: configuration, handler: handler, logger: .disabled)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addImmediateTask { await server.run() }
        do {
            try await body(server.port, handler)
        } catch {
            await server.shutdown(grace: .seconds(1))
            throw error
        }
        await server.shutdown(grace: .seconds(1))
        try await group.waitForAll()
    }
}

@Suite("HTTP/1.1 server")
struct HTTPServerTests {
    @Test("a request gets a response and the connection is reused")
    func keepAlive() async throws {
        try await withServer { port, _ in
            try await offPool {
                let client = try RawHTTPClient(port: port)
                for index in 0..<3 {
                    try client.send(RawHTTPClient.request("POST", "/echo?i=\(index)", body: "hello"))
                    let response = try client.readResponse()
                    #expect(response.status == 200)
                    #expect(response.text == "POST /echo?i=\(index) 5 hello")
                    #expect(response.header("x-seen-host") == "localhost")
                }
            }
        }
    }

    @Test("pipelined requests are answered in order")
    func pipelining() async throws {
        try await withServer { port, _ in
            try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send(RawHTTPClient.request("GET", "/slow") + RawHTTPClient.request("GET", "/fast"))
                #expect(try client.readResponse().text == "slow")
                #expect(try client.readResponse().text == "GET /fast 0 ")
            }
        }
    }

    @Test("chunked request bodies are decoded, including when dripped byte by byte")
    func chunkedBody() async throws {
        try await withServer { port, _ in
            try await offPool {
                let client = try RawHTTPClient(port: port)
                let request =
                    "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\n\r\n"
                for byte in request.utf8 { try client.send([byte]) }
                #expect(try client.readResponse().text == "POST /c 11 hello world")
            }
        }
    }

    @Test("Expect: 100-continue gets a 100 before the body is sent")
    func expectContinue() async throws {
        try await withServer { port, _ in
            try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send("POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n")
                #expect(try client.readHead(skipContinue: false).status == 100)
                try client.send("ok")
                #expect(try client.readResponse().text == "POST /e 2 ok")
            }
        }
    }

    /// Requests the server must refuse itself, by name (so test output stays readable).
    private static let refusalCases: [String: (request: String, status: Int)] = [
        "body over limit": ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", 413),
        "huge header": ("GET / HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 20_000))\r\n\r\n", 431),
        "huge request line": ("GET /\(String(repeating: "a", count: 9000)) HTTP/1.1\r\n", 414),
        "HTTP/2.0": ("GET / HTTP/2.0\r\nHost: x\r\n\r\n", 505),
        "no Host": ("GET / HTTP/1.1\r\n\r\n", 400),
        "CL and TE": ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
        "gzip TE": ("GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501),
        "conflicting CL": ("GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 1, 2\r\n\r\n", 400),
        "space in name": ("GET / HTTP/1.1\r\nHost: x\r\nBad Header: 1\r\n\r\n", 400),
        "folded header": ("GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", 400),
        "garbage": ("GARBAGE\r\n\r\n", 400),
        "negative chunk size (fuzz finding)": (
            "POST /mcp HTTP/1.1\r\nHost:\nTransfer-Encoding: chunked\r\n\r\n-B\n\r\n", 400
        ),
        "signed chunk size": (
            "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n+5\r\nhello\r\n0\r\n\r\n", 400
        ),
        "bad chunk size": ("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 400),
    ]

    @Test("bad requests get a specific status and the connection is closed", arguments: refusalCases.keys.sorted())
    func refusals(name: String) async throws {
        let (request, status) = Self.refusalCases[name]!
        try await withServer(configured { $0.limits.maxBodyBytes = 1024 }) { port, _ in
            let response = try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send(request)
                return try client.readResponse()
            }
            #expect(response.status == status)
            #expect(response.header("Content-Type") == "application/json")
            #expect(response.header("Connection") == "close")
        }
    }

    @Test("a chunked body over the limit is refused with 413")
    func chunkedTooLarge() async throws {
        try await withServer(configured { $0.limits.maxBodyBytes = 10 }) { port, _ in
            let status = try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send(
                    "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n8\r\n")
                return try client.readResponse().status
            }
            #expect(status == 413)
        }
    }

    @Test("a client that never finishes its head gets 408")
    func headTimeout() async throws {
        try await withServer(configured { $0.headTimeout = .milliseconds(500) }) { port, _ in
            let status = try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send("GET / HTTP/1.1\r\nHost:")
                return try client.readResponse().status
            }
            #expect(status == 408)
        }
    }

    @Test("streams deliver events, heartbeats when quiet, and report the client going away")
    func streaming() async throws {
        try await withServer(configured { $0.heartbeatInterval = .milliseconds(200) }) { port, handler in
            try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send(RawHTTPClient.request("GET", "/stream"))
                let head = try client.readHead()
                #expect(head.status == 200)
                #expect(head.header("Transfer-Encoding") == "chunked")
                var reader = SSEReader()
                var events: [SSEReader.Event] = []
                while events.count < 2, let chunk = try client.readChunk() { events += reader.feed(chunk) }
                #expect(events.map(\.data) == ["one", "two"])
                // Quiet stream: the server writes its heartbeat comment.
                while reader.comments.isEmpty, let chunk = try client.readChunk() { _ = reader.feed(chunk) }
                #expect(reader.comments.first == " ping")
                client.close()
            }
            for _ in 0..<200 where handler.gone.withLock({ $0 }) == 0 { try await Task.sleep(for: .milliseconds(10)) }
            #expect(handler.gone.withLock { $0 } == 1)
        }
    }

    @Test("a finished stream leaves the connection reusable")
    func streamThenKeepAlive() async throws {
        try await withServer { port, _ in
            try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send(RawHTTPClient.request("GET", "/stream?end=1"))
                let response = try client.readResponse()
                #expect(response.text == "data: one\n\ndata: two\n\n")
                try client.send(RawHTTPClient.request("GET", "/after"))
                #expect(try client.readResponse().text == "GET /after 0 ")
            }
        }
    }

    @Test("a handler that never answers still produces a response")
    func silentHandler() async throws {
        try await withServer { port, _ in
            let status = try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send(RawHTTPClient.request("GET", "/silent"))
                return try client.readResponse().status
            }
            #expect(status == 500)
        }
    }

    @Test("connections beyond the limit get 503 and existing ones keep working")
    func connectionLimit() async throws {
        try await withServer(configured { $0.maxConnections = 2 }) { port, _ in
            try await offPool {
                let first = try RawHTTPClient(port: port)
                let second = try RawHTTPClient(port: port)
                try first.send(RawHTTPClient.request("GET", "/a"))
                _ = try first.readResponse()
                try second.send(RawHTTPClient.request("GET", "/b"))
                _ = try second.readResponse()
                let third = try RawHTTPClient(port: port)
                #expect(try third.readResponse().status == 503)
                try first.send(RawHTTPClient.request("GET", "/again"))
                #expect(try first.readResponse().status == 200)
            }
        }
    }

    @Test("hundreds of concurrent connections are all served")
    func concurrency() async throws {
        try await withServer { port, handler in
            // All 400 connections are open and have sent their request before any response is read.
            let texts = try await offPool {
                let clients = try (0..<400).map { _ in try RawHTTPClient(port: port) }
                for (index, client) in clients.enumerated() {
                    try client.send(RawHTTPClient.request("GET", "/n\(index)"))
                }
                return try clients.map { try $0.readResponse().text }
            }
            #expect(texts == (0..<400).map { "GET /n\($0) 0 " })
            #expect(handler.handled.withLock { $0 } == 400)
        }
    }
}

@Suite("HTTP server lifecycle")
struct HTTPServerLifecycleTests {
    @Test("init binds the port but nothing is served until run(); then clients are answered")
    func servesOnlyInRun() async throws {
        let server = try HTTPServer(configuration: HTTPServerConfiguration(), handler: EchoHandler(), logger: .disabled)
        let port = server.port
        let early = try await offPool { () -> Bool in
            let client = try RawHTTPClient(port: port, timeout: 1)
            try client.send(RawHTTPClient.request("GET", "/early"))
            return (try? client.readResponse()) != nil
        }
        #expect(!early, "answered before run()")
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await server.run() }
            let text = try await offPool {
                let client = try RawHTTPClient(port: port)
                try client.send(RawHTTPClient.request("GET", "/late"))
                return try client.readResponse().text
            }
            #expect(text == "GET /late 0 ")
            await server.shutdown(grace: .seconds(1))
            try await group.waitForAll()
        }
    }

    @Test("a server shut down before it ever ran releases its port, and run() then returns at once")
    func shutdownBeforeRun() async throws {
        let server = try HTTPServer(configuration: HTTPServerConfiguration(), handler: EchoHandler(), logger: .disabled)
        let port = server.port
        await server.shutdown(grace: .seconds(1))
        await server.run()
        // Released: the port can be bound again. (Connecting to it proved nothing: a connection to a free port in the
        // ephemeral range can, rarely, be given that very port as its source and connect to itself; a full run saw
        // it once. For the same reason another test's connection can hold the freed port for a moment: a full run
        // saw that too, so the bind is retried for a second. A listener the server kept would hold it for good.)
        var rebound: Int?
        for _ in 0..<50 where rebound == nil {
            if let (fd, bound) = try? Socket.listen(host: "127.0.0.1", port: port) {
                Socket.close(fd)
                rebound = bound
            } else {
                try await Task.sleep(for: .milliseconds(20))
            }
        }
        #expect(rebound == port)
    }
}

@Suite("HTTP head parser")
struct HTTPHeadParserTests {
    private func parse(_ text: String) throws -> HTTPHeadParser.Outcome {
        let bytes = Array(text.utf8)
        return try bytes.withUnsafeBufferPointer { buffer throws(HTTPParseError) -> HTTPHeadParser.Outcome in
            try HTTPHeadParser.parse(buffer, limits: HTTPParserLimits())
        }
    }

    @Test("every prefix of a valid head asks for more, the whole head parses")
    func prefixes() throws {
        let text =
            "POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nAuthorization:Bearer t\r\nX-A:  v  \r\nContent-Length: 4\r\n\r\nbody"
        let headEnd = text.utf8.count - 4
        for length in 0..<headEnd {
            guard case .needMore = try parse(String(text.utf8.prefix(length))!) else {
                Issue.record("prefix of \(length) bytes should need more")
                return
            }
        }
        guard case .head(let head, let consumed) = try parse(text) else {
            Issue.record("expected a head")
            return
        }
        #expect(consumed == headEnd)
        #expect(head.method == "POST")
        #expect(head.target == "/mcp?x=1")
        #expect(head.headers["authorization"] == "Bearer t")
        #expect(head.headers["x-a"] == "v")
        #expect(head.framing == .length(4))
        #expect(head.keepAlive)
    }

    @Test("bare LF line endings are tolerated")
    func bareLF() throws {
        guard case .head(let head, _) = try parse("GET / HTTP/1.1\nHost: a\n\n") else {
            Issue.record("expected a head")
            return
        }
        #expect(head.headers["host"] == "a")
    }

    @Test("HTTP/1.0 closes unless keep-alive is asked for")
    func http10() throws {
        guard case .head(let plain, _) = try parse("GET / HTTP/1.0\r\n\r\n"),
            case .head(let kept, _) = try parse("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n")
        else {
            Issue.record("expected heads")
            return
        }
        #expect(!plain.keepAlive)
        #expect(kept.keepAlive)
    }
}

@Suite("HTTP/1.1 server: pipelining throughput and graceful closes")
struct HTTPServerDeliveryTests {
    @Test("50 pipelined requests in one write are answered well under a second, in order")
    func pipelinedBurst() async throws {
        try await withServer { port, _ in
            try await offPool {
                let client = try RawHTTPClient(port: port)
                let started = ContinuousClock.now
                try client.send((0..<50).map { RawHTTPClient.request("GET", "/p\($0)") }.joined())
                for index in 0..<50 {
                    #expect(try client.readResponse().text == "GET /p\(index) 0 ")
                }
                // Each reply used to wait for the loop's 250 ms poll timeout: 50 took 12.3 s. Unloaded they take
                // milliseconds; the bound leaves room for a machine busy with other work.
                #expect(ContinuousClock.now - started < .seconds(6))
            }
        }
    }

    @Test("a client still sending a body the server gave up on reads the 408, never a reset (20 clients)")
    func slowBodyGets408() async throws {
        try await withServer(configured { $0.bodyTimeout = .milliseconds(200) }) { port, _ in
            let outcomes = try await offPool {
                // Two waves of ten: few sockets at a time in a test process that other tests fill with them.
                let results = Mutex<[String]>([])
                for _ in 0..<2 {
                    let done = DispatchGroup()
                    for _ in 0..<10 {
                        done.enter()
                        Thread {
                            let outcome = Self.sendSlowBody(port: port)
                            results.withLock { $0.append(outcome) }
                            done.leave()
                        }.start()
                    }
                    done.wait()
                }
                return results.withLock { $0 }
            }
            #expect(outcomes.count == 20)
            #expect(outcomes.allSatisfy { $0 == "408" }, "\(outcomes.filter { $0 != "408" })")
        }
    }

    /// Like common clients: writes the body (here too slowly), then reads; a write error counts as a failure.
    private static func sendSlowBody(port: Int) -> String {
        do {
            let client = try RawHTTPClient(port: port)
            try client.send("POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n0123456789")
            let started = ContinuousClock.now
            while ContinuousClock.now - started < .milliseconds(1300) {
                do { try client.send("x") } catch { return "send failed: \(error)" }
                Thread.sleep(forTimeInterval: 0.02)
            }
            let status = try client.readResponse().status
            return status == 408 ? "408" : "status \(status)"
        } catch {
            return "failed: \(error)"
        }
    }
}

@Suite("Header look-ups")
struct HTTPHeaderLookupTests {
    @Test("names match ignoring ASCII case only, whatever their length (20,000 generated pairs)")
    func caseInsensitiveNames() {
        var random = SplitMix(seed: 0x4EAD_E25)
        let alphabet: [String] = ["a", "A", "z", "Z", "-", "0", "@", "[", "`", "{", "é", "É", "\u{0}"]
        func word() -> String { (0..<Int(random.next() % 20)).map { _ in alphabet[Int(random.next() % 13)] }.joined() }
        for _ in 0..<20_000 {
            let left = word()
            let right =
                random.next() % 2 == 0 ? word() : String(left.map { $0.isASCII ? Character($0.uppercased()) : $0 })
            let reference =
                left.utf8.count == right.utf8.count
                && zip(left.utf8, right.utf8).allSatisfy { a, b in
                    let fold: (UInt8) -> UInt8 = { (0x41...0x5A).contains($0) ? $0 + 0x20 : $0 }
                    return fold(a) == fold(b)
                }
            #expect(
                left.equalsIgnoringASCIICase(right) == reference, "\(left.debugDescription) \(right.debugDescription)")
        }
        #expect("X-Long-Header-Name-Over-Fifteen".equalsIgnoringASCIICase("x-long-header-name-over-fifteen"))
        #expect(!"é".equalsIgnoringASCIICase("É"))
    }

    @Test("a comma-separated header lists a token through parameters, spaces, tabs and case; nothing else does")
    func listContains() {
        let headers: HTTPHeaders = [
            "Accept": "application/json;q=0.9 ,\t TEXT/Event-Stream ; charset=utf-8", "accept": "image/png",
        ]
        #expect(headers.listContains("accept", token: "text/event-stream"))
        #expect(headers.listContains("ACCEPT", token: "application/json"))
        #expect(headers.listContains("Accept", token: "image/png"))
        #expect(!headers.listContains("Accept", token: "text/event"))
        #expect(!headers.listContains("Accept", token: "charset=utf-8"))
        #expect(!headers.listContains("Connection", token: "image/png"))
        #expect(" \t a b \t".trimmingSpaces() == "a b")
        #expect(" \t ".trimmingSpaces() == "")
    }
}
