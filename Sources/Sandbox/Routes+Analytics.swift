import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Analytics API routes (read-only, no x-language): computed from the stored users, rewards, assets and entries.
extension Routes {
    static var analytics: [Route] {
        let range = [Field("startDate", .text), Field("endDate", .text)]
        let recipientsQuery =
            [Field("rewardId", .objectID, required: true)] + range + pagination + [
                Field("sortBy", .enumeration(["name", "quantity", "lastReceived"])),
                Field("sortOrder", .enumeration(["asc", "desc"])),
            ]
        return [
            Route(
                .analytics, "GET", "/users/details", procedure: "getUserDetails",
                query: [Field("userId", .objectID, required: true)]
            ) { context throws(TRPCError) in try userDetails(context) },
            Route(
                .analytics, "GET", "/rewards/stats/allocations", procedure: "getRewardAllocationStats",
                query: [Field("rewardId", .objectID, required: true)] + range
            ) { context throws(TRPCError) in try allocationStats(context) },
            Route(
                .analytics, "GET", "/rewards/stats/recipients", procedure: "getRewardRecipients", query: recipientsQuery
            ) { context throws(TRPCError) in try recipients(context) },
        ]
    }

    /// `startDate`/`endDate` query parameters: dates, in order.
    static func dateRange(_ context: RequestContext) throws(TRPCError) -> (start: Date?, end: Date?) {
        let start = try dateQuery(context, "startDate")
        let end = try dateQuery(context, "endDate")
        if let start, let end, end < start {
            throw .badRequest("Invalid input for query.endDate: must not be before startDate")
        }
        return (start, end)
    }

    static func within(_ text: String?, _ range: (start: Date?, end: Date?)) -> Bool {
        guard range.start != nil || range.end != nil else { return true }
        guard let date = text.flatMap(parseDate) else { return false }
        if let start = range.start, date < start { return false }
        if let end = range.end, date > end.addingTimeInterval(text?.count == 10 ? 86_400 : 0) { return false }
        return true
    }

    // MARK: - Users

    static func userDetails(_ context: RequestContext) throws(TRPCError) -> JSONValue {
        try context.read { data throws(TRPCError) -> JSONValue in
            let userId = context.queryValue("userId") ?? ""
            let user = try CRUD.require(data, .users, userId)
            let communities = user["communityData"]?.arrayValue ?? []
            let assets = data.all(.rewardAssets).filter { $0["userId"]?.stringValue == userId }
            let entries = data.all(.rewardEntries).filter { $0["userId"]?.stringValue == userId }
            let challenges = data.all(.challenges).compactMap { challenge -> JSONValue? in
                guard let id = challenge["id"]?.stringValue, data.singletons[stateKey(userId, id)] != nil else {
                    return nil
                }
                let state = challengeState(challenge, userId: userId, in: data)
                return [
                    "challengeId": .string(id), "title": challenge["details"]?["title"] ?? .null,
                    "status": state["status"] ?? .null, "startedAt": state["startedAt"] ?? .null,
                    "completedAt": state["completedAt"] ?? .null, "timesCompleted": state["timesCompleted"] ?? 0,
                ]
            }
            let achievements = data.all(.achievements).compactMap { achievement -> JSONValue? in
                let progress = achievementProgress(achievement, user: user, in: data)
                guard int(progress["currentValue"]) > 0 else { return nil }
                return [
                    "achievementId": achievement["id"] ?? .null, "title": achievement["details"]?["title"] ?? .null,
                    "status": progress["status"] ?? .null, "currentValue": progress["currentValue"] ?? 0,
                    "targetValue": progress["targetValue"] ?? 0,
                ]
            }
            let stats: JSONObject = [
                "points": .int(int(user["points"])), "keys": .int(int(user["keys"])),
                "totalXp": .int(int(user["xp"]?["total"])), "level": .int(1 + int(user["xp"]?["total"]) / 1_000),
                "challengesStarted": .int(score(user, metric: "total-challenges-started", in: data)),
                "challengesCompleted": .int(totalChallengesCompleted(user)),
                "achievementsCompleted": .int(communities.reduce(0) { $0 + int($1["achievementsCompleted"]) }),
                "actionsCompleted": .int(score(user, metric: "total-actions-completed", in: data)),
                "rewardAssets": .int(Int64(assets.count)),
                "rewardAssetsRedeemed": .int(Int64(assets.filter { !($0["redeemedAt"]?.isNull ?? true) }.count)),
                "rewardEntries": .int(entries.reduce(0) { $0 + int($1["totalEntries"]) }),
                "currentStreak": .int(communities.map { int($0["streak"]?["currentStreak"]) }.max() ?? 0),
                "longestStreak": .int(communities.map { int($0["streak"]?["longestStreak"]) }.max() ?? 0),
                "communities": .int(Int64(communities.count)),
            ]
            return [
                "userId": .string(userId), "username": user["username"] ?? .null, "email": user["email"] ?? .null,
                "displayName": user["displayName"] ?? .null, "profilePictureUrl": user["profilePictureUrl"] ?? .null,
                "createdAt": user["createdAt"] ?? .null, "stats": .object(stats), "xpBreakdown": user["xp"] ?? [:],
                "achievements": .array(achievements), "challenges": .array(challenges),
                "rewardAssets": .array(assets.map { CRUD.present($0, context: context) }),
                "rewardEntries": .array(entries.map { CRUD.present($0, context: context) }),
            ]
        }
    }

    // MARK: - Rewards

    /// Each allocation's supply and distribution, plus a summary. With a date range, `distributed` counts the
    /// reward's assets issued in that range instead of the running total.
    static func allocationStats(_ context: RequestContext) throws(TRPCError) -> JSONValue {
        let range = try dateRange(context)
        return try context.read { data throws(TRPCError) -> JSONValue in
            let reward = try CRUD.require(data, .rewards, context.queryValue("rewardId") ?? "")
            let assets = data.all(.rewardAssets).filter {
                $0["rewardId"] == reward["id"] && within(($0["claimedAt"] ?? $0["createdAt"])?.stringValue, range)
            }
            let filtered = range.start != nil || range.end != nil
            let allocations = (reward["allocations"]?.arrayValue ?? []).enumerated().map { index, value -> JSONObject in
                var allocation = value.objectValue ?? [:]
                if filtered {
                    let issued = assets.filter { asset in
                        asset["allocationId"] == allocation["id"] || (index == 0 && asset["allocationId"] == nil)
                    }
                    allocation["distributed"] = .int(Int64(issued.count))
                }
                let isShop = allocation["isShop"]?.boolValue ?? false
                allocation["sourceName"] = .string(isShop ? "Shop" : "Event")
                allocation["category"] = .string(isShop ? "shop" : "event")
                allocation["primaryImageUrl"] = reward["details"]?["light"]?["primaryImageUrl"] ?? .null
                allocation["eventDetails"] =
                    isShop ? .null : ["category": "reward", "subCategory": "distribution", "sourceId": .null]
                allocation["createdAt"] = allocation["createdAt"] ?? reward["createdAt"] ?? .null
                allocation["updatedAt"] = allocation["updatedAt"] ?? reward["updatedAt"] ?? .null
                return allocation
            }
            let supply = allocations.reduce(0) { $0 + int($1["supply"]) }
            let distributed = allocations.reduce(0) { $0 + int($1["distributed"]) }
            let rate = supply > 0 ? (Double(distributed) / Double(supply) * 10_000).rounded() / 100 : 0
            let shop = allocations.filter { $0["isShop"]?.boolValue == true }.count
            return [
                "allocations": .array(allocations.map(JSONValue.object)),
                "summary": [
                    "totalSupply": .int(supply), "totalDistributed": .int(distributed), "allocationRate": .double(rate),
                    "shopAllocations": .int(Int64(shop)), "eventAllocations": .int(Int64(allocations.count - shop)),
                    "activeAllocations": .int(Int64(allocations.filter { $0["isLive"]?.boolValue == true }.count)),
                    "totalAllocations": .int(Int64(allocations.count)),
                ],
            ]
        }
    }

    /// Users who received a reward (its assets) or entered its giveaway (its entries), one row per user.
    static func recipients(_ context: RequestContext) throws(TRPCError) -> JSONValue {
        let range = try dateRange(context)
        let (rows, reward, entries) = try context.read {
            data throws(TRPCError) -> ([JSONObject], JSONObject, [JSONObject]) in
            let reward = try CRUD.require(data, .rewards, context.queryValue("rewardId") ?? "")
            let assets = data.all(.rewardAssets).filter {
                $0["rewardId"] == reward["id"] && within(($0["claimedAt"] ?? $0["createdAt"])?.stringValue, range)
            }
            let entries = data.all(.rewardEntries).filter {
                $0["rewardId"] == reward["id"] && within($0["createdAt"]?.stringValue, range)
            }
            var order: [String] = []
            for userId in (assets + entries).compactMap({ $0["userId"]?.stringValue }) where !order.contains(userId) {
                order.append(userId)
            }
            let rows = order.map { userId -> JSONObject in
                let user = data.find(.users, id: userId) ?? [:]
                let received = assets.filter { $0["userId"]?.stringValue == userId }
                let mine = entries.filter { $0["userId"]?.stringValue == userId }
                var winning: Int64 = 0
                var losing: Int64 = 0
                var pending: Int64 = 0
                for entry in mine {
                    let tickets = max(1, int(entry["totalEntries"]))
                    switch entry["status"]?.stringValue {
                    case "won"?:
                        winning += 1
                        losing += tickets - 1
                    case "lost"?: losing += tickets
                    default: pending += tickets
                    }
                }
                let last =
                    (received.compactMap { ($0["claimedAt"] ?? $0["createdAt"])?.stringValue }
                    + mine.compactMap { $0["createdAt"]?.stringValue }).max()
                return [
                    "userId": .string(userId), "name": user["displayName"] ?? user["username"] ?? .null,
                    "email": user["email"] ?? .null, "profilePictureUrl": user["profilePictureUrl"] ?? .null,
                    "quantity": .int(Int64(received.count)), "lastReceived": last.map(JSONValue.string) ?? .null,
                    "winningTickets": .int(winning), "losingTickets": .int(losing), "pendingTickets": .int(pending),
                    "entryStatus": mine.first?["status"] ?? .null,
                ]
            }
            return (rows, reward, entries)
        }
        let sortBy = context.queryValue("sortBy") ?? "lastReceived"
        let ascending = context.queryValue("sortOrder") == "asc"
        func less(_ left: JSONObject, _ right: JSONObject) -> Bool {
            switch sortBy {
            case "quantity": int(left["quantity"]) < int(right["quantity"])
            case "name":
                (left["name"]?.stringValue ?? "").lowercased() < (right["name"]?.stringValue ?? "").lowercased()
            default: (left["lastReceived"]?.stringValue ?? "") < (right["lastReceived"]?.stringValue ?? "")
            }
        }
        let sorted = rows.sorted { ascending ? less($0, $1) : less($1, $0) }
        guard case .object(var page) = try CRUD.page(sorted.map(JSONValue.object), context: context, key: "data") else {
            return .null
        }
        let isGiveaway = reward["isManualGiveaway"]?.boolValue == true || !entries.isEmpty
        let drawsAt = reward["drawsAt"]?.stringValue
        let drawn =
            drawsAt.flatMap(parseDate).map { $0 <= Date() } ?? false || entries.contains { $0["status"] != "pending" }
        let winners = entries.filter { $0["status"] == "won" }
        page["rewardType"] = reward["allocationsType"] ?? .null
        page["drawDate"] = drawsAt.map(JSONValue.string) ?? .null
        page["isDrawn"] = .bool(drawn)
        page["distributionType"] =
            isGiveaway ? (reward["isManualGiveaway"] == true ? "manual-giveaway" : "giveaway") : "direct"
        page["winningStats"] =
            isGiveaway
            ? [
                "totalWinners": .int(Int64(Set(winners.compactMap { $0["userId"]?.stringValue }).count)),
                "winnersDistributed": .int(
                    Int64(winners.filter { !($0["rewardAssetIds"]?.arrayValue ?? []).isEmpty }.count)),
                "winnersClaimed": .int(Int64(winners.filter { $0["checkedAt"].map { !$0.isNull } ?? false }.count)),
            ] : .null
        return .object(page)
    }
}
