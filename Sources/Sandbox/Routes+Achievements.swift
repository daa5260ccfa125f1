import JSONRPC

/// Admin API routes: achievements and achievement templates.
extension Routes {
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
}
