import JSONRPC
import Tenancy

/// Admin API routes for communities, challenges, rewards and users (the core resources).
extension Routes {
    static let pagination = [Field("limit", .integer()), Field("skip", .integer())]
    /// Pagination plus the list parameters the pagination guide documents (see `ListQuery`).
    static let listing =
        pagination + [
            Field("search", .text), Field("sort", .text), Field("fromDate", .dateTime), Field("toDate", .dateTime),
        ]

    static var communities: [Route] {
        let fields = [
            Field("name", .nonEmpty), Field("slug", .string(minLength: 1)), Field("description", .text),
            Field("links", .object),
            Field("tags", .objectIDs), Field("campaigns", .objectIDs),
            Field("customTabs", .array(.object, maxItems: 2)),
            Field("termsAndConditionsUrl", .text), Field("privacyPolicyUrl", .text), Field("status", .status),
            Field("additionalInformation", .array(.object)), Field("isGlobalTemplate", .boolean),
            Field("availableAsTemplateForOrganisations", .strings), Field("rules", .object),
        ]
        let createFields = [
            Field("name", .nonEmpty, required: true), Field("slug", .string(minLength: 1)), Field("description", .text),
            Field(
                "communityType",
                .enumeration([
                    "Artist", "Brand", "Business", "Cause", "Community", "Entertainment", "Organisation", "Place",
                    "Product",
                ])),
            Field("access", .enumeration(["open", "request"])), Field("status", .status),
        ]
        return [
            Route(
                .admin, "GET", "/communities", procedure: "getCommunities", query: listing,
                handler: CRUD.list(.communities)),
            Route(
                .admin, "GET", "/communities/{communityId}", procedure: "getCommunity",
                handler: CRUD.get(.communities, parameter: "communityId")),
            Route(
                .admin, "POST", "/communities", procedure: "createCommunity", body: createFields,
                handler: CRUD.create(.communities)),
            Route(
                .admin, "POST", "/communities/{id}", procedure: "updateCommunity", body: fields,
                handler: CRUD.update(
                    .communities, parameter: "id", references: [("tags", .tags), ("campaigns", .campaigns)])),
        ]
    }

    static var challenges: [Route] {
        let updateFields = [
            Field("additionalCommunityIds", .objectIDs), Field("status", .status), Field("isSkippable", .boolean),
            Field("isLinear", .boolean), Field("enabledForSingleView", .boolean), Field("tags", .objectIDs),
            Field("campaigns", .objectIDs), Field("startsAt", .dateTime), Field("expiresAt", .dateTime),
            Field("featured", .boolean),
            Field("progressPeriod", .period), Field("maxCompletionsPerPeriod", .number(minimum: 0)),
            Field("unlockPrice", .number(minimum: 0)), Field("isGlobalTemplate", .boolean),
            Field("availableAsTemplateForOrganisations", .strings), Field("videoConfig", .object),
            Field("details", .details),
        ]
        let createFields = [
            Field("communityId", .objectID, required: true), Field("details", .detailsWithTitle, required: true),
            Field("status", .status),
            Field("progressPeriod", .period), Field("startsAt", .dateTime), Field("expiresAt", .dateTime),
            Field("tags", .objectIDs),
            Field("featured", .boolean),
        ]
        let groupFields = [
            Field("status", .status), Field("type", .enumeration(["random", "sequential"])), Field("period", .period),
            Field("challengeIds", .objectIDs), Field("activeAmount", .number(minimum: 1)), Field("details", .details),
        ]
        let distribution = [
            Field(
                "rewardsConfig",
                .record([
                    Field("mechanism", .mechanism, required: true), Field("amountToDistribute", .integer(minimum: 0)),
                    Field(
                        "allocations",
                        .array(
                            .record([
                                Field("id", .nullable(.text)), Field("rewardId", .objectID, required: true),
                                Field("allocationType", .text, required: true),
                                Field("supply", .integer(minimum: 0)),
                                Field("amountToDistribute", .integer(minimum: 0)),
                            ]))),
                ]), required: true),
            Field("pointsToDistribute", .number(minimum: 0), required: true),
            Field("bonusXpToDistribute", .number(minimum: 0), required: true),
        ]
        return [
            Route(
                .admin, "GET", "/challenges", procedure: "getChallenges", query: listing,
                handler: CRUD.list(.challenges)),
            Route(
                .admin, "GET", "/challenges/{challengeId}", procedure: "getChallenge",
                handler: CRUD.get(.challenges, parameter: "challengeId")),
            Route(
                .admin, "POST", "/challenges", procedure: "createChallenge", body: createFields,
                handler: CRUD.create(.challenges, references: [("communityId", .communities), ("tags", .tags)])),
            Route(
                .admin, "POST", "/challenges/{id}", procedure: "updateChallenge", body: updateFields,
                handler: CRUD.update(
                    .challenges, parameter: "id",
                    references: [("additionalCommunityIds", .communities), ("tags", .tags), ("campaigns", .campaigns)])),
            // Inferred: only the POST is documented; the GET follows the action and leaderboard pattern.
            Route(
                .admin, "GET", "/challenges/{challengeId}/distribution", procedure: "getChallengeDistribution",
                handler: getDistribution(owner: .challenges, parameter: "challengeId", key: "challengeId")),
            Route(
                .admin, "POST", "/challenges/{challengeId}/distribution", procedure: "setChallengeDistribution",
                body: distribution,
                handler: setDistribution(owner: .challenges, parameter: "challengeId", key: "challengeId")),
            Route(
                .admin, "GET", "/templates/challenges", procedure: "getChallengeTemplates", query: listing,
                handler: CRUD.list(.challengeTemplates)),
            Route(
                .admin, "GET", "/challenge-groups", procedure: "getChallengeGroups",
                query: listing + [Field("communityId", .objectID)],
                handler: CRUD.list(.challengeGroups) { group, context in
                    context.queryValue("communityId").map { group["communityId"]?.stringValue == $0 } ?? true
                }),
            Route(
                .admin, "POST", "/challenge-groups", procedure: "createChallengeGroup",
                body: groupFields.filter { $0.name != "details" } + [
                    Field("communityId", .objectID, required: true),
                    Field("details", .detailsWithTitle, required: true),
                ],
                handler: CRUD.create(
                    .challengeGroups, references: [("communityId", .communities), ("challengeIds", .challenges)])),
            Route(
                .admin, "GET", "/challenge-groups/{id}", procedure: "getChallengeGroup",
                handler: CRUD.get(.challengeGroups, parameter: "id")),
            Route(
                .admin, "PATCH", "/challenge-groups/{id}", procedure: "updateChallengeGroup", body: groupFields,
                handler: CRUD.update(.challengeGroups, parameter: "id", references: [("challengeIds", .challenges)])),
        ]
    }

    static var rewards: [Route] {
        let common = [
            Field("details", .details), Field("status", .status), Field("additionalCommunityIds", .objectIDs),
            Field("assetPointsPrice", .number(minimum: 0)), Field("entryPointsPrice", .number(minimum: 0)),
            Field("allocationsType", .text),
            Field("assetsSupply", .number(minimum: 0)), Field("entriesSupply", .number(minimum: 0)),
            Field("maxAssetsPerUser", .number(minimum: 0)),
            Field("maxEntriesPerUser", .number(minimum: 0)), Field("allocations", .array(.object)),
            Field("isSharedAssetsSupply", .boolean),
            Field("isSharedEntriesSupply", .boolean), Field("redemptionConfig", .object), Field("tags", .objectIDs),
            Field("campaigns", .objectIDs),
            Field("featured", .boolean), Field("startsAt", .dateTime), Field("expiresAt", .dateTime),
            Field("drawsAt", .dateTime),
            Field("isManualGiveaway", .boolean), Field("isGlobalTemplate", .boolean),
            Field("availableAsTemplateForOrganisations", .strings),
            Field("metadata", .object),
        ]
        let createFields =
            [Field("communityId", .objectID, required: true)]
            + common.map { $0.name == "details" ? Field("details", .detailsWithTitle, required: true) : $0 }
        let manual = [
            Field(
                "rewards",
                .array(
                    .record([
                        Field("rewardId", .objectID, required: true), Field("allocationType", .text, required: true),
                        Field("quantity", .integer(minimum: 1), required: true),
                    ])), required: true),
            Field("xpToDistribute", .integer(minimum: 0), required: true),
            Field("pointsToDistribute", .integer(minimum: 0), required: true),
            Field("distributionMechanism", .mechanism, required: true),
            Field("amountToDistribute", .integer(minimum: 1), required: true),
            Field("userIds", .array(.objectID, minItems: 1), required: true),
            Field("communityId", .objectID, required: true),
        ]
        let giveaway = [
            Field(
                "winners",
                .array(
                    .record([
                        Field("userId", .objectID, required: true),
                        Field("quantity", .integer(minimum: 1), required: true),
                    ]), minItems: 1), required: true)
        ]
        return [
            Route(.admin, "GET", "/rewards", procedure: "getRewards", query: listing, handler: CRUD.list(.rewards)),
            Route(.admin, "GET", "/rewards/{id}", procedure: "getReward", handler: CRUD.get(.rewards, parameter: "id")),
            Route(
                .admin, "POST", "/rewards", procedure: "createReward", body: createFields,
                handler: CRUD.create(.rewards, references: [("communityId", .communities), ("tags", .tags)])),
            Route(
                .admin, "POST", "/rewards/{id}", procedure: "updateReward", body: common,
                handler: CRUD.update(
                    .rewards, parameter: "id", references: [("tags", .tags), ("campaigns", .campaigns)])),
            Route(
                .admin, "GET", "/templates/rewards", procedure: "getRewardTemplates", query: listing,
                handler: CRUD.list(.rewardTemplates)),
            Route(.admin, "POST", "/rewards/manual-distribution", procedure: "manualDistribution", body: manual) {
                context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    try CRUD.checkReferences(context.body, [("communityId", .communities)], in: data)
                    for reward in context.body["rewards"]?.arrayValue ?? [] {
                        _ = try CRUD.require(data, .rewards, reward["rewardId"]?.stringValue ?? "")
                    }
                    let requested = context.body["userIds"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    let failed = requested.filter { data.find(.users, id: $0) == nil }
                    let points = context.body["pointsToDistribute"]?.intValue ?? 0
                    for userId in requested where !failed.contains(userId) {
                        var user = data.find(.users, id: userId)!
                        user["points"] = .int((user["points"]?.intValue ?? 0) + points)
                        _ = data.replace(.users, user)
                    }
                    return [
                        "success": .bool(failed.count < requested.count),
                        "message": .string("Distributed to \(requested.count - failed.count) user(s)"),
                        "usersProcessed": .int(Int64(requested.count - failed.count)),
                        "failedUserIds": .array(failed.map { .string($0) }),
                    ]
                }
            },
            Route(.admin, "POST", "/rewards/{rewardId}/process-giveaway", procedure: "processGiveaway", body: giveaway)
            { context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    let reward = try CRUD.require(data, .rewards, context.parameter("rewardId"))
                    guard reward["isManualGiveaway"]?.boolValue == true else {
                        throw .badRequest("Reward '\(context.parameter("rewardId"))' is not a manual giveaway")
                    }
                    for winner in context.body["winners"]?.arrayValue ?? [] {
                        _ = try CRUD.require(data, .users, winner["userId"]?.stringValue ?? "")
                    }
                    return [
                        "success": true,
                        "message": .string(
                            "Giveaway processed for \(context.body["winners"]?.arrayValue?.count ?? 0) winner(s)"),
                    ]
                }
            },
        ]
    }

    static var users: [Route] {
        let createFields = [
            Field("email", .string(minLength: 3)), Field("username", .nonEmpty), Field("displayName", .text),
            Field("profilePictureUrl", .text), Field("externalUserId", .nonEmpty),
        ]
        let points = [
            Field("amount", .number(minimum: 1, maximum: 1_000_000), required: true),
            Field("direction", .enumeration(["credit", "debit"]), required: true),
            Field("externalTransactionReference", .string(minLength: 1, maxLength: 200), required: true),
            Field("communityId", .objectID),
        ]
        return [
            Route(.admin, "GET", "/users", procedure: "getUsers", query: listing, handler: CRUD.list(.users)),
            Route(.admin, "GET", "/users/{id}", procedure: "getUser", handler: CRUD.get(.users, parameter: "id")),
            Route(.admin, "POST", "/users", procedure: "createUser", permission: .users, body: createFields) {
                context throws(TRPCError) in
                guard context.body["email"] != nil || context.body["username"] != nil else {
                    throw .badRequest("Invalid input: email or username is required")
                }
                let duplicate = try context.read { data in
                    data.all(.users).contains { user in
                        (context.body["email"] != nil && user["email"] == context.body["email"])
                            || (context.body["username"] != nil && user["username"] == context.body["username"])
                    }
                }
                if duplicate { throw .conflict("A user with this email or username already exists") }
                return try CRUD.create(.users, defaults: ["points": 0, "keys": 0, "roles": [], "isAnonymous": false])(
                    context)
            },
            Route(
                .admin, "POST", "/users/{id}/points-transaction", procedure: "pointsTransaction", permission: .users,
                body: points
            ) { context throws(TRPCError) in
                let transactionId = context.store.newID()
                return try context.write { data throws(TRPCError) -> JSONValue in
                    let key = context.parameter("id")
                    guard
                        var user = data.find(.users, id: key)
                            ?? data.all(.users).first(where: { $0["externalUserId"]?.stringValue == key })
                    else {
                        throw .notFound("No user with id '\(key)'")
                    }
                    let communities = data.all(.communities)
                    if context.body["communityId"] == nil && communities.count > 1 {
                        throw .badRequest(
                            "Invalid input for body.communityId: required when the organisation has several communities"
                        )
                    }
                    try CRUD.checkReferences(context.body, [("communityId", .communities)], in: data)
                    let amount = Int64(context.body["amount"]?.doubleValue ?? 0)
                    let debit = context.body["direction"] == "debit"
                    let balance = user["points"]?.intValue ?? 0
                    if debit && balance < amount { throw .badRequest("Insufficient points: balance is \(balance)") }
                    user["points"] = .int(debit ? balance - amount : balance + amount)
                    _ = data.replace(.users, user)
                    let transaction: JSONObject = [
                        "id": .string(transactionId), "organisationId": .string(context.identity.organisationId),
                        "userId": user["id"]!,
                        "accountingDirection": context.body["direction"]!, "amount": .int(amount), "status": "pending",
                        "createdAt": .string(RequestContext.now),
                        "externalTransactionReference": context.body["externalTransactionReference"]!,
                        "createdBy": .string(context.identity.userId), "updatedBy": .string(context.identity.userId),
                        "communityId": context.body["communityId"] ?? communities.first?["id"] ?? .null,
                    ]
                    data.insert(.pointsTransactions, transaction)
                    return [
                        "success": true, "message": "Points transaction recorded", "transaction": .object(transaction),
                    ]
                }
            },
            Route(.admin, "DELETE", "/users/{id}", procedure: "deleteUserData", permission: .users) {
                context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    var user = try CRUD.require(data, .users, context.parameter("id"))
                    let marker = "deleted-user-\(context.parameter("id").suffix(6))"
                    user["email"] = .string("\(marker)@deleted.invalid")
                    user["username"] = .string(marker)
                    user["displayName"] = "Deleted user"
                    user["profilePictureUrl"] = .null
                    user["isAnonymous"] = true
                    _ = data.replace(.users, user)
                    return ["success": true, "message": "User data deleted", "user": .object(user)]
                }
            },
        ]
    }

    /// Stores a distribution (points, bonus XP, rewardsConfig) for a challenge, action or leaderboard.
    static func setDistribution(
        owner: Resource, parameter: String, key: String
    ) -> @Sendable (RequestContext) throws(TRPCError) -> JSONValue {
        { context throws(TRPCError) in
            try context.write { data throws(TRPCError) -> JSONValue in
                let id = context.parameter(parameter)
                _ = try CRUD.require(data, owner, id)
                for allocation in context.body["rewardsConfig"]?["allocations"]?.arrayValue ?? [] {
                    _ = try CRUD.require(data, .rewards, allocation["rewardId"]?.stringValue ?? "")
                }
                var stored = context.body
                stored[key] = .string(id)
                data.singletons["distribution:\(id)"] = .object(stored)
                return .object(stored)
            }
        }
    }
}

/// The route table of the simulated API.
enum Routes {
    static var all: [Route] {
        communities + challenges + rewards + users + content + settings + integration + analytics + participationReads
            + organisation
    }
}
