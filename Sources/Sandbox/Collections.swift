import JSONRPC

/// Generic list / get / create / update behaviour shared by the API's CRUD endpoints.
enum CRUD {
    /// Paginates with the documented contract: `limit` 1..100 (default 10), `skip` ≥ 0, `{totalCount, edges}`.
    static func page(
        _ items: [JSONValue], context: RequestContext, key: String = "edges"
    ) throws(TRPCError) -> JSONValue {
        try page(items, context: context, key: key, render: { $0 })
    }

    /// Paginates, rendering only the items on the page (presenting copies each entity).
    static func page<Item>(
        _ items: [Item],
        context: RequestContext,
        key: String = "edges",
        render: (Item) -> JSONValue
    ) throws(TRPCError) -> JSONValue {
        var limit = 10
        var skip = 0
        if let text = context.queryValue("limit") {
            guard let value = Int(text), value >= 1 else { throw .badRequest("limit must be a positive integer") }
            guard value <= 100 else { throw .badRequest("limit must be a positive integer no greater than 100") }
            limit = value
        }
        if let text = context.queryValue("skip") {
            guard let value = Int(text), value >= 0 else { throw .badRequest("skip must be non-negative") }
            skip = value
        }
        // Filtering and sorting need every item rendered; plain paging renders only the page.
        let query = try ListQuery(context)
        if !query.isEmpty {
            let selected = try query.apply(items.map(render))
            return .object([
                key: .array(Array(selected.dropFirst(skip).prefix(limit))), "totalCount": .int(Int64(selected.count)),
            ])
        }
        let slice = items.dropFirst(skip).prefix(limit)
        return .object([key: .array(slice.map(render)), "totalCount": .int(Int64(items.count))])
    }

    /// An entity as the API returns it: internal (`_`-prefixed) keys removed, translated details applied.
    static func present(_ entity: JSONObject, context: RequestContext) -> JSONValue {
        var shown = entity
        if let language = context.language, let translation = entity["_translations"]?[language]?.objectValue,
            var details = shown["details"]?.objectValue
        {
            for entry in translation { details[entry.key] = entry.value }
            shown["details"] = .object(details)
        }
        for key in shown.keys where key.hasPrefix("_") { shown.removeValue(forKey: key) }
        return .object(shown)
    }

    static func list(
        _ resource: Resource,
        filter: @escaping @Sendable (JSONObject, RequestContext) -> Bool = { _, _ in true }
    ) -> @Sendable (RequestContext) throws(TRPCError) -> JSONValue {
        { context throws(TRPCError) in
            let items = try context.read { $0.all(resource) }.filter { filter($0, context) }
            return try page(items, context: context, render: { present($0, context: context) })
        }
    }

    static func get(
        _ resource: Resource, parameter: String
    ) -> @Sendable (RequestContext) throws(TRPCError) -> JSONValue {
        { context throws(TRPCError) in
            let id = context.parameter(parameter)
            return present(
                try context.read { data throws(TRPCError) in try require(data, resource, id) }, context: context)
        }
    }

    /// Looks an entity up by id; unknown ids, and ids of other organisations, are 404.
    static func require(_ data: OrganisationData, _ resource: Resource, _ id: String) throws(TRPCError) -> JSONObject {
        guard let entity = data.find(resource, id: id) else { throw .notFound("No \(resource.noun) with id '\(id)'") }
        return entity
    }

    /// Checks that ids in the body refer to entities of this organisation.
    static func checkReferences(
        _ body: JSONObject,
        _ references: [(field: String, resource: Resource)],
        in data: OrganisationData
    ) throws(TRPCError) {
        for (field, resource) in references {
            let ids: [String]
            switch body[field] {
            case .string(let id)?: ids = [id]
            case .array(let values)?: ids = values.compactMap(\.stringValue)
            default: ids = []
            }
            for id in ids where data.find(resource, id: id) == nil {
                throw .notFound("No \(resource.noun) with id '\(id)' (body.\(field))")
            }
        }
    }

    static func create(
        _ resource: Resource,
        references: [(field: String, resource: Resource)] = [],
        defaults: JSONObject = ["status": "draft"]
    ) -> @Sendable (RequestContext) throws(TRPCError) -> JSONValue {
        { context throws(TRPCError) in
            let id = context.store.newID()
            let entity = try context.write { data throws(TRPCError) -> JSONObject in
                try checkReferences(context.body, references, in: data)
                var entity: JSONObject = [
                    "id": .string(id), "organisationId": .string(context.identity.organisationId),
                ]
                for entry in defaults { entity[entry.key] = entry.value }
                for entry in context.body { entity[entry.key] = entry.value }
                entity["createdAt"] = .string(RequestContext.now)
                entity["updatedAt"] = .string(RequestContext.now)
                entity["createdBy"] = .string(context.identity.userId)
                data.insert(resource, entity)
                return entity
            }
            return present(entity, context: context)
        }
    }

    /// Shallow-merges the body into the entity: only the given fields change.
    static func update(
        _ resource: Resource,
        parameter: String,
        references: [(field: String, resource: Resource)] = []
    ) -> @Sendable (RequestContext) throws(TRPCError) -> JSONValue {
        { context throws(TRPCError) in
            let id = context.parameter(parameter)
            let entity = try context.write { data throws(TRPCError) -> JSONObject in
                var entity = try require(data, resource, id)
                try checkReferences(context.body, references, in: data)
                for entry in context.body {
                    if entry.key == "details", case .object(var details)? = entity["details"],
                        case .object(let changes) = entry.value
                    {
                        for change in changes { details[change.key] = change.value }
                        entity["details"] = .object(details)
                    } else {
                        entity[entry.key] = entry.value
                    }
                }
                entity["updatedAt"] = .string(RequestContext.now)
                entity["updatedBy"] = .string(context.identity.userId)
                _ = data.replace(resource, entity)
                return entity
            }
            return present(entity, context: context)
        }
    }
}
