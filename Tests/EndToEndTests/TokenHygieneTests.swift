import Foundation
import JSONRPC
import TestSupport
import Testing

/// Tokens never appear in logs, errors or tool output: drive both transports through successes, every error class
/// and debug logging with distinctive tokens, then scan everything nudj-mcp wrote (the sandbox, which prints its own
/// tokens by design, is not scanned).
@Suite("Token hygiene")
struct TokenHygieneTests {
    static let canary = "nudj-canary-7f3e9a1c5b2d8e4f6a0c"

    /// The token and pieces of it that would betray a partial leak (a JWT's payload or signature segment).
    static func fragments(_ token: String) -> [String] {
        [token] + token.split(separator: ".").map(String.init).filter { $0.count >= 16 }
    }

    @Test("stdio and HTTP, with debug logs and every error class: no token anywhere in the output")
    func noLeaks() async throws {
        try await offPool {
            let sandbox = try SandboxProcess(["--rate-limit-admin", "4", "--rate-window", "60"])
            let acmeToken = sandbox.token("acme")
            let globexToken = sandbox.token("globex")
            let secrets = [Self.canary, acmeToken, globexToken, sandbox.token("acme", "apiToken")].flatMap(
                Self.fragments)

            // stdio: upstream 401 (canary), claims mismatch, success, validation error, not found, rate limit.
            var outputs: [String] = []
            for (token, domain) in [(Self.canary, "acme"), (globexToken, "acme")] {
                let other = try StdioClient([
                    "--allow-insecure-localhost", "--log-level", "debug", "--token", token, "--api-domain",
                    sandbox.domain(domain),
                ])
                try other.initialize()
                outputs.append(JSONWriter.encodeString(try other.call("list_users")))
                other.process.signal(SIGTERM)
                _ = try other.process.waitForExit()
                outputs.append(other.process.stderrText)
            }
            let stdio = try StdioClient([
                "--allow-insecure-localhost", "--log-level", "debug", "--token", acmeToken, "--api-domain",
                sandbox.domain("acme"),
            ])
            try stdio.initialize()
            _ = try stdio.request("logging/setLevel", ["level": "debug"])
            for call in [
                ("list_users", ["limit": 1] as JSONObject), ("get_challenge", ["challengeId": "nope"]),
                ("get_user", ["userId": "0123456789abcdef01234567"]), ("list_rewards", [:]), ("list_communities", [:]),
            ] {
                outputs.append(JSONWriter.encodeString(try stdio.call(call.0, call.1)))
            }
            stdio.process.signal(SIGTERM)
            _ = try stdio.process.waitForExit()
            outputs.append(stdio.process.stderrText)

            // HTTP: sessions, hijack attempts with other and canary tokens, modern requests, legacy SSE refusals.
            let serve = try ServeProcess(["--log-level", "debug"])
            let acme = ServeProcess.credentials(sandbox, token: "acme", domain: "acme")
            let session = try serve.initialize(acme)
            outputs.append(try serve.rpc(session, acme, HTTPEndToEndTests.callUsers).text)
            for credentials in [
                [("Authorization", "Bearer \(Self.canary)"), ("x-api-domain", sandbox.domain("acme"))],
                ServeProcess.credentials(sandbox, token: "globex", domain: "globex"),
                [("Authorization", "Bearer \(Self.canary)"), ("x-api-domain", "https://evil.example.com")],
                [("x-api-token", Self.canary)],
            ] {
                outputs.append(try serve.rpc(session, credentials, HTTPEndToEndTests.callUsers).text)
            }
            outputs.append(try serve.send("GET", "/sse", headers: [("Authorization", "Bearer \(Self.canary)")]).text)
            serve.process.signal(SIGTERM)
            _ = try serve.process.waitForExit()
            outputs.append(serve.process.stderrText)
            while let line = try serve.process.readLine(timeout: 1) {
                outputs.append(String(decoding: line, as: UTF8.self))
            }

            let everything = outputs.joined(separator: "\n")
            #expect(everything.contains("tool call"), "the scan must cover real logs")
            #expect(
                everything.contains("unauthorized") && everything.contains("rate_limited")
                    && everything.contains("tenant_forbidden"))
            for secret in secrets {
                #expect(!everything.contains(secret), "a token (or a segment of one) leaked into nudj-mcp's output")
            }
        }
    }
}
