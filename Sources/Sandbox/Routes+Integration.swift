import Foundation
import JSONRPC

/// Integration API routes. They act as the calling member (the token's user): reads show live content with the
/// member's own progress (`userState`), writes change the member's stored state.
extension Routes {
    static var integration: [Route] { memberChallenges + memberActivities + memberRewards }

    // MARK: - Member helpers

    /// Members only see published content.
    static func isLive(_ entity: JSONObject) -> Bool { entity["status"]?.stringValue == "live" }

    static func live(_ data: OrganisationData, _ resource: Resource, _ id: String) throws(TRPCError) -> JSONObject {
        guard let entity = data.find(resource, id: id), isLive(entity) else {
            throw .notFound("No \(resource.noun) with id '\(id)'")
        }
        return entity
    }

    static func member(_ data: OrganisationData, _ context: RequestContext) throws(TRPCError) -> JSONObject {
        guard let user = data.find(.users, id: context.identity.userId) else {
            throw .notFound("User ID not found in API token")
        }
        return user
    }

    static func stateKey(_ userId: String, _ challengeId: String) -> String {
        "challengeState:\(userId):\(challengeId)"
    }

    /// Ids resolved to their entities (tags, campaigns, actions); unknown ids are dropped.
    static func expand(
        _ ids: JSONValue?, _ resource: Resource, _ data: OrganisationData, _ context: RequestContext
    ) -> JSONValue {
        .array(
            (ids?.arrayValue ?? []).compactMap { id in
                id.stringValue.flatMap { data.find(resource, id: $0) }.map { CRUD.present($0, context: context) }
            }
        )
    }

    static func int(_ value: JSONValue?) -> Int64 { value?.intValue ?? Int64(value?.doubleValue ?? 0) }

    static func succeeded(_ participation: JSONObject) -> Bool {
        participation["participationStatuses"]?.arrayValue?.last?["criteriaMet"]?.boolValue == true
    }

    static func participations(_ data: OrganisationData, userId: String) -> [JSONObject] {
        data.all(.participations).filter { $0["userId"]?.stringValue == userId }
    }

    static func totalChallengesCompleted(_ user: JSONObject) -> Int64 {
        (user["communityData"]?.arrayValue ?? []).reduce(0) { $0 + int($1["challengesCompleted"]) }
    }

    /// The member's progress on a challenge: lock, start/completion and actions done.
    static func challengeState(_ challenge: JSONObject, userId: String, in data: OrganisationData) -> JSONObject {
        let id = challenge["id"]?.stringValue ?? ""
        let stored = data.singletons[stateKey(userId, id)]?.objectValue ?? [:]
        let price = int(challenge["unlockPrice"])
        let locked = price > 0 && stored["unlockedAt"] == nil
        let done = Set(
            participations(data, userId: userId).filter { $0["allocationId"]?.stringValue == id && succeeded($0) }
                .compactMap { $0["actionId"]?.stringValue }
        )
        let actionIds = Set((challenge["actionIds"]?.arrayValue ?? []).compactMap(\.stringValue))
        return [
            "status": .string(locked ? "locked" : stored["status"]?.stringValue ?? "not-started"),
            "isLocked": .bool(locked), "unlockPrice": .int(price), "unlockedAt": stored["unlockedAt"] ?? .null,
            "startedAt": stored["startedAt"] ?? .null, "completedAt": stored["completedAt"] ?? .null,
            "timesCompleted": stored["timesCompleted"] ?? 0, "earnedPoints": stored["earnedPoints"] ?? 0,
            "earnedXp": stored["earnedXp"] ?? 0, "completedActions": .int(Int64(actionIds.intersection(done).count)),
            "totalActions": .int(Int64(actionIds.count)),
        ]
    }

    /// A challenge as the Integration API shows it: tags and campaigns as objects, the member's state, optionally
    /// its actions.
    static func challengeView(
        _ challenge: JSONObject,
        _ data: OrganisationData,
        _ context: RequestContext,
        withActions: Bool = false
    ) -> JSONValue {
        guard case .object(var shown) = CRUD.present(challenge, context: context) else { return .null }
        shown["tags"] = expand(challenge["tags"], .tags, data, context)
        shown["campaigns"] = expand(challenge["campaigns"], .campaigns, data, context)
        if withActions { shown["actions"] = expand(challenge["actionIds"], .actions, data, context) }
        shown["userState"] = .object(challengeState(challenge, userId: context.identity.userId, in: data))
        return .object(shown)
    }

    static func groupView(_ group: JSONObject, _ data: OrganisationData, _ context: RequestContext) -> JSONValue {
        guard case .object(var shown) = CRUD.present(group, context: context) else { return .null }
        let challenges = (group["challengeIds"]?.arrayValue ?? []).compactMap { id -> JSONValue? in
            guard let challenge = id.stringValue.flatMap({ data.find(.challenges, id: $0) }), isLive(challenge) else {
                return nil
            }
            return challengeView(challenge, data, context)
        }
        shown["challenges"] = .array(challenges)
        return .object(shown)
    }

    /// Adds `amount` XP: `xpConfig`-style objects add per kind, and to the total.
    static func addXP(_ user: inout JSONObject, _ award: JSONObject) {
        var xp = user["xp"]?.objectValue ?? [:]
        var total = int(xp["total"])
        var gained: Int64 = 0
        for entry in award where entry.key != "total" {
            xp[entry.key] = .int(int(xp[entry.key]) + int(entry.value))
            gained += int(entry.value)
        }
        total += award["total"].map { int($0) } ?? gained
        xp["total"] = .int(total)
        user["xp"] = .object(xp)
    }

    // MARK: - Challenges and groups

    static var memberChallenges: [Route] {
        [
            Route(.integration, "GET", "/challenges", procedure: "getChallenges", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data in
                    data.all(.challenges).filter(isLive).map { challengeView($0, data, context) }
                }
                return try CRUD.page(items, context: context)
            },
            Route(.integration, "GET", "/challenges/{challengeId}", procedure: "getChallenge") {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    let challenge = try live(data, .challenges, context.parameter("challengeId"))
                    return challengeView(challenge, data, context, withActions: true)
                }
            },
            Route(
                .integration, "POST", "/challenges/{id}/unlock", procedure: "unlockChallenge", permission: .member,
                body: [Field("amount", .integer(minimum: 1), required: true)]
            ) { context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    let id = context.parameter("id")
                    let challenge = try live(data, .challenges, id)
                    var user = try member(data, context)
                    let price = int(challenge["unlockPrice"])
                    guard price > 0 else { throw .badRequest("Challenge '\(id)' is not locked") }
                    let key = stateKey(context.identity.userId, id)
                    var state = data.singletons[key]?.objectValue ?? [:]
                    if state["unlockedAt"] != nil { throw .conflict("Challenge '\(id)' is already unlocked") }
                    let amount = int(context.body["amount"])
                    if amount < price {
                        throw .badRequest(
                            "Invalid input for body.amount: unlocking this challenge costs \(price) key(s)")
                    }
                    let keys = int(user["keys"])
                    if keys < amount {
                        throw .badRequest("Not enough keys: tried to spend \(amount), balance is \(keys)")
                    }
                    user["keys"] = .int(keys - price)
                    _ = data.replace(.users, user)
                    state["unlockedAt"] = .string(RequestContext.now)
                    data.singletons[key] = .object(state)
                    return ["amountDebited": .int(price), "challengeStatus": "unlocked"]
                }
            },
            Route(
                .integration, "POST", "/challenges/{id}/start", procedure: "startChallenge", permission: .member,
                body: []
            ) {
                context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    let id = context.parameter("id")
                    var challenge = try live(data, .challenges, id)
                    _ = try member(data, context)
                    let key = stateKey(context.identity.userId, id)
                    var state = data.singletons[key]?.objectValue ?? [:]
                    let price = int(challenge["unlockPrice"])
                    if price > 0 && state["unlockedAt"] == nil {
                        throw .badRequest("Challenge '\(id)' is locked: spend \(price) key(s) to unlock it first")
                    }
                    if state["status"] == "started" { throw .conflict("Challenge '\(id)' is already in progress") }
                    let limit = int(challenge["maxCompletionsPerPeriod"])
                    if limit > 0 && int(state["timesCompleted"]) >= limit {
                        throw .conflict(
                            "Challenge '\(id)' was already completed the maximum number of times (\(limit))")
                    }
                    let firstStart = state["startedAt"] == nil
                    state["status"] = "started"
                    state["startedAt"] = .string(RequestContext.now)
                    data.singletons[key] = .object(state)
                    challenge["startedCount"] = .int(int(challenge["startedCount"]) + 1)
                    if firstStart {
                        challenge["uniqueUsersStartedCount"] = .int(int(challenge["uniqueUsersStartedCount"]) + 1)
                    }
                    _ = data.replace(.challenges, challenge)
                    return challengeView(challenge, data, context)
                }
            },
            Route(
                .integration, "POST", "/challenges/{id}/complete", procedure: "completeChallenge", permission: .member,
                body: []
            ) { context throws(TRPCError) in try completeChallenge(context) },
            Route(.integration, "GET", "/challenge-groups", procedure: "getChallengeGroups", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data in
                    data.all(.challengeGroups).filter(isLive).map { groupView($0, data, context) }
                }
                return try CRUD.page(items, context: context)
            },
            Route(.integration, "GET", "/challenge-groups/{challengeGroupId}", procedure: "getChallengeGroup") {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    groupView(try live(data, .challengeGroups, context.parameter("challengeGroupId")), data, context)
                }
            },
            Route(.integration, "GET", "/communities/{identifier}", procedure: "getCommunity") {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    let identifier = context.parameter("identifier")
                    guard
                        let community = data.find(.communities, id: identifier)
                            ?? data.all(.communities).first(where: { $0["slug"]?.stringValue == identifier }),
                        isLive(community)
                    else { throw .notFound("No community with id or slug '\(identifier)'") }
                    let user = try member(data, context)
                    let membership = (user["communityData"]?.arrayValue ?? []).first {
                        $0["communityId"] == community["id"]
                    }
                    guard case .object(var shown) = CRUD.present(community, context: context) else { return .null }
                    shown["userState"] = [
                        "isMember": .bool(membership != nil),
                        "hasAcceptedRules": membership?["hasAcceptedRules"] ?? false,
                        "points": membership?["points"] ?? 0,
                        "challengesCompleted": membership?["challengesCompleted"] ?? 0,
                        "streak": membership?["streak"] ?? .null,
                    ]
                    return .object(shown)
                }
            },
        ]
    }

    /// Completes a started challenge: counts it, and pays out the challenge's distribution (points and bonus XP).
    static func completeChallenge(_ context: RequestContext) throws(TRPCError) -> JSONValue {
        try context.write { data throws(TRPCError) -> JSONValue in
            let id = context.parameter("id")
            var challenge = try live(data, .challenges, id)
            var user = try member(data, context)
            let key = stateKey(context.identity.userId, id)
            var state = data.singletons[key]?.objectValue ?? [:]
            switch state["status"]?.stringValue {
            case "started": break
            case "completed": throw .conflict("Challenge '\(id)' is already completed; start it again to repeat it")
            default: throw .badRequest("Challenge '\(id)' has not been started")
            }
            let distribution = data.singletons["distribution:\(id)"]
            let points = int(distribution?["pointsToDistribute"])
            let bonusXP = int(distribution?["bonusXpToDistribute"])
            let firstCompletion = state["completedAt"] == nil
            state["status"] = "completed"
            state["completedAt"] = .string(RequestContext.now)
            state["timesCompleted"] = .int(int(state["timesCompleted"]) + 1)
            state["earnedPoints"] = .int(int(state["earnedPoints"]) + points)
            state["earnedXp"] = .int(int(state["earnedXp"]) + bonusXP)
            data.singletons[key] = .object(state)

            challenge["completedCount"] = .int(int(challenge["completedCount"]) + 1)
            if firstCompletion {
                challenge["uniqueUsersCompletedCount"] = .int(int(challenge["uniqueUsersCompletedCount"]) + 1)
            }
            _ = data.replace(.challenges, challenge)

            var communities = user["communityData"]?.arrayValue ?? []
            let index = communities.firstIndex { $0["communityId"] == challenge["communityId"] }
            var entry =
                index.flatMap { communities[$0].objectValue }
                ?? ["communityId": challenge["communityId"] ?? .null, "challengesCompleted": 0, "points": 0]
            entry["challengesCompleted"] = .int(int(entry["challengesCompleted"]) + 1)
            entry["points"] = .int(int(entry["points"]) + points)
            if let index { communities[index] = .object(entry) } else { communities.append(.object(entry)) }
            user["communityData"] = .array(communities)
            user["points"] = .int(int(user["points"]) + points)
            if bonusXP > 0 { addXP(&user, ["total": .int(bonusXP)]) }
            _ = data.replace(.users, user)
            return challengeView(challenge, data, context)
        }
    }

    // MARK: - Actions and achievements

    static func actionView(_ action: JSONObject, _ data: OrganisationData, _ context: RequestContext) -> JSONValue {
        guard case .object(var shown) = CRUD.present(action, context: context), let id = action["id"]?.stringValue
        else {
            return .null
        }
        let xpConfig = action["xpConfig"]?.objectValue ?? [:]
        let totalXP = xpConfig["total"].map { int($0) } ?? xpConfig.reduce(0) { $0 + int($1.value) }
        shown["stats"] = ["totalXp": .int(totalXP)]
        let distribution = data.singletons["distribution:\(id)"]
        let items = (distribution?["rewardsConfig"]?["allocations"]?.arrayValue ?? []).compactMap { allocation in
            allocation["rewardId"]?.stringValue.flatMap { data.find(.rewards, id: $0) }.map {
                CRUD.present($0, context: context)
            }
        }
        shown["reward"] = [
            "points": distribution?["pointsToDistribute"] ?? 0,
            "completionXp": distribution?["bonusXpToDistribute"] ?? 0,
            "items": .array(items), "rewardSelectionMethod": distribution?["rewardsConfig"]?["mechanism"] ?? "all",
            "numberOfRewardsToReceive": distribution?["rewardsConfig"]?["amountToDistribute"] ?? 0,
            "distributionEventId": .null,
        ]
        let mine = participations(data, userId: context.identity.userId).filter { $0["actionId"]?.stringValue == id }
        let completed = mine.filter(succeeded)
        let status: String
        if !completed.isEmpty {
            status = "completed"
        } else if mine.contains(where: { $0["participationStatuses"]?.arrayValue?.last?["status"] == "pending" }) {
            status = "pending"
        } else {
            status = mine.isEmpty ? "not-started" : "failed"
        }
        shown["userState"] = [
            "status": .string(status), "timesCompleted": .int(Int64(completed.count)),
            "lastParticipatedAt": mine.first?["createdAt"] ?? .null,
        ]
        shown["participations"] = .array(mine.map { CRUD.present($0, context: context) })
        return .object(shown)
    }

    /// Progress towards an achievement, computed from what the member did: completed challenges, successful action
    /// participations and logged custom events, summed over the achievement's event queries.
    static func achievementProgress(
        _ achievement: JSONObject, user: JSONObject, in data: OrganisationData
    ) -> JSONObject {
        let userId = user["id"]?.stringValue ?? ""
        let target = max(1, int(achievement["criteria"]?["parameters"]?["value"]))
        var current: Int64 = 0
        for query in achievement["queries"]?.arrayValue ?? [] {
            switch query["parameters"]?["eventName"]?.stringValue {
            case "challenge-completion"?: current += totalChallengesCompleted(user)
            case "action-participation"?: current += Int64(participations(data, userId: userId).filter(succeeded).count)
            case let name?:
                current += Int64(
                    data.all(.customEvents).filter {
                        $0["userId"]?.stringValue == userId && $0["name"]?.stringValue == name
                    }.count
                )
            case nil: break
            }
        }
        let complete = current >= target
        return [
            "status": .string(complete ? "completed" : current > 0 ? "in-progress" : "not-started"),
            "isComplete": .bool(complete), "currentValue": .int(min(current, target)), "targetValue": .int(target),
            "timesCompleted": .int(complete ? 1 : 0), "isClaimable": false, "isClaimed": .bool(complete),
            "progressResetsAt": .null,
        ]
    }

    static func achievementView(
        _ achievement: JSONObject, _ data: OrganisationData, _ context: RequestContext
    ) throws(TRPCError)
        -> JSONValue
    {
        let user = try member(data, context)
        guard case .object(var shown) = CRUD.present(achievement, context: context) else { return .null }
        shown["userState"] = .object(achievementProgress(achievement, user: user, in: data))
        return .object(shown)
    }

    static var memberActivities: [Route] {
        let participation = [
            Field("actionId", .objectID, required: true), Field("actionInput", .object, required: true),
            Field("allocationId", .objectID, required: true), Field("communityId", .objectID),
            Field("isPreview", .boolean),
        ]
        return [
            Route(.integration, "GET", "/actions", procedure: "getActions", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data in data.all(.actions).map { actionView($0, data, context) } }
                return try CRUD.page(items, context: context)
            },
            Route(.integration, "GET", "/actions/{actionId}", procedure: "getAction") { context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    let id = context.parameter("actionId")
                    let action = try CRUD.require(data, .actions, id)
                    guard case .object(var shown) = actionView(action, data, context) else { return .null }
                    let siblings =
                        data.all(.challenges).first {
                            isLive($0) && ($0["actionIds"]?.arrayValue ?? []).contains(.string(id))
                        }?[
                            "actionIds"]?.arrayValue ?? []
                    let position = siblings.firstIndex(of: .string(id))
                    func neighbour(_ offset: Int) -> JSONValue {
                        guard let position, siblings.indices.contains(position + offset),
                            let other = siblings[position + offset].stringValue.flatMap({ data.find(.actions, id: $0) })
                        else { return .null }
                        return [
                            "id": other["id"] ?? .null, "key": other["key"] ?? .null,
                            "details": other["details"] ?? .null,
                        ]
                    }
                    shown["previousAction"] = neighbour(-1)
                    shown["nextAction"] = neighbour(1)
                    return .object(shown)
                }
            },
            Route(
                .integration, "POST", "/action-participations", procedure: "createActionParticipation",
                permission: .member, body: participation
            ) { context throws(TRPCError) in try participate(context) },
            Route(.integration, "GET", "/achievements", procedure: "getAchievements", query: listing) {
                context throws(TRPCError) in
                let items = try context.read { data throws(TRPCError) -> [JSONValue] in
                    var items: [JSONValue] = []
                    for achievement in data.all(.achievements) where isLive(achievement) {
                        items.append(try achievementView(achievement, data, context))
                    }
                    return items
                }
                return try CRUD.page(items, context: context)
            },
            Route(.integration, "GET", "/achievements/{achievementId}", procedure: "getAchievement") {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    try achievementView(
                        try live(data, .achievements, context.parameter("achievementId")), data, context)
                }
            },
        ]
    }

    /// Records the member's attempt at an action: checks it belongs to the allocation, the input key, the lock and
    /// completion limit, evaluates answers with a correct answer, and awards the action's XP on success.
    static func participate(_ context: RequestContext) throws(TRPCError) -> JSONValue {
        let participationId = context.store.newID()
        let statusId = context.store.newID()
        return try context.write { data throws(TRPCError) -> JSONValue in
            var user = try member(data, context)
            let userId = context.identity.userId
            let actionId = context.body["actionId"]?.stringValue ?? ""
            let allocationId = context.body["allocationId"]?.stringValue ?? ""
            let action = try CRUD.require(data, .actions, actionId)
            let challenge = data.find(.challenges, id: allocationId).flatMap { isLive($0) ? $0 : nil }
            let achievement = data.find(.achievements, id: allocationId).flatMap { isLive($0) ? $0 : nil }
            guard challenge != nil || achievement != nil else {
                throw .notFound("No challenge or achievement with id '\(allocationId)' (body.allocationId)")
            }
            let inChallenge = challenge?["actionIds"]?.arrayValue?.contains(.string(actionId)) ?? false
            guard inChallenge || action["allocationId"]?.stringValue == allocationId else {
                throw .badRequest(
                    "Invalid input for body.allocationId: action '\(actionId)' is not part of '\(allocationId)'")
            }
            let input = context.body["actionInput"]?.objectValue ?? [:]
            let expectedKey = action["key"]?.stringValue ?? ""
            guard let key = input["key"]?.stringValue else { throw .badRequest("Required: body.actionInput.key") }
            guard key == expectedKey else {
                throw .badRequest("Invalid input for body.actionInput.key: expected '\(expectedKey)' for this action")
            }
            try CRUD.checkReferences(context.body, [("communityId", .communities)], in: data)
            let challengeKey = stateKey(userId, allocationId)
            var state = data.singletons[challengeKey]?.objectValue ?? [:]
            if let challenge, int(challenge["unlockPrice"]) > 0, state["unlockedAt"] == nil {
                throw .badRequest("Challenge '\(allocationId)' is locked: unlock it before taking part")
            }
            let preview = context.body["isPreview"]?.boolValue == true
            let done = participations(data, userId: userId).filter {
                $0["actionId"]?.stringValue == actionId && $0["allocationId"]?.stringValue == allocationId
                    && succeeded($0)
            }
            let limit = int(action["maxCompletionsPerPeriod"])
            if !preview && limit > 0 && done.count >= limit {
                throw .conflict(
                    "Action '\(actionId)' was already completed the maximum number of times (\(limit)) this period")
            }

            var status: JSONObject = [
                "id": .string(statusId), "participatedAt": .string(RequestContext.now), "output": .null,
                "processingStartedAt": .string(RequestContext.now),
            ]
            if action["config"]?["requiresCorrectAnswer"]?.boolValue == true {
                let correct = Set((action["attributes"]?["correctAnswers"]?.arrayValue ?? []).compactMap(\.stringValue))
                let given = Set(
                    (input["answers"]?.arrayValue ?? input["answer"].map { [$0] } ?? []).compactMap(\.stringValue))
                let met = !given.isEmpty && given == correct
                status["criteriaMet"] = .bool(met)
                status["status"] = .string(met ? "completed" : "failed")
                status[met ? "metCriteriaMessage" : "unmetCriteriaMessage"] = .string(
                    met ? "Correct answer" : "Incorrect answer")
                status["processedAt"] = .string(RequestContext.now)
            } else if key == "image-upload" {
                status["criteriaMet"] = .null
                status["status"] = "pending"
            } else {
                status["criteriaMet"] = true
                status["status"] = "completed"
                status["processedAt"] = .string(RequestContext.now)
            }
            let participation: JSONObject = [
                "id": .string(participationId), "organisationId": .string(context.identity.organisationId),
                "communityId": context.body["communityId"] ?? action["communityId"] ?? .null,
                "actionId": .string(actionId),
                "userId": .string(userId), "actionCategory": action["category"] ?? .null, "actionKey": .string(key),
                "actionAttributes": action["attributes"] ?? [:], "allocationId": .string(allocationId),
                "allocatedTo": .string(challenge != nil ? "challenge" : "achievement"), "actionInput": .object(input),
                "isPreview": .bool(preview), "participationStatuses": [.object(status)],
                "createdAt": .string(RequestContext.now),
            ]
            guard !preview else { return .object(participation) }
            data.insert(.participations, participation)
            if challenge != nil && state["status"] == nil {
                state["status"] = "started"
                state["startedAt"] = .string(RequestContext.now)
                data.singletons[challengeKey] = .object(state)
            }
            if status["criteriaMet"] == true {
                addXP(&user, action["xpConfig"]?.objectValue ?? [:])
                _ = data.replace(.users, user)
            }
            return .object(participation)
        }
    }

    // MARK: - Rewards, the member's assets and entries, leaderboards

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
