import Foundation
import JSONRPC
import MCP
import NudjClient
import Tenancy
import Testing

@testable import NudjTools

/// A runtime over a scripted upstream for `acme`, with the given operator selection.
private func runtime(_ transport: ScriptedTransport, selection: ToolSelection) throws -> NudjRuntime {
    NudjRuntime(
        catalogue: try Catalogue.embedded(),
        client: NudjClient(transport: transport, version: "t", timeout: .seconds(5), logger: .disabled),
        shaper: ResultShaper(budgetTokens: 20_000),
        policy: DomainPolicy(),
        selection: selection,
        logger: .disabled
    )
}

@Suite("Request headers only narrow the server's tool selection")
struct SelectionNarrowingTests {
    static let catalogue = try! Catalogue.embedded()

    /// Every kind of restriction an operator can configure (and none).
    static let servers: [(String, ToolSelection)] = [
        ("no flags (default toolsets)", ToolSelection()),
        ("--toolsets all", ToolSelection(toolsets: ["all"])),
        ("--toolsets users,rewards", ToolSelection(toolsets: ["users", "rewards"])),
        ("--tools get_user,create_community", ToolSelection(tools: ["get_user", "create_community"])),
        (
            "--toolsets all --exclude-tools create_community",
            ToolSelection(toolsets: ["all"], excludedTools: ["create_community"])
        ),
        ("--read-only", ToolSelection(toolsets: ["all"], readOnly: true)),
        ("--agent-mode planner", ToolSelection(toolsets: ["all"], agentMode: .planner)),
        ("--agent-mode builder", ToolSelection(toolsets: ["all"], agentMode: .builder)),
    ]

    /// Every header a request can send (and none), including those that try to widen.
    static let headers: [(String, ToolSelection?)] = [
        ("stdio (no request)", nil),
        ("no headers", ToolSelection()),
        ("X-MCP-Toolsets: all", ToolSelection(toolsets: ["all"])),
        ("X-MCP-Toolsets: default", ToolSelection(toolsets: ["default"])),
        ("X-MCP-Toolsets: communities,leaderboards", ToolSelection(toolsets: ["communities", "leaderboards"])),
        ("X-MCP-Tools: create_community,get_user", ToolSelection(tools: ["create_community", "get_user"])),
        ("X-MCP-Exclude-Tools: list_users", ToolSelection(excludedTools: ["list_users"])),
        ("X-MCP-Readonly: true", ToolSelection(readOnly: true)),
        ("X-MCP-Readonly: false", ToolSelection(readOnly: false)),
        ("x-agent-mode: builder", ToolSelection(agentMode: .builder)),
        ("x-agent-mode: planner", ToolSelection(agentMode: .planner)),
    ]

    static func visible(_ server: ToolSelection, _ request: ToolSelection?) -> Set<String> {
        Set(ToolView(catalogue: catalogue, server: server, request: request).visible.map(\.name))
    }

    static let pairs = servers.indices.flatMap { server in headers.indices.map { (server, $0) } }

    @Test(
        "every server restriction × every header: the session gets exactly the meet of both",
        arguments: pairs.map { "\($0.0)/\($0.1)" })
    func meet(pair: String) {
        let indices = pair.split(separator: "/").map { Int($0)! }
        let (serverName, server) = Self.servers[indices[0]]
        let (headerName, header) = Self.headers[indices[1]]
        let both = Self.visible(server, header)
        let serverAlone = Self.visible(server, nil)
        // What the header allows on a server that allows everything: its own restriction, nothing else.
        let headerAlone = Self.visible(ToolSelection(toolsets: ["all"]), header)
        #expect(both == serverAlone.intersection(headerAlone), "\(serverName) + \(headerName)")
        #expect(both.isSubset(of: serverAlone), "\(headerName) widened \(serverName)")
        let writes = Set(Self.catalogue.tools.filter(\.isWrite).map(\.name))
        if server.readOnly || server.agentMode == .planner || header?.readOnly == true || header?.agentMode == .planner
        {
            #expect(both.isDisjoint(with: writes), "\(serverName) + \(headerName) lists write tools")
        }
    }

    @Test(
        "every server restriction × every header: a call to any tool outside the list is refused before upstream",
        arguments: pairs.map { "\($0.0)/\($0.1)" })
    func callTime(pair: String) async throws {
        let indices = pair.split(separator: "/").map { Int($0)! }
        let (serverName, server) = Self.servers[indices[0]]
        let (headerName, header) = Self.headers[indices[1]]
        let transport = ScriptedTransport([])
        let runtime = try runtime(transport, selection: server)
        let provider = runtime.provider(
            for: runtime.tenant(bearer: "opaque-token-value", apiToken: nil, domain: "acme"), request: header)
        let listed = Set(provider.listTools().map(\.name))
        for tool in Self.catalogue.tools where !listed.contains(tool.name) {
            let result = try #require(await provider.call(tool.name, [:]))
            #expect(result.isError, "\(serverName) + \(headerName): \(tool.name) was callable")
            #expect(
                result.errorCode != "invalid_input",
                "\(serverName) + \(headerName): \(tool.name) reached validation instead of being refused")
        }
        #expect(transport.sent.withLock { $0.isEmpty }, "\(serverName) + \(headerName) reached upstream")
    }

    @Test("a server without --toolsets caps headers at its default toolsets")
    func defaultIsTheCap() {
        let defaults = Set(Self.catalogue.toolsets.filter(\.isDefault).flatMap(\.tools))
        #expect(Self.visible(ToolSelection(), ToolSelection(toolsets: ["all"])) == defaults)
        #expect(Self.visible(ToolSelection(), ToolSelection(toolsets: ["leaderboards"])).isEmpty)
        let rewards = Set(Self.catalogue.toolsets.first { $0.name == "rewards" }!.tools)
        #expect(Self.visible(ToolSelection(), ToolSelection(toolsets: ["rewards", "leaderboards"])) == rewards)
    }

    @Test("the refusal says what to change: the server's flag or the request's header")
    func refusalHints() throws {
        let planner = ToolView(
            catalogue: Self.catalogue, server: ToolSelection(agentMode: .planner),
            request: ToolSelection(agentMode: .builder))
        let create = try #require(Self.catalogue.tool(named: "create_community"))
        #expect(planner.refusal(create) == .planner(byServer: true))
        #expect(planner.refusalError(create)?.hint?.contains("--agent-mode builder") == true)
        let headerPlanner = ToolView(
            catalogue: Self.catalogue, server: ToolSelection(), request: ToolSelection(agentMode: .planner))
        #expect(headerPlanner.refusal(create) == .planner(byServer: false))
        let tag = try #require(Self.catalogue.tool(named: "list_leaderboards"))
        let defaults = ToolView(catalogue: Self.catalogue, server: ToolSelection(), request: ToolSelection())
        #expect(defaults.refusal(tag) == .notEnabledByServer(excluded: false))
        #expect(defaults.refusalError(tag)?.hint?.contains("--toolsets default,leaderboards") == true)
        let narrowed = ToolView(
            catalogue: Self.catalogue, server: ToolSelection(toolsets: ["all"]),
            request: ToolSelection(tools: ["get_user"]))
        #expect(narrowed.refusal(tag) == .notEnabledByRequest)
    }

    @Test("selection headers with unknown names are refused (400), not silently empty")
    func unknownHeaderNames() throws {
        let runtime = try runtime(ScriptedTransport([]), selection: ToolSelection())
        for (name, value) in [
            ("X-MCP-Toolsets", "users,nope"), ("X-MCP-Tools", "get_usr"), ("X-MCP-Exclude-Tools", "x"),
        ] {
            var headers = AuthorizationHeaders()
            for (field, text) in [
                ("Authorization", "Bearer opaque-token-value"), ("x-api-domain", "acme"), (name, value),
            ] {
                headers.add(name: field, value: text)
            }
            guard case .failure(let failure) = runtime.authorize(headers, pathDomain: nil) else {
                Issue.record("\(name): \(value) accepted")
                continue
            }
            #expect(failure.kind == .badHeader)
            #expect(failure.message.contains(name))
        }
    }
}

extension SelectionNarrowingTests {
    @Test("repeated selection headers: lists join (still capped by the server), disagreeing switches are refused")
    func repeatedHeaders() throws {
        let runtime = try runtime(ScriptedTransport([]), selection: ToolSelection(toolsets: ["users", "rewards"]))
        let credentials = [("Authorization", "Bearer opaque-token-value"), ("x-api-domain", "acme")]
        func authorize(_ headers: [(String, String)]) -> Result<AuthorizedRequest, AccessRefusal> {
            var fields = AuthorizationHeaders()
            for (name, value) in credentials + headers { fields.add(name: name, value: value) }
            return runtime.authorize(fields, pathDomain: nil)
        }
        let joined = try authorize([("X-MCP-Toolsets", "users"), ("X-MCP-Toolsets", "rewards,leaderboards")]).get()
        let names = Set(joined.provider.listTools().map(\.name))
        #expect(names.contains("get_user") && names.contains("list_rewards") && !names.contains("list_leaderboards"))
        for (name, first, second) in [
            ("X-MCP-Readonly", "false", "true"), ("x-agent-mode", "builder", "planner"),
        ] {
            guard case .failure(let failure) = authorize([(name, first), (name, second)]) else {
                Issue.record("\(name) repeated with different values was accepted")
                continue
            }
            #expect(failure.kind == .badHeader && failure.message.contains(name))
        }
        let same = try authorize([("X-MCP-Readonly", "true"), ("x-mcp-readonly", "TRUE")]).get()
        #expect(same.provider.view.readOnly)
        let empty = try authorize([("X-MCP-Toolsets", "")]).get()
        #expect(
            empty.provider.listTools().count
                == ToolView(catalogue: Self.catalogue, server: runtime.selection).visible.count)
    }
}

@Suite("Path arguments cannot change the endpoint")
struct PathArgumentTests {
    /// Values a client or server could read as something other than one opaque segment.
    static let hostile = [
        "", ".", "..", "%2e", "%2E%2e", "%252e%252e", "..%2f", "a/b", "a\\b", "a%5cb", "a%2Fb", "\u{0}", "a\u{0}b",
        "a\nb", "a\tb", "a\u{7F}", "%00", "%0d%0a", "\u{FF0E}\u{FF0E}", "a\u{FF0F}b",
    ]

    static let tools = try! Catalogue.embedded().tools.filter { !Catalogue.pathParameters($0.path).isEmpty }

    @Test("a character that normalises (NFKC) to a dot, slash or control character is judged as ICU normalises it")
    func compatibilityForms() {
        var checked = 0
        for value in Array(0x80...0x1_FFFF) + Array(0x2_F800...0x2_FA1F) {
            guard let scalar = Unicode.Scalar(value) else { continue }
            for text in [String(scalar), "a\(scalar)b", "\(scalar)\(scalar)"] {
                let normalised = text.precomposedStringWithCompatibilityMapping
                let reference: Bool =
                    normalised != text
                    && (normalised == "." || normalised == ".."
                        || normalised.unicodeScalars.contains {
                            $0 == "/" || $0 == "\\" || $0.value < 0x20 || (0x7F..<0xA0).contains($0.value)
                        })
                let refused = RequestBuilder.segmentProblem(text) != nil
                // Control characters (0x80-0x9F) are refused as they stand, whatever they normalise to.
                if !(0x80..<0xA0).contains(value) {
                    #expect(
                        refused == reference,
                        "U+\(String(value, radix: 16, uppercase: true)) in \(text.debugDescription)")
                }
                checked += 1
            }
        }
        #expect(checked > 300_000)
    }

    @Test("RequestBuilder refuses every hostile value for every path parameter of every tool")
    func builder() throws {
        #expect(Self.tools.count >= 30)
        for tool in Self.tools {
            for parameter in Catalogue.pathParameters(tool.path) {
                for value in Self.hostile {
                    var arguments: JSONObject = [:]
                    for other in Catalogue.pathParameters(tool.path) { arguments[other] = "x" }
                    arguments[parameter] = .string(value)
                    guard case .failure(let error) = RequestBuilder.build(tool, arguments: arguments) else {
                        Issue.record("\(tool.name) built a request with \(parameter) = \(value.debugDescription)")
                        continue
                    }
                    #expect(error.code == .invalidInput)
                    #expect(error.field == parameter)
                }
            }
        }
    }

    @Test("a header argument cannot carry a line break into the upstream request")
    func headerInjection() throws {
        let tool = try #require(try Catalogue.embedded().tool(named: "list_challenges"))
        for value in ["fr\r\nX-Evil: 1", "fr\n", "\u{0}"] {
            guard case .failure(let error) = RequestBuilder.build(tool, arguments: ["language": .string(value)]) else {
                Issue.record("built a request with language \(value.debugDescription)")
                continue
            }
            #expect(error.code == .invalidInput && error.field == "language")
        }
        guard case .success(let call) = RequestBuilder.build(tool, arguments: ["language": "fr"]) else {
            Issue.record("fr refused")
            return
        }
        #expect(call.language == "fr")
    }

    @Test("ordinary ids, slugs and reserved characters still build one encoded segment")
    func ordinaryValues() throws {
        let tool = try #require(try Catalogue.embedded().tool(named: "integration_get_community"))
        for (value, segment) in [
            ("0123456789abcdef01234567", "0123456789abcdef01234567"), ("night-owls", "night-owls"),
            ("a..b", "a..b"), ("...", "..."), ("a?x=1#y", "a%3Fx%3D1%23y"), ("50% off", "50%25%20off"),
            ("café", "caf%C3%A9"),
        ] {
            guard case .success(let call) = RequestBuilder.build(tool, arguments: ["identifier": .string(value)]) else {
                Issue.record("\(value) refused")
                continue
            }
            #expect(call.path == "/communities/\(segment)")
        }
    }

    @Test("every tool with a path parameter answers a hostile value with invalid_input naming it; nothing is sent")
    func endToEnd() async throws {
        let fixtures = try CatalogueCoverageTests.loadFixtures()
        try await SandboxHarness.with { harness in
            let ids = try await harness.fixtures()
            let provider = harness.provider()
            for tool in Self.tools {
                let base = substitute(fixtures[tool.name]?["arguments"] ?? .object([:]), ids).objectValue ?? [:]
                for parameter in Catalogue.pathParameters(tool.path) {
                    for value in Self.hostile {
                        let before = harness.requestCount("acme")
                        var arguments = base
                        arguments[parameter] = .string(value)
                        let result = try #require(await provider.call(tool.name, arguments))
                        #expect(
                            result.errorCode == "invalid_input",
                            "\(tool.name) \(parameter)=\(value.debugDescription): \(result.errorCode ?? "success")")
                        #expect(result.error?["field"] == .string(parameter), "\(tool.name) \(parameter)")
                        #expect(harness.requestCount("acme") == before, "\(tool.name) \(parameter) reached upstream")
                    }
                }
            }
        }
    }
}

@Suite("Upstream errors never repeat the token")
struct SecretScrubbingTests {
    /// A JWT-shaped token long enough that its segments and slices are distinctive.
    static let token =
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWJkb21haW4iOiJhY21lIiwicm9sZSI6ImFkbWluIn0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi0xMjM0NTY"

    static var pieces: [String] {
        let characters = Array(token)
        return (0...(characters.count - UpstreamErrors.secretPieceLength)).map {
            String(characters[$0..<($0 + UpstreamErrors.secretPieceLength)])
        }
    }

    static var percentEncoded: String { token.utf8.map { String(format: "%%%02X", $0) }.joined() }

    /// tRPC envelopes that reflect the token in every field and every disguise.
    static var echoes: [(String, JSONValue)] {
        let half = token.count / 2
        let first = String(token.prefix(half))
        let second = String(token.dropFirst(half))
        let segments = token.split(separator: ".").map(String.init)
        return [
            ("whole", ["message": .string("Invalid token \(token)"), "code": "UNAUTHORIZED"]),
            ("split by a newline", ["message": .string("Invalid token \(first)\n\(second)"), "code": "UNAUTHORIZED"]),
            ("split by NUL and CR", ["message": .string("t \(first)\u{0}\r\(second)")]),
            (
                "in spaced pieces",
                ["message": .string("parts: \(segments.joined(separator: " ")) \(first) | \(second)")]
            ),
            ("percent-encoded", ["message": .string("Invalid token \(percentEncoded)")]),
            ("after a long prefix", ["message": .string(String(repeating: "x", count: 260) + token)]),
            ("in upstreamCode", ["message": "No", "code": .string(token)]),
            ("a piece in upstreamCode", ["message": "No", "code": .string(String(segments[1].prefix(12)))]),
            ("in data.path", ["message": "No", "data": ["path": .string(token)]]),
            ("a segment in data.path", ["message": "No", "data": ["path": .string("challenge.\(segments[2])")]]),
            ("with zero-width joiners", ["message": .string(token.map { "\($0)\u{200B}" }.joined())]),
        ]
    }

    @Test(
        "an echoing upstream cannot get the token, or any 8-character piece of it, into a tool result",
        arguments: [400, 401, 403, 404, 409, 429, 500, 503])
    func scrubbed(status: Int) async throws {
        for (name, envelope) in Self.echoes {
            let transport = ScriptedTransport([ScriptedTransport.status(status, JSONWriter.encodeString(envelope))])
            let runtime = try runtime(transport, selection: ToolSelection(toolsets: ["all"]))
            let provider = runtime.provider(for: runtime.tenant(bearer: Self.token, apiToken: nil, domain: "acme"))
            let result = try #require(
                await provider.call("update_challenge", ["challengeId": "0123456789abcdef01234567"]))
            #expect(result.isError)
            let rendered =
                JSONWriter.encodeString(.array(result.content))
                + JSONWriter.encodeString(result.structuredContent ?? .null)
            let leaked = Self.pieces.filter { rendered.contains($0) }
            #expect(leaked.isEmpty, "HTTP \(status), token \(name): \(leaked.first ?? "")")
            #expect((result.error?["message"]?.stringValue?.count ?? 0) <= UpstreamErrors.maxMessageLength + 40)
        }
    }

    @Test("identifier-shaped codes and procedures are kept; readable messages stay readable")
    func ordinaryErrors() async throws {
        let envelope: JSONValue = [
            "message": "Invalid input for body.details.title (100% required)", "code": "BAD_REQUEST",
            "data": ["path": "challenge.update"],
        ]
        let transport = ScriptedTransport([ScriptedTransport.status(400, JSONWriter.encodeString(envelope))])
        let runtime = try runtime(transport, selection: ToolSelection(toolsets: ["all"]))
        let provider = runtime.provider(for: runtime.tenant(bearer: Self.token, apiToken: nil, domain: "acme"))
        let result = try #require(await provider.call("update_challenge", ["challengeId": "0123456789abcdef01234567"]))
        #expect(result.error?["message"] == "Invalid input for body.details.title (100% required)")
        #expect(result.error?["upstreamCode"] == "BAD_REQUEST")
        #expect(result.error?["upstreamProcedure"] == "challenge.update")
        #expect(result.error?["field"] == nil)
    }
}
