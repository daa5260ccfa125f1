import JSONRPC

/// Integration API routes: live challenges and challenge groups with the member's progress (unlock, start,
/// complete), and communities.
extension Routes {
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
}
