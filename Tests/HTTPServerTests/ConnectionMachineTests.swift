import Testing

@testable import HTTPServer

/// Drives an `HTTPConnectionMachine` without sockets: what it sends, the requests it dispatches, the refusal.
private struct Driver {
    var machine: HTTPConnectionMachine
    var now: UInt64 = 1_000
    var sent: [[UInt8]] = []
    var requests: [(head: HTTPRequestHead, body: [UInt8])] = []
    var refusal: HTTPParseError?
    var lingering = false
    var draining = false

    init(_ change: (inout HTTPServerConfiguration) -> Void = { _ in }) {
        var configuration = HTTPServerConfiguration()
        change(&configuration)
        machine = HTTPConnectionMachine(rules: HTTPConnectionMachine.Rules(configuration), now: 1_000)
    }

    /// Feeds bytes as one read; returns whether the machine wants reading to continue.
    @discardableResult
    mutating func feed(_ bytes: [UInt8]) -> Bool {
        let keepReading = bytes.withUnsafeBytes { machine.receive($0, now: now) }
        pump()
        return keepReading
    }

    mutating func feed(_ text: String) { feed(Array(text.utf8)) }

    /// Feeds one byte at a time.
    mutating func drip(_ text: String) {
        for byte in text.utf8 { feed([byte]) }
    }

    mutating func pump() {
        while true {
            switch machine.nextAction(now: now, draining: draining) {
            case .none:
                return
            case .send(let bytes):
                sent.append(bytes)
                drained()
            case .dispatch(let head, let body):
                requests.append((head, body))
            case .reject(let error, let response):
                refusal = error
                sent.append(response)
                drained()
                return
            }
        }
    }

    /// The handler answers the current request; the loop writes it out.
    mutating func respond(keepAlive: Bool) {
        machine.responseQueued(keepAlive: keepAlive)
        sent.append(Array("response".utf8))
        drained()
    }

    mutating func drained() {
        switch machine.outputDrained(now: now) {
        case .nothing: break
        case .reused: pump()
        case .linger:
            lingering = true
            machine.startLingering(now: now)
        }
    }

    var sentText: [String] { sent.map { String(decoding: $0, as: UTF8.self) } }
    var bodies: [String] { requests.map { String(decoding: $0.body, as: UTF8.self) } }
}

private let lengthRequest = "POST /echo HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello world"
private let chunkedRequest =
    "POST /chunks HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;x=y\r\n world\r\n0\r\nT: v\r\n\r\n"
private let plainRequest = "GET /plain?x=1 HTTP/1.1\r\nHost: localhost\r\n\r\n"

@Suite("HTTP/1.1 connection state machine, byte by byte")
struct ConnectionMachineTests {
    @Test(
        "a request split at every byte boundary dispatches exactly once, with the same head and body",
        arguments: [lengthRequest, chunkedRequest, plainRequest])
    func everySplit(request: String) {
        let bytes = Array(request.utf8)
        var whole = Driver()
        whole.feed(bytes)
        #expect(whole.requests.count == 1)
        for split in 0...bytes.count {
            var driver = Driver()
            driver.feed(Array(bytes[..<split]))
            #expect(driver.requests.count == (split == bytes.count ? 1 : 0), "split at \(split)")
            driver.feed(Array(bytes[split...]))
            #expect(driver.requests.count == 1, "split at \(split)")
            #expect(driver.requests.first?.head.target == whole.requests[0].head.target)
            #expect(driver.bodies == whole.bodies)
            #expect(driver.refusal == nil)
        }
    }

    @Test("dripped one byte at a time, a request is dispatched on its last byte and not before")
    func drip() {
        for request in [lengthRequest, chunkedRequest, plainRequest] {
            var driver = Driver()
            let bytes = Array(request.utf8)
            for (index, byte) in bytes.enumerated() {
                driver.feed([byte])
                #expect(driver.requests.count == (index == bytes.count - 1 ? 1 : 0))
            }
        }
        var driver = Driver()
        driver.drip(chunkedRequest)
        #expect(driver.bodies == ["hello world"])
    }

    @Test("pipelined requests are dispatched one at a time, in order, each after the previous response")
    func pipelining() {
        var driver = Driver()
        driver.drip(plainRequest + lengthRequest + chunkedRequest)
        #expect(driver.requests.map(\.head.target) == ["/plain?x=1"])
        driver.respond(keepAlive: true)
        #expect(driver.requests.map(\.head.target) == ["/plain?x=1", "/echo"])
        driver.respond(keepAlive: true)
        #expect(driver.requests.map(\.head.target) == ["/plain?x=1", "/echo", "/chunks"])
        #expect(driver.bodies == ["", "hello world", "hello world"])
        driver.respond(keepAlive: true)
        #expect(driver.machine.isIdle)
        #expect(!driver.lingering)
    }

    @Test("Expect: 100-continue gets the interim response after the head, before any body byte")
    func continueExpected() {
        var driver = Driver()
        let head = "POST /up HTTP/1.1\r\nHost: localhost\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n"
        driver.drip(head)
        #expect(driver.sentText == ["HTTP/1.1 100 Continue\r\n\r\n"])
        #expect(driver.requests.isEmpty)
        driver.drip("da")
        #expect(driver.requests.isEmpty)
        driver.drip("ta")
        #expect(driver.bodies == ["data"])
        #expect(driver.sent.count == 1)

        // Head and body in one read: the 100 still goes out, once, and the request is dispatched.
        var eager = Driver()
        eager.feed(head + "data")
        #expect(eager.sentText == ["HTTP/1.1 100 Continue\r\n\r\n"])
        #expect(eager.bodies == ["data"])
    }

    @Test("an oversized head is refused with 431 the moment it passes the limit, and the connection closes")
    func oversizedHead() {
        var driver = Driver { $0.limits.maxHeadBytes = 256 }
        let head = "GET / HTTP/1.1\r\nHost: localhost\r\nX-Filler: " + String(repeating: "a", count: 300) + "\r\n\r\n"
        let bytes = Array(head.utf8)
        var refusedAt: Int?
        for (index, byte) in bytes.enumerated() where driver.refusal == nil {
            driver.feed([byte])
            if driver.refusal != nil { refusedAt = index + 1 }
        }
        #expect(driver.refusal?.status == 431)
        #expect(refusedAt == 257)
        #expect(driver.requests.isEmpty)
        #expect(driver.sentText.first?.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n") == true)
        #expect(driver.sentText.first?.contains("Connection: close\r\n") == true)
        #expect(driver.lingering)
    }

    @Test("a body over the limit is refused with 413: declared up front, or found while decoding chunks")
    func oversizedBody() {
        var declared = Driver { $0.limits.maxBodyBytes = 8 }
        declared.drip("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 9\r\n\r\n")
        #expect(declared.refusal?.status == 413)
        #expect(declared.lingering)

        var chunked = Driver { $0.limits.maxBodyBytes = 8 }
        chunked.drip("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n")
        #expect(chunked.refusal == nil)
        chunked.drip("4\r\n")
        #expect(chunked.refusal?.status == 413)
        #expect(chunked.requests.isEmpty)
    }

    @Test("input buffered far beyond one request pauses reading until a request consumes it")
    func readAhead() {
        var driver = Driver {
            $0.limits.maxHeadBytes = 1024
            $0.limits.maxBodyBytes = 1024
        }
        driver.feed(plainRequest)
        #expect(driver.requests.count == 1)
        let keepReading = driver.feed([UInt8](repeating: 0x41, count: 70 * 1024))
        #expect(!keepReading)
        #expect(driver.machine.readPaused)
    }

    @Test("keep-alive is the HTTP/1.1 default; Connection: close ends the connection after the response")
    func keepAliveVersusClose() {
        var reused = Driver()
        reused.feed(plainRequest)
        #expect(reused.requests[0].head.keepAlive)
        reused.respond(keepAlive: reused.requests[0].head.keepAlive)
        #expect(!reused.lingering)
        #expect(reused.machine.isIdle)

        var closing = Driver()
        closing.feed("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n" + plainRequest)
        #expect(!closing.requests[0].head.keepAlive)
        closing.respond(keepAlive: closing.requests[0].head.keepAlive)
        #expect(closing.lingering)
        #expect(closing.requests.count == 1, "a request after Connection: close is never served")
    }

    @Test("HTTP/1.0 closes unless it asks for keep-alive")
    func http10() {
        var plain = Driver()
        plain.feed("GET / HTTP/1.0\r\n\r\n")
        #expect(plain.requests.first?.head.keepAlive == false)
        plain.respond(keepAlive: false)
        #expect(plain.lingering)

        var kept = Driver()
        kept.drip("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\nGET /two HTTP/1.0\r\n\r\n")
        #expect(kept.requests.first?.head.keepAlive == true)
        kept.respond(keepAlive: true)
        #expect(kept.requests.map(\.head.target) == ["/", "/two"])
    }

    @Test("malformed input is refused with its own status and nothing after it is parsed")
    func malformed() {
        let cases: [(String, Int)] = [
            ("GET / HTTP/1.1\r\n\r\n", 400),  // no Host
            ("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n-5\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1 2\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1234567890123456789\r\n\r\n", 400),
            ("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999\r\n\r\n", 413),
            ("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400),
            ("GET / HTTP/1.1\r\nHo(st: a\r\n\r\n", 400),
        ]
        for (request, status) in cases {
            var driver = Driver()
            driver.drip(request + plainRequest)
            #expect(driver.refusal?.status == status, "\(request)")
            #expect(driver.requests.isEmpty)
        }
    }

    @Test("a Content-Length with spaces around it, or repeated with one value, frames the body")
    func lengths() {
        for field in [
            "Content-Length: 5", "Content-Length:  5 \t", "Content-Length: 5\r\nContent-Length: 5",
            "Content-Length: 5, 5", "content-length: 0005",
        ] {
            var driver = Driver()
            driver.drip("POST / HTTP/1.1\r\nHost: a\r\n\(field)\r\n\r\nhello" + plainRequest)
            #expect(driver.requests.first?.body == Array("hello".utf8), "\(field)")
            driver.respond(keepAlive: true)
            #expect(driver.requests.count == 2, "\(field)")
        }
    }

    @Test("a draining server answers a new request with 503 and closes")
    func draining() {
        var driver = Driver()
        driver.draining = true
        driver.feed(plainRequest)
        #expect(driver.refusal?.status == 503)
        #expect(driver.requests.isEmpty)
    }

    @Test("timers: a slow head or body gets 408, an idle connection closes, a quiet stream gets its heartbeat")
    func timers() {
        let second: UInt64 = 1_000_000_000
        var head = Driver { $0.headTimeout = .seconds(10) }
        head.feed("GET / HT")
        head.now += 9 * second
        let early = head.machine.tick(now: head.now, outputPending: false)
        #expect(early.isNone)
        head.now += 2 * second
        guard case .reject(let error, _) = head.machine.tick(now: head.now, outputPending: false) else {
            Issue.record("no 408 for a slow head")
            return
        }
        #expect(error.status == 408)

        var body = Driver { $0.bodyTimeout = .seconds(30) }
        body.feed("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nab")
        body.now += 31 * second
        guard case .reject(let bodyError, _) = body.machine.tick(now: body.now, outputPending: false) else {
            Issue.record("no 408 for a slow body")
            return
        }
        #expect(bodyError.status == 408)

        var idle = Driver { $0.idleTimeout = .seconds(120) }
        idle.feed(plainRequest)
        idle.respond(keepAlive: true)
        idle.now += 121 * second
        guard case .close = idle.machine.tick(now: idle.now, outputPending: false) else {
            Issue.record("idle connection kept")
            return
        }

        var stream = Driver { $0.heartbeatInterval = .seconds(15) }
        stream.feed(plainRequest)
        let started = stream.machine.streamStarted(heartbeat: Array(": ping\n\n".utf8), chunked: false, now: stream.now)
        #expect(started)
        stream.now += 14 * second
        let quiet = stream.machine.tick(now: stream.now, outputPending: false)
        #expect(quiet.isNone)
        stream.now += 2 * second
        guard case .send(let bytes) = stream.machine.tick(now: stream.now, outputPending: false) else {
            Issue.record("no heartbeat")
            return
        }
        #expect(bytes == Array(": ping\n\n".utf8))
    }

    @Test("lingering drops input until the byte budget is spent")
    func lingerBudget() {
        var driver = Driver()
        driver.feed("GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n")
        driver.respond(keepAlive: false)
        #expect(driver.machine.isLingering)
        let first = driver.machine.discarded(512 * 1024)
        let second = driver.machine.discarded(512 * 1024)
        #expect(first)
        #expect(!second)
    }
}

@Suite("HTTP response encoder")
struct ResponseEncoderTests {
    @Test("one encoding for every response: status line, fields, framing, Connection: close when not reused")
    func encodes() {
        let response = HTTPResponse.json(404, Array("{}".utf8), headers: ["X-A": "1", "Connection": "keep-alive"])
        let kept = String(decoding: HTTPResponseEncoder.encode(response, keepAlive: true), as: UTF8.self)
        #expect(
            kept == "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
        let closed = String(
            decoding: HTTPResponseEncoder.encode(
                response, extra: ["X-A": "2", "X-B": "3"], keepAlive: false,
                includeBody: false),
            as: UTF8.self)
        #expect(
            closed
                == "HTTP/1.1 404 Not Found\r\nX-A: 1\r\nContent-Type: application/json\r\nX-B: 3\r\nContent-Length: 2\r\nConnection: close\r\n\r\n"
        )
        let empty = String(
            decoding: HTTPResponseEncoder.encode(HTTPResponse(status: 204), keepAlive: true), as: UTF8.self)
        #expect(empty == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(HTTPResponseEncoder.chunk(Array("hello".utf8)) == Array("5\r\nhello\r\n".utf8))
    }
}

extension HTTPConnectionMachine.Timer {
    fileprivate var isNone: Bool { if case .none = self { true } else { false } }
}
