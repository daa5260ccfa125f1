import Foundation
import JSONRPC
import Testing

@testable import Sandbox

/// The pagination guide's list parameters, as the sandbox serves them.
@Suite("Sandbox list parameters")
struct ListQueryTests {
    static func page(_ sandbox: Sandbox, _ path: String) async throws -> JSONValue {
        let response = try await SandboxTests.get(sandbox, path, headers: SandboxTests.bearer(sandbox))
        #expect(response.status == 200, "\(path): \(response.text)")
        return SandboxTests.parsed(response)
    }

    @Test("sort orders by any field (dot paths too, - for descending); an unknown key is 400 Invalid sort key")
    func sort() async throws {
        try await SandboxTests.with { sandbox in
            let all = try await Self.page(sandbox, "/api/v2/admin/users?limit=100")["edges"]?.arrayValue ?? []
            let top = try await Self.page(sandbox, "/api/v2/admin/users?limit=5&sort=-points")
            let expected = all.compactMap { $0["points"]?.intValue }.sorted(by: >).prefix(5)
            #expect(top["edges"]?.arrayValue?.compactMap { $0["points"]?.intValue } == Array(expected))
            #expect(top["totalCount"]?.intValue == Int64(all.count))
            let byTotalXP = try await Self.page(sandbox, "/api/v2/admin/users?limit=3&sort=xp.total")
            let xp = byTotalXP["edges"]?.arrayValue?.compactMap { $0["xp"]?["total"]?.intValue } ?? []
            #expect(xp == xp.sorted() && xp.count == 3)
            let bad = try await SandboxTests.get(
                sandbox, "/api/v2/admin/users?sort=shoeSize", headers: SandboxTests.bearer(sandbox))
            #expect(bad.status == 400 && SandboxTests.parsed(bad)["message"] == "Invalid sort key")
        }
    }

    @Test("search matches titles and names case-insensitively; fromDate/toDate bound createdAt")
    func searchAndDates() async throws {
        try await SandboxTests.with { sandbox in
            let tags = try await Self.page(sandbox, "/api/v2/admin/tags?search=science%20FANS")
            #expect(tags["edges"]?.arrayValue?.map { $0["value"] } == ["Science Fans"])
            let challenges = try await Self.page(sandbox, "/api/v2/admin/challenges?search=sprint&limit=100")
            let titles = challenges["edges"]?.arrayValue?.compactMap { $0["details"]?["title"]?.stringValue } ?? []
            #expect(!titles.isEmpty && titles.allSatisfy { $0.lowercased().contains("sprint") })

            let anchor = sandbox.seedAnchor
            let from = anchor.addingTimeInterval(-7 * 86_400).ISO8601Format()
            let window = try await Self.page(
                sandbox, "/api/v2/integration/action-participations?limit=100&fromDate=\(from)")
            let all = try await Self.page(sandbox, "/api/v2/integration/action-participations?limit=1")
            let count = window["totalCount"]?.intValue ?? 0
            #expect(count > 0 && count < (all["totalCount"]?.intValue ?? 0))
            for item in window["edges"]?.arrayValue ?? [] {
                #expect((item["createdAt"]?.stringValue ?? "") >= from)
            }
            let backwards = try await SandboxTests.get(
                sandbox, "/api/v2/admin/users?fromDate=2026-02-01&toDate=2026-01-01",
                headers: SandboxTests.bearer(sandbox))
            #expect(backwards.status == 400)
        }
    }
}

/// The round-3 endpoints: organisation, sign-in configuration, team invitations.
@Suite("Sandbox organisation settings")
struct OrganisationSettingsTests {
    @Test(
        "auth-config is Admin-only and carries the secret the tools withhold; organisations are visible only to themselves"
    )
    func settings() async throws {
        try await SandboxTests.with { sandbox in
            let config = try await SandboxTests.get(
                sandbox, "/api/v2/admin/auth-config", headers: SandboxTests.bearer(sandbox))
            #expect(config.status == 200)
            #expect(SandboxTests.parsed(config)["oidcProviders"]?[0]?["clientSecret"]?.stringValue?.isEmpty == false)
            let viewer = try await SandboxTests.get(
                sandbox, "/api/v2/admin/auth-config", headers: SandboxTests.bearer(sandbox, token: "viewer"))
            #expect(viewer.status == 403)

            let acme = sandbox.organisations[0].id
            let globex = sandbox.organisations[1].id
            let own = try await SandboxTests.get(
                sandbox, "/api/v2/admin/organisations/\(acme)", headers: SandboxTests.bearer(sandbox))
            #expect(own.status == 200 && SandboxTests.parsed(own)["name"] == "Acme Outdoor")
            let other = try await SandboxTests.get(
                sandbox, "/api/v2/admin/organisations/\(globex)", headers: SandboxTests.bearer(sandbox))
            #expect(other.status == 404)

            let invite = try await SandboxTests.get(
                sandbox, "/api/v2/admin/teams/invite", method: "POST", headers: SandboxTests.bearer(sandbox),
                body: #"{"emails":["ok@acme.example.com","not-an-email"]}"#)
            let results = SandboxTests.parsed(invite)["results"]?.arrayValue ?? []
            #expect(results.map { $0["success"] } == [true, false])
            #expect(SandboxTests.parsed(invite)["success"] == false)
        }
    }
}
