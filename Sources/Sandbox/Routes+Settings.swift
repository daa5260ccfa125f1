import JSONRPC

/// Admin API routes for organisation settings: theme, webhooks, custom domains and API tokens (Admin role and above).
extension Routes {
    static var settings: [Route] { theme + webhooks + domains + tokens }

    // MARK: - Theme

    static var theme: [Route] {
        [
            Route(.admin, "GET", "/themes", procedure: "getTheme") { context throws(TRPCError) in
                try context.read { data in data.singletons["theme"] ?? ["themeAssets": [:], "theme": [:]] }
            },
            Route(
                .admin, "PATCH", "/themes", procedure: "updateTheme", permission: .settings,
                body: [Field("themeAssets", .object), Field("theme", .object)]
            ) { context throws(TRPCError) in
                try context.write { data in
                    var theme = data.singletons["theme"] ?? ["themeAssets": [:], "theme": [:]]
                    theme = merge(theme, .object(context.body))
                    data.singletons["theme"] = theme
                    return theme
                }
            },
        ]
    }

    /// Deep merge for PATCH: objects merge key by key, anything else replaces.
    static func merge(_ base: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard case .object(var merged) = base, case .object(let changes) = patch else { return patch }
        for change in changes { merged[change.key] = merge(merged[change.key] ?? .null, change.value) }
        return .object(merged)
    }

    // MARK: - Webhooks

    static let webhookEvents = [
        "challenge-started", "challenge-completion", "action-participation", "reward-distribution", "reward-claim",
        "reward-redemption", "shop-purchase", "achievement-completion", "post-like",
    ]

    static var webhooks: [Route] {
        let configFields = [
            Field("url", .nonEmpty, required: true), Field("httpMethod", .nonEmpty),
            Field("isEnabled", .boolean), Field("maxRetries", .integer(minimum: 0)),
            Field("secret", .nonEmpty), Field("events", .array(.enumeration(webhookEvents))),
        ]
        return [
            Route(.admin, "GET", "/webhooks/configs", procedure: "getWebhookConfigs") { context throws(TRPCError) in
                let configs = try context.read { $0.all(.webhookConfigs) }
                return .array(configs.map { presentWebhook($0, context: context) })
            },
            Route(
                .admin, "PUT", "/webhooks/configs", procedure: "upsertWebhookConfigs", permission: .settings,
                body: configFields, acceptsRawBody: true
            ) { context throws(TRPCError) in
                guard let items = context.rawBody?.arrayValue else {
                    throw .badRequest("Invalid input for body: expected an array of webhook configs")
                }
                var urls: Set<String> = []
                for (index, item) in items.enumerated() {
                    let url = item["url"]?.stringValue ?? ""
                    guard url.hasPrefix("https://") || url.hasPrefix("http://"), url.count > 10 else {
                        throw .badRequest("Invalid input for body[\(index)].url: expected an http(s) URL")
                    }
                    guard urls.insert(url).inserted else {
                        throw .badRequest("Invalid input for body[\(index)].url: '\(url)' appears twice")
                    }
                }
                let freshIDs = items.map { _ in context.store.newID() }
                return try context.write { data in
                    let existing = data.all(.webhookConfigs)
                    var saved: [JSONObject] = []
                    for (item, freshID) in zip(items, freshIDs) {
                        let changes = item.objectValue ?? [:]
                        var config: JSONObject
                        if let match = existing.first(where: { $0["url"] == changes["url"] }) {
                            config = match
                        } else {
                            config = [
                                "id": .string(freshID), "organisationId": .string(context.identity.organisationId),
                                "httpMethod": "POST", "isEnabled": true, "maxRetries": 3, "events": [],
                                "createdAt": .string(RequestContext.now),
                            ]
                        }
                        for change in changes { config[change.key] = change.value }
                        config["updatedAt"] = .string(RequestContext.now)
                        saved.append(config)
                    }
                    data.collections[.webhookConfigs] = saved
                    return .array(saved.map { presentWebhook($0, context: context) })
                }
            },
            Route(
                .admin, "GET", "/webhooks/logs", procedure: "getWebhookLogs", query: listing,
                handler: CRUD.list(.webhookLogs)
            ),
        ]
    }

    /// Webhook secrets are write-only: responses say whether one is set.
    static func presentWebhook(_ config: JSONObject, context: RequestContext) -> JSONValue {
        var shown = config
        let hasSecret = shown.removeValue(forKey: "secret") != nil
        shown["hasSecret"] = .bool(hasSecret)
        return CRUD.present(shown, context: context)
    }

    // MARK: - Custom domains

    static var domains: [Route] {
        [
            Route(.admin, "GET", "/domains", procedure: "getDomains") { context throws(TRPCError) in
                try context.read { data in domainConfiguration(data, organisation: context.organisation) }
            },
            Route(
                .admin, "POST", "/domains", procedure: "registerDomain", permission: .settings,
                body: [Field("domain", .nonEmpty, required: true)]
            ) { context throws(TRPCError) in
                let domain = (context.body["domain"]?.stringValue ?? "").lowercased()
                guard isHostname(domain) else {
                    throw .badRequest(
                        "Invalid input for body.domain: expected a hostname such as community.example.com")
                }
                if domain == "nudj.cx" || domain.hasSuffix(".nudj.cx") {
                    throw .badRequest(
                        "Invalid input for body.domain: nudj.cx hosts cannot be registered as custom domains")
                }
                let entity = newEntity(
                    context, defaults: ["status": "pending", "type": "custom"], body: ["domain": .string(domain)]
                )
                return try context.write { data throws(TRPCError) -> JSONValue in
                    if data.all(.domains).contains(where: { $0["domain"]?.stringValue == domain }) {
                        throw .conflict("The domain '\(domain)' is already registered")
                    }
                    data.insert(.domains, entity)
                    return domainConfiguration(data, organisation: context.organisation)
                }
            },
            Route(
                .admin, "POST", "/domains/remove", procedure: "removeDomain", permission: .settings,
                body: [Field("domain", .nonEmpty, required: true)]
            ) { context throws(TRPCError) in
                let domain = (context.body["domain"]?.stringValue ?? "").lowercased()
                return try context.write { data throws(TRPCError) -> JSONValue in
                    var remaining = data.all(.domains)
                    guard let index = remaining.firstIndex(where: { $0["domain"]?.stringValue == domain }) else {
                        throw .notFound("No custom domain '\(domain)' is registered")
                    }
                    remaining.remove(at: index)
                    data.collections[.domains] = remaining
                    return domainConfiguration(data, organisation: context.organisation)
                }
            },
        ]
    }

    /// The whitelabel domain configuration `POST /domains/remove` documents: `{apiDomain, userDomain, customDomains}`.
    static func domainConfiguration(_ data: OrganisationData, organisation: String) -> JSONValue {
        [
            "apiDomain": .string("https://\(organisation).nudj.cx/api/v2/admin"),
            "userDomain": .string("\(organisation).nudj.cx"),
            "customDomains": .array(data.all(.domains).reversed().map { $0["domain"] ?? .null }),
        ]
    }

    static func isHostname(_ text: String) -> Bool {
        let labels = text.split(separator: ".", omittingEmptySubsequences: false)
        guard text.utf8.count <= 253, labels.count >= 2 else { return false }
        return labels.allSatisfy { label in
            !label.isEmpty && label.utf8.count <= 63 && !label.hasPrefix("-") && !label.hasSuffix("-")
                && label.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D }
        }
    }

    // MARK: - API tokens

    static var tokens: [Route] {
        [
            Route(
                .admin, "POST", "/auth-config/tokens/{tokenId}/revoke", procedure: "revokeToken", permission: .settings
            ) { context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    var token = try CRUD.require(data, .apiTokens, context.parameter("tokenId"))
                    let already = token["revokedAt"].map { !$0.isNull } ?? false
                    if !already {
                        token["status"] = "revoked"
                        token["revokedAt"] = .string(RequestContext.now)
                        token["revokedBy"] = .string(context.identity.userId)
                        _ = data.replace(.apiTokens, token)
                    }
                    return [
                        "success": true, "message": .string(already ? "Token was already revoked" : "Token revoked"),
                        "token": CRUD.present(token, context: context),
                    ]
                }
            }
        ]
    }
}
