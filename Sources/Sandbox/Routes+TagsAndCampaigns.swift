import JSONRPC

/// Admin API routes: tags and campaigns.
extension Routes {
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
}
