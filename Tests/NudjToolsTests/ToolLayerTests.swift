import Foundation
import JSONRPC
import Log
import MCP
import NudjClient
import Sandbox
import Synchronization
import Tenancy
import Testing

@testable import NudjTools

/// An upstream double: returns scripted responses and records every request it was sent.
final class ScriptedTransport: UpstreamTransport {
    let responses: Mutex<[Result<UpstreamResponse, UpstreamFailure>]>
    let sent = Mutex<[UpstreamRequest]>([])

    init(_ responses: [Result<UpstreamResponse, UpstreamFailure>]) { self.responses = Mutex(responses) }

    func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        sent.withLock { $0.append(request) }
        return responses.withLock {
            $0.isEmpty ? .failure(.unreachable("no more scripted responses")) : $0.removeFirst()
        }
    }

    static func status(
        _ status: Int, _ body: String = "{}", headers: [String: String] = [:]
    ) -> Result<UpstreamResponse, UpstreamFailure> {
        .success(UpstreamResponse(status: status, headers: headers, body: Array(body.utf8)))
    }
}

private func jwt(_ claims: JSONObject) -> String {
    "eyJhbGciOiJIUzI1NiJ9.\(Base64URLTestCodec.encode(JSONWriter.encode(.object(claims)))).c2ln"
}

/// Unpadded base64url for building test tokens (kept local so the test reads on its own).
enum Base64URLTestCodec {
    static func encode(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(
            of: "/", with: "_"
        )
        .replacingOccurrences(of: "=", with: "")
    }
}

private func provider(
    _ transport: ScriptedTransport,
    token: String = "opaque-token-value",
    selection: ToolSelection = ToolSelection(toolsets: ["all"]),
    budgetTokens: Int = 20_000
) throws -> NudjToolProvider {
    let runtime = NudjRuntime(
        catalogue: try Catalogue.embedded(),
        client: NudjClient(transport: transport, version: "t", timeout: .seconds(5), logger: .disabled),
        shaper: ResultShaper(budgetTokens: budgetTokens),
        policy: DomainPolicy(),
        selection: selection,
        logger: .disabled
    )
    return runtime.provider(for: runtime.tenant(bearer: token, apiToken: nil, domain: "acme"))
}

@Suite("Requests the tools build")
struct RequestTests {
    @Test("path arguments are percent-encoded single segments; the host comes only from the tenant")
    func pathInjection() async throws {
        let transport = ScriptedTransport([ScriptedTransport.status(200, #"{"success":true}"#)])
        let tools = try provider(transport)
        let result = try #require(
            await tools.call(
                "create_points_transaction",
                [
                    "userId": "ext?x=1#y&z", "amount": 5, "direction": "credit",
                    "externalTransactionReference": "r",
                ]))
        #expect(!result.isError)
        let request = try #require(transport.sent.withLock { $0.first })
        #expect(request.url == "https://acme.nudj.cx/api/v2/admin/users/ext%3Fx%3D1%23y%26z/points-transaction")
        #expect(request.method == "POST")
        #expect(request.headers.contains { $0.name == "Authorization" && $0.value == "Bearer opaque-token-value" })
        #expect(
            request.headers.contains { $0.name == "x-api-domain" && $0.value == "https://acme.nudj.cx/api/v2/admin" })
        #expect(request.headers.contains { $0.name == "User-Agent" && $0.value == "nudj-mcp/t" })
        let body = try JSONParser.parse(try #require(request.body))
        #expect(body == ["amount": 5, "direction": "credit", "externalTransactionReference": "r"])
    }

    @Test("query, header and default arguments land where the schema says")
    func locations() async throws {
        let transport = ScriptedTransport([ScriptedTransport.status(200, #"{"totalCount":0,"edges":[]}"#)])
        let tools = try provider(transport)
        _ = await tools.call("list_challenges", ["skip": 20, "language": "fr"])
        let request = try #require(transport.sent.withLock { $0.first })
        #expect(request.url == "https://acme.nudj.cx/api/v2/admin/challenges?skip=20&limit=10")
        #expect(request.body == nil)
        #expect(request.headers.contains { $0.name == "x-language" && $0.value == "fr" })
    }

    @Test("invalid arguments never reach upstream and name every bad field")
    func validation() async throws {
        let transport = ScriptedTransport([])
        let tools = try provider(transport)
        let result = try #require(await tools.call("list_challenges", ["limit": 500, "skip": -1, "limt": 3]))
        #expect(result.errorCode == "invalid_input")
        let fields = result.error?["fields"]?.arrayValue ?? []
        #expect(Set(fields.compactMap { $0["field"]?.stringValue }) == ["limit", "skip", "limt"])
        #expect(fields.contains { $0["message"]?.stringValue?.contains("did you mean 'limit'") == true })
        #expect(transport.sent.withLock { $0.isEmpty })
    }
}

@Suite("Upstream failures as tool errors")
struct ErrorMappingTests {
    static let cases: [String: (Result<UpstreamResponse, UpstreamFailure>, String, Bool)] = [
        "400": (
            ScriptedTransport.status(
                400,
                #"{"message":"Invalid input for body.status","code":"BAD_REQUEST","data":{"httpStatus":400,"path":"updateChallenge"}}"#
            ), "invalid_input", false
        ),
        "401": (
            ScriptedTransport.status(401, #"{"message":"Unauthorized","code":"UNAUTHORIZED"}"#), "unauthorized", false
        ),
        "401 expired": (
            ScriptedTransport.status(401, #"{"message":"Token expired","code":"UNAUTHORIZED"}"#), "token_expired", false
        ),
        "403 role": (
            ScriptedTransport.status(403, #"{"message":"Insufficient permissions","code":"FORBIDDEN"}"#), "forbidden",
            false
        ),
        "403 tenancy": (
            ScriptedTransport.status(
                403, #"{"message":"Token organisation does not match x-api-domain","code":"FORBIDDEN"}"#),
            "tenant_forbidden", false
        ),
        "404": (ScriptedTransport.status(404, #"{"message":"No challenge","code":"NOT_FOUND"}"#), "not_found", false),
        "409": (ScriptedTransport.status(409, "{}"), "conflict", false),
        "500": (ScriptedTransport.status(500, "oops"), "upstream_error", true),
        "503": (ScriptedTransport.status(503, ""), "upstream_unavailable", true),
        "418": (ScriptedTransport.status(418, ""), "upstream_error", false),
        "timeout": (.failure(.timeout), "upstream_timeout", true),
        "refused": (.failure(.unreachable("connection refused")), "upstream_unavailable", true),
        "not JSON": (ScriptedTransport.status(200, "<html>"), "invalid_upstream_response", true),
    ]

    @Test("each upstream outcome maps to its documented code", arguments: cases.keys.sorted())
    func mapping(name: String) async throws {
        let (response, code, retryable) = Self.cases[name]!
        let tools = try provider(ScriptedTransport([response]))
        let result = try #require(await tools.call("update_challenge", ["challengeId": "0123456789abcdef01234567"]))
        #expect(result.isError)
        #expect(result.errorCode == code)
        #expect(result.error?["retryable"] == .bool(retryable))
        #expect(result.error?["organisation"] == "acme")
        #expect(result.error?["hint"]?.stringValue?.isEmpty == false)
        let text = result.content.first?["text"]?.stringValue ?? ""
        #expect(text.hasPrefix("Error \(code)"))
    }

    @Test("a 429 says when to retry; a write is never retried automatically")
    func rateLimited() async throws {
        let reset = Int(Date().timeIntervalSince1970) + 30
        let transport = ScriptedTransport([
            ScriptedTransport.status(
                429, #"{"message":"Rate limit","code":"TOO_MANY_REQUESTS"}"#,
                headers: ["x-ratelimit-reset": String(reset)])
        ])
        let result = try #require(
            await provider(transport).call("update_challenge", ["challengeId": "0123456789abcdef01234567"]))
        #expect(result.errorCode == "rate_limited")
        let wait = result.error?["retryAfterSeconds"]?.doubleValue ?? 0
        #expect(wait >= 28 && wait <= 31)
        #expect(transport.sent.withLock { $0.count } == 1)
    }

    @Test("a Retry-After HTTP date becomes seconds from now")
    func retryAfterDate() async throws {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss 'GMT'"
        let date = formatter.string(from: Date().addingTimeInterval(120))
        let transport = ScriptedTransport([ScriptedTransport.status(429, "{}", headers: ["retry-after": date])])
        let result = try #require(
            await provider(transport).call("update_challenge", ["challengeId": "0123456789abcdef01234567"]))
        #expect(result.errorCode == "rate_limited")
        let wait = result.error?["retryAfterSeconds"]?.doubleValue ?? 0
        #expect(wait >= 117 && wait <= 121, "\(date) → \(wait)")
    }

    @Test("absurd rate-limit headers are clamped, never trusted", arguments: ["1e300", "inf", "-5", "nan"])
    func absurdRetryAfter(value: String) async throws {
        let transport = ScriptedTransport([ScriptedTransport.status(429, "{}", headers: ["retry-after": value])])
        let result = try #require(
            await provider(transport).call("update_challenge", ["challengeId": "0123456789abcdef01234567"]))
        #expect(result.errorCode == "rate_limited")
        let wait = result.error?["retryAfterSeconds"]?.doubleValue
        #expect(wait == nil || (wait! >= 0 && wait! <= 86_400))
    }

    @Test("upstream messages are capped and never echo the token")
    func sanitised() async throws {
        let token = "secret-token-value-123456"
        let echo = "Bad token \(token) " + String(repeating: "x", count: 1000)
        let transport = ScriptedTransport([
            ScriptedTransport.status(401, JSONWriter.encodeString(["message": .string(echo), "code": "UNAUTHORIZED"]))
        ])
        let result = try #require(await provider(transport, token: token).call("list_users"))
        let rendered =
            JSONWriter.encodeString(.array(result.content)) + JSONWriter.encodeString(result.structuredContent ?? .null)
        #expect(!rendered.contains(token))
        #expect((result.error?["message"]?.stringValue?.count ?? 0) <= 301)
    }

    @Test("expired tokens and claims naming another organisation are refused without a request")
    func localRefusals() async throws {
        let transport = ScriptedTransport([])
        let expired = try provider(transport, token: jwt(["exp": 1_000, "subdomain": "acme"]))
        #expect(await expired.call("list_users")?.errorCode == "token_expired")
        let foreign = try provider(transport, token: jwt(["exp": 9_999_999_999, "subdomain": "globex"]))
        let result = try #require(await foreign.call("list_users"))
        #expect(result.errorCode == "tenant_forbidden")
        #expect(result.error?["hint"]?.stringValue?.contains("globex") == true)
        #expect(transport.sent.withLock { $0.isEmpty })
    }
}

@Suite("Results that fit a context window")
struct BudgetTests {
    @Test("an oversized list is cut to whole items, stays valid, and says where to continue")
    func listCut() async throws {
        let items = (0..<60).map { index -> JSONValue in
            ["id": .string(String(format: "%024x", index)), "notes": .string(String(repeating: "n", count: 400))]
        }
        let body = JSONWriter.encodeString(["totalCount": 500, "edges": .array(items)])
        let tools = try provider(ScriptedTransport([ScriptedTransport.status(200, body)]), budgetTokens: 2_500)
        let result = try #require(await tools.call("list_users", ["limit": 60, "skip": 100]))
        let structured = try #require(result.structuredContent)
        let kept = structured["items"]?.arrayValue ?? []
        #expect(kept.count > 0 && kept.count < 60)
        #expect(JSONWriter.encode(structured).count <= 10_000)
        #expect(structured["page"]?["truncatedByBudget"] == true)
        #expect(structured["page"]?["returned"] == .int(Int64(kept.count)))
        #expect(structured["page"]?["nextArguments"]?["skip"] == .int(Int64(100 + kept.count)))
        #expect(structured["page"]?["summary"]?.stringValue?.contains("skip=\(100 + kept.count)") == true)
        #expect(try JSONParser.parse(result.content[0]["text"]!.stringValue!) == structured)
    }

    @Test("an oversized entity is trimmed with a notice naming what was shortened")
    func entityTrim() async throws {
        let body = JSONWriter.encodeString([
            "id": "abc", "content": .string(String(repeating: "c", count: 40_000)), "title": "Kept",
        ])
        let tools = try provider(ScriptedTransport([ScriptedTransport.status(200, body)]), budgetTokens: 2_000)
        let result = try #require(await tools.call("get_user", ["userId": "0123456789abcdef01234567"]))
        let structured = try #require(result.structuredContent)
        #expect(JSONWriter.encode(structured).count <= 8_000)
        #expect(structured["title"] == "Kept")
        #expect(structured["_truncated"]?["paths"]?.arrayValue?.contains("content") == true)
    }
}

@Suite("Which tools a session sees")
struct SelectionTests {
    let catalogue = try! Catalogue.embedded()

    func names(_ server: ToolSelection, request: ToolSelection? = nil, role: NudjRole? = nil) -> Set<String> {
        Set(ToolView(catalogue: catalogue, server: server, request: request, role: role).visible.map(\.name))
    }

    @Test("defaults, toolsets, individual tools and exclusions compose; exclusion wins")
    func composition() {
        let defaults = names(ToolSelection())
        #expect(defaults == Set(catalogue.toolsets.filter(\.isDefault).flatMap(\.tools)))
        #expect(names(ToolSelection(toolsets: ["all"])).count == catalogue.tools.count)
        #expect(names(ToolSelection(tools: ["get_user"])) == ["get_user"])
        #expect(
            names(ToolSelection(toolsets: ["users"], tools: ["get_reward"]))
                == Set(catalogue.toolsets.first { $0.name == "users" }!.tools + ["get_reward"]))
        #expect(
            !names(ToolSelection(toolsets: ["users"], tools: ["get_user"], excludedTools: ["get_user"])).contains(
                "get_user"))
    }

    @Test("read-only, planner mode and Viewer tokens remove every write tool")
    func writes() {
        let writes = Set(catalogue.tools.filter(\.isWrite).map(\.name))
        for visible in [
            names(ToolSelection(toolsets: ["all"], readOnly: true)),
            names(ToolSelection(toolsets: ["all"], agentMode: .planner)),
            names(ToolSelection(toolsets: ["all"]), request: ToolSelection(readOnly: true)),
            names(ToolSelection(toolsets: ["all"]), role: .viewer),
        ] {
            #expect(visible.isDisjoint(with: writes))
            #expect(!visible.isEmpty)
        }
        #expect(!names(ToolSelection(toolsets: ["all"]), role: .manager).isDisjoint(with: writes))
    }

    @Test("request headers narrow the operator's selection but never widen it or lift read-only")
    func capping() {
        let server = ToolSelection(toolsets: ["users"], readOnly: true)
        #expect(names(server, request: ToolSelection(toolsets: ["all"])) == names(server))
        #expect(names(server, request: ToolSelection(tools: ["get_user", "get_reward"])) == ["get_user"])
        #expect(names(server, request: ToolSelection(readOnly: false)) == names(server))
        #expect(
            names(ToolSelection(), request: ToolSelection(toolsets: ["rewards"]))
                == Set(catalogue.toolsets.first { $0.name == "rewards" }!.tools))
    }
}

@Suite("Against the real sandbox")
struct SandboxBehaviourTests {
    @Test("a rate-limited GET with a short wait is retried once and succeeds")
    func automaticRetry() async throws {
        var configuration = SandboxConfiguration()
        configuration.rateLimits[.admin] = 1
        configuration.rateWindowSeconds = 2  // whole-second windows: 1 s could roll over between two calls
        try await SandboxHarness.with(configuration: configuration) { harness in
            let tools = harness.provider()
            // Two calls must land in one 2 s window; on a loaded machine they may not, so try a few windows.
            var requestsForSecondCall = 0
            for _ in 0..<5 where requestsForSecondCall != 2 {
                _ = await tools.call("list_users", ["limit": 1])
                let before = harness.requestCount("acme")
                let retried = try #require(await tools.call("list_users", ["limit": 1]))
                #expect(!retried.isError, "\(retried.content)")
                requestsForSecondCall = harness.requestCount("acme") - before
            }
            #expect(requestsForSecondCall == 2, "the rate-limited GET was sent twice: refused, then retried")
            let write = try #require(await tools.call("update_challenge", ["challengeId": "0123456789abcdef01234567"]))
            #expect(write.errorCode == "rate_limited")
        }
    }

    @Test("one runtime serves Admin, Viewer and header-narrowed sessions side by side, each with its own tools")
    func viewsPerSession() async throws {
        try await SandboxHarness.with { harness in
            let runtime = harness.runtime()
            let writes = Set(harness.catalogue.tools.filter(\.isWrite).map(\.name))
            func names(_ provider: NudjToolProvider) -> Set<String> { Set(provider.listTools().map(\.name)) }

            let admin = harness.provider(runtime: runtime)
            let viewer = harness.provider(token: "viewer", runtime: runtime)
            let rewards = harness.provider(runtime: runtime, request: ToolSelection(toolsets: ["rewards"]))
            let adminAgain = harness.provider(runtime: runtime)

            #expect(names(admin).count == harness.catalogue.tools.count)
            #expect(names(viewer).isDisjoint(with: writes) && !names(viewer).isEmpty)
            #expect(names(rewards) == Set(harness.catalogue.toolsets.first { $0.name == "rewards" }!.tools))
            #expect(names(adminAgain) == names(admin))
            // Views are built once per (request selection, role) and shared: HTTP builds a provider per request.
            #expect(adminAgain.view === admin.view)
            #expect(viewer.view !== admin.view && rewards.view !== admin.view)
        }
    }

    @Test("x-language picks translated content")
    func language() async throws {
        try await SandboxHarness.with { harness in
            let tools = harness.provider()
            let french = try #require(await tools.call("list_challenges", ["limit": 1, "language": "fr"]))
            #expect(
                french.structuredContent?["items"]?[0]?["details"]?["title"]?.stringValue?.hasPrefix("Défi") == true)
        }
    }
}

@Suite("Fuzzer findings, kept as regression tests")
struct FuzzRegressionTests {
    @Test("validation reports at most 10 issues, however many unknown keys arrive (fuzz/schema finding)")
    func issueLimit() throws {
        let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appending(
            path: "Fixtures/fuzz/schema-many-unknown-keys")
        let bytes = [UInt8](try Data(contentsOf: file)).dropFirst()
        let schema = try CompiledSchema([
            "type": "object", "properties": ["limit": ["type": "integer", "minimum": 1]], "additionalProperties": false,
        ])
        let fuzzed = try JSONParser.parse(Array(bytes))
        #expect(schema.validate(fuzzed).count <= 10)
        var many = JSONObject()
        for index in 0..<5_000 { many["unknown\(index)"] = .int(Int64(index)) }
        let issues = schema.validate(.object(many))
        #expect(issues.count == 10)
    }
}
