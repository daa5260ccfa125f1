import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Integration API routes: rewards, the member (`/me`) with their reward assets and entries, and leaderboards.
extension Routes {
    static func rewardView(
        _ reward: JSONObject, _ data: OrganisationData, _ context: RequestContext, user: JSONObject
    )
        -> JSONValue
    {
        guard case .object(var shown) = CRUD.present(reward, context: context) else { return .null }
        shown["tags"] = expand(reward["tags"], .tags, data, context)
        shown["campaigns"] = expand(reward["campaigns"], .campaigns, data, context)
        let userId = user["id"]
        let owned = data.all(.rewardAssets).filter { $0["userId"] == userId && $0["rewardId"] == reward["id"] }.count
        let entries = data.all(.rewardEntries).filter { $0["userId"] == userId && $0["rewardId"] == reward["id"] }
        let points = int(user["points"])
        shown["userState"] = [
            "ownedAssets": .int(Int64(owned)), "entries": .int(entries.reduce(0) { $0 + int($1["totalEntries"]) }),
            "canAffordAsset": .bool(points >= int(reward["assetPointsPrice"])),
            "canAffordEntry": .bool(points >= int(reward["entryPointsPrice"])),
        ]
        return .object(shown)
    }

    static func owned(
        _ data: OrganisationData, _ resource: Resource, _ id: String, _ context: RequestContext
    ) throws(TRPCError)
        -> JSONObject
    {
        guard let entity = data.find(resource, id: id), entity["userId"]?.stringValue == context.identity.userId else {
            throw .notFound("No \(resource.noun) with id '\(id)' for this user")
        }
        return entity
    }

    static func isBadge(_ asset: JSONObject) -> Bool {
        asset["type"] == "badge" || asset["redeemable"]?["type"] == "badge"
    }

    /// The metric a leaderboard ranks by, for one user.
    static func score(_ user: JSONObject, metric: String, in data: OrganisationData) -> Int64 {
        let userId = user["id"]?.stringValue ?? ""
        switch metric {
        case "total-xp": return int(user["xp"]?["total"])
        case "total-challenges-started":
            let started = data.singletons.filter {
                $0.key.hasPrefix("challengeState:\(userId):") && $0.value["startedAt"] != nil
            }
            return max(Int64(started.count), totalChallengesCompleted(user))
        case "total-actions-completed": return Int64(participations(data, userId: userId).filter(succeeded).count)
        default: return totalChallengesCompleted(user)
        }
    }

    static func leaderboardView(
        _ leaderboard: JSONObject, _ data: OrganisationData, _ context: RequestContext
    ) -> JSONValue {
        guard case .object(var shown) = CRUD.present(leaderboard, context: context),
            let id = leaderboard["id"]?.stringValue
        else { return .null }
        let bands = data.singletons["distribution:\(id)"]?["rewards"]?.arrayValue ?? []
        shown["reward"] = .array(
            bands.map { band in
                let items = (band["rewardsConfig"]?["allocations"]?.arrayValue ?? []).compactMap { allocation in
                    allocation["rewardId"]?.stringValue.flatMap { data.find(.rewards, id: $0) }.map {
                        CRUD.present($0, context: context)
                    }
                }
                return [
                    "startRank": band["startRank"] ?? 1, "endRank": band["endRank"] ?? 1,
                    "points": band["pointsToDistribute"] ?? 0, "completionXp": band["bonusXpToDistribute"] ?? 0,
                    "items": .array(items),
                ]
            }
        )
        let communities = (leaderboard["conditions"]?.arrayValue ?? []).compactMap { $0["communityId"] }
        let eligible = data.all(.users).filter { user in
            communities.isEmpty
                || (user["communityData"]?.arrayValue ?? []).contains {
                    communities.contains($0["communityId"] ?? .null)
                }
        }
        let metric = leaderboard["metricType"]?.stringValue ?? "total-xp"
        if let me = eligible.first(where: { $0["id"]?.stringValue == context.identity.userId }) {
            let mine = score(me, metric: metric, in: data)
            let ahead = eligible.filter { score($0, metric: metric, in: data) > mine }.count
            shown["userState"] = [
                "rank": .int(Int64(ahead + 1)), "score": .int(mine), "participants": .int(Int64(eligible.count)),
            ]
        } else {
            shown["userState"] = ["rank": .null, "score": 0, "participants": .int(Int64(eligible.count))]
        }
        return .object(shown)
    }

    static var memberRewards: [Route] {
        [
            Route(.integration, "GET", "/rewards", procedure: "getRewards", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data throws(TRPCError) -> [JSONValue] in
                    let user = try member(data, context)
                    return data.all(.rewards).filter(isLive).map { rewardView($0, data, context, user: user) }
                }
                return try CRUD.page(items, context: context)
            },
            Route(.integration, "GET", "/rewards/{rewardId}", procedure: "getReward") { context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    rewardView(
                        try live(data, .rewards, context.parameter("rewardId")), data, context,
                        user: try member(data, context))
                }
            },
            Route(.integration, "GET", "/me", procedure: "getMe") { context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    let user = try member(data, context)
                    guard case .object(var shown) = CRUD.present(user, context: context) else { return .null }
                    let userId = user["id"]
                    shown["level"] = .int(1 + int(user["xp"]?["total"]) / 1_000)
                    shown["completedChallenges"] = .int(totalChallengesCompleted(user))
                    shown["earnedRewards"] = .int(
                        Int64(data.all(.rewardAssets).filter { $0["userId"] == userId }.count))
                    shown["enteredGiveaways"] = .int(
                        Int64(data.all(.rewardEntries).filter { $0["userId"] == userId }.count))
                    return .object(shown)
                }
            },
            Route(.integration, "GET", "/me/rewards", procedure: "getMyRewardAssets", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data in
                    data.all(.rewardAssets).filter {
                        $0["userId"]?.stringValue == context.identity.userId && !isBadge($0)
                    }
                }
                return try CRUD.page(items, context: context, render: { CRUD.present($0, context: context) })
            },
            Route(.integration, "GET", "/me/rewards/{rewardAssetId}", procedure: "getMyRewardAsset") {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    CRUD.present(
                        try owned(data, .rewardAssets, context.parameter("rewardAssetId"), context), context: context)
                }
            },
            Route(
                .integration, "POST", "/me/rewards/{rewardAssetId}/redeem", procedure: "redeemRewardAsset",
                permission: .member, body: []
            ) { context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    let id = context.parameter("rewardAssetId")
                    var asset = try owned(data, .rewardAssets, id, context)
                    if let redeemed = asset["redeemedAt"], !redeemed.isNull {
                        throw .conflict("Reward asset '\(id)' was already redeemed at \(redeemed.stringValue ?? "")")
                    }
                    let reward = asset["rewardId"]?.stringValue.flatMap { data.find(.rewards, id: $0) }
                    for deadline in [asset["expiresAt"], reward?["redemptionConfig"]?["redeemByDate"]] {
                        if let text = deadline?.stringValue, let date = parseDate(text), date < Date() {
                            throw .badRequest("Reward asset '\(id)' can no longer be redeemed (expired \(text))")
                        }
                    }
                    asset["redeemedAt"] = .string(RequestContext.now)
                    asset["status"] = "redeemed"
                    asset["updatedAt"] = .string(RequestContext.now)
                    _ = data.replace(.rewardAssets, asset)
                    guard case .object(var shown) = CRUD.present(asset, context: context) else { return .null }
                    shown["redemption"] = reward?["redemptionConfig"] ?? .null
                    return .object(shown)
                }
            },
            Route(.integration, "GET", "/me/reward-entries", procedure: "getMyRewardEntries", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data in
                    data.all(.rewardEntries).filter { $0["userId"]?.stringValue == context.identity.userId }
                }
                return try CRUD.page(items, context: context, render: { CRUD.present($0, context: context) })
            },
            Route(.integration, "GET", "/me/reward-entries/{rewardEntryId}", procedure: "getMyRewardEntry") {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    CRUD.present(
                        try owned(data, .rewardEntries, context.parameter("rewardEntryId"), context), context: context)
                }
            },
            Route(
                .integration, "POST", "/me/reward-entries/{rewardEntryId}/check", procedure: "checkMyRewardEntry",
                permission: .member, body: []
            ) { context throws(TRPCError) in try checkEntry(context) },
            Route(.integration, "GET", "/leaderboards/configs", procedure: "getLeaderboardConfigs", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data in
                    data.all(.leaderboards).filter(isLive).map { leaderboardView($0, data, context) }
                }
                return try CRUD.page(items, context: context)
            },
        ]
    }

    /// Settles the member's entry once the draw has happened (no `drawsAt`, or one in the past). The outcome is
    /// deterministic per entry, more likely with more entries; a win issues the reward asset. Checking again returns
    /// the settled entry.
    static func checkEntry(_ context: RequestContext) throws(TRPCError) -> JSONValue {
        let assetId = context.store.newID()
        return try context.write { data throws(TRPCError) -> JSONValue in
            let id = context.parameter("rewardEntryId")
            var entry = try owned(data, .rewardEntries, id, context)
            guard entry["status"] == "pending" else { return CRUD.present(entry, context: context) }
            let reward = entry["rewardId"]?.stringValue.flatMap { data.find(.rewards, id: $0) }
            if let text = reward?["drawsAt"]?.stringValue, let date = parseDate(text), date > Date() {
                throw .badRequest("The draw for this giveaway is at \(text); check the entry after it")
            }
            let draw = id.utf8.reduce(0) { ($0 &* 31 &+ Int($1)) % 1_000 }
            let won = draw % 10 < min(9, Int(int(entry["totalEntries"])) + 2)
            entry["checkedAt"] = .string(RequestContext.now)
            if entry["drawnAt"]?.isNull ?? true { entry["drawnAt"] = .string(RequestContext.now) }
            entry["status"] = won ? "won" : "lost"
            if won, let reward {
                let asset: JSONObject = [
                    "id": .string(assetId), "organisationId": .string(context.identity.organisationId),
                    "communityId": reward["communityId"] ?? .null, "rewardId": reward["id"] ?? .null,
                    "allocationId": reward["allocations"]?.arrayValue?.first?["id"] ?? .null,
                    "userId": .string(context.identity.userId), "details": reward["details"] ?? .null,
                    "redeemable": ["type": reward["redemptionConfig"]?["type"] ?? "rich-text"],
                    "eventCategory": "reward-entry", "eventSourceId": .string(id), "status": "issued",
                    "claimedAt": .string(RequestContext.now), "redeemedAt": .null,
                    "createdAt": .string(RequestContext.now),
                ]
                data.insert(.rewardAssets, asset)
                entry["rewardAssetIds"] = .array((entry["rewardAssetIds"]?.arrayValue ?? []) + [.string(assetId)])
            }
            entry["updatedAt"] = .string(RequestContext.now)
            _ = data.replace(.rewardEntries, entry)
            return CRUD.present(entry, context: context)
        }
    }
}
