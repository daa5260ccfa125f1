import JSONRPC

/// Admin API routes: actions, their distributions and action templates.
extension Routes {
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
}
