import Foundation
import JSONRPC
import Log
import Synchronization
import Tenancy
import Testing

@testable import NudjClient

/// A transport that holds every request until released and records how many were on the wire at once.
private final class CountingTransport: UpstreamTransport {
    private let state = Mutex<(current: Int, highWater: Int, total: Int)>((0, 0, 0))
    let delay: Duration

    init(delay: Duration) { self.delay = delay }

    var highWater: Int { state.withLock { $0.highWater } }
    var total: Int { state.withLock { $0.total } }

    func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        state.withLock {
            $0.current += 1
            $0.total += 1
            $0.highWater = max($0.highWater, $0.current)
        }
        try? await Task.sleep(for: delay)
        state.withLock { $0.current -= 1 }
        return .success(UpstreamResponse(status: 200, headers: [:], body: Array("{}".utf8)))
    }
}

@Suite("Upstream limiter: the global cap on concurrent upstream requests")
struct UpstreamLimiterTests {
    static let tenant: TenantContext = {
        let domain = try! DomainPolicy().normalize("acme.nudj.cx").get()
        return TenantContext(domain: domain, credential: Credential(kind: .bearer, secret: Secret("a.b.c")))
    }()

    @Test("however many calls are started at once, no more than the cap are on the wire, and all are answered")
    func capsConcurrentRequests() async {
        let transport = CountingTransport(delay: .milliseconds(20))
        let client = NudjClient(
            transport: transport, version: "test", timeout: .seconds(30), maxConcurrentRequests: 4, logger: .disabled)
        let statuses = await withTaskGroup(of: Int.self) { group in
            for _ in 0..<200 {
                group.addTask {
                    let outcome = await client.send(
                        APICall(api: .admin, method: "GET", path: "/users"), tenant: Self.tenant)
                    return (try? outcome.result.get().status) ?? -1
                }
            }
            return await group.reduce(into: [Int]()) { $0.append($1) }
        }
        #expect(statuses.count == 200 && statuses.allSatisfy { $0 == 200 })
        #expect(transport.total == 200)
        #expect(transport.highWater == 4)
        #expect(client.limiter.occupancy == (active: 0, waiting: 0))
    }

    @Test("waiting for a turn counts toward the call's deadline: a call that never gets one times out")
    func waitingCountsTowardTheDeadline() async {
        // The first call holds the only turn for 10 s; the second's 1 s deadline must end it long before that (the
        // margin is for a full test run that starves the concurrency pool).
        let transport = CountingTransport(delay: .seconds(10))
        let client = NudjClient(
            transport: transport, version: "test", timeout: .seconds(1), maxConcurrentRequests: 1, logger: .disabled)
        async let first = client.send(APICall(api: .admin, method: "GET", path: "/a"), tenant: Self.tenant)
        try? await Task.sleep(for: .milliseconds(100))
        let started = ContinuousClock.now
        let second = await client.send(APICall(api: .admin, method: "GET", path: "/b"), tenant: Self.tenant)
        let waited = started.duration(to: .now)
        #expect(second.result.failure == .timeout)
        #expect(second.attempts == 0, "it never reached the wire")
        #expect(waited >= .milliseconds(700) && waited < .seconds(8), "waited \(waited)")
        #expect(client.limiter.occupancy.waiting == 0)
        _ = await first
        #expect(transport.total == 1)
    }

    @Test("a waiter that is cancelled leaves at once and takes no turn; later waiters still get theirs")
    func cancelledWaiterLeaves() async {
        let limiter = UpstreamLimiter(limit: 1)
        #expect(await limiter.acquire(deadline: .now + .seconds(60)))
        let waiters = (0..<100).map { _ in
            Task { await limiter.acquire(deadline: .now + .seconds(60)) }
        }
        for _ in 0..<500 where limiter.occupancy.waiting < 100 { try? await Task.sleep(for: .milliseconds(2)) }
        #expect(limiter.occupancy == (active: 1, waiting: 100))
        let started = ContinuousClock.now
        for waiter in waiters.dropLast() { waiter.cancel() }
        for waiter in waiters.dropLast() { #expect(await waiter.value == false) }
        // Their deadline is 60 s away; 30 s leaves room for a full test run sharing two cores (5.8 s was seen).
        let waited = started.duration(to: .now)
        #expect(waited < .seconds(30), "cancelled waiters return at once, not at their deadline (took \(waited))")
        #expect(limiter.occupancy == (active: 1, waiting: 1))
        limiter.release()
        #expect(await waiters.last!.value == true, "the turn goes to the one waiter left")
        limiter.release()
        #expect(limiter.occupancy == (active: 0, waiting: 0))
        #expect(await limiter.acquire(deadline: .now), "a free turn is granted even at the deadline")
    }
}

extension Result {
    fileprivate var failure: Failure? {
        if case .failure(let failure) = self { return failure }
        return nil
    }
}
