import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Admin API routes: posts and post templates.
extension Routes {
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
}
