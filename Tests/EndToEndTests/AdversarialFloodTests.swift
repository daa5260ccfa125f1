import Foundation
import JSONRPC
import Synchronization
import TestSupport
import Testing

/// A hostile client trying to make one request fan out into unbounded upstream calls and memory, or to fill the
/// session table: the real binary against a real sandbox whose latency makes calls overlap, with the sandbox's
/// high-water mark of concurrent requests as the witness.
@Suite("Adversarial floods")
struct AdversarialFloodTests {
    /// The documented defaults (README, `--max-batch-length`, `--max-calls-per-session`).
    static let batchCap = 100
    static let callsPerSession = 16

    /// A sandbox slow enough that calls overlap, with rate limits out of the way.
    static func slowSandbox(latencyMilliseconds: Int) throws -> SandboxProcess {
        try SandboxProcess([
            "--fault-latency-ms", String(latencyMilliseconds), "--rate-limit-admin", "1000000",
            "--rate-limit-integration", "1000000", "--rate-limit-analytics", "1000000",
        ])
    }

    /// A batch of `count` `tools/call`s with ids `first...`.
    static func batch(_ count: Int, first: Int = 1) -> String {
        let calls = (first..<(first + count)).map {
            #"{"jsonrpc":"2.0","id":\#($0),"method":"tools/call","params":{"name":"list_users","arguments":{"limit":1}}}"#
        }
        return "[" + calls.joined(separator: ",") + "]"
    }

    static func bogus(_ sandbox: SandboxProcess) -> [(String, String)] {
        [("Authorization", "Bearer not-a-real-token"), ("x-api-domain", sandbox.domain("acme"))]
    }

    static func stats(_ sandbox: SandboxProcess) throws -> JSONValue {
        try sandbox.stats()
    }

    /// One POST on its own connection, with a read timeout long enough for a queued batch.
    static func post(
        _ serve: ServeProcess, _ headers: [(String, String)], _ body: String, source: String? = nil
    ) throws -> RawHTTPClient.Response {
        let client = try RawHTTPClient(port: serve.port, timeout: 120, source: source)
        try client.send(RawHTTPClient.request("POST", "/mcp", headers: ServeProcess.jsonHeaders + headers, body: body))
        return try client.readResponse()
    }

    /// Resident memory of a process, in bytes.
    static func residentBytes(_ pid: Int32) -> Int {
        let status = (try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)) ?? ""
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") } ?? ""
        return (Int(line.split(separator: " ").dropFirst().first ?? "") ?? 0) * 1024
    }

    /// A batch's answer as JSON, or a string saying how the POST failed (status and body, or the thrown error), so
    /// a failure on a `concurrentPerform` thread still says what happened.
    static func attempt(_ post: () throws -> RawHTTPClient.Response) -> JSONValue {
        do {
            let response = try post()
            if response.status == 200, response.json.arrayValue != nil { return response.json }
            return .string("HTTP \(response.status): \(response.text.prefix(300))")
        } catch {
            return .string("POST failed: \(error)")
        }
    }

    /// Every element of a batch answer is either the call's result or the documented retryable "busy" error.
    static func expectAnswered(_ reply: JSONValue, count: Int) {
        let elements = reply.arrayValue ?? []
        #expect(elements.count == count, "\(String(describing: reply).prefix(300))")
        for element in elements where element["result"] == nil {
            #expect(element.errorCode == -32000, "\(element)")
            #expect(element["error"]?["data"]?["retryable"] == true)
        }
    }

    @Test("a batch longer than the cap is refused whole with -32600 naming the cap, on HTTP and stdio, before any call")
    func batchCap() async throws {
        try await offPool {
            let sandbox = try Self.slowSandbox(latencyMilliseconds: 0)
            let serve = try ServeProcess()
            let session = try serve.initialize(Self.bogus(sandbox), version: "2025-03-26")
            let headers = Self.bogus(sandbox) + [("Mcp-Session-Id", session)]
            let refused = try Self.post(serve, headers, Self.batch(10_000))
            #expect(refused.status == 400)
            #expect(refused.json.errorCode == -32600)
            let message = refused.json["error"]?["message"]?.stringValue ?? ""
            #expect(message.contains("10000") && message.contains("\(Self.batchCap)"), "\(message)")
            #expect(try Self.stats(sandbox)["total"]?.intValue == 0)

            // At the cap the batch runs, and every element is answered.
            let accepted = try Self.post(serve, headers, Self.batch(Self.batchCap))
            #expect(accepted.status == 200)
            Self.expectAnswered(accepted.json, count: Self.batchCap)

            let stdio = try StdioClient([
                "--allow-insecure-localhost", "--token", "not-a-real-token", "--api-domain", sandbox.domain("acme"),
            ])
            try stdio.initialize(version: "2025-03-26")
            let before = try Self.stats(sandbox)["total"]?.intValue
            try stdio.process.send(Array(Self.batch(10_000).utf8) + [0x0A])
            let reply = try stdio.process.readJSON(timeout: 30)
            #expect(reply.errorCode == -32600, "\(String(describing: reply).prefix(300))")
            #expect(reply["error"]?["message"]?.stringValue?.contains("\(Self.batchCap)") == true)
            #expect(try stdio.request("ping")["result"] != nil)
            #expect(try Self.stats(sandbox)["total"]?.intValue == before)
        }
    }

    @Test("one session never has more calls upstream than its cap, however many batches and lines it sends")
    func perSessionCap() async throws {
        try await offPool {
            let sandbox = try Self.slowSandbox(latencyMilliseconds: 100)
            let serve = try ServeProcess()
            let session = try serve.initialize(Self.bogus(sandbox), version: "2025-03-26")
            let headers = Self.bogus(sandbox) + [("Mcp-Session-Id", session)]
            let replies = Mutex<[JSONValue]>([])
            DispatchQueue.concurrentPerform(iterations: 5) { index in
                let reply = Self.attempt {
                    try Self.post(serve, headers, Self.batch(Self.batchCap, first: index * 1000))
                }
                replies.withLock { $0.append(reply) }
            }
            for reply in replies.withLock({ $0 }) { Self.expectAnswered(reply, count: Self.batchCap) }
            let http = try Self.stats(sandbox)["maxInFlight"]?.intValue ?? -1
            #expect(http > 1 && http <= Int64(Self.callsPerSession), "HTTP session high-water mark \(http)")

            // stdio: 200 calls pipelined line by line are one session too.
            let stdioSandbox = try Self.slowSandbox(latencyMilliseconds: 100)
            let stdio = try StdioClient([
                "--allow-insecure-localhost", "--token", "not-a-real-token", "--api-domain",
                stdioSandbox.domain("acme"),
            ])
            try stdio.initialize()
            var lines: [UInt8] = []
            for id in 1...200 {
                lines +=
                    Array(
                        #"{"jsonrpc":"2.0","id":\#(id),"method":"tools/call","params":{"name":"list_users","arguments":{}}}"#
                            .utf8) + [0x0A]
            }
            try stdio.process.send(lines)
            var answered = 0
            while answered < 200 {
                let reply = try stdio.process.readJSON(timeout: 60)
                if reply["id"] != nil { answered += 1 }
            }
            let piped = try Self.stats(stdioSandbox)["maxInFlight"]?.intValue ?? -1
            #expect(piped > 1 && piped <= Int64(Self.callsPerSession), "stdio high-water mark \(piped)")
        }
    }

    @Test("50 concurrent batches over 25 sessions never exceed the global upstream cap, and memory comes back")
    func globalCapAndMemory() async throws {
        try await offPool {
            let cap = 24
            let sandbox = try Self.slowSandbox(latencyMilliseconds: 40)
            let serve = try ServeProcess(["--max-upstream-requests", String(cap)])
            let sessions = try (0..<25).map { _ in try serve.initialize(Self.bogus(sandbox), version: "2025-03-26") }
            // Warm up (URLSession starts on first use), then take the baseline.
            _ = try Self.post(serve, Self.bogus(sandbox) + [("Mcp-Session-Id", sessions[0])], Self.batch(50))
            Thread.sleep(forTimeInterval: 1)
            let baseline = Self.residentBytes(serve.process.pid)

            let replies = Mutex<[JSONValue]>([])
            DispatchQueue.concurrentPerform(iterations: 50) { index in
                let headers = Self.bogus(sandbox) + [("Mcp-Session-Id", sessions[index % sessions.count])]
                let reply = Self.attempt {
                    try Self.post(serve, headers, Self.batch(Self.batchCap, first: index * 1000))
                }
                replies.withLock { $0.append(reply) }
            }
            for reply in replies.withLock({ $0 }) { Self.expectAnswered(reply, count: Self.batchCap) }
            let highWater = try Self.stats(sandbox)["maxInFlight"]?.intValue ?? -1
            #expect(highWater > 1 && highWater <= Int64(cap), "upstream high-water mark \(highWater)")

            Thread.sleep(forTimeInterval: 3)
            let after = Self.residentBytes(serve.process.pid)
            #expect(baseline > 0)
            #expect(after - baseline < 20 * 1024 * 1024, "RSS \(baseline / 1024) kB before, \(after / 1024) kB after")
            #expect(try serve.send("GET", "/healthz").status == 200)
        }
    }

    @Test("10,000 bogus initializes from one peer do not stop another organisation's client getting a session")
    func sessionFlood() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let globex = ServeProcess.credentials(sandbox, token: "globex", domain: "globex")

            // The defaults: one peer holds at most 1,000 sessions on probation, so the table never fills.
            let serve = try ServeProcess()
            Self.floodInitialize(serve, Self.bogus(sandbox), count: 10_000)
            let session = try serve.initialize(globex)
            let call = try serve.rpc(session, globex, HTTPEndToEndTests.callUsers)
            #expect(call.status == 200)
            #expect(call.json["result"]?["isError"] == nil, "\(call.text.prefix(300))")
            let live = try serve.send("GET", "/healthz").json["sessions"]?.intValue ?? -1
            #expect(live > 0 && live <= 1_001, "live sessions after the flood: \(live)")

            // A table that is full anyway: the oldest session on probation makes room; a session that made a
            // successful call is never evicted, however long the flood goes on.
            let small = try ServeProcess(["--max-sessions", "300"])
            Self.floodInitialize(small, Self.bogus(sandbox), count: 1_000)
            let fresh = try small.initialize(globex)
            #expect(try small.rpc(fresh, globex, HTTPEndToEndTests.callUsers).json["result"]?["isError"] == nil)
            Self.floodInitialize(small, Self.bogus(sandbox), count: 1_000)
            #expect(try small.rpc(fresh, globex, HTTPEndToEndTests.callUsers).status == 200)
            #expect(try small.send("GET", "/healthz").json["sessions"]?.intValue == 300)
        }
    }

    @Test("a session that never made a successful call leaves memory after the probation timeout; a proven one stays")
    func probationExpiry() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess(["--session-probation-timeout", "10"])
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let proven = try serve.initialize(acme)
            #expect(try serve.rpc(proven, acme, HTTPEndToEndTests.callUsers).json["result"]?["isError"] == nil)
            let bogus = try serve.initialize(Self.bogus(sandbox))
            let refused = try serve.rpc(bogus, Self.bogus(sandbox), HTTPEndToEndTests.callUsers)
            #expect(refused.json["result"]?["isError"] == true, "a refused call does not end probation")
            let untried = try serve.initialize(acme)
            #expect(try serve.send("GET", "/healthz").json["sessions"]?.intValue == 3)
            Thread.sleep(forTimeInterval: 16)
            // The two on probation left memory; the proven one stayed.
            #expect(try serve.send("GET", "/healthz").json["sessions"]?.intValue == 1)
            #expect(try serve.rpc(proven, acme, HTTPEndToEndTests.callUsers).status == 200)
            // A sealed id still restores its session, for its own credentials only (nothing was kept to exhaust).
            #expect(try serve.rpc(untried, Self.bogus(sandbox), HTTPEndToEndTests.callUsers).status == 403)
            #expect(try serve.rpc(untried, acme, HTTPEndToEndTests.callUsers).json["result"]?["isError"] == nil)
        }
    }

    /// `count` initializes with `credentials` from the peer 127.0.0.2, over four keep-alive connections.
    static func floodInitialize(_ serve: ServeProcess, _ credentials: [(String, String)], count: Int) {
        let initialize =
            #"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"flood","version":"1"}}}"#
        let request = RawHTTPClient.request(
            "POST", "/mcp", headers: ServeProcess.jsonHeaders + credentials, body: initialize)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            guard let client = try? RawHTTPClient(port: serve.port, timeout: 30, source: "127.0.0.2") else { return }
            for _ in 0..<(count / 4) {
                guard (try? client.send(request)) != nil, (try? client.readResponse()) != nil else { return }
            }
        }
    }
}
