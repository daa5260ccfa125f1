import Foundation
import JSONRPC
import Log
import TestSupport
import Testing

@testable import Sandbox

/// The simulator enforces what the Nudj platform documents, over real HTTP.
@Suite("Nudj sandbox")
struct SandboxTests {
    /// Runs `body` against a fresh in-process sandbox.
    static func with(
        _ configuration: SandboxConfiguration = SandboxConfiguration(), _ body: @Sendable (Sandbox) async throws -> Void
    ) async throws {
        let sandbox = try Sandbox(configuration: configuration, logger: .disabled)
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await sandbox.run() }
            do { try await body(sandbox) } catch {
                await sandbox.shutdown(grace: .milliseconds(100))
                throw error
            }
            await sandbox.shutdown(grace: .milliseconds(100))
            try await group.waitForAll()
        }
    }

    /// One request with the given organisation host and headers.
    static func get(
        _ sandbox: Sandbox,
        _ path: String,
        host: String = "acme",
        method: String = "GET",
        headers: [(String, String)] = [],
        body: String? = nil
    ) async throws -> RawHTTPClient.Response {
        let port = sandbox.port
        return try await offPool {
            let client = try RawHTTPClient(port: port)
            var text = "\(method) \(path) HTTP/1.1\r\nHost: \(host).localhost:\(port)\r\n"
            for (name, value) in headers { text += "\(name): \(value)\r\n" }
            if let body { text += "Content-Type: application/json\r\nContent-Length: \(body.utf8.count)\r\n" }
            text += "\r\n" + (body ?? "")
            try client.send(text)
            return try client.readResponse()
        }
    }

    static func bearer(
        _ sandbox: Sandbox, _ organisation: String = "acme", token: String = "admin", domain: String? = nil
    ) -> [(String, String)] {
        let owner = sandbox.organisations.first { $0.subdomain == organisation }!
        return [
            ("Authorization", "Bearer \(owner.tokens[token]!)"),
            ("x-api-domain", sandbox.apiDomain(domain ?? organisation)),
        ]
    }

    static func json(_ response: RawHTTPClient.Response) throws -> JSONValue { try JSONParser.parse(response.body) }

    /// The body as JSON, or null when it is not JSON (so expectations can fail instead of throwing).
    static func parsed(_ response: RawHTTPClient.Response) -> JSONValue {
        (try? JSONParser.parse(response.body)) ?? .null
    }

    @Test(
        "Bearer needs x-api-domain matching both the host's and the token's organisation; errors use the tRPC envelope")
    func bearerTenancy() async throws {
        try await Self.with { sandbox in
            let ok = try await Self.get(sandbox, "/api/v2/admin/challenges?limit=2", headers: Self.bearer(sandbox))
            #expect(ok.status == 200)
            let page = try Self.json(ok)
            #expect(page["edges"]?.arrayValue?.count == 2 && (page["totalCount"]?.intValue ?? 0) > 2)
            #expect(
                ok.header("X-RateLimit-Limit") == "500" && ok.header("X-RateLimit-Remaining") != nil
                    && ok.header("X-RateLimit-Reset") != nil)

            let noDomain = try await Self.get(sandbox, "/api/v2/admin/challenges", headers: [Self.bearer(sandbox)[0]])
            #expect(noDomain.status == 401)
            let foreignToken = try await Self.get(
                sandbox, "/api/v2/admin/challenges", headers: Self.bearer(sandbox, "globex", domain: "acme"))
            #expect(foreignToken.status == 403)
            let envelope = try Self.json(foreignToken)
            #expect(
                envelope["code"] == "FORBIDDEN" && envelope["data"]?["httpStatus"] == 403
                    && envelope["data"]?["path"] == "getChallenges")
            #expect(envelope["message"]?.stringValue?.contains("organisation") == true)
            let wrongHost = try await Self.get(
                sandbox, "/api/v2/admin/challenges", host: "globex", headers: Self.bearer(sandbox))
            #expect(wrongHost.status == 403)
            let anonymous = try await Self.get(sandbox, "/api/v2/admin/challenges")
            #expect(anonymous.status == 401)
            #expect(Self.parsed(anonymous)["code"] == "UNAUTHORIZED")
            let forged = try await Self.get(
                sandbox, "/api/v2/admin/challenges",
                headers: [("Authorization", "Bearer a.b.c"), ("x-api-domain", sandbox.apiDomain("acme"))])
            #expect(forged.status == 401)
            let expired = try await Self.get(
                sandbox, "/api/v2/admin/challenges", headers: Self.bearer(sandbox, token: "expired"))
            #expect(
                expired.status == 401 && Self.parsed(expired)["message"]?.stringValue?.contains("expired") == true)
            let unknownOrganisation = try await Self.get(
                sandbox, "/api/v2/admin/challenges", host: "initech", headers: Self.bearer(sandbox))
            #expect(unknownOrganisation.status == 404)
        }
    }

    @Test("x-api-token is checked against the host's organisation, with or without a Bearer prefix")
    func apiToken() async throws {
        try await Self.with { sandbox in
            let acme = sandbox.organisations[0].tokens["apiToken"]!
            let plain = try await Self.get(sandbox, "/api/v2/admin/users", headers: [("x-api-token", acme)])
            let prefixed = try await Self.get(
                sandbox, "/api/v2/admin/users", headers: [("X-API-TOKEN", "Bearer \(acme)")])
            let foreign = try await Self.get(
                sandbox, "/api/v2/admin/users", host: "globex", headers: [("x-api-token", acme)])
            #expect(plain.status == 200)
            #expect(prefixed.status == 200)
            #expect(foreign.status == 403)
        }
    }

    @Test("Viewer tokens are read-only; unknown and foreign ids are 404; invalid input is 400 naming the field")
    func rbacAndValidation() async throws {
        try await Self.with { sandbox in
            let viewer = Self.bearer(sandbox, token: "viewer")
            #expect(try await Self.get(sandbox, "/api/v2/admin/users", headers: viewer).status == 200)
            let write = try await Self.get(
                sandbox, "/api/v2/admin/users", method: "POST", headers: viewer, body: #"{"email":"v@x.io"}"#)
            #expect(write.status == 403)

            let globexChallenge =
                try Self.json(
                    try await Self.get(
                        sandbox, "/api/v2/admin/challenges?limit=1", host: "globex",
                        headers: Self.bearer(sandbox, "globex")))["edges"]?[0]?["id"]?.stringValue ?? ""
            #expect(
                try await Self.get(
                    sandbox, "/api/v2/admin/challenges/\(globexChallenge)", headers: Self.bearer(sandbox)
                ).status == 404)
            #expect(
                try await Self.get(
                    sandbox, "/api/v2/admin/challenges/0123456789abcdef01234567", headers: Self.bearer(sandbox)
                ).status == 404)

            for query in ["limit=0", "limit=101", "limit=x", "skip=-1"] {
                let bad = try await Self.get(
                    sandbox, "/api/v2/admin/challenges?\(query)", headers: Self.bearer(sandbox))
                #expect(bad.status == 400, "\(query)")
                #expect(Self.parsed(bad)["code"] == "BAD_REQUEST")
            }
            let invalid = try await Self.get(
                sandbox, "/api/v2/admin/challenges/\(globexChallenge)", host: "globex",
                method: "POST", headers: Self.bearer(sandbox, "globex"), body: #"{"status":"sideways"}"#)
            #expect(
                invalid.status == 400
                    && Self.parsed(invalid)["message"]?.stringValue?.contains("body.status") == true)
            let unknownField = try await Self.get(
                sandbox, "/api/v2/admin/challenges/\(globexChallenge)", host: "globex",
                method: "POST", headers: Self.bearer(sandbox, "globex"), body: #"{"colour":"red"}"#)
            #expect(
                unknownField.status == 400
                    && Self.parsed(unknownField)["message"]?.stringValue?.contains("colour") == true)
            let updated = try await Self.get(
                sandbox, "/api/v2/admin/challenges/\(globexChallenge)", host: "globex",
                method: "POST", headers: Self.bearer(sandbox, "globex"), body: #"{"status":"archived"}"#)
            #expect(updated.status == 200)
            #expect(Self.parsed(updated)["status"] == "archived")
        }
    }

    @Test("rate limits are per organisation and per API, with 429 and a reset time")
    func rateLimits() async throws {
        var configuration = SandboxConfiguration()
        configuration.rateLimits[.admin] = 2
        try await Self.with(configuration) { sandbox in
            for _ in 0..<2 {
                #expect(try await Self.get(sandbox, "/api/v2/admin/users", headers: Self.bearer(sandbox)).status == 200)
            }
            let limited = try await Self.get(sandbox, "/api/v2/admin/users", headers: Self.bearer(sandbox))
            #expect(limited.status == 429 && limited.header("X-RateLimit-Remaining") == "0")
            let reset = Double(limited.header("X-RateLimit-Reset") ?? "") ?? 0
            #expect(reset > Date().timeIntervalSince1970 && reset <= Date().timeIntervalSince1970 + 61)
            #expect(
                try await Self.get(
                    sandbox, "/api/v2/admin/users", host: "globex", headers: Self.bearer(sandbox, "globex")
                ).status == 200)
            #expect(try await Self.get(sandbox, "/api/v2/integration/me", headers: Self.bearer(sandbox)).status == 200)
            #expect(sandbox.requestCounts["acme"] == 4)
        }
    }
}
