import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

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
}
