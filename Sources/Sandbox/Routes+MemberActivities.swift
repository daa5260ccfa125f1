import JSONRPC

/// Integration API routes: actions (and the member's participation in them) and achievements with progress.
extension Routes {
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
}
