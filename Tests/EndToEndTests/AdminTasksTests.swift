import Foundation
import JSONRPC
import TestSupport
import Testing

/// Nudj's own example prompts (and two more admin tasks) as scripted tool sequences, run by the real binary over
/// stdio with the DEFAULT toolsets against a separate sandbox, checked against ground truth read straight from the
/// sandbox's API. Each task reports calls and result tokens (characters / 4); `ADMIN_TASKS_REPORT=<file>` also
/// writes the figures as JSON (for BENCHMARKS.md).
@Suite("Admin tasks end to end")
struct AdminTasksTests {
    /// A stdio session with the default toolsets, counting calls and result characters.
    final class Session: @unchecked Sendable {
        let client: StdioClient
        var calls = 0
        var characters = 0

        init(_ sandbox: SandboxProcess) throws {
            client = try StdioClient(
                ["--allow-insecure-localhost"],
                environment: ["NUDJ_MCP_TOKEN": sandbox.token("acme"), "NUDJ_API_DOMAIN": sandbox.domain("acme")])
            try client.initialize(version: "2025-11-25")
        }

        func call(_ tool: String, _ arguments: JSONObject) throws -> JSONValue {
            let result = try client.call(tool, arguments)
            calls += 1
            characters += result["content"]?[0]?["text"]?.stringValue?.count ?? 0
            #expect(result["isError"] == nil, "\(tool): \(result)")
            return result["structuredContent"] ?? .null
        }

        var tokens: Int { characters / 4 }
    }

    /// Reads the sandbox's API directly (no nudj-mcp): the ground truth.
    struct Truth {
        let sandbox: SandboxProcess

        func get(_ path: String, api: String = "admin") throws -> JSONValue {
            let port = sandbox.port
            let client = try sandbox.client()
            // The organisation is chosen by the Host header, as on the real API.
            try client.send(
                "GET /api/v2/\(api)\(path) HTTP/1.1\r\nHost: acme.localhost:\(port)\r\n"
                    + "Authorization: Bearer \(sandbox.token("acme"))\r\nx-api-domain: \(sandbox.domain("acme"))\r\n\r\n"
            )
            let response = try client.readResponse()
            #expect(response.status == 200, "\(path): \(response.text)")
            return response.json
        }

        func all(_ path: String, api: String = "admin") throws -> [JSONValue] {
            var items: [JSONValue] = []
            while true {
                let separator = path.contains("?") ? "&" : "?"
                let page = try get("\(path)\(separator)limit=100&skip=\(items.count)", api: api)
                let batch = page["edges"]?.arrayValue ?? []
                items += batch
                if batch.isEmpty || items.count >= Int(page["totalCount"]?.intValue ?? 0) { return items }
            }
        }

        /// Completions per challenge and points per UTC day in `[from, to)`, by the tools' documented definitions.
        func activity(from: Date, to: Date) throws -> (completions: [String: Int], pointsByDay: [String: Int64]) {
            let challenges = try all("/challenges")
            var actionsOf: [String: Set<String>] = [:]
            for challenge in challenges {
                actionsOf[challenge["id"]!.stringValue!] = Set(
                    challenge["actionIds"]!.arrayValue!.compactMap(\.stringValue))
            }
            var firstSuccess: [String: [String: [String: Date]]] = [:]  // challenge → user → action → time
            var pointsByDay: [String: Int64] = [:]
            var actionPoints: [String: Int64] = [:]
            for participation in try all("/action-participations", api: "integration") {
                let status = participation["participationStatuses"]?.arrayValue?.last
                let at = try Date(status!["participatedAt"]!.stringValue!, strategy: .iso8601)
                guard at >= from, at < to, status?["criteriaMet"] == true else { continue }
                let actionId = participation["actionId"]!.stringValue!
                if actionPoints[actionId] == nil {
                    actionPoints[actionId] =
                        try get("/actions/\(actionId)/distribution")["pointsToDistribute"]?.intValue ?? 0
                }
                pointsByDay[String(at.ISO8601Format().prefix(10)), default: 0] += actionPoints[actionId]!
                let challenge = participation["allocationId"]!.stringValue!
                let user = participation["userId"]!.stringValue!
                let previous = firstSuccess[challenge, default: [:]][user, default: [:]][actionId]
                firstSuccess[challenge, default: [:]][user, default: [:]][actionId] = min(previous ?? at, at)
            }
            var completions: [String: Int] = [:]
            for (challenge, users) in firstSuccess {
                let required = actionsOf[challenge] ?? []
                for (_, done) in users where !required.isEmpty && Set(done.keys).isSuperset(of: required) {
                    completions[challenge, default: 0] += 1
                    let at = done.filter { required.contains($0.key) }.values.max()!
                    let points = try get("/challenges/\(challenge)/distribution")["pointsToDistribute"]?.intValue ?? 0
                    pointsByDay[String(at.ISO8601Format().prefix(10)), default: 0] += points
                }
            }
            return (completions, pointsByDay)
        }
    }

    static func window(_ result: JSONValue) throws -> (Date, Date) {
        (
            try Date(result["window"]!["from"]!.stringValue!, strategy: .iso8601),
            try Date(result["window"]!["to"]!.stringValue!, strategy: .iso8601)
        )
    }

    @Test("Nudj's example prompts and two admin tasks: answered correctly, within call and token budgets")
    func adminTasks() async throws {
        try await offPool {
            let sandbox = try SandboxProcess()
            let truth = Truth(sandbox: sandbox)
            var report: [String: JSONValue] = [:]
            func record(_ name: String, _ session: Session) {
                report[name] = ["calls": .int(Int64(session.calls)), "resultTokens": .int(Int64(session.tokens))]
                print(
                    "admin task \(name): \(session.calls) calls, \(session.characters) characters, ~\(session.tokens) tokens"
                )
            }

            // 1. "Which challenges were completed most this week?"
            let weekly = try Session(sandbox)
            let ranked = try weekly.call("rank_challenges_by_completions", ["days": 7])
            #expect(ranked["complete"] == true)
            let (weekFrom, weekTo) = try Self.window(ranked)
            let week = try truth.activity(from: weekFrom, to: weekTo)
            let ranking = ranked["ranking"]?.arrayValue ?? []
            #expect(!ranking.isEmpty && ranking[0]["completions"]?.intValue ?? 0 > 0)
            for row in ranking {
                let id = row["challengeId"]!.stringValue!
                #expect(row["completions"]?.intValue == Int64(week.completions[id] ?? 0), "\(id)")
            }
            let best = week.completions.values.max() ?? 0
            #expect(ranking.first?["completions"]?.intValue == Int64(best))
            #expect(ranked["totalCompletions"]?.intValue == Int64(week.completions.values.reduce(0, +)))
            #expect(weekly.calls <= 5 && weekly.tokens <= 8_000)
            record("prompt1_completed_most_this_week", weekly)

            // 2. "Create three space-travel quiz challenges worth 50 points each, tagged 'Science Fans'."
            let builder = try Session(sandbox)
            let tags = try builder.call("list_tags", ["search": "Science Fans", "fields": ["id", "value"]])
            let tagId = try #require(tags["items"]?[0]?["id"]?.stringValue)
            #expect(tags["items"]?[0]?["value"] == "Science Fans")
            let communities = try builder.call("list_communities", ["limit": 1, "fields": ["id"]])
            let communityId = try #require(communities["items"]?[0]?["id"])
            var created: [String] = []
            for (title, question) in [
                ("Mission to Mars", "How long does light take from the Sun to Mars?"),
                ("Moonwalkers", "Who first walked on the Moon?"), ("Orbit Basics", "What keeps the ISS in orbit?"),
            ] {
                let challenge = try builder.call(
                    "create_challenge",
                    ["communityId": communityId, "details": ["title": .string(title)], "tags": [.string(tagId)]])
                let challengeId = try #require(challenge["id"]?.stringValue)
                created.append(challengeId)
                _ = try builder.call(
                    "create_action",
                    [
                        "communityId": communityId, "key": "question-multiple-choice",
                        "allocationId": .string(challengeId), "details": ["title": .string(question)],
                        "attributes": [
                            "question": .string(question),
                            "options": [["id": "a", "label": "The right one"], ["id": "b", "label": "Another"]],
                            "correctAnswers": ["a"],
                        ],
                    ])
                _ = try builder.call(
                    "set_challenge_distribution",
                    [
                        "challengeId": .string(challengeId), "pointsToDistribute": 50, "bonusXpToDistribute": 0,
                        "rewardsConfig": ["mechanism": "all"],
                    ])
            }
            let readBack = try builder.call(
                "get_challenge_distribution", ["challengeId": .string(created[0]), "fields": ["pointsToDistribute"]])
            #expect(readBack == ["pointsToDistribute": 50])
            for id in created {
                let challenge = try truth.get("/challenges/\(id)")
                #expect(challenge["tags"] == [.string(tagId)])
                let actions = challenge["actionIds"]?.arrayValue ?? []
                #expect(actions.count == 1)
                let action = try truth.get("/actions/\(actions.first?.stringValue ?? "")")
                #expect(action["key"] == "question-multiple-choice")
                #expect(try truth.get("/challenges/\(id)/distribution")["pointsToDistribute"] == 50)
            }
            #expect(builder.calls <= 12)
            record("prompt2_three_quiz_challenges", builder)

            // 3. "Summarise points distributed over the last 30 days and flag spikes."
            let analyst = try Session(sandbox)
            let summary = try analyst.call("summarise_points_by_day", ["days": 30])
            #expect(summary["complete"] == true)
            let (monthFrom, monthTo) = try Self.window(summary)
            let month = try truth.activity(from: monthFrom, to: monthTo)
            let days = summary["days"]?.arrayValue ?? []
            #expect(days.count == 30 || days.count == 31)
            for day in days {
                let date = day["date"]!.stringValue!
                #expect(day["points"]?.intValue == month.pointsByDay[date] ?? 0, "\(date)")
            }
            let total = month.pointsByDay.values.reduce(0, +)
            #expect(summary["totalPoints"]?.intValue == total && total > 0)
            let values = days.map { Double(month.pointsByDay[$0["date"]!.stringValue!] ?? 0) }
            let mean = values.reduce(0, +) / Double(values.count)
            let deviation = (values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)).squareRoot()
            let expectedSpikes = days.map { $0["date"]! }.enumerated().filter {
                values[$0.offset] > mean + 2 * deviation
            }
            .map(\.element)
            #expect(!expectedSpikes.isEmpty, "the seed has spike days")
            #expect(summary["spikes"]?.arrayValue?.map { $0["date"]! } == expectedSpikes)
            #expect(analyst.calls <= 5 && analyst.tokens <= 8_000)
            record("prompt3_points_last_30_days", analyst)

            // 4. "Which member has the most points in our biggest community?"
            let lookup = try Session(sandbox)
            let members = try lookup.call(
                "list_users", ["limit": 100, "fields": ["id", "displayName", "points", "communityData.communityId"]])
            #expect(members["page"]?["hasMore"] == false)
            let users = members["items"]?.arrayValue ?? []
            var sizes: [JSONValue: Int] = [:]
            for user in users { sizes[user["communityData"]![0]!["communityId"]!, default: 0] += 1 }
            let biggest = sizes.max { $0.value < $1.value }!.key
            let top = users.filter { $0["communityData"]?[0]?["communityId"] == biggest }
                .max { ($0["points"]?.intValue ?? 0) < ($1["points"]?.intValue ?? 0) }
            let everyone = try truth.all("/users")
            let truthSizes = Dictionary(grouping: everyone) { $0["communityData"]![0]!["communityId"]! }
            let truthBiggest = truthSizes.max { $0.value.count < $1.value.count }!
            let truthTop = truthBiggest.value.max { ($0["points"]?.intValue ?? 0) < ($1["points"]?.intValue ?? 0) }
            #expect(biggest == truthBiggest.key && top?["id"] == truthTop?["id"])
            record("top_member_in_biggest_community", lookup)

            // 5. "Who are our top 5 members by points?": a sorted, projected page against the unprojected list
            //    that was the only way before.
            let leaders = try Session(sandbox)
            let five = try leaders.call(
                "list_users", ["limit": 5, "sort": "-points", "fields": ["displayName", "points"]])
            let expected = everyone.map { $0["points"]?.intValue ?? 0 }.sorted(by: >).prefix(5)
            #expect(five["items"]?.arrayValue?.map { $0["points"]?.intValue ?? -1 } == Array(expected))
            let baseline = try Session(sandbox)
            _ = try baseline.call("list_users", ["limit": 100])
            #expect(leaders.characters * 4 <= baseline.characters, "\(leaders.characters) vs \(baseline.characters)")
            record("top_5_members_by_points", leaders)
            record("top_5_members_by_points_unprojected_baseline", baseline)

            if let path = ProcessInfo.processInfo.environment["ADMIN_TASKS_REPORT"] {
                try Data(
                    JSONWriter.encode(
                        .object(
                            JSONObject(report.sorted { $0.key < $1.key }.map { .init(key: $0.key, value: $0.value) })))
                ).write(to: URL(fileURLWithPath: path))
            }
        }
    }
}
