import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The organisation itself, its admin team, sign-in configuration, profile variables and Shopify linking.
extension Routes {
    static var organisation: [Route] {
        let authFields = [
            Field("enabledProviders", .strings), Field("oidcProviders", .array(.object)),
            Field("email", .nullable(.object)),
        ]
        let organisationFields = [
            Field("name", .nonEmpty, required: true), Field("language", .nonEmpty, required: true),
            Field("timezone", .nonEmpty, required: true),
            Field("location", .enumeration(["DE", "US"]), required: true),
            Field("slug", .nonEmpty, required: true),
            Field("emails", .array(.string(minLength: 3), minItems: 1), required: true),
        ]
        return [
            Route(.admin, "GET", "/organisations/{organisationId}", procedure: "getOrganisation") {
                context throws(TRPCError) in
                try context.read { data throws(TRPCError) -> JSONValue in
                    // Only the token's own organisation is visible.
                    guard let organisation = data.singletons["organisation"],
                        organisation["id"]?.stringValue == context.parameter("organisationId")
                    else { throw .notFound("No organisation with id '\(context.parameter("organisationId"))'") }
                    return organisation
                }
            },
            // Creates an organisation record; the sandbox does not serve a new tenant for it.
            Route(
                .admin, "POST", "/organisations", procedure: "createOrganisation", permission: .settings,
                body: organisationFields
            ) { context throws(TRPCError) in
                [
                    "id": .string(context.store.newID()), "name": context.body["name"] ?? .null,
                    "language": context.body["language"] ?? .null, "timezone": context.body["timezone"] ?? .null,
                    "location": context.body["location"] ?? .null, "createdBy": .string(context.identity.userId),
                    "updatedBy": .string(context.identity.userId),
                ]
            },
            Route(
                .admin, "POST", "/teams/invite", procedure: "inviteTeamMembers", permission: .settings,
                body: [Field("emails", .array(.string(minLength: 3), minItems: 1), required: true)]
            ) { context throws(TRPCError) in
                let emails = context.body["emails"]?.arrayValue?.compactMap(\.stringValue) ?? []
                let results = emails.map { email -> JSONValue in
                    let valid = email.contains("@") && !email.hasPrefix("@") && !email.hasSuffix("@")
                    return [
                        "email": .string(email), "success": .bool(valid),
                        "message": .string(valid ? "Invitation sent" : "Invalid email address"),
                    ]
                }
                let sent = results.filter { $0["success"] == true }.count
                return [
                    "success": .bool(sent == emails.count), "message": .string("\(sent) of \(emails.count) invited"),
                    "results": .array(results),
                ]
            },
            Route(.admin, "GET", "/auth-config", procedure: "getAuthConfig", permission: .settings) {
                context throws(TRPCError) in
                try context.read { data in data.singletons["authConfig"] ?? [:] }
            },
            Route(
                .admin, "PATCH", "/auth-config", procedure: "updateAuthConfig", permission: .settings, body: authFields
            ) { context throws(TRPCError) in
                try context.write { data throws(TRPCError) -> JSONValue in
                    var config = data.singletons["authConfig"]?.objectValue ?? [:]
                    for entry in context.body { config[entry.key] = entry.value }
                    data.singletons["authConfig"] = .object(config)
                    return .object(config)
                }
            },
            Route(
                .admin, "POST", "/third-party-config/initiate-shopify-connection",
                procedure: "initiateShopifyConnection",
                permission: .settings, body: []
            ) { context throws(TRPCError) in
                let digits = String(context.store.newID().suffix(8)).uppercased()
                return [
                    "code": .string("SHOP-\(digits.prefix(4))-\(digits.suffix(4))"),
                    "expiresAt": .string(Date().addingTimeInterval(900).ISO8601Format()),
                ]
            },
            Route(
                .admin, "GET", "/variables", procedure: "getVariables", query: pagination,
                handler: CRUD.list(.variables)),
            Route(
                .admin, "GET", "/variables/{variableConfigId}", procedure: "getVariable",
                handler: CRUD.get(.variables, parameter: "variableConfigId")),
            // The calling member's values.
            Route(.integration, "GET", "/variables", procedure: "getVariables", query: pagination) {
                context throws(TRPCError) in
                let items = try context.read { data in data.all(.variables) }
                return try CRUD.page(items, context: context) { variable in
                    guard case .object(var shown) = CRUD.present(variable, context: context) else { return .null }
                    shown["value"] = variable["_memberValue"] ?? .null
                    shown["valueCaptureDate"] =
                        variable["_memberValue"] == .null ? .null : variable["createdAt"] ?? .null
                    shown["valueValidationDate"] = .null
                    return .object(shown)
                }
            },
        ]
    }
}
