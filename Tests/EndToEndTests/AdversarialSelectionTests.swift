import Foundation
import JSONRPC
import TestSupport
import Testing

/// A hostile client tries to lift every restriction the operator configured with a request header, on stateless
/// 2026-07-28 requests and inside a handshake-era session: the tool stays out of `tools/list`, a direct `tools/call`
/// is refused, and nothing reaches the Nudj API.
@Suite("Adversarial: headers cannot widen the server's tool selection")
struct AdversarialSelectionTests {
    struct Attempt: Sendable, CustomTestStringConvertible {
        var flags: [String]
        var headers: [(String, String)]
        var tool: String
        var arguments: JSONObject
        var testDescription: String { "serve \(flags.joined(separator: " ")) + \(headers.map { "\($0.0): \($0.1)" })" }
    }

    static let createCommunity: JSONObject = [
        "name": "Night Owls", "slug": "night-owls", "communityType": "Community", "access": "open",
    ]

    static let attempts = [
        Attempt(
            flags: ["--agent-mode", "planner"], headers: [("x-agent-mode", "builder")], tool: "create_community",
            arguments: createCommunity),
        Attempt(
            flags: ["--read-only"], headers: [("X-MCP-Readonly", "false")], tool: "create_community",
            arguments: createCommunity),
        Attempt(
            flags: ["--toolsets", "users"], headers: [("X-MCP-Toolsets", "all")], tool: "create_community",
            arguments: createCommunity),
        Attempt(
            flags: ["--toolsets", "all", "--exclude-tools", "create_community"],
            headers: [("X-MCP-Tools", "create_community,get_user")], tool: "create_community",
            arguments: createCommunity),
        // No --toolsets: the default toolsets are the cap, so `all` cannot reach a tool outside them.
        Attempt(flags: [], headers: [("X-MCP-Toolsets", "all")], tool: "list_leaderboards", arguments: ["limit": 1]),
    ]

    @Test(
        "a widening header is ignored in tools/list and refused at tools/call, with zero upstream requests",
        arguments: attempts)
    func attempt(_ attempt: Attempt) async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess(attempt.flags)
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme") + attempt.headers
            let before = try sandbox.requests("acme")
            let call: JSONObject = ["name": .string(attempt.tool), "arguments": .object(attempt.arguments)]

            // Stateless 2026-07-28.
            let list = try serve.send(
                "POST", "/mcp", headers: ModernEndToEndTests.modernHeaders("tools/list") + acme,
                body: ModernEndToEndTests.body("tools/list"))
            let listed = list.json["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(!listed.isEmpty, "\(list.status) \(list.text)")
            #expect(!listed.contains(attempt.tool), "stateless tools/list shows \(attempt.tool)")
            let called = try serve.send(
                "POST", "/mcp", headers: ModernEndToEndTests.modernHeaders("tools/call", name: attempt.tool) + acme,
                body: ModernEndToEndTests.body("tools/call", params: call))
            #expect(called.json["result"]?["isError"] == true, "stateless call: \(called.text)")
            #expect(Self.refused(called.json["result"]?.toolErrorCode), "\(called.text)")

            // A handshake-era session initialised with the same headers.
            let session = try serve.initialize(acme)
            let sessionList = try serve.rpc(session, acme, #"{"jsonrpc":"2.0","id":2,"method":"tools/list"}"#)
            let sessionListed =
                sessionList.json["result"]?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
            #expect(!sessionListed.isEmpty && !sessionListed.contains(attempt.tool), "session tools/list")
            let sessionCall = try serve.rpc(
                session, acme,
                JSONWriter.encodeString([
                    "jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": .object(call),
                ]))
            #expect(sessionCall.json["result"]?["isError"] == true, "session call: \(sessionCall.text)")
            #expect(Self.refused(sessionCall.json["result"]?.toolErrorCode), "\(sessionCall.text)")

            #expect(try sandbox.requests("acme") == before, "a refused call reached the Nudj API")
        }
    }

    /// A local refusal: a configuration (`tool_not_enabled`) or, before that code existed, `forbidden`.
    static func refused(_ code: String?) -> Bool { code == "tool_not_enabled" || code == "forbidden" }

    @Test("selection headers naming unknown toolsets or tools are answered 400 with the name")
    func unknownNames() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let serve = try ServeProcess()
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            for header in [("X-MCP-Toolsets", "users,everything"), ("X-MCP-Tools", "drop_database")] {
                let response = try serve.send(
                    "POST", "/mcp", headers: ModernEndToEndTests.modernHeaders("tools/list") + acme + [header],
                    body: ModernEndToEndTests.body("tools/list"))
                #expect(response.status == 400, "\(header)")
                #expect(response.text.contains(header.1.split(separator: ",").last!), "\(response.text)")
            }
        }
    }
}
