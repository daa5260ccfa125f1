import Foundation
import JSONRPC
import MCP
import NudjClient
import Synchronization
import Tenancy
import Testing

@testable import NudjTools

private func tools(_ transport: any UpstreamTransport) throws -> NudjToolProvider {
    let runtime = NudjRuntime(
        catalogue: try Catalogue.embedded(),
        client: NudjClient(transport: transport, version: "t", timeout: .seconds(5), logger: .disabled),
        shaper: ResultShaper(budgetTokens: 20_000),
        policy: DomainPolicy(),
        selection: ToolSelection(toolsets: ["all"]),
        logger: .disabled
    )
    return runtime.provider(for: runtime.tenant(bearer: "opaque-token-value", apiToken: nil, domain: "acme"))
}

@Suite("Lists in one shape, projected and redacted")
struct ListShapingTests {
    @Test("every envelope (edges, data, items, a bare array) becomes items + page; other envelope keys stay")
    func oneShape() async throws {
        let cases: [(String, JSONObject, String)] = [
            ("list_users", [:], #"{"totalCount":3,"edges":[{"id":"a"},{"id":"b"},{"id":"c"}]}"#),
            (
                "analytics_list_reward_recipients", ["rewardId": "0123456789abcdef01234567"],
                #"{"data":[{"userId":"a"},{"userId":"b"},{"userId":"c"}],"totalCount":3,"rewardType":"assets-only"}"#
            ),
            ("list_webhook_configs", [:], #"[{"url":"a"},{"url":"b"},{"url":"c"}]"#),
        ]
        for (name, arguments, body) in cases {
            let result = try #require(
                await tools(ScriptedTransport([ScriptedTransport.status(200, body)])).call(name, arguments))
            let structured = try #require(result.structuredContent)
            #expect(structured["items"]?.arrayValue?.count == 3, "\(name)")
            #expect(structured["edges"] == nil && structured["data"] == nil && structured["totalCount"] == nil)
            #expect(structured["page"]?["returned"] == 3, "\(name)")
            if name == "analytics_list_reward_recipients" {
                #expect(structured["rewardType"] == "assets-only")
                #expect(structured["page"]?["totalCount"] == 3)
            }
        }
    }

    @Test("fields keeps only the dot paths asked for, through arrays, and is never sent upstream")
    func projection() async throws {
        let body =
            #"{"totalCount":2,"edges":[{"id":"a","points":5,"email":"a@x.io","communityData":[{"communityId":"c1","points":5,"streak":{}}]},{"id":"b","points":9,"communityData":[]}]}"#
        let transport = ScriptedTransport([ScriptedTransport.status(200, body)])
        let result = try #require(
            await tools(transport).call(
                "list_users",
                ["sort": "-points", "search": "ada", "fields": ["id", "points", "communityData.communityId"]]))
        #expect(
            result.structuredContent?["items"]
                == [
                    ["id": "a", "points": 5, "communityData": [["communityId": "c1"]]],
                    ["id": "b", "points": 9, "communityData": []],
                ])
        #expect(result.structuredContent?["page"]?["nextArguments"] == .null)
        let url = try #require(transport.sent.withLock { $0.first?.url })
        #expect(url == "https://acme.nudj.cx/api/v2/admin/users?sort=-points&search=ada&limit=10&skip=0")
    }

    @Test("an unknown field is invalid_input naming the fields that exist at that level")
    func unknownField() async throws {
        let body = #"{"totalCount":1,"edges":[{"id":"a","details":{"title":"T","description":"D"}}]}"#
        for (fields, available) in [
            (["id", "titel"], "details, id"), (["details.name"], "details.description, details.title"),
        ] {
            let result = try #require(
                await tools(ScriptedTransport([ScriptedTransport.status(200, body)])).call(
                    "list_challenges", ["fields": .array(fields.map { .string($0) })]))
            #expect(result.errorCode == "invalid_input")
            #expect(result.error?["field"] == "fields")
            #expect(result.error?["message"]?.stringValue?.contains(available) == true, "\(result.error ?? [:])")
        }
        let one = try #require(
            await tools(ScriptedTransport([ScriptedTransport.status(200, #"{"id":"a","status":"live"}"#)])).call(
                "get_challenge", ["challengeId": "0123456789abcdef01234567", "fields": ["status"]]))
        #expect(one.structuredContent == ["status": "live"])
    }

    @Test("a schema-declared redaction withholds the OIDC client secret in every rendering")
    func redaction() async throws {
        let body =
            #"{"enabledProviders":["organisation-oidc"],"oidcProviders":[{"id":"sso","clientId":"c","clientSecret":"hunter2-secret"}],"email":{"host":"smtp","password":"pw-secret"}}"#
        for name in ["get_auth_config", "update_auth_config"] {
            let result = try #require(
                await tools(ScriptedTransport([ScriptedTransport.status(200, body)])).call(
                    name, name == "get_auth_config" ? [:] : ["enabledProviders": ["email"]]))
            let text = try #require(result.content.first?["text"]?.stringValue)
            #expect(!text.contains("hunter2") && !text.contains("pw-secret"), "\(name)")
            #expect(result.structuredContent?["oidcProviders"]?[0]?["clientSecret"] == "[redacted]")
            #expect(result.structuredContent?["oidcProviders"]?[0]?["clientId"] == "c")
        }
    }
}

/// Blocks the `block`-th request until the calling task is cancelled, and announces every request it receives.
private final class GatedTransport: UpstreamTransport {
    let block: Int
    let count = Mutex(0)
    let arrivals: AsyncStream<Int>
    private let announce: AsyncStream<Int>.Continuation

    init(block: Int) {
        self.block = block
        (arrivals, announce) = AsyncStream.makeStream()
    }

    func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        let number = count.withLock {
            $0 += 1
            return $0
        }
        announce.yield(number)
        if number == block { try? await Task.sleep(for: .seconds(30)) }
        let items = (0..<100).map { index in
            #"{"id":"p\#(number)-\#(index)","actionId":"x","userId":"u","allocationId":"c","createdAt":"2000-01-01T00:00:00Z"}"#
        }
        return ScriptedTransport.status(200, #"{"totalCount":100000,"edges":[\#(items.joined(separator: ","))]}"#)
    }
}

@Suite("Computed time-window tools")
struct ComputationTests {
    @Test("a scan bounded by its page limit says it is incomplete and how much it read, with progress per page")
    func boundedScan() async throws {
        let transport = GatedTransport(block: 0)
        let sink = NotificationRecorder()
        let progress = ProgressReporter(token: "scan", sink: sink)
        let result = try #require(
            await tools(transport).call("rank_challenges_by_completions", ["days": 7], progress: progress))
        let reports = sink.sent.withLock { $0 }.filter { $0.method == "notifications/progress" }
        #expect(reports.count == 2 * Computations.maxPages)
        #expect(reports.first?.params?["message"] == "Read 100 of 100000 participations")
        let structured = try #require(result.structuredContent)
        #expect(structured["complete"] == false)
        #expect(structured["scanned"]?["participations"] == .int(Int64(100 * Computations.maxPages)))
        #expect(structured["scanned"]?["participationsInWindow"] == 100_000)
        #expect(structured["scanned"]?["upstreamCalls"] == .int(Int64(2 * Computations.maxPages)))
        #expect(transport.count.withLock { $0 } == 2 * Computations.maxPages)
    }

    @Test("cancelling the call stops the scan: no page is read after it")
    func cancellation() async throws {
        let transport = GatedTransport(block: 3)
        let provider = try tools(transport)
        let call = Task { await provider.call("summarise_points_by_day", ["days": 30]) }
        for await arrival in transport.arrivals where arrival == 3 { break }
        call.cancel()
        let result = try #require(await call.value)
        #expect(result.isError)
        #expect(result.error?["message"]?.stringValue?.contains("cancelled") == true)
        #expect(transport.count.withLock { $0 } == 3)
    }

    @Test("the window: days up to now, or fromDate/toDate, checked")
    func window() throws {
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        let week = try Computations.Window.parse(["days": 7], defaultDays: 30, now: now).get()
        #expect(week.to == now && week.from == now.addingTimeInterval(-7 * 86_400))
        let dates = try Computations.Window.parse(
            ["fromDate": "2026-11-01", "toDate": "2026-11-03"], defaultDays: 7, now: now
        ).get()
        #expect(dates.days == ["2026-11-01", "2026-11-02", "2026-11-03"])
        let backwards = Computations.Window.parse(
            ["fromDate": "2026-11-05", "toDate": "2026-11-01"], defaultDays: 7, now: now)
        #expect(throws: ToolError.self) { try backwards.get() }
    }
}
