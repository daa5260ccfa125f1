import Codecs
import JSONRPC
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What a write needs from the caller's role (RBAC as Nudj documents it).
enum Permission: Sendable {
    case read
    /// Challenges, actions, rewards, achievements, leaderboards, communities, tags, campaigns: Manager and above.
    case content
    /// Posts and moderation: Moderator and above.
    case moderation
    /// Users and their data: Moderator (moderation) and Admin.
    case users
    /// Organisation settings (theme, domains, webhooks, tokens): Admin and above.
    case settings
    /// Integration API actions taken as the calling member.
    case member

    func allows(_ role: NudjRole) -> Bool {
        switch self {
        case .read: true
        case .member: role >= .moderator
        case .moderation: role >= .moderator
        case .users: role == .moderator || role >= .admin
        case .content: role >= .manager
        case .settings: role >= .admin
        }
    }
}

/// Everything a route handler may use for one request.
struct RequestContext: Sendable {
    var organisation: String
    var identity: SandboxIdentity
    var parameters: [String: String]
    var query: [(name: String, value: String)]
    var body: JSONObject
    var rawBody: JSONValue?
    var language: String?
    var store: SandboxStore

    func parameter(_ name: String) -> String { parameters[name] ?? "" }

    func queryValue(_ name: String) -> String? { query.first { $0.name == name }?.value }

    func read<T: Sendable>(_ body: (OrganisationData) throws(TRPCError) -> T) throws(TRPCError) -> T {
        try store.read(organisation, body)
    }

    func write<T: Sendable>(_ body: (inout OrganisationData) throws(TRPCError) -> T) throws(TRPCError) -> T {
        try store.write(organisation, body)
    }

    static var now: String { Date().ISO8601Format() }
}

/// One endpoint of the simulated API.
struct Route: Sendable {
    enum Segment: Sendable, Equatable {
        case literal(String)
        case parameter(String)
    }

    var api: NudjAPI
    var method: String
    var segments: [Segment]
    /// The tRPC procedure name reported in error envelopes (`data.path`).
    var procedure: String
    var permission: Permission
    /// Accepted query parameters; anything else is ignored, as the API does.
    var query: [Field]
    /// Body fields (`nil`: no body expected). For array bodies see `rawBody`.
    var body: [Field]?
    var acceptsRawBody = false
    var handler: @Sendable (RequestContext) throws(TRPCError) -> JSONValue

    init(
        _ api: NudjAPI,
        _ method: String,
        _ path: String,
        procedure: String,
        permission: Permission? = nil,
        query: [Field] = [],
        body: [Field]? = nil,
        acceptsRawBody: Bool = false,
        handler: @escaping @Sendable (RequestContext) throws(TRPCError) -> JSONValue
    ) {
        self.api = api
        self.method = method
        segments = path.split(separator: "/").map { part in
            part.hasPrefix("{") && part.hasSuffix("}")
                ? .parameter(String(part.dropFirst().dropLast())) : .literal(String(part))
        }
        self.procedure = procedure
        self.permission = permission ?? (method == "GET" ? .read : .content)
        self.query = query
        self.body = body
        self.acceptsRawBody = acceptsRawBody
        self.handler = handler
    }

    /// Path parameters if `parts` match this route's pattern.
    func match(_ parts: [Substring]) -> [String: String]? {
        guard parts.count == segments.count else { return nil }
        var parameters: [String: String] = [:]
        for (segment, part) in zip(segments, parts) {
            switch segment {
            case .literal(let literal): if literal != part { return nil }
            case .parameter(let name):
                parameters[name] = PercentEncoding.decode(String(part), plusAsSpace: false) ?? String(part)
            }
        }
        return parameters
    }

    /// More literal segments win (`/rewards/manual-distribution` over `/rewards/{id}`).
    var specificity: Int { segments.filter { if case .literal = $0 { true } else { false } }.count }
}
