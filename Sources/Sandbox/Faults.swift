import HTTPServer
import JSONRPC
import Synchronization

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Failures the sandbox can inject, to prove the server maps each to the documented tool error without hanging.
package struct FaultPlan: Sendable, Equatable {
    package enum Kind: String, Sendable, CaseIterable {
        /// Answer with `status` (e.g. 500, 502, 503).
        case status
        /// Close the connection without answering.
        case reset
        /// 200 with a body that is not JSON.
        case malformed
        /// 200 with JSON cut off half-way.
        case truncated
        /// 200 whose body trickles out over `slowBodySeconds`.
        case slowBody = "slow-body"
        /// 200 whose body stops half-way: the connection is dropped (over TLS, without close_notify).
        case cutBody = "cut-body"
        /// 429 with a reset `retryAfterSeconds` ahead.
        case rateLimit = "rate-limit"
    }

    /// Added before every API request is handled.
    package var latencyMilliseconds = 0
    package var kind: Kind?
    /// Fraction of requests (0...1) the fault applies to.
    package var rate = 1.0
    package var status = 503
    package var slowBodySeconds = 5.0
    package var retryAfterSeconds = 30

    package init() {}
}

/// Decides, request by request, whether to inject the configured fault.
final class FaultInjector: Sendable {
    enum Fault: Sendable {
        case status(Int)
        case reset
        case malformed
        case truncated
        case slowBody(Double)
        case cutBody
        case rateLimit(Int)
    }

    private let plan: FaultPlan
    private let random = Mutex(SplitMix64(seed: 0x5EED))

    init(plan: FaultPlan) { self.plan = plan }

    /// Applies latency, then returns the fault to deliver for this request, if any.
    func next() async -> Fault? {
        if plan.latencyMilliseconds > 0 { try? await Task.sleep(for: .milliseconds(plan.latencyMilliseconds)) }
        guard let kind = plan.kind else { return nil }
        let draw = random.withLock { $0.nextDouble() }
        guard draw < plan.rate else { return nil }
        switch kind {
        case .status: return .status(plan.status)
        case .reset: return .reset
        case .malformed: return .malformed
        case .truncated: return .truncated
        case .slowBody: return .slowBody(plan.slowBodySeconds)
        case .cutBody: return .cutBody
        case .rateLimit: return .rateLimit(plan.retryAfterSeconds)
        }
    }

    func deliver(_ fault: Fault, responder: HTTPResponder, headers: [(String, String)]) async {
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name, value) }
        switch fault {
        case .status(let status):
            let error = TRPCError(
                status: status, code: status == 503 ? "SERVICE_UNAVAILABLE" : "INTERNAL_SERVER_ERROR",
                message: "Injected fault: HTTP \(status)")
            responder.respond(.json(status, JSONWriter.encode(error.body(procedure: "fault")), headers: fields))
        case .reset:
            responder.abort()
        case .malformed:
            responder.respond(.json(200, Array("<html>upstream proxy error</html>".utf8), headers: fields))
        case .truncated:
            responder.respond(
                .json(
                    200, Array(#"{"totalCount":3,"edges":[{"id":"65f1c0a1b2c3d4e5f6a7b8c9","deta"#.utf8),
                    headers: fields))
        case .slowBody(let seconds):
            fields.set("Content-Type", "application/json")
            guard let stream = responder.startStream(status: 200, headers: fields) else { return }
            let body = Array(#"{"totalCount":0,"edges":[]}"#.utf8)
            let pause = Duration.milliseconds(Int64(seconds * 1000) / Int64(body.count))
            for byte in body {
                try? await Task.sleep(for: pause)
                guard stream.write([byte]) else { return }
            }
            stream.finish()
        case .cutBody:
            fields.set("Content-Type", "application/json")
            guard let stream = responder.startStream(status: 200, headers: fields) else { return }
            _ = stream.write(Array(#"{"totalCount":3,"edges":[{"id":"65f1c0a1"#.utf8))
            responder.abort()
        case .rateLimit(let seconds):
            fields.set("X-RateLimit-Remaining", "0")
            fields.set("X-RateLimit-Reset", String(Int64(Date().timeIntervalSince1970) + Int64(seconds)))
            let error = TRPCError(status: 429, code: "TOO_MANY_REQUESTS", message: "Rate limit exceeded (injected)")
            responder.respond(.json(429, JSONWriter.encode(error.body(procedure: "fault")), headers: fields))
        }
    }
}

/// A small deterministic PRNG (SplitMix64) for seed data and fault sampling: same seed, same sandbox.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    mutating func nextDouble() -> Double { Double(next() >> 11) / Double(1 << 53) }
}
