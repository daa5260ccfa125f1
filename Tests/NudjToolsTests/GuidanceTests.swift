import Foundation
import JSONRPC
import MCP
import NudjClient
import Tenancy
import Testing

@testable import NudjTools

/// A JWT-shaped token with `claims` (the signature is not checked locally).
private func token(_ claims: JSONObject) -> String {
    "eyJhbGciOiJIUzI1NiJ9.\(Base64URLTestCodec.encode(JSONWriter.encode(.object(claims)))).c2ln"
}

private func provider(
    _ transport: ScriptedTransport = ScriptedTransport([]),
    token: String = "opaque-token-value",
    server: ToolSelection = ToolSelection(),
    request: ToolSelection? = nil
) throws -> NudjToolProvider {
    let runtime = NudjRuntime(
        catalogue: try Catalogue.embedded(),
        client: NudjClient(transport: transport, version: "t", timeout: .seconds(5), logger: .disabled),
        shaper: ResultShaper(budgetTokens: 20_000),
        policy: DomainPolicy(),
        selection: server,
        logger: .disabled
    )
    return runtime.provider(for: runtime.tenant(bearer: token, apiToken: nil, domain: "acme"), request: request)
}

/// Every value in a structured error, at any depth: no field may be a placeholder.
private func leaves(_ value: JSONValue) -> [JSONValue] {
    switch value {
    case .object(let object): object.flatMap { leaves($0.value) }
    case .array(let elements): elements.flatMap(leaves)
    default: [value]
    }
}

@Suite("Instructions an agent can act on")
struct InstructionsTests {
    static let live = token(["subdomain": "acme", "role": "admin", "exp": 9_999_999_999])

    @Test("toolsets that are off are named, with the flag and env var that enable them; rate limits per API")
    func offToolsets() throws {
        let text = try provider(token: Self.live).instructions
        #expect(text.contains("Connected to the Nudj organisation 'acme'"))
        #expect(text.contains("an Admin-role token"))
        #expect(text.contains("Toolsets off on this server:") && text.contains("leaderboards"))
        #expect(text.contains("--toolsets default,") && text.contains("NUDJ_TOOLSETS"))
        #expect(text.contains("admin API 500 requests/min"))
        #expect(text.contains("integration API 1000 requests/min"))
        #expect(text.contains("analytics API 100 requests/min"))
        #expect(text.contains("tool_not_enabled"))
        #expect(!text.contains("read-only"))
        let all = try provider(token: Self.live, server: ToolSelection(toolsets: ["all"])).instructions
        #expect(!all.contains("Toolsets off"))
    }

    @Test("toolsets a request's headers left out are named with the header that brings them back")
    func narrowedByHeaders() throws {
        let text = try provider(
            token: Self.live, server: ToolSelection(toolsets: ["all"]), request: ToolSelection(toolsets: ["users"])
        ).instructions
        #expect(text.contains("X-MCP-Toolsets") && text.contains("rewards"))
        #expect(!text.contains("Toolsets off on this server"))
    }

    @Test(
        "a read-only session says so and why",
        arguments: [
            ("Viewer", ToolSelection(), nil, "role is Viewer"),
            ("--read-only", ToolSelection(readOnly: true), nil, "--read-only"),
            ("planner", ToolSelection(agentMode: .planner), nil, "agent mode is planner"),
            ("header", ToolSelection(), ToolSelection(readOnly: true), "X-MCP-Readonly"),
            ("header planner", ToolSelection(), ToolSelection(agentMode: .planner), "x-agent-mode: planner"),
        ] as [(String, ToolSelection, ToolSelection?, String)])
    func readOnly(name: String, server: ToolSelection, request: ToolSelection?, reason: String) throws {
        let role = name == "Viewer" ? "viewer" : "admin"
        let text = try provider(
            token: token(["subdomain": "acme", "role": .string(role), "exp": 9_999_999_999]), server: server,
            request: request
        ).instructions
        #expect(text.contains("This session is read-only"), "\(name)")
        #expect(text.contains(reason), "\(name): \(text)")
    }

    @Test("an expired token is announced as expired, not as a working Admin-role token")
    func expired() throws {
        let text = try provider(token: token(["subdomain": "acme", "role": "admin", "exp": 1_000])).instructions
        #expect(text.contains("has expired") && text.contains("token_expired"))
        #expect(!text.contains("Admin-role") && !text.contains("Connected to"))
    }

    @Test("a token of another organisation is not announced as a connection to the domain's organisation")
    func foreignToken() throws {
        let text = try provider(token: token(["subdomain": "globex", "role": "admin", "exp": 9_999_999_999]))
            .instructions
        #expect(!text.contains("Connected to"))
        #expect(text.contains("belongs to the Nudj organisation 'globex'") && text.contains("tenant_forbidden"))
        #expect(text.contains("names the organisation 'acme'"))
    }
}

@Suite("Tool errors an agent can act on")
struct ActionableErrorTests {
    @Test("a tool outside the server's toolsets is tool_not_enabled and names the flag and env var")
    func notEnabledByServer() async throws {
        let result = try #require(await provider().call("list_leaderboards"))
        #expect(result.errorCode == "tool_not_enabled")
        let hint = result.error?["hint"]?.stringValue ?? ""
        #expect(hint.contains("--toolsets default,leaderboards") && hint.contains("NUDJ_TOOLSETS"), "\(hint)")
    }

    @Test("with --tools alone the hint adds the toolset without turning the defaults on")
    func notEnabledWithToolsOnly() async throws {
        let result = try #require(
            await provider(server: ToolSelection(tools: ["get_user"])).call("list_leaderboards"))
        let hint = result.error?["hint"]?.stringValue ?? ""
        #expect(hint.contains("--toolsets leaderboards ") && !hint.contains("default"), "\(hint)")
    }

    @Test("a tool a request's header left out is tool_not_enabled and names the header")
    func notEnabledByRequest() async throws {
        let tools = try provider(server: ToolSelection(toolsets: ["all"]), request: ToolSelection(toolsets: ["users"]))
        let result = try #require(await tools.call("list_leaderboards"))
        #expect(result.errorCode == "tool_not_enabled")
        #expect(result.error?["hint"]?.stringValue?.contains("X-MCP-Toolsets") == true)
    }

    @Test("read-only and planner are configuration (tool_not_enabled); a Viewer's write is a permission (forbidden)")
    func configurationVersusPermission() async throws {
        let arguments: JSONObject = ["challengeId": "0123456789abcdef01234567"]
        let readOnly = try #require(
            await provider(server: ToolSelection(readOnly: true)).call("update_challenge", arguments))
        #expect(readOnly.errorCode == "tool_not_enabled")
        #expect(readOnly.error?["hint"]?.stringValue?.contains("--read-only") == true)
        let planner = try #require(
            await provider(server: ToolSelection(agentMode: .planner)).call("update_challenge", arguments))
        #expect(planner.errorCode == "tool_not_enabled")
        #expect(planner.error?["hint"]?.stringValue?.contains("--agent-mode builder") == true)
        let viewer = try #require(
            await provider(token: token(["subdomain": "acme", "role": "viewer", "exp": 9_999_999_999]))
                .call("update_challenge", arguments))
        #expect(viewer.errorCode == "forbidden")
        let upstream = try #require(
            await provider(ScriptedTransport([ScriptedTransport.status(403, #"{"message":"No","code":"FORBIDDEN"}"#)]))
                .call("update_challenge", arguments))
        #expect(upstream.errorCode == "forbidden")
    }

    @Test("an invalid argument is named in field; the tRPC procedure in upstreamProcedure; nothing is a placeholder")
    func fieldAndProcedure() async throws {
        let invalid = try #require(await provider().call("get_challenge", ["challengeId": "nope"]))
        #expect(invalid.error?["field"] == "challengeId")
        #expect(invalid.error?["path"] == nil && invalid.error?["upstreamProcedure"] == nil)
        #expect(invalid.error?["fields"]?[0]?["field"] == "challengeId")

        let rejected = try #require(
            await provider(
                ScriptedTransport([
                    ScriptedTransport.status(
                        400, #"{"message":"Bad","code":"BAD_REQUEST","data":{"httpStatus":400,"path":"getChallenge"}}"#)
                ])
            ).call("get_challenge", ["challengeId": "0123456789abcdef01234567"]))
        #expect(rejected.error?["upstreamProcedure"] == "getChallenge")
        #expect(rejected.error?["field"] == nil && rejected.error?["path"] == nil)

        let limited = try #require(
            await provider(
                ScriptedTransport([
                    ScriptedTransport.status(
                        429, #"{"message":"Slow down","code":"TOO_MANY_REQUESTS","data":{"path":"unknown"}}"#)
                ])
            ).call("get_challenge", ["challengeId": "0123456789abcdef01234567"]))
        #expect(limited.errorCode == "rate_limited")
        #expect(limited.error?["upstreamProcedure"] == nil)
        for result in [invalid, rejected, limited] {
            let values = leaves(result.structuredContent ?? .null)
            #expect(!values.contains(.null) && !values.contains("unknown"), "\(result.structuredContent ?? .null)")
        }
    }

    @Test("a rate_limited hint gives the limit of the API that was called")
    func rateLimitHint() async throws {
        let tools = try provider(
            ScriptedTransport([
                ScriptedTransport.status(429, "{}", headers: ["retry-after": "30"]),
                ScriptedTransport.status(429, "{}", headers: ["retry-after": "30", "x-ratelimit-limit": "42"]),
            ]),
            server: ToolSelection(toolsets: ["all"]))
        let analytics = try #require(
            await tools.call("analytics_get_user_details", ["userId": "0123456789abcdef01234567"]))
        #expect(analytics.error?["hint"]?.stringValue?.contains("analytics API allows 100 requests/min") == true)
        let admin = try #require(await tools.call("get_user", ["userId": "0123456789abcdef01234567"]))
        #expect(admin.error?["hint"]?.stringValue?.contains("admin API allows 42 requests/min") == true)
    }

    @Test("apiDomain is the API the tool calls, not always the admin API")
    func apiDomain() async throws {
        let tools = try provider(
            ScriptedTransport([ScriptedTransport.status(500), ScriptedTransport.status(500)]),
            server: ToolSelection(toolsets: ["all"]))
        let analytics = try #require(
            await tools.call("analytics_get_user_details", ["userId": "0123456789abcdef01234567"]))
        #expect(analytics.error?["apiDomain"] == "https://acme.nudj.cx/api/v2/analytics")
        let admin = try #require(await tools.call("get_user", ["userId": "0123456789abcdef01234567"]))
        #expect(admin.error?["apiDomain"] == "https://acme.nudj.cx/api/v2/admin")
    }

    @Test("a bad id names the tool its ids come from, and how to enable that tool when it is off")
    func idHints() async throws {
        let arguments: JSONObject = ["challengeId": "0123456789abcdef01234567", "campaigns": ["Spring launch"]]
        let off = try #require(await provider().call("update_challenge", arguments))
        #expect(off.errorCode == "invalid_input" && off.error?["field"] == "campaigns[0]")
        let hint = off.error?["hint"]?.stringValue ?? ""
        #expect(hint.contains("campaigns takes ids from list_campaigns"), "\(hint)")
        #expect(hint.contains("not enabled") && hint.contains("--toolsets default,campaigns"), "\(hint)")

        let on = try #require(
            await provider(server: ToolSelection(toolsets: ["all"])).call("update_challenge", arguments))
        #expect(
            on.error?["hint"]?.stringValue == "campaigns takes ids from list_campaigns: call it and pass an item's id.")

        let missing = try #require(await provider().call("get_challenge"))
        #expect(missing.error?["hint"]?.stringValue?.contains("list_challenges") == true)
    }

    @Test("every x-idSource names a list tool of the catalogue, and none is published in tools/list")
    func idSourcesAreReal() throws {
        let catalogue = try Catalogue.embedded()
        func sources(_ value: JSONValue) -> [String] {
            switch value {
            case .object(let object):
                object.flatMap { entry in
                    entry.key == CompiledSchema.idSourceKeyword
                        ? [entry.value.stringValue ?? "?"] : sources(entry.value)
                }
            case .array(let elements): elements.flatMap(sources)
            default: []
            }
        }
        var count = 0
        for tool in catalogue.tools {
            for source in sources(.object(tool.inputSchema)) {
                count += 1
                let lister = catalogue.tool(named: source)
                #expect(lister?.name.contains("list_") == true, "\(tool.name): x-idSource \(source) is not a list tool")
            }
            #expect(sources(.object(tool.descriptor.inputSchema)).isEmpty, "\(tool.name) publishes x-idSource")
        }
        #expect(count >= 50)
    }
}
