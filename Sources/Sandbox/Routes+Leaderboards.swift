import JSONRPC

/// Admin API routes: leaderboard configs and their rank-band distributions.
extension Routes {
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
}
