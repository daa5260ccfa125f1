import Foundation
import JSONRPC
import TestSupport
import Testing

/// `nudj-mcp doctor`, the real binary, against the in-process sandbox and a separately spawned one: every read-only
/// tool works for a good setup, and each bad setup fails clearly with its own exit status, never showing the token.
@Suite("doctor end to end")
struct DoctorEndToEndTests {
    /// One `nudj-mcp doctor` run to completion.
    struct Run {
        let status: Int32
        let stdout: String
        let stderr: String

        init(_ arguments: [String], environment: [String: String] = [:]) throws {
            let process = try ChildProcess(["doctor"] + arguments, environment: environment)
            var lines: [String] = []
            while let line = try process.readLine(timeout: 60) { lines.append(String(decoding: line, as: UTF8.self)) }
            status = try process.waitForExit(timeout: 30)
            stdout = lines.joined(separator: "\n")
            stderr = process.stderrText
        }

        var json: JSONValue { (try? JSONParser.parse(Array(stdout.utf8))) ?? .null }
        var tools: [JSONValue] { json["tools"]?.arrayValue ?? [] }

        /// Neither the tokens nor any long piece of them appear on stdout or stderr.
        func expectNoLeak(of tokens: [String], sourceLocation: SourceLocation = #_sourceLocation) {
            for fragment in tokens.flatMap(TokenHygieneTests.fragments) {
                #expect(!stdout.contains(fragment), "token on stdout", sourceLocation: sourceLocation)
                #expect(!stderr.contains(fragment), "token on stderr", sourceLocation: sourceLocation)
            }
        }
    }

    /// The catalogue's read-only tools, as `nudj-mcp tools --toolsets all --json` lists them.
    static func readOnlyTools() throws -> Set<String> {
        let process = try ChildProcess(["tools", "--toolsets", "all", "--json"])
        let tools = try process.readJSON(timeout: 30).arrayValue ?? []
        return Set(
            tools.filter { $0["annotations"]?["readOnlyHint"] == true }.compactMap { $0["name"]?.stringValue })
    }

    static func insecure(_ sandbox: SandboxProcess, domain: String) -> [String] {
        ["--allow-insecure-localhost", "--api-domain", sandbox.domain(domain)]
    }

    @Test("doctor --sandbox: every read-only tool of the catalogue works, exit 0")
    func inProcessSandbox() async throws {
        try await offPool {
            let readOnly = try Self.readOnlyTools()
            #expect(readOnly.count > 40)
            let run = try Run(["--sandbox", "--json"])
            #expect(run.status == 0, "\(run.stdout)\n\(run.stderr)")
            #expect(run.json["status"] == "ok")
            #expect(Set(run.tools.compactMap { $0["name"]?.stringValue }) == readOnly)
            #expect(run.tools.count == readOnly.count)
            let notWorking = run.tools.filter { $0["outcome"] != "works" }
            #expect(notWorking.isEmpty, "\(notWorking)")
            #expect(run.json["summary"]?["works"]?.intValue == Int64(readOnly.count))
            #expect(run.json["credential"]?["role"] == "Admin")
            #expect(run.json["credential"]?["organisation"] == "acme")
            #expect(run.json["api"]?["reached"] == true)
            #expect(run.json["api"]?["latencyMs"]?.doubleValue != nil)
            // Inferred endpoints are probed too, and say so.
            #expect(run.tools.contains { $0["evidence"] == "inferred" && $0["outcome"] == "works" })
        }
    }

    @Test("against a separate sandbox: all read-only tools work, the human report says so, no token is printed")
    func separateSandbox() async throws {
        try await offPool {
            let readOnly = try Self.readOnlyTools()
            let sandbox = try SandboxProcess()
            let token = sandbox.token("acme")
            let arguments = Self.insecure(sandbox, domain: "acme") + ["--token", token]
            let json = try Run(arguments + ["--json"])
            #expect(json.status == 0, "\(json.stdout)\n\(json.stderr)")
            #expect(json.tools.count == readOnly.count)
            #expect(
                json.tools.allSatisfy { $0["outcome"] == "works" }, "\(json.tools.filter { $0["outcome"] != "works" })")
            json.expectNoLeak(of: [token])

            // Same setup from the environment, human output, with debug logs: still no token anywhere.
            let human = try Run(
                ["--allow-insecure-localhost", "--log-level", "debug"],
                environment: ["NUDJ_MCP_TOKEN": token, "NUDJ_API_DOMAIN": sandbox.domain("acme")])
            #expect(human.status == 0)
            #expect(human.stdout.contains("Summary: \(readOnly.count) read-only tools probed: all work."))
            #expect(human.stdout.contains("role Admin"))
            #expect(human.stdout.contains("Next:"))
            #expect(human.stderr.contains("tool call"), "debug logs must be part of the scan")
            human.expectNoLeak(of: [token])
        }
    }

    @Test("a Viewer token works, and the report shows the role as Viewer")
    func viewer() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let token = sandbox.token("acme", "viewer")
            let run = try Run(Self.insecure(sandbox, domain: "acme") + ["--token", token, "--json"])
            #expect(run.status == 0)
            #expect(run.json["status"] == "ok")
            #expect(run.json["credential"]?["role"] == "Viewer")
            // Sign-in configuration (it holds secrets) is for admins only: the report says the role is too low.
            let adminOnly = run.tools.filter { $0["name"] == "get_auth_config" }
            #expect(adminOnly.count == 1 && adminOnly.allSatisfy { $0["outcome"] == "role_too_low" })
            #expect(run.tools.filter { $0["name"] != "get_auth_config" }.allSatisfy { $0["outcome"] == "works" })
            run.expectNoLeak(of: [token])
            let human = try Run(Self.insecure(sandbox, domain: "acme") + ["--token", token])
            #expect(human.stdout.contains("role Viewer"))
        }
    }

    @Test("bad setups: each fails clearly, with its own exit status, and the token is never printed")
    func failures() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let acme = sandbox.token("acme")
            let expired = sandbox.token("acme", "expired")
            let globex = sandbox.token("globex")
            let globexAPIToken = sandbox.token("globex", "apiToken")
            let tokens = [acme, expired, globex, globexAPIToken]
            let local = Self.insecure(sandbox, domain: "acme")
            let cases:
                [(name: String, arguments: [String], exit: Int32, status: String, problem: String, sends: Bool)] =
                    [
                        ("no credentials", [], 3, "not_configured", "No usable token", false),
                        ("a token but no domain", ["--token", acme], 3, "not_configured", "No API domain", false),
                        (
                            "a domain not allowlisted", ["--api-domain", "https://acme.example.com", "--token", acme],
                            4,
                            "domain_refused", "not allowed", false
                        ),
                        (
                            "plain http to localhost without the flag",
                            ["--api-domain", sandbox.domain("acme"), "--token", acme],
                            4, "domain_refused", "--allow-insecure-localhost", false
                        ),
                        ("an expired token", local + ["--token", expired], 5, "token_expired", "expired", false),
                        (
                            "a token the API rejects", local + ["--token", acme + "x"], 6, "token_rejected",
                            "did not accept", true
                        ),
                        (
                            "globex's token on acme's domain", local + ["--token", globex], 7, "other_organisation",
                            "'globex'", false
                        ),
                        (
                            "globex's legacy API token on acme's domain", local + ["--api-token", globexAPIToken], 7,
                            "other_organisation", "another organisation", true
                        ),
                        (
                            "an API nobody answers on",
                            [
                                "--allow-insecure-localhost", "--api-domain", "http://acme.localhost:1/api/v2/admin",
                                "--token", acme,
                            ],
                            8, "api_unreachable", "Could not reach", false
                        ),
                    ]
            for item in cases {
                let before = try sandbox.requests("acme")
                let run = try Run(item.arguments + ["--json"])
                let after = try sandbox.requests("acme")
                #expect(run.status == item.exit, "\(item.name): \(run.stdout) \(run.stderr)")
                #expect(run.json["status"]?.stringValue == item.status, "\(item.name)")
                #expect(run.json["exitCode"]?.intValue == Int64(item.exit), "\(item.name)")
                let problem = run.json["problem"]?.stringValue ?? ""
                #expect(problem.contains(item.problem), "\(item.name): \(problem)")
                #expect((run.json["next"]?.arrayValue ?? []).count == 1, "\(item.name): one thing to do")
                #expect(run.tools.isEmpty, "\(item.name): no tool is probed")
                #expect((after > before) == item.sends, "\(item.name): requests \(before) → \(after)")
                run.expectNoLeak(of: tokens)

                let human = try Run(item.arguments)
                #expect(human.status == item.exit, "\(item.name)")
                #expect(human.stdout.contains("Problem: "), "\(item.name)")
                human.expectNoLeak(of: tokens)
            }

            // Claims are shown even when the domain is refused, so the fix is obvious; the expiry is marked.
            let refused = try Run(["--api-domain", "https://acme.example.com", "--token", globex, "--json"])
            #expect(refused.json["credential"]?["organisation"] == "globex")
            #expect(refused.json["domain"]?["allowed"] == false)
            let old = try Run(local + ["--token", expired, "--json"])
            #expect(old.json["credential"]?["expired"] == true)
            #expect(old.json["api"] == .null)
        }
    }

    @Test("per-tool outcomes: 404 is endpoint absent, 403 role too low, 429 rate limited, 500 other; exit stays 0")
    func outcomes() async throws {
        try await offPool {
            let readOnly = try Self.readOnlyTools()
            for (status, outcome, code) in [
                ("404", "endpoint_absent", "not_found"), ("403", "role_too_low", "forbidden"),
                ("500", "other", "upstream_error"),
            ] {
                let sandbox = try SandboxProcess(["--fault", "status", "--fault-status", status])
                let token = sandbox.token("acme")
                let run = try Run(Self.insecure(sandbox, domain: "acme") + ["--token", token, "--json"])
                #expect(run.status == 0, "HTTP \(status): \(run.stdout)")
                #expect(run.tools.count == readOnly.count)
                // Lists meet the fault directly; tools needing an id are skipped, since no list supplied one.
                let direct = run.tools.filter { $0["note"] == nil }
                #expect(!direct.isEmpty)
                #expect(
                    direct.allSatisfy { $0["outcome"]?.stringValue == outcome && $0["errorCode"]?.stringValue == code })
                let skipped = run.tools.filter { $0["note"] != nil }
                #expect(!skipped.isEmpty)
                #expect(skipped.allSatisfy { $0["outcome"] == "skipped" })
                run.expectNoLeak(of: [token])
            }

            // The analytics API allows two requests: the third analytics tool is rate limited, the rest works.
            let limited = try SandboxProcess(["--rate-limit-analytics", "2"])
            let run = try Run(Self.insecure(limited, domain: "acme") + ["--token", limited.token("acme"), "--json"])
            #expect(run.status == 0)
            let analytics = run.tools.filter { $0["api"] == "analytics" }
            #expect(analytics.count >= 3)
            #expect(analytics.filter { $0["outcome"] == "works" }.count == 2)
            #expect(analytics.dropFirst(2).allSatisfy { $0["outcome"] == "rate_limited" })
            #expect(run.tools.filter { $0["api"] != "analytics" }.allSatisfy { $0["outcome"] == "works" })

            // A short wait is waited out: the third analytics tool is retried once the 5 s window has passed.
            let brief = try SandboxProcess(["--rate-limit-analytics", "2", "--rate-window", "5"])
            let patient = try Run(Self.insecure(brief, domain: "acme") + ["--token", brief.token("acme"), "--json"])
            #expect(patient.status == 0)
            #expect(
                patient.tools.allSatisfy { $0["outcome"] == "works" },
                "\(patient.tools.filter { $0["outcome"] != "works" })")

            // The API answering 503 is not a working setup.
            let down = try SandboxProcess(["--fault", "status", "--fault-status", "503"])
            let unavailable = try Run(Self.insecure(down, domain: "acme") + ["--token", down.token("acme"), "--json"])
            #expect(unavailable.status == 8)
            #expect(unavailable.json["api"]?["reached"] == false)
        }
    }

    @Test("--toolsets narrows the probe; --help documents every exit status")
    func toolsetsAndHelp() async throws {
        try await offPool {
            let run = try Run(["--sandbox", "--toolsets", "analytics", "--json"])
            #expect(run.status == 0)
            // Analytics tools take their ids from admin lists outside the probed set.
            #expect(run.tools.allSatisfy { $0["toolset"] == "analytics" })
            #expect(!run.tools.isEmpty && run.tools.allSatisfy { $0["outcome"] == "works" })

            let help = try Run(["--help"])
            #expect(help.status == 0)
            for line in [
                "3  not_configured", "4  domain_refused", "5  token_expired", "6  token_rejected",
                "7  other_organisation", "8  api_unreachable",
            ] {
                #expect(help.stdout.contains(line), "\(line)")
            }
            let bad = try Run(["--toolsets", "nope"])
            #expect(bad.status == 2)
        }
    }
}
