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
}
