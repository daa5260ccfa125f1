import HTTPServer
import JSONRPC
import Log
import Synchronization
import TLS
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Configuration of the simulated API.
package struct SandboxConfiguration: Sendable {
    package var host = "127.0.0.1"
    package var port = 0
    /// Requests per organisation per window, per API (documented defaults: 1000 / 500 / 100 per minute).
    package var rateLimits: [NudjAPI: Int] = [.integration: 1000, .admin: 500, .analytics: 100]
    package var rateWindowSeconds = 60
    package var faults = FaultPlan()
    /// The seed's "now"; `nil`: the start of the current UTC day. Seeded data is a fixed pattern of offsets from it.
    package var seedAnchor: Date?
    /// Serves HTTPS with this server context (a certificate for `localhost` and `*.localhost` names); `nil`: http.
    package var tls: TLSContext?

    package init() {}
}

/// Serves the simulated Nudj API: organisation from the Host header, authentication and tenancy checks, RBAC, rate
/// limits, routing, and tRPC-style errors.
final class SandboxHandler: HTTPHandler {
    let store: SandboxStore
    let tokens: SandboxTokens
    let routes: [Route]
    let configuration: SandboxConfiguration
    let port: Mutex<Int> = Mutex(0)
    let logger: Logger
    private let counters = Mutex<[String: Int]>([:])
    private let windows = Mutex<[String: (start: Int64, count: Int)]>([:])
    /// API requests being handled now (up to their injected latency and fault), and the most ever at once: what
    /// flood tests assert the server's caps on.
    private let concurrency = Mutex<(current: Int, highWater: Int)>((0, 0))
    private let faults: FaultInjector

    init(
        store: SandboxStore, tokens: SandboxTokens, routes: [Route], configuration: SandboxConfiguration, logger: Logger
    ) {
        self.store = store
        self.tokens = tokens
        self.routes = routes.sorted { $0.specificity > $1.specificity }
        self.configuration = configuration
        self.logger = logger
        faults = FaultInjector(plan: configuration.faults)
    }

    /// Requests that reached each organisation (including refused ones): what tenancy tests count.
    var requestCounts: [String: Int] { counters.withLock { $0 } }

    func handle(_ request: HTTPRequest, responder: HTTPResponder) async {
        if request.path.hasPrefix("/_sandbox/") {
            responder.respond(control(request))
            return
        }
        var rateHeaders: [(String, String)] = []
        var procedure = "unknown"
        do throws(TRPCError) {
            guard let organisation = Self.organisation(fromHost: request.headers["Host"]) else {
                throw TRPCError.notFound("Organisation not found: use <org>.localhost as the host")
            }
            guard organisation != "", store.organisationNames.contains(organisation) else {
                throw TRPCError.notFound("Organisation not found")
            }
            counters.withLock { $0[organisation, default: 0] += 1 }
            let (api, rest) = try splitPath(request.path)
            rateHeaders = try rateLimit(organisation: organisation, api: api)
            // Counted while no answer can have been sent yet, so the count never includes a request the client
            // already has its answer to (and may have followed with the next one).
            concurrency.withLock {
                $0.current += 1
                $0.highWater = max($0.highWater, $0.current)
            }
            let fault = await faults.next()
            concurrency.withLock { $0.current -= 1 }
            if let fault {
                await deliver(fault, responder: responder, headers: rateHeaders)
                return
            }
            // Routing first (without refusing yet), so even authentication errors name the procedure.
            let parts = rest.split(separator: "/")
            var matched: (Route, [String: String])?
            var pathExists = false
            for route in routes where route.api == api {
                guard let parameters = route.match(parts) else { continue }
                pathExists = true
                if route.method == request.method {
                    matched = (route, parameters)
                    break
                }
            }
            if let (route, _) = matched { procedure = route.procedure }
            let identity = try authenticate(request, organisation: organisation)
            guard let (route, parameters) = matched else {
                if pathExists {
                    throw TRPCError(
                        status: 405, code: "METHOD_NOT_SUPPORTED",
                        message: "\(request.method) is not supported on \(request.path)")
                }
                throw TRPCError.notFound("No procedure found on path \(api.basePath)\(rest)")
            }
            if route.method != "GET" && identity.role == .viewer {
                throw TRPCError.forbidden("Insufficient permissions: Viewer tokens are read-only")
            }
            guard route.permission.allows(identity.role) else {
                throw TRPCError.forbidden("Insufficient permissions: token lacks required role")
            }
            let context = try makeContext(
                request, route: route, parameters: parameters, identity: identity, organisation: organisation)
            let result = try route.handler(context)
            let status = route.method == "POST" && route.procedure.hasPrefix("create") ? 201 : 200
            respond(responder, status: status, body: result, headers: rateHeaders)
        } catch {
            respond(
                responder, status: error.status, body: error.body(procedure: procedure),
                headers: rateHeaders + error.headers)
        }
    }

    private func respond(_ responder: HTTPResponder, status: Int, body: JSONValue, headers: [(String, String)]) {
        var fields = HTTPHeaders()
        for (name, value) in headers { fields.add(name, value) }
        responder.respond(.json(status, JSONWriter.encode(body), headers: fields))
    }

    /// `acme.localhost:4011` → `acme`.
    private static func organisation(fromHost host: String?) -> String? {
        guard let host, var name = LoopbackHost.split(authority: host)?.host else { return nil }
        if name.hasSuffix(".") { name.removeLast() }
        guard name != "localhost", LoopbackHost.isLocalhostName(name) else { return nil }
        return String(name.dropLast(".localhost".count))
    }

    private func splitPath(_ path: String) throws(TRPCError) -> (NudjAPI, String) {
        for api in NudjAPI.allCases where path == api.basePath || path.hasPrefix(api.basePath + "/") {
            return (api, String(path.dropFirst(api.basePath.count)))
        }
        throw .notFound("Not found: API paths start with /api/v2/admin, /api/v2/integration or /api/v2/analytics")
    }

    // MARK: - Authentication and tenancy

    private func authenticate(_ request: HTTPRequest, organisation: String) throws(TRPCError) -> SandboxIdentity {
        let bearer = request.headers["Authorization"]
        let apiToken = request.headers["x-api-token"]
        guard let raw = bearer ?? apiToken else {
            throw .unauthorized("You must be logged in to access this endpoint.")
        }
        var token = Substring(raw).trimmingASCIIWhitespace()
        if token.lowercased().hasPrefix("bearer ") { token = token.dropFirst(7).trimmingASCIIWhitespace() }
        guard let identity = tokens.identity(of: String(token)) else { throw .unauthorized("Unauthorized") }
        if identity.expiresAt <= Int64(Date().timeIntervalSince1970) { throw .unauthorized("Token expired") }
        if bearer != nil {
            guard let domain = request.headers["x-api-domain"] else {
                throw .unauthorized("x-api-domain header is required with Bearer tokens")
            }
            guard let domainOrganisation = Self.organisation(fromAPIDomain: domain) else {
                throw .unauthorized("x-api-domain must be the full API URL, e.g. https://<org>.nudj.cx/api/v2/admin")
            }
            guard domainOrganisation == organisation else {
                throw .forbidden("x-api-domain does not match the organisation of this host")
            }
            guard identity.organisation == domainOrganisation else {
                throw .forbidden("Token organisation does not match x-api-domain")
            }
        } else if identity.organisation != organisation {
            throw .forbidden("Token organisation does not match the organisation of this domain")
        }
        return identity
    }

    /// `http://acme.localhost:4011/api/v2/admin` → `acme` (the suffix is required, as on the real API).
    private static func organisation(fromAPIDomain value: String) -> String? {
        guard let schemeEnd = value.firstRange(of: "://") else { return nil }
        let rest = value[schemeEnd.upperBound...]
        let hostEnd = rest.firstIndex(of: "/") ?? rest.endIndex
        let path = rest[hostEnd...]
        guard NudjAPI.allCases.contains(where: { path == $0.basePath || path == $0.basePath + "/" }) else { return nil }
        return organisation(fromHost: String(rest[..<hostEnd]))
    }

    // MARK: - Rate limits

    private func rateLimit(organisation: String, api: NudjAPI) throws(TRPCError) -> [(String, String)] {
        let limit = configuration.rateLimits[api] ?? 1000
        let window = Int64(configuration.rateWindowSeconds)
        let now = Int64(Date().timeIntervalSince1970)
        let (count, start) = windows.withLock { windows -> (Int, Int64) in
            let key = "\(organisation)/\(api.rawValue)"
            var entry = windows[key] ?? (now, 0)
            if now - entry.start >= window { entry = (now, 0) }
            entry.count += 1
            windows[key] = entry
            return (entry.count, entry.start)
        }
        let reset = start + window
        let headers = [
            ("X-RateLimit-Limit", String(limit)), ("X-RateLimit-Remaining", String(max(0, limit - count))),
            ("X-RateLimit-Reset", String(reset)),
        ]
        if count > limit {
            var error = TRPCError(
                status: 429, code: "TOO_MANY_REQUESTS", message: "Rate limit exceeded for the \(api.rawValue) API")
            error.headers = headers
            throw error
        }
        return headers
    }

    // MARK: - Request context

    private func makeContext(
        _ request: HTTPRequest,
        route: Route,
        parameters: [String: String],
        identity: SandboxIdentity,
        organisation: String
    ) throws(TRPCError) -> RequestContext {
        let query = request.queryItems
        for field in route.query {
            guard let text = query.first(where: { $0.name == field.name })?.value else {
                if field.required { throw .badRequest("Required: query.\(field.name)") }
                continue
            }
            let value: JSONValue
            switch field.type {
            case .integer, .number: value = Double(text).map { .double($0) } ?? .string(text)
            case .boolean: value = text == "true" ? .bool(true) : text == "false" ? .bool(false) : .string(text)
            default: value = .string(text)
            }
            try BodyValidator.check(value, type: field.type, path: "query.\(field.name)")
        }
        var rawBody: JSONValue?
        if !request.body.isEmpty {
            do {
                rawBody = try JSONParser.parse(request.body)
            } catch {
                throw .badRequest("Request body is not valid JSON: \(error)")
            }
        }
        var body: JSONObject = [:]
        if route.acceptsRawBody {
            if let fields = route.body, let rawBody {
                try BodyValidator.check(rawBody, type: .array(.record(fields)), path: "body")
            }
        } else if let fields = route.body {
            body = try BodyValidator.validate(rawBody, fields: fields)
        }
        let language = (request.headers["x-language"] ?? request.headers["x-lang"]).map { $0.lowercased() }
        return RequestContext(
            organisation: organisation,
            identity: identity,
            parameters: parameters,
            query: query,
            body: body,
            rawBody: rawBody,
            language: route.api == .analytics ? nil : language,
            store: store
        )
    }

    // MARK: - Control endpoints (not part of the Nudj API)

    private func control(_ request: HTTPRequest) -> HTTPResponse {
        switch request.path {
        case "/_sandbox/stats":
            let counts = requestCounts
            var byOrganisation = JSONObject()
            for name in store.organisationNames { byOrganisation[name] = .int(Int64(counts[name] ?? 0)) }
            let total = counts.values.reduce(0, +)
            let (inFlight, highWater) = concurrency.withLock { $0 }
            return .json(
                200,
                JSONWriter.encode([
                    "requests": .object(byOrganisation), "total": .int(Int64(total)),
                    "inFlight": .int(Int64(inFlight)), "maxInFlight": .int(Int64(highWater)),
                ]))
        case "/_sandbox/fixtures":
            // One real id per resource (plus a few special ones) so tests can address existing entities.
            guard let organisation = request.query("org"),
                let fixtures = try? store.read(organisation, { Self.fixtures($0) })
            else {
                return .json(404, JSONWriter.encode(["message": "pass ?org=<subdomain> of a seeded organisation"]))
            }
            return .json(200, JSONWriter.encode(.object(fixtures)))
        default:
            return .json(404, JSONWriter.encode(["message": "unknown sandbox control endpoint"]))
        }
    }

    private static func fixtures(_ data: OrganisationData) -> JSONObject {
        var fixtures = JSONObject()
        for resource in Resource.allCases {
            if let id = data.all(resource).last?["id"] { fixtures[resource.rawValue] = id }  // oldest: the seeded one
        }
        fixtures["member"] = data.all(.users).last?["id"] ?? .null
        // The member's own asset (the Integration API's /me/rewards only shows those).
        fixtures["rewardAssets"] = data.all(.rewardAssets).last { $0["userId"] == fixtures["member"] }?["id"] ?? .null
        fixtures["externalUserId"] = data.all(.users).last?["externalUserId"] ?? .null
        fixtures["giveawayReward"] = data.all(.rewards).last { $0["isManualGiveaway"] == .bool(true) }?["id"] ?? .null
        fixtures["communitySlug"] = data.all(.communities).last?["slug"] ?? .null
        // Integration API: the member sees live content only; locked challenges cost keys to unlock.
        let live = data.all(.challenges).reversed().filter(Routes.isLive)
        fixtures["openChallenge"] = live.first { Routes.int($0["unlockPrice"]) == 0 }?["id"] ?? .null
        fixtures["lockedChallenge"] = live.first { Routes.int($0["unlockPrice"]) > 0 }?["id"] ?? .null
        fixtures["liveAchievement"] = data.all(.achievements).last(where: Routes.isLive)?["id"] ?? .null
        fixtures["liveReward"] = data.all(.rewards).last(where: Routes.isLive)?["id"] ?? .null
        // An external-link action (answerable without knowing the question) and a live challenge that contains it.
        for challenge in live where Routes.int(challenge["unlockPrice"]) == 0 {
            let action = (challenge["actionIds"]?.arrayValue ?? []).compactMap { id in
                id.stringValue.flatMap { data.find(.actions, id: $0) }
            }.first { $0["key"] == "interaction-external-link" }
            if let action {
                fixtures["linkAction"] = action["id"]
                fixtures["linkActionChallenge"] = challenge["id"]
                break
            }
        }
        fixtures["organisation"] = data.singletons["organisation"]?["id"] ?? .null
        fixtures["customDomain"] = data.all(.domains).last?["domain"] ?? .null
        return fixtures
    }

    private func deliver(_ fault: FaultInjector.Fault, responder: HTTPResponder, headers: [(String, String)]) async {
        await faults.deliver(fault, responder: responder, headers: headers)
    }
}
