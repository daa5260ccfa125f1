import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Admin API routes: logging custom events and custom event links.
extension Routes {
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
