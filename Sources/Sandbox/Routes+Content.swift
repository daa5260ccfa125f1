import Foundation
import JSONRPC

/// Admin API routes for content beyond the core resources: actions, achievements, leaderboards, posts, tags,
/// campaigns and custom events.
extension Routes {
    static var content: [Route] { actions + achievements + leaderboards + posts + tags + campaigns + events }

    // MARK: - Shared pieces

    /// The distribution body shared by actions and challenges: points, bonus XP and rewardsConfig, all required.
    static let distributionFields = [
        Field("rewardsConfig", rewardsConfig(allocation: allocationFields), required: true),
        Field("pointsToDistribute", .number(minimum: 0), required: true),
        Field("bonusXpToDistribute", .number(minimum: 0), required: true),
    ]

    static let allocationFields = [
        Field("id", .nullable(.text)), Field("rewardId", .objectID, required: true),
        Field("allocationType", .text, required: true), Field("supply", .integer(minimum: 0)),
        Field("amountToDistribute", .integer(minimum: 0)),
    ]

    static func rewardsConfig(allocation: [Field]) -> FieldType {
        .record([
            Field("mechanism", .mechanism, required: true), Field("amountToDistribute", .integer(minimum: 0)),
            Field("allocations", .array(.record(allocation))),
        ])
    }

    /// A new entity of this organisation from the request body, with ids, timestamps and `defaults` filled in.
    static func newEntity(_ context: RequestContext, defaults: JSONObject = [:], body: JSONObject? = nil) -> JSONObject
    {
        var entity: JSONObject = [
            "id": .string(context.store.newID()), "organisationId": .string(context.identity.organisationId),
        ]
        for entry in defaults { entity[entry.key] = entry.value }
        for entry in body ?? context.body { entity[entry.key] = entry.value }
        entity["createdAt"] = .string(RequestContext.now)
        entity["updatedAt"] = .string(RequestContext.now)
        entity["createdBy"] = .string(context.identity.userId)
        return entity
    }

    /// The stored distribution of an action or challenge, or the empty one when none was set.
    static func getDistribution(
        owner: Resource,
        parameter: String,
        key: String
    ) -> @Sendable (RequestContext) throws(TRPCError) -> JSONValue {
        { context throws(TRPCError) in
            try context.read { data throws(TRPCError) -> JSONValue in
                let id = context.parameter(parameter)
                _ = try CRUD.require(data, owner, id)
                if let stored = data.singletons["distribution:\(id)"] { return stored }
                return [
                    "pointsToDistribute": 0, "bonusXpToDistribute": 0,
                    "rewardsConfig": ["mechanism": "all", "amountToDistribute": 0, "allocations": []],
                    key: .string(id),
                ]
            }
        }
    }

    /// ISO 8601 date-time or plain `yyyy-MM-dd`.
    static func parseDate(_ text: String) -> Date? {
        if let date = try? Date(text, strategy: .iso8601) { return date }
        if let date = try? Date(text, strategy: Date.ISO8601FormatStyle(includingFractionalSeconds: true)) {
            return date
        }
        guard text.count == 10 else { return nil }
        return try? Date(text, strategy: Date.ISO8601FormatStyle().year().month().day().dateSeparator(.dash))
    }

    /// A date query parameter (`fromDate`, `startDate`, …), 400 if it is not a date.
    static func dateQuery(_ context: RequestContext, _ name: String) throws(TRPCError) -> Date? {
        guard let text = context.queryValue(name) else { return nil }
        guard let date = parseDate(text) else {
            throw .badRequest("Invalid input for query.\(name): expected an ISO 8601 date")
        }
        return date
    }

    /// 400 unless `end` is after `start` (both optional; values taken from the body merged over `entity`).
    static func checkOrder(_ start: JSONValue?, _ end: JSONValue?, names: (String, String)) throws(TRPCError) {
        guard let startText = start?.stringValue, let endText = end?.stringValue,
            let startDate = parseDate(startText), let endDate = parseDate(endText)
        else { return }
        if endDate < startDate {
            throw .badRequest("Invalid input for body.\(names.1): must not be before \(names.0)")
        }
    }

    // MARK: - Actions

    static var actions: [Route] {
        let createFields = [
            Field("communityId", .objectID, required: true), Field("key", .nonEmpty, required: true),
            Field("allocationId", .objectID), Field("allocatedTo", .text), Field("category", .text),
            Field("attributes", .object), Field("details", .details), Field("progressPeriod", .period),
            Field("maxCompletionsPerPeriod", .number(minimum: 0)), Field("isGlobalTemplate", .boolean),
            Field("availableAsTemplateForOrganisations", .strings), Field("videoMetadata", .object),
            Field("xpConfig", .object), Field("config", .object),
        ]
        let filters = [
            Field("communityId", .objectID), Field("allocationId", .objectID), Field("isGlobalTemplate", .boolean),
            Field("key", .text),
        ]
        return [
            Route(.admin, "GET", "/actions", procedure: "getActions", query: listing + filters) {
                context throws(TRPCError) in
                let items = try context.read { data in
                    let allocation = context.queryValue("allocationId")
                    let allocated =
                        allocation.flatMap { data.find(.challenges, id: $0) }?["actionIds"]?.arrayValue ?? []
                    return data.all(.actions).filter { action in
                        if let community = context.queryValue("communityId"),
                            action["communityId"]?.stringValue != community
                        {
                            return false
                        }
                        if let allocation, action["allocationId"]?.stringValue != allocation,
                            !allocated.contains(action["id"] ?? .null)
                        {
                            return false
                        }
                        if let flag = context.queryValue("isGlobalTemplate"),
                            (action["isGlobalTemplate"]?.boolValue ?? false) != (flag == "true")
                        {
                            return false
                        }
                        if let key = context.queryValue("key"), action["key"]?.stringValue != key { return false }
                        return true
                    }
                }
                return try CRUD.page(items, context: context, render: { CRUD.present($0, context: context) })
            },
            Route(
                .admin, "GET", "/actions/{actionId}", procedure: "getAction",
                handler: CRUD.get(.actions, parameter: "actionId")),
            Route(.admin, "POST", "/actions", procedure: "createAction", body: createFields) {
                context throws(TRPCError) in
                let defaults: JSONObject = [
                    "category": "nudj", "progressPeriod": "open", "maxCompletionsPerPeriod": 1, "attributes": [:],
                    "config": ["isOptional": false], "xpConfig": [:], "isGlobalTemplate": false,
                ]
                let entity = newEntity(context, defaults: defaults)
                return try context.write { data throws(TRPCError) -> JSONValue in
                    try CRUD.checkReferences(context.body, [("communityId", .communities)], in: data)
                    var action = entity
                    if let allocationId = context.body["allocationId"]?.stringValue {
                        if var challenge = data.find(.challenges, id: allocationId) {
                            var ids = challenge["actionIds"]?.arrayValue ?? []
                            ids.append(action["id"]!)
                            challenge["actionIds"] = .array(ids)
                            challenge["numberOfActions"] = .int(Int64(ids.count))
                            _ = data.replace(.challenges, challenge)
                            if action["allocatedTo"] == nil { action["allocatedTo"] = "challenge" }
                        } else if data.find(.achievements, id: allocationId) != nil {
                            if action["allocatedTo"] == nil { action["allocatedTo"] = "achievement" }
                        } else {
                            throw .notFound("No challenge or achievement with id '\(allocationId)' (body.allocationId)")
                        }
                    }
                    data.insert(.actions, action)
                    return CRUD.present(action, context: context)
                }
            },
            Route(
                .admin, "POST", "/actions/{id}", procedure: "updateAction",
                body: [Field("attributes", .object), Field("progressPeriod", .period)],
                handler: CRUD.update(.actions, parameter: "id")
            ),
            Route(
                .admin, "GET", "/actions/{actionId}/distribution", procedure: "getActionDistribution",
                handler: getDistribution(owner: .actions, parameter: "actionId", key: "actionId")
            ),
            Route(
                .admin, "POST", "/actions/{actionId}/distribution", procedure: "setActionDistribution",
                body: distributionFields,
                handler: setDistribution(owner: .actions, parameter: "actionId", key: "actionId")
            ),
            Route(
                .admin, "GET", "/templates/actions", procedure: "getActionTemplates", query: listing,
                handler: CRUD.list(.actionTemplates)
            ),
        ]
    }

    // MARK: - Achievements

    static var achievements: [Route] {
        let updateFields = [
            Field("details", .details), Field("status", .status), Field("progressPeriod", .period),
            Field("criteria", .object), Field("queries", .array(.object)), Field("queryDescriptions", .object),
            Field("displayMode", .text), Field("tags", .objectIDs), Field("campaigns", .objectIDs),
            Field("startsAt", .dateTime), Field("expiresAt", .dateTime), Field("featured", .boolean),
            Field("isGlobalTemplate", .boolean), Field("availableAsTemplateForOrganisations", .strings),
        ]
        let createFields = [
            Field("communityId", .objectID, required: true), Field("details", .detailsWithTitle, required: true),
            Field("status", .status), Field("progressPeriod", .period), Field("criteria", .object),
            Field("queries", .array(.object)), Field("tags", .objectIDs),
        ]
        let defaults: JSONObject = [
            "status": "draft", "progressPeriod": "open", "displayMode": "default", "tags": [], "campaigns": [],
            "queries": [], "featured": false, "isGlobalTemplate": false,
        ]
        return [
            Route(
                .admin, "GET", "/achievements", procedure: "getAchievements", query: listing,
                handler: CRUD.list(.achievements)),
            Route(
                .admin, "GET", "/achievements/{id}", procedure: "getAchievement",
                handler: CRUD.get(.achievements, parameter: "id")
            ),
            Route(
                .admin, "POST", "/achievements", procedure: "createAchievement", body: createFields,
                handler: CRUD.create(
                    .achievements, references: [("communityId", .communities), ("tags", .tags)], defaults: defaults)
            ),
            Route(
                .admin, "POST", "/achievements/{id}", procedure: "updateAchievement", body: updateFields,
                handler: CRUD.update(
                    .achievements, parameter: "id", references: [("tags", .tags), ("campaigns", .campaigns)])
            ),
            Route(
                .admin, "GET", "/templates/achievements", procedure: "getAchievementTemplates", query: listing,
                handler: CRUD.list(.achievementTemplates)
            ),
        ]
    }

    // MARK: - Leaderboards

    static let metricTypes = FieldType.enumeration([
        "total-xp", "total-challenges-completed", "total-challenges-started", "total-actions-completed",
    ])

    static var leaderboards: [Route] {
        let condition = FieldType.record([
            Field("type", .enumeration(["community"]), required: true), Field("communityId", .objectID, required: true),
        ])
        let band = FieldType.record([
            Field("startRank", .integer(minimum: 1), required: true),
            Field("endRank", .integer(minimum: 1), required: true),
            Field("distributionEventId", .text),
        ])
        let createFields = [
            Field("name", .nonEmpty, required: true), Field("metricType", metricTypes, required: true),
            Field("startsAt", .dateTime, required: true), Field("status", .status, required: true),
            Field("period", .period, required: true), Field("description", .text), Field("expiresAt", .dateTime),
            Field("conditions", .array(condition)), Field("rewardsConfig", .array(band)),
        ]
        let updateFields = [
            Field("name", .nonEmpty), Field("description", .text), Field("metricType", metricTypes),
            Field("startsAt", .dateTime), Field("expiresAt", .dateTime), Field("status", .status),
            Field("period", .period), Field("conditions", .array(condition)),
        ]
        let leaderboardAllocation =
            allocationFields + [Field("distributed", .integer(minimum: 0)), Field("isLive", .boolean)]
        let distribution = [
            Field(
                "rewards",
                .array(
                    .record([
                        Field("startRank", .integer(minimum: 1), required: true),
                        Field("endRank", .integer(minimum: 1), required: true),
                        Field("pointsToDistribute", .number(minimum: 0), required: true),
                        Field("bonusXpToDistribute", .number(minimum: 0), required: true),
                        Field("rewardsConfig", rewardsConfig(allocation: leaderboardAllocation), required: true),
                    ])
                ),
                required: true
            )
        ]
        let conditionReferences: @Sendable (JSONObject, OrganisationData) throws(TRPCError) -> Void = {
            body, data throws(TRPCError) in
            for condition in body["conditions"]?.arrayValue ?? [] {
                guard let id = condition["communityId"]?.stringValue else { continue }
                if data.find(.communities, id: id) == nil {
                    throw .notFound("No community with id '\(id)' (body.conditions)")
                }
            }
        }
        return [
            Route(
                .admin, "GET", "/leaderboards/configs", procedure: "getLeaderboardConfigs",
                query: listing + [Field("status", .status), Field("communityId", .objectID)],
                handler: CRUD.list(.leaderboards) { leaderboard, context in
                    if let status = context.queryValue("status"), leaderboard["status"]?.stringValue != status {
                        return false
                    }
                    if let community = context.queryValue("communityId") {
                        return (leaderboard["conditions"]?.arrayValue ?? []).contains {
                            $0["communityId"]?.stringValue == community
                        }
                    }
                    return true
                }
            ),
            Route(
                .admin, "GET", "/leaderboards/configs/{leaderboardConfigId}", procedure: "getLeaderboardConfig",
                handler: CRUD.get(.leaderboards, parameter: "leaderboardConfigId")
            ),
            Route(.admin, "POST", "/leaderboards", procedure: "createLeaderboardConfig", body: createFields) {
                context throws(TRPCError) in
                try checkOrder(context.body["startsAt"], context.body["expiresAt"], names: ("startsAt", "expiresAt"))
                let entity = newEntity(context, defaults: ["description": "", "conditions": [], "rewardsConfig": []])
                return try context.write { data throws(TRPCError) -> JSONValue in
                    try conditionReferences(context.body, data)
                    data.insert(.leaderboards, entity)
                    return CRUD.present(entity, context: context)
                }
            },
            Route(
                .admin, "PATCH", "/leaderboards/configs/{id}", procedure: "updateLeaderboardConfig", body: updateFields
            ) {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) in
                    let current = try CRUD.require(data, .leaderboards, context.parameter("id"))
                    try conditionReferences(context.body, data)
                    try checkOrder(
                        context.body["startsAt"] ?? current["startsAt"],
                        context.body["expiresAt"] ?? current["expiresAt"],
                        names: ("startsAt", "expiresAt")
                    )
                }
                return try CRUD.update(.leaderboards, parameter: "id")(context)
            },
            Route(
                .admin, "GET", "/leaderboards/{leaderboardConfigId}/distribution",
                procedure: "getLeaderboardDistribution"
            ) {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    let id = context.parameter("leaderboardConfigId")
                    _ = try CRUD.require(data, .leaderboards, id)
                    return data.singletons["distribution:\(id)"] ?? ["leaderboardConfigId": .string(id), "rewards": []]
                }
            },
            Route(
                .admin, "POST", "/leaderboards/{leaderboardConfigId}/distribution",
                procedure: "setLeaderboardDistribution",
                body: distribution
            ) { context throws(TRPCError) in try setLeaderboardDistribution(context) },
        ]
    }

    /// Replaces a leaderboard's rank bands. Allocations: `id` null adds one, a known id updates it (keeping what was
    /// already distributed), an unknown id is a 400, and allocations left out are dropped.
    static func setLeaderboardDistribution(_ context: RequestContext) throws(TRPCError) -> JSONValue {
        let id = context.parameter("leaderboardConfigId")
        let bands = context.body["rewards"]?.arrayValue ?? []
        var ranges: [(Int64, Int64)] = []
        for (index, band) in bands.enumerated() {
            let start = band["startRank"]?.intValue ?? 1
            let end = band["endRank"]?.intValue ?? 1
            if end < start {
                throw .badRequest("Invalid input for body.rewards[\(index)].endRank: must be >= startRank")
            }
            if ranges.contains(where: { start <= $0.1 && $0.0 <= end }) {
                throw .badRequest(
                    "Invalid input for body.rewards[\(index)]: rank band \(start)-\(end) overlaps another band")
            }
            ranges.append((start, end))
        }
        let freshIDs = (0..<bands.count * 8).map { _ in context.store.newID() }
        return try context.write { data throws(TRPCError) -> JSONValue in
            var leaderboard = try CRUD.require(data, .leaderboards, id)
            var previous: [String: JSONObject] = [:]
            for band in data.singletons["distribution:\(id)"]?["rewards"]?.arrayValue ?? [] {
                for allocation in band["rewardsConfig"]?["allocations"]?.arrayValue ?? [] {
                    if let key = allocation["id"]?.stringValue, let object = allocation.objectValue {
                        previous[key] = object
                    }
                }
            }
            var unused = freshIDs.makeIterator()
            var stored: [JSONValue] = []
            var eventBands: [JSONValue] = []
            for (index, band) in bands.enumerated() {
                guard var object = band.objectValue, var config = object["rewardsConfig"]?.objectValue else { continue }
                var allocations: [JSONValue] = []
                for (position, allocation) in (config["allocations"]?.arrayValue ?? []).enumerated() {
                    guard var entry = allocation.objectValue else { continue }
                    _ = try CRUD.require(data, .rewards, entry["rewardId"]?.stringValue ?? "")
                    if let existing = entry["id"]?.stringValue {
                        guard let old = previous[existing] else {
                            throw .badRequest(
                                "Invalid input for body.rewards[\(index)].rewardsConfig.allocations[\(position)].id: "
                                    + "no allocation '\(existing)' in this distribution (use null to add one)"
                            )
                        }
                        if entry["distributed"] == nil { entry["distributed"] = old["distributed"] ?? 0 }
                    } else {
                        entry["id"] = .string(unused.next() ?? context.store.newID())
                        if entry["distributed"] == nil { entry["distributed"] = 0 }
                    }
                    if entry["isLive"] == nil { entry["isLive"] = true }
                    allocations.append(.object(entry))
                }
                config["allocations"] = .array(allocations)
                object["rewardsConfig"] = .object(config)
                stored.append(.object(object))
                eventBands.append([
                    "startRank": object["startRank"] ?? 1, "endRank": object["endRank"] ?? 1,
                    "distributionEventId": .string(unused.next() ?? context.store.newID()),
                ])
            }
            let distribution: JSONValue = ["leaderboardConfigId": .string(id), "rewards": .array(stored)]
            data.singletons["distribution:\(id)"] = distribution
            leaderboard["rewardsConfig"] = .array(eventBands)
            leaderboard["updatedAt"] = .string(RequestContext.now)
            _ = data.replace(.leaderboards, leaderboard)
            return distribution
        }
    }

    // MARK: - Posts

    static var posts: [Route] {
        let createFields = [
            Field("communityId", .objectID, required: true), Field("details", .detailsWithTitle, required: true),
            Field("content", .text), Field("status", .status),
        ]
        let defaults: JSONObject = [
            "status": "draft", "content": "", "likes": [], "disableComments": false, "disableLikes": false,
            "displayBannerOnPost": false, "featured": false, "tags": [], "campaigns": [], "isGlobalTemplate": false,
            "isEditing": false,
        ]
        let templateFilters = [
            Field("sort", .text), Field("communityId", .objectID), Field("allocationId", .text),
            Field("verified", .boolean),
            Field("isShop", .boolean), Field("type", .text), Field("status", .text), Field("eventCategory", .text),
            Field("eventSubCategory", .text), Field("eventName", .text), Field("displayMode", .text),
            Field("fromDate", .text), Field("toDate", .text), Field("isGlobalTemplate", .boolean), Field("key", .text),
            Field("progressPeriod", .text),
        ]
        return [
            Route(.admin, "GET", "/posts", procedure: "getPosts", query: listing, handler: CRUD.list(.posts)),
            Route(
                .admin, "GET", "/posts/{postId}", procedure: "getPost", handler: CRUD.get(.posts, parameter: "postId")),
            Route(
                .admin, "POST", "/posts", procedure: "createPost", permission: .moderation, body: createFields,
                handler: CRUD.create(.posts, references: [("communityId", .communities)], defaults: defaults)
            ),
            Route(.admin, "GET", "/templates/posts", procedure: "getPostTemplates", query: listing + templateFilters) {
                context throws(TRPCError) in
                let from = try dateQuery(context, "fromDate")
                let to = try dateQuery(context, "toDate")
                var sortKey = context.queryValue("sort") ?? "-createdAt"
                let descending = sortKey.hasPrefix("-")
                if descending { sortKey.removeFirst() }
                guard ["createdAt", "updatedAt"].contains(sortKey) else { throw .badRequest("Invalid sort key") }
                var items = try context.read { $0.all(.postTemplates) }.filter { template in
                    if let community = context.queryValue("communityId"),
                        template["communityId"]?.stringValue != community
                    {
                        return false
                    }
                    if let status = context.queryValue("status"), template["status"]?.stringValue != status {
                        return false
                    }
                    if let flag = context.queryValue("isGlobalTemplate"),
                        (template["isGlobalTemplate"]?.boolValue ?? false) != (flag == "true")
                    {
                        return false
                    }
                    let created = template["createdAt"]?.stringValue.flatMap(parseDate) ?? .distantPast
                    if let from, created < from { return false }
                    if let to, created > to { return false }
                    return true
                }
                items.sort { left, right in
                    let a = left[sortKey]?.stringValue ?? ""
                    let b = right[sortKey]?.stringValue ?? ""
                    return descending ? a > b : a < b
                }
                return try CRUD.page(items, context: context, render: { CRUD.present($0, context: context) })
            },
        ]
    }

    // MARK: - Tags and campaigns

    static var tags: [Route] {
        let targets = FieldType.array(
            .enumeration([
                "achievement", "action", "community", "challenge", "post", "reward", "reward-asset", "reward-entry",
            ])
        )
        let config = FieldType.record([
            Field("filtering", targets), Field("display", targets), Field("iconifyIcon", .text),
        ])
        let duplicate: @Sendable (RequestContext, String?) throws(TRPCError) -> Void = {
            context, except throws(TRPCError) in
            guard let value = context.body["value"]?.stringValue?.lowercased() else { return }
            let taken = try context.read { data in
                data.all(.tags).contains {
                    $0["value"]?.stringValue?.lowercased() == value && $0["id"]?.stringValue != except
                }
            }
            if taken { throw .conflict("A tag with the value '\(value)' already exists") }
        }
        return [
            Route(.admin, "GET", "/tags", procedure: "getTags", query: listing, handler: CRUD.list(.tags)),
            Route(.admin, "GET", "/tags/{id}", procedure: "getTag", handler: CRUD.get(.tags, parameter: "id")),
            Route(
                .admin, "POST", "/tags", procedure: "createTag",
                body: [Field("value", .nonEmpty, required: true), Field("config", config)]
            ) { context throws(TRPCError) in
                try duplicate(context, nil)
                return try CRUD.create(.tags, defaults: ["config": ["filtering": [], "display": []]])(context)
            },
            Route(
                .admin, "PATCH", "/tags/{id}", procedure: "updateTag",
                body: [Field("value", .nonEmpty), Field("config", config)]
            ) { context throws(TRPCError) in
                try duplicate(context, context.parameter("id"))
                return try CRUD.update(.tags, parameter: "id")(context)
            },
        ]
    }

    static var campaigns: [Route] {
        let fields = [
            Field("name", .nonEmpty), Field("startDate", .dateTime), Field("endDate", .dateTime),
            Field("status", .status),
        ]
        let createFields = fields.map { $0.name == "status" ? $0 : Field($0.name, $0.type, required: true) }
        return [
            Route(
                .admin, "GET", "/campaigns", procedure: "getCampaigns", query: listing,
                handler: CRUD.list(.campaigns)),
            Route(
                .admin, "GET", "/campaigns/{id}", procedure: "getCampaign",
                handler: CRUD.get(.campaigns, parameter: "id")),
            Route(.admin, "POST", "/campaigns", procedure: "createCampaign", body: createFields) {
                context throws(TRPCError) in
                try checkOrder(context.body["startDate"], context.body["endDate"], names: ("startDate", "endDate"))
                return try CRUD.create(.campaigns)(context)
            },
            Route(.admin, "PATCH", "/campaigns/{id}", procedure: "updateCampaign", body: fields) {
                context throws(TRPCError) in
                let current = try context.read { data throws(TRPCError) in
                    try CRUD.require(data, .campaigns, context.parameter("id"))
                }
                try checkOrder(
                    context.body["startDate"] ?? current["startDate"], context.body["endDate"] ?? current["endDate"],
                    names: ("startDate", "endDate")
                )
                return try CRUD.update(.campaigns, parameter: "id")(context)
            },
        ]
    }

    // MARK: - Custom events

    static var events: [Route] {
        let eventFields = [
            Field("eventName", .nonEmpty, required: true), Field("payload", .object, required: true),
            Field("userId", .nonEmpty, required: true), Field("communityId", .nullable(.objectID)),
            Field("autoCreateUser", .boolean),
        ]
        let linkFields = [
            Field("eventName", .nonEmpty, required: true), Field("payload", .object), Field("communityId", .objectID),
            Field("expiryTime", .number(minimum: 0)), Field("isSingleUse", .boolean),
        ]
        return [
            Route(.admin, "POST", "/events/custom", procedure: "logCustomEvent", body: eventFields) {
                context throws(TRPCError) in
                let key = context.body["userId"]?.stringValue ?? ""
                let newUser = newEntity(
                    context,
                    defaults: [
                        "externalUserId": .string(key), "points": 0, "keys": 0, "roles": [], "isAnonymous": false,
                        "xp": ["total": 0], "communityData": [],
                    ],
                    body: [:]
                )
                let eventId = context.store.newID()
                return try context.write { data throws(TRPCError) -> JSONValue in
                    if case .string(let community)? = context.body["communityId"],
                        data.find(.communities, id: community) == nil
                    {
                        throw .notFound("No community with id '\(community)' (body.communityId)")
                    }
                    var user =
                        data.find(.users, id: key)
                        ?? data.all(.users).first { $0["externalUserId"]?.stringValue == key }
                    if user == nil {
                        guard context.body["autoCreateUser"]?.boolValue == true else {
                            throw .notFound(
                                "No user with id or externalUserId '\(key)' (set autoCreateUser to create one)")
                        }
                        user = newUser
                        data.insert(.users, newUser)
                    }
                    let event: JSONObject = [
                        "id": .string(eventId), "organisationId": .string(context.identity.organisationId),
                        "kind": "event", "name": context.body["eventName"]!, "payload": context.body["payload"]!,
                        "userId": user!["id"]!, "communityId": context.body["communityId"] ?? .null,
                        "createdAt": .string(RequestContext.now),
                    ]
                    data.insert(.customEvents, event)
                    return [
                        "name": context.body["eventName"]!, "userId": user!["id"]!,
                        "externalUserId": user!["externalUserId"] ?? .null,
                    ]
                }
            },
            Route(.admin, "POST", "/events/custom/link", procedure: "createCustomEventLink", body: linkFields) {
                context throws(TRPCError) in
                if let seconds = context.body["expiryTime"]?.doubleValue, seconds <= 0 {
                    throw .badRequest("Invalid input for body.expiryTime: must be > 0")
                }
                let token = context.store.newID()
                var link = newEntity(context, defaults: ["kind": "link", "isSingleUse": false, "usedBy": []])
                link["token"] = .string(token)
                if let seconds = context.body["expiryTime"]?.doubleValue {
                    link["expiresAt"] = .string(Date().addingTimeInterval(seconds).ISO8601Format())
                }
                let url = "https://\(context.organisation).nudj.cx/events/link/\(token)"
                link["url"] = .string(url)
                try context.write { data throws(TRPCError) in
                    try CRUD.checkReferences(context.body, [("communityId", .communities)], in: data)
                    data.insert(.customEvents, link)
                }
                return ["url": .string(url)]
            },
        ]
    }
}
