import JSONRPC
import MCP
import NudjClient
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Answers the REST API has no endpoint for, computed inside nudj-mcp from documented timestamped data.
///
/// A computed tool is declared in `schemas/` with `"compute": "<kind>"`; this file is the only code that interprets
/// those kinds. Each scan is bounded (pages of 100, at most `maxPages`), reports progress per page, stops when the
/// request is cancelled, and its result says what was scanned and whether the answer is complete.
package enum Computations {
    package static let kinds: Set<String> = ["challenge-completions", "points-by-day"]

    /// Pages of 100 read per scanned list: 2,500 participations, well inside the Integration API's 1,000/min.
    static let maxPages = 25
    /// Distribution look-ups (Admin API, 500/min) per call.
    static let maxLookups = 200

    package static func run(
        _ tool: ToolDefinition,
        arguments: JSONObject,
        tenant: TenantContext,
        client: NudjClient,
        context: ToolCallContext,
        now: Date = Date()
    ) async -> Result<ToolCallResult, ToolError> {
        let window: Window
        switch Window.parse(arguments, defaultDays: tool.computation == "points-by-day" ? 30 : 7, now: now) {
        case .success(let parsed): window = parsed
        case .failure(let error): return .failure(error.scoped(to: tenant.domain, api: tool.api))
        }
        var scanner = Scanner(client: client, tenant: tenant, context: context)
        let result: Result<JSONObject, ToolError>
        switch tool.computation {
        case "challenge-completions":
            let limit = Int(arguments["limit"]?.intValue ?? 10)
            result = await rankChallenges(window: window, limit: limit, scanner: &scanner)
        default:
            result = await pointsByDay(window: window, scanner: &scanner)
        }
        return result.map { ResultShaper.result(.object($0)) }
    }

    // MARK: - Challenges completed in a window

    /// Challenges ranked by completions in the window; a completion is a member whose successful participations
    /// inside the window cover every action of the challenge.
    static func rankChallenges(
        window: Window, limit: Int, scanner: inout Scanner
    ) async -> Result<JSONObject, ToolError> {
        let activity: Activity
        switch await Activity.scan(window: window, scanner: &scanner) {
        case .success(let scanned): activity = scanned
        case .failure(let error): return .failure(error)
        }
        var rows: [JSONObject] = []
        for (challengeId, stats) in activity.byChallenge {
            let challenge = activity.challenges[challengeId]
            rows.append([
                "challengeId": .string(challengeId),
                "title": challenge?["details"]?["title"] ?? .null,
                "status": challenge?["status"] ?? .null,
                "completions": .int(Int64(stats.completions.count)),
                "participants": .int(Int64(stats.participants.count)),
                "lifetimeCompletedCount": challenge?["completedCount"] ?? .null,
            ])
        }
        rows.sort {
            let (a, b) = ($0["completions"]?.intValue ?? 0, $1["completions"]?.intValue ?? 0)
            if a != b { return a > b }
            let (c, d) = ($0["participants"]?.intValue ?? 0, $1["participants"]?.intValue ?? 0)
            if c != d { return c > d }
            return ($0["challengeId"]?.stringValue ?? "") < ($1["challengeId"]?.stringValue ?? "")
        }
        var result: JSONObject = ["window": window.json]
        result["ranking"] = .array(rows.prefix(limit).map(JSONValue.object))
        result["challengesWithActivity"] = .int(Int64(rows.count))
        result["totalCompletions"] = .int(Int64(rows.reduce(0) { $0 + ($1["completions"]?.intValue ?? 0) }))
        result["scanned"] = activity.scannedJSON(scanner)
        result["complete"] = .bool(activity.complete)
        result["method"] =
            "Computed by nudj-mcp from action participations: a completion is a member whose successful participations inside the window cover every action of the challenge; participants took part in the window. lifetimeCompletedCount is the API's all-time total."
        return .success(result)
    }

    // MARK: - Points per day

    /// Points awarded per UTC day in the window: each successful participation earns its action's distribution
    /// points, each completion its challenge's. Spikes are days above mean + 2 standard deviations.
    static func pointsByDay(window: Window, scanner: inout Scanner) async -> Result<JSONObject, ToolError> {
        let activity: Activity
        switch await Activity.scan(window: window, scanner: &scanner) {
        case .success(let scanned): activity = scanned
        case .failure(let error): return .failure(error)
        }
        // Points per action and per challenge, from their distributions (one look-up each, cached).
        var points: [String: Int64] = [:]
        var challengePointsKnown = true
        var lookupsComplete = true
        let actionIds = Set(activity.successes.map(\.actionId)).sorted()
        let challengeIds = activity.byChallenge.filter { !$0.value.completions.isEmpty }.keys.sorted()
        var lookups = 0
        for (index, id) in (actionIds.map { ("actions", $0) } + challengeIds.map { ("challenges", $0) }).enumerated() {
            if id.0 == "challenges" && !challengePointsKnown { continue }
            guard lookups < maxLookups else {
                lookupsComplete = false
                break
            }
            lookups += 1
            if Task.isCancelled { return .failure(scanner.cancelled) }
            let read = await scanner.get(.admin, "/\(id.0)/\(id.1)/distribution")
            scanner.context.progress.report(
                Double(scanner.calls),
                message: "Read distribution \(index + 1) of \(actionIds.count + challengeIds.count)")
            switch read {
            case .success(let distribution):
                points[id.1] = distribution["pointsToDistribute"]?.intValue ?? 0
            case .failure(let error) where error.httpStatus == 404 && id.0 == "challenges":
                challengePointsKnown = false  // the challenge distribution read is inferred; absent upstream
            case .failure(let error):
                return .failure(error)
            }
        }
        var byDay: [String: (points: Int64, participations: Int, completions: Int)] = [:]
        for success in activity.successes {
            byDay[Window.day(success.at), default: (0, 0, 0)].points += points[success.actionId] ?? 0
            byDay[Window.day(success.at), default: (0, 0, 0)].participations += 1
        }
        for (challengeId, stats) in activity.byChallenge {
            for completedAt in stats.completions.values {
                byDay[Window.day(completedAt), default: (0, 0, 0)].completions += 1
                if challengePointsKnown {
                    byDay[Window.day(completedAt), default: (0, 0, 0)].points += points[challengeId] ?? 0
                }
            }
        }
        let days = window.days.map { day -> (String, Int64, Int, Int) in
            let entry = byDay[day] ?? (0, 0, 0)
            return (day, entry.points, entry.participations, entry.completions)
        }
        let total = days.reduce(0) { $0 + $1.1 }
        let mean = days.isEmpty ? 0 : Double(total) / Double(days.count)
        let deviation =
            days.isEmpty
            ? 0
            : (days.reduce(0.0) { $0 + (Double($1.1) - mean) * (Double($1.1) - mean) } / Double(days.count))
                .squareRoot()
        let threshold = mean + 2 * deviation
        var result: JSONObject = ["window": window.json, "totalPoints": .int(total)]
        result["meanPerDay"] = .double((mean * 10).rounded() / 10)
        result["spikes"] = .array(
            days.filter { Double($0.1) > threshold && $0.1 > 0 }.map {
                [
                    "date": .string($0.0), "points": .int($0.1),
                    "timesMean": .double((Double($0.1) / max(mean, 1) * 10).rounded() / 10),
                ]
            })
        result["spikeRule"] = "a day above the mean + 2 standard deviations"
        result["days"] = .array(
            days.map {
                [
                    "date": .string($0.0), "points": .int($0.1), "participations": .int(Int64($0.2)),
                    "completions": .int(Int64($0.3)),
                ]
            })
        result["included"] = [
            "actionPoints": true, "challengeCompletionPoints": .bool(challengePointsKnown),
            "manualDistributionsAndPointsTransactions": false,
        ]
        result["scanned"] = activity.scannedJSON(scanner)
        result["complete"] = .bool(activity.complete && lookupsComplete)
        result["method"] =
            "Computed by nudj-mcp: each successful action participation earns its action's pointsToDistribute and each challenge completion its challenge's (days in UTC). Manual distributions, points transactions and leaderboard prizes are not listed by any documented endpoint and are not included."
        return .success(result)
    }
}

// MARK: - Window

extension Computations {
    /// The time window `[from, to)`: `fromDate`/`toDate` (a plain date `toDate` includes that day), or the last
    /// `days` days up to now.
    struct Window {
        var from: Date
        var to: Date

        static func parse(_ arguments: JSONObject, defaultDays: Int, now: Date) -> Result<Window, ToolError> {
            func date(_ name: String) -> Result<Date?, ToolError> {
                guard let text = arguments[name]?.stringValue else { return .success(nil) }
                if let date = try? Date(text, strategy: .iso8601) { return .success(date) }
                if text.count == 10, let date = try? Date(text + "T00:00:00Z", strategy: .iso8601) {
                    return .success(name == "toDate" ? date.addingTimeInterval(86_400) : date)
                }
                return .failure(
                    ToolError(
                        .invalidInput, "\(name) must be an ISO 8601 date or date-time, e.g. 2026-11-01", field: name))
            }
            let from: Date?
            let to: Date?
            switch (date("fromDate"), date("toDate")) {
            case (.success(let start), .success(let end)): (from, to) = (start, end)
            case (.failure(let error), _), (_, .failure(let error)): return .failure(error)
            }
            let days = Double(arguments["days"]?.intValue ?? Int64(defaultDays))
            let end = to ?? now
            let start = from ?? end.addingTimeInterval(-days * 86_400)
            guard start < end else {
                return .failure(ToolError(.invalidInput, "fromDate must be before toDate", field: "fromDate"))
            }
            guard end.timeIntervalSince(start) <= 366 * 86_400 else {
                return .failure(ToolError(.invalidInput, "The window may span at most 366 days", field: "fromDate"))
            }
            return .success(Window(from: start, to: end))
        }

        func contains(_ date: Date) -> Bool { date >= from && date < to }

        /// Every UTC day the window touches, oldest first.
        var days: [String] {
            var days: [String] = []
            var day = (from.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400
            while day < to.timeIntervalSince1970 {
                days.append(Window.day(Date(timeIntervalSince1970: day)))
                day += 86_400
            }
            return days
        }

        static func day(_ date: Date) -> String { String(date.ISO8601Format().prefix(10)) }

        var json: JSONValue { ["from": .string(from.ISO8601Format()), "to": .string(to.ISO8601Format())] }
    }
}

// MARK: - Scanning

extension Computations {
    /// Upstream reads for one computation: counts calls, reports progress, maps failures to tool errors.
    struct Scanner {
        let client: NudjClient
        let tenant: TenantContext
        let context: ToolCallContext
        var calls = 0

        var cancelled: ToolError { UpstreamErrors.classify(.cancelled, tenant: tenant, timeout: client.timeout) }

        mutating func get(
            _ api: NudjAPI, _ path: String, query: [(name: String, value: String)] = []
        ) async -> Result<JSONValue, ToolError> {
            calls += 1
            let outcome = await client.send(APICall(api: api, method: "GET", path: path, query: query), tenant: tenant)
            switch outcome.result {
            case .failure(let failure):
                return .failure(UpstreamErrors.classify(failure, tenant: tenant, timeout: client.timeout))
            case .success(let response):
                guard (200..<300).contains(response.status) else {
                    return .failure(
                        await OffLoop.run(bodyBytes: response.body.count) {
                            UpstreamErrors.classify(response, tenant: tenant, api: api)
                        })
                }
                let body = response.body
                guard let value = await OffLoop.run(bodyBytes: body.count, { try? JSONParser.parse(body) }) else {
                    return .failure(
                        ToolError(
                            .invalidUpstreamResponse, "The API answered \(path) with a body that is not JSON",
                            httpStatus: response.status, retryable: true
                        ).scoped(to: tenant.domain, api: api))
                }
                return .success(value)
            }
        }

        /// Reads a paginated list 100 at a time, at most `maxPages` pages.
        mutating func pages(
            _ api: NudjAPI, _ path: String, query: [(name: String, value: String)] = [], label: String
        ) async -> Result<(items: [JSONValue], total: Int?, complete: Bool), ToolError> {
            var items: [JSONValue] = []
            var total: Int?
            for _ in 0..<Computations.maxPages {
                if Task.isCancelled { return .failure(cancelled) }
                let page: JSONValue
                switch await get(api, path, query: query + [("limit", "100"), ("skip", String(items.count))]) {
                case .success(let value): page = value
                case .failure(let error): return .failure(error)
                }
                let batch = ["edges", "items", "data"].lazy.compactMap { page[$0]?.arrayValue }.first ?? []
                total = page["totalCount"]?.intValue.map(Int.init)
                items += batch
                context.progress.report(
                    Double(calls), message: "Read \(items.count) of \(total.map(String.init) ?? "?") \(label)")
                if batch.count < 100 || total.map({ items.count >= $0 }) == true {
                    return .success((items, total, true))
                }
            }
            return .success((items, total, false))
        }
    }

    /// Who did what in the window, per challenge, from the action participations and the challenges' actions.
    struct Activity {
        struct Success {
            var actionId: String
            var at: Date
        }

        struct ChallengeStats {
            var participants: Set<String> = []
            /// Completion time per member.
            var completions: [String: Date] = [:]
        }

        var successes: [Success] = []
        var byChallenge: [String: ChallengeStats] = [:]
        var challenges: [String: JSONValue] = [:]
        var participationsRead = 0
        var participationsTotal: Int?
        var complete = true

        static func scan(window: Window, scanner: inout Scanner) async -> Result<Activity, ToolError> {
            var activity = Activity()
            // The API is asked for the window (fromDate/toDate); every item is still checked here, so an API that
            // ignores the filter costs more pages but not a wrong answer.
            let range = [("fromDate", window.from.ISO8601Format()), ("toDate", window.to.ISO8601Format())]
            switch await scanner.pages(.integration, "/action-participations", query: range, label: "participations") {
            case .failure(let error): return .failure(error)
            case .success(let page):
                activity.participationsRead = page.items.count
                activity.participationsTotal = page.total
                activity.complete = page.complete
                var done: [String: [String: [(String, Date)]]] = [:]  // challenge → member → (action, time)
                for item in page.items {
                    let status = item["participationStatuses"]?.arrayValue?.last
                    guard let text = (status?["participatedAt"] ?? item["createdAt"])?.stringValue,
                        let at = try? Date(text, strategy: .iso8601), window.contains(at),
                        let actionId = item["actionId"]?.stringValue, let userId = item["userId"]?.stringValue
                    else { continue }
                    if let challengeId = item["allocationId"]?.stringValue, item["allocatedTo"] != "achievement" {
                        activity.byChallenge[challengeId, default: ChallengeStats()].participants.insert(userId)
                        if status?["criteriaMet"] == true {
                            done[challengeId, default: [:]][userId, default: []].append((actionId, at))
                        }
                    }
                    if status?["criteriaMet"] == true { activity.successes.append(Success(actionId: actionId, at: at)) }
                }
                switch await scanner.pages(.admin, "/challenges", label: "challenges") {
                case .failure(let error): return .failure(error)
                case .success(let challenges):
                    activity.complete = activity.complete && challenges.complete
                    for challenge in challenges.items {
                        if let id = challenge["id"]?.stringValue { activity.challenges[id] = challenge }
                    }
                }
                for (challengeId, members) in done {
                    let required = Set(
                        (activity.challenges[challengeId]?["actionIds"]?.arrayValue ?? []).compactMap(\.stringValue))
                    guard !required.isEmpty else { continue }
                    for (userId, actions) in members {
                        // Completed when every required action has succeeded: at the latest of their first successes.
                        var first: [String: Date] = [:]
                        for (actionId, at) in actions where required.contains(actionId) {
                            first[actionId] = min(first[actionId] ?? at, at)
                        }
                        if first.count == required.count {
                            activity.byChallenge[challengeId]?.completions[userId] = first.values.max()
                        }
                    }
                }
            }
            return .success(activity)
        }

        func scannedJSON(_ scanner: Scanner) -> JSONValue {
            [
                "participations": .int(Int64(participationsRead)),
                "participationsInWindow": participationsTotal.map { .int(Int64($0)) } ?? .null,
                "challenges": .int(Int64(challenges.count)), "upstreamCalls": .int(Int64(scanner.calls)),
            ]
        }
    }
}
