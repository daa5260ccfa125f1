import JSONRPC
import MCP
import NudjTools
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `nudj-mcp doctor`: checks a setup against the user's real organisation and says what works.
///
/// The token's claims and the API domain are checked locally, one request shows the API answers, then every
/// read-only tool is called once with the smallest page, through the same runtime and tool layer the server uses, so
/// the report says what an agent would meet — in particular which inferred endpoints exist for this organisation.
enum DoctorCommand {
    static func run(_ options: Options) async throws -> Int32 {
        let logger = try Composition.logger(options, label: "nudj-mcp", defaultLevel: "warning")
        let catalogue = try Composition.catalogue()
        let probed = ToolSelection(toolsets: Set(options.list(.toolsets) ?? ["all"]))
        try Composition.check(probed, against: catalogue)
        // The runtime may call every tool: the id a probed tool needs can come from a list outside the probed set.
        let inProcess = options.flag(.sandbox) ? try SandboxCommand.inProcess(options, logger: logger) : nil
        let runtime = try Composition.runtime(
            options, catalogue: catalogue, logger: logger, sandboxPort: inProcess?.sandbox.port,
            selection: ToolSelection(toolsets: ["all"]))
        let tools = ToolView(catalogue: catalogue, server: probed).visible.filter { !$0.isWrite }

        let report: DoctorReport
        if let inProcess {
            let sandbox = inProcess.sandbox
            let tenant = inProcess.tenant(runtime)
            let credential = try? tenant.get().credential
            report = await withTaskGroup(of: Void.self) { group in
                group.addImmediateTask { await sandbox.run() }
                var doctor = Doctor(runtime: runtime, tools: tools)
                let report = await doctor.examine(
                    tenant, credential: credential, domainInput: try? tenant.get().domain.headerValue)
                await sandbox.shutdown(grace: .seconds(1))
                return report
            }
        } else {
            let bearer = options.string(.token)
            let apiToken = options.string(.apiToken)
            let domain = options.string(.apiDomain)
            var doctor = Doctor(runtime: runtime, tools: tools)
            report = await doctor.examine(
                runtime.tenant(bearer: bearer, apiToken: apiToken, domain: domain),
                credential: NudjRuntime.credential(bearer: bearer, apiToken: apiToken), domainInput: domain)
        }
        print(options.flag(.json) ? JSONWriter.encodeString(report.json) : report.text)
        return report.verdict.exitCode
    }

    /// The exit statuses, for `nudj-mcp doctor --help`.
    static var exitStatusHelp: String {
        var text = "Exit status:"
        for verdict in DoctorVerdict.all {
            text +=
                "\n  \(verdict.exitCode)  \(verdict.name.padded(to: 20)) \(verdict.meaning)"
        }
        text += "\n  1  (error)              nudj-mcp itself failed\n  2  (usage)              a bad option or value"
        return text
    }
}

/// What doctor concluded about the setup; each verdict has its own exit status.
struct DoctorVerdict: Sendable, Equatable {
    let name: String
    let exitCode: Int32
    let meaning: String

    static let ok = DoctorVerdict(
        name: "ok", exitCode: 0,
        meaning: "token, API domain and API are fine (some tools may still be absent or need a higher role)")
    static let notConfigured = DoctorVerdict(
        name: "not_configured", exitCode: 3, meaning: "no usable token, or no API domain, is configured")
    static let domainRefused = DoctorVerdict(
        name: "domain_refused", exitCode: 4,
        meaning: "the API domain is not allowed (not https under *.nudj.cx or --allow-domain)")
    static let tokenExpired = DoctorVerdict(name: "token_expired", exitCode: 5, meaning: "the token has expired")
    static let tokenRejected = DoctorVerdict(
        name: "token_rejected", exitCode: 6, meaning: "the API did not accept the token (revoked, mistyped, not Nudj's)"
    )
    static let otherOrganisation = DoctorVerdict(
        name: "other_organisation", exitCode: 7,
        meaning: "the token belongs to another organisation than the API domain")
    static let apiUnreachable = DoctorVerdict(
        name: "api_unreachable", exitCode: 8, meaning: "the API could not be reached, or did not answer as the Nudj API"
    )

    static let all = [ok, notConfigured, domainRefused, tokenExpired, tokenRejected, otherOrganisation, apiUnreachable]
}

/// How one read-only tool fared.
enum ProbeOutcome: String, Sendable, CaseIterable {
    case works
    /// 404: the endpoint does not exist for this organisation (typically an inferred one).
    case endpointAbsent = "endpoint_absent"
    /// 403 that is not a tenancy mismatch: the token's role does not allow it.
    case roleTooLow = "role_too_low"
    case rateLimited = "rate_limited"
    /// Not called: it needs an argument (an id) no list could supply.
    case skipped
    case other

    var label: String {
        switch self {
        case .works: "works"
        case .endpointAbsent: "endpoint absent"
        case .roleTooLow: "role too low"
        case .rateLimited: "rate limited"
        case .skipped: "skipped"
        case .other: "other"
        }
    }

    /// The outcome a tool result stands for. Error codes this does not know (the catalogue is open) are `other`.
    init(_ result: ToolCallResult) {
        guard result.isError else {
            self = .works
            return
        }
        let error = result.structuredContent?["error"]
        switch error?["code"]?.stringValue {
        case ToolErrorCode.notFound.rawValue: self = .endpointAbsent
        case ToolErrorCode.forbidden.rawValue where error?["httpStatus"]?.intValue == 403: self = .roleTooLow
        case ToolErrorCode.rateLimited.rawValue: self = .rateLimited
        default: self = .other
        }
    }
}

/// One tool's probe: its outcome, how long the call took, and the tool error or the reason it was not called.
struct Probe: Sendable {
    let tool: ToolDefinition
    var outcome: ProbeOutcome
    var milliseconds: Double?
    /// The tool error's `error` object, when the call failed.
    var error: JSONValue?
    /// Why the tool was skipped or not called.
    var note: String?

    var errorCode: String? { error?["code"]?.stringValue }
}

/// Examines one tenant: local checks, reachability, then every probed tool, sequentially (the Nudj API limits
/// requests per organisation and API, and doctor must not spend an agent's budget).
struct Doctor {
    /// A list tool's smallest page, as far as ids are concerned: its first item (if any), or the failed probe.
    private enum ListPage {
        case first(JSONObject?)
        case failed(Probe)
    }

    let runtime: NudjRuntime
    let tools: [ToolDefinition]
    /// A rate-limited tool is retried once after waits up to this long; longer waits pause that API for the run.
    let maxRetryWait: Double = 10
    private var firstItems: [String: ListPage] = [:]
    private var pausedUntil: [NudjAPI: Date] = [:]
    /// The organisation id the token's claims carry: what `get_organisation` takes (no list tool returns it).
    private var claimedOrganisationId: String?
    private var calls: Int64 = 0

    init(runtime: NudjRuntime, tools: [ToolDefinition]) {
        self.runtime = runtime
        self.tools = tools
    }

    mutating func examine(
        _ tenantResult: Result<TenantContext, TenantProblem>, credential: Credential?, domainInput: String?
    ) async -> DoctorReport {
        var report = DoctorReport(credential: credential, domainInput: domainInput)
        claimedOrganisationId = report.claims?.organisationId
        let tenant: TenantContext
        switch tenantResult {
        case .failure(.notConfigured(let hint)):
            return report.failing(
                .notConfigured, credential == nil ? "No usable token is configured." : "No API domain is configured.",
                hint: hint)
        case .failure(.domainNotAllowed(let reason)):
            report.domainRefusal = reason
            var hint = "Set --api-domain / NUDJ_API_DOMAIN to https://<org>.nudj.cx/api/v2/admin (or just <org>)"
            if let subdomain = report.claims?.subdomain { hint += "; the token names organisation '\(subdomain)'" }
            return report.failing(.domainRefused, "The API domain is refused: \(reason)", hint: hint + ".")
        case .success(let context):
            tenant = context
            report.domain = context.domain
        }
        let organisation = tenant.domain.organisation
        if let expiry = report.claims?.expiresAt,
            report.claims?.isExpired(now: Int64(Date().timeIntervalSince1970)) == true
        {
            return report.failing(
                .tokenExpired, "The token expired \(DoctorReport.when(expiry)); no request was sent.",
                hint:
                    "Generate a new MCP token in the admin panel of \(organisation) (Settings → Developer → MCP Tokens) and update NUDJ_MCP_TOKEN."
            )
        }
        if let claimed = tenant.mismatchedClaim {
            return report.failing(
                .otherOrganisation,
                "The token was minted for organisation '\(claimed)' but the API domain is \(organisation)'s; no request was sent.",
                hint:
                    "Use a token from the admin panel of \(organisation) (https://\(tenant.domain.host)/admin → Settings → Developer), or point --api-domain / NUDJ_API_DOMAIN at \(claimed)."
            )
        }

        let provider = runtime.provider(for: .success(tenant))
        // Reachability: one cheap documented admin list, the smallest page. Its answer also proves the token.
        guard let first = reachabilityTool() else {
            return report.failing(
                .apiUnreachable, "The catalogue has no documented list tool to reach the API with.", hint: nil)
        }
        let reach = await probe(first, provider: provider)
        report.reachability = reach
        // The API's refusals of the setup carry the tool layer's own message and hint.
        let hint = reach.error?["hint"]?.stringValue
        switch reach.errorCode {
        case ToolErrorCode.upstreamUnavailable.rawValue, ToolErrorCode.upstreamTimeout.rawValue,
            ToolErrorCode.invalidUpstreamResponse.rawValue:
            return report.failing(
                .apiUnreachable,
                "The API at \(tenant.domain.headerValue) did not answer as the Nudj API: \(reach.message)",
                hint: "Check the API domain and the network (a proxy or VPN?), then run nudj-mcp doctor again.")
        case ToolErrorCode.unauthorized.rawValue:
            return report.failing(.tokenRejected, "The API did not accept the token: \(reach.message)", hint: hint)
        case ToolErrorCode.tokenExpired.rawValue:
            return report.failing(.tokenExpired, "The API says the token has expired: \(reach.message)", hint: hint)
        case ToolErrorCode.tenantForbidden.rawValue:
            return report.failing(
                .otherOrganisation,
                "The API says the token belongs to another organisation than \(organisation): \(reach.message)",
                hint: hint)
        default:
            break  // the API answered; a 403, 404 or 429 here concerns that one tool
        }

        // Lists before the tools that take an id from them; reported in catalogue order.
        let needNoArguments = tools.filter { Self.requiredArguments($0).isEmpty }
        let needIds = tools.filter { !Self.requiredArguments($0).isEmpty }
        var probes: [String: Probe] = [first.name: reach]
        for tool in needNoArguments + needIds where probes[tool.name] == nil {
            probes[tool.name] = await probe(tool, provider: provider)
        }
        report.probes = tools.map { probes[$0.name]! }
        return report
    }

    /// The first documented admin list tool: every organisation has the endpoint, and a page of one is cheap.
    private func reachabilityTool() -> ToolDefinition? {
        runtime.catalogue.tools.first {
            !$0.isWrite && $0.api == .admin && $0.evidence == .referencePage && Self.isList($0)
                && Self.requiredArguments($0).isEmpty
        }
    }

    /// Calls `tool` once with the smallest page, taking the ids it needs from the first item of a list tool.
    private mutating func probe(_ tool: ToolDefinition, provider: NudjToolProvider) async -> Probe {
        var arguments: JSONObject = [:]
        if Self.properties(tool).contains("limit") { arguments["limit"] = 1 }
        for argument in Self.requiredArguments(tool) {
            if argument == "organisationId", let organisationId = claimedOrganisationId {
                arguments[argument] = .string(organisationId)
                continue
            }
            guard let source = idSource(for: argument, of: tool) else {
                return Probe(tool: tool, outcome: .skipped, note: "needs \(argument), which no list tool supplies")
            }
            switch await firstItem(of: source, provider: provider) {
            case .failed(let failed) where failed.outcome == .rateLimited:
                return Probe(
                    tool: tool, outcome: .rateLimited,
                    note: "not called: its id comes from \(source.name), which met the rate limit")
            case .failed(let failed):
                return Probe(
                    tool: tool, outcome: .skipped,
                    note:
                        "needs an id: \(source.name) \(failed.outcome == .endpointAbsent ? "is absent" : "failed (\(failed.errorCode ?? failed.outcome.rawValue))")"
                )
            case .first(nil):
                return Probe(tool: tool, outcome: .skipped, note: "needs an id: \(source.name) returned no items")
            case .first(let item?):
                guard let id = (item["id"] ?? item["_id"] ?? item["node"]?["id"])?.stringValue else {
                    return Probe(tool: tool, outcome: .skipped, note: "needs an id: \(source.name)'s items carry none")
                }
                arguments[argument] = .string(id)
            }
        }
        let probe = await call(tool, arguments, provider: provider)
        return probe
    }

    /// One call through the tool layer. A rate-limited call is retried once after a short wait; after a long one,
    /// that API is not called again in this run.
    private mutating func call(
        _ tool: ToolDefinition, _ arguments: JSONObject, provider: NudjToolProvider
    ) async -> Probe {
        if let until = pausedUntil[tool.api], until > Date() {
            return Probe(
                tool: tool, outcome: .rateLimited,
                note: "not called: the \(tool.api.rawValue) API's rate limit was reached in this run")
        }
        var probe = await invoke(tool, arguments, provider: provider)
        if probe.outcome == .rateLimited {
            let wait = probe.error?["retryAfterSeconds"]?.doubleValue ?? 60
            if wait <= maxRetryWait {
                try? await Task.sleep(for: .milliseconds(Int(wait * 1000) + 100))
                probe = await invoke(tool, arguments, provider: provider)
            }
            if probe.outcome == .rateLimited {
                pausedUntil[tool.api] = Date().addingTimeInterval(probe.error?["retryAfterSeconds"]?.doubleValue ?? 60)
            }
        }
        return probe
    }

    private mutating func invoke(
        _ tool: ToolDefinition, _ arguments: JSONObject, provider: NudjToolProvider
    ) async -> Probe {
        calls += 1
        let context = ToolCallContext(requestID: .int(calls), progress: .disabled, clientLog: .disabled)
        let started = ContinuousClock.now
        let result =
            await provider.callTool(named: tool.name, arguments: arguments, context: context)
            ?? .text("unknown tool", isError: true)
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var probe = Probe(tool: tool, outcome: ProbeOutcome(result), milliseconds: milliseconds)
        if result.isError { probe.error = result.structuredContent?["error"] ?? ["code": "unknown"] }
        if Self.isList(tool) {
            firstItems[tool.name] = probe.outcome == .works ? .first(Self.firstElement(of: result)) : .failed(probe)
        }
        return probe
    }

    /// The first item of a list tool's smallest page (probed once, then remembered), or the failed probe.
    private mutating func firstItem(of list: ToolDefinition, provider: NudjToolProvider) async -> ListPage {
        if let known = firstItems[list.name] { return known }
        let probe = await call(list, Self.properties(list).contains("limit") ? ["limit": 1] : [:], provider: provider)
        return firstItems[list.name] ?? .failed(probe)
    }

    /// The list tool whose items carry ids for `argument`: a tool addressing `/collection/{argument}` means the
    /// list at `/collection` returns them. The probed tool's API is preferred, then the admin API.
    private func idSource(for argument: String, of tool: ToolDefinition) -> ToolDefinition? {
        let marker = "/{\(argument)}"
        let collections = Set(
            runtime.catalogue.tools.compactMap { other in
                other.path.firstRange(of: marker).map { String(other.path[..<$0.lowerBound]) }
            })
        let lists = runtime.catalogue.tools.filter {
            !$0.isWrite && Self.isList($0) && Self.requiredArguments($0).isEmpty && collections.contains($0.path)
        }
        return lists.first { $0.api == tool.api } ?? lists.first { $0.api == .admin } ?? lists.first
    }

    private static func isList(_ tool: ToolDefinition) -> Bool {
        if case .list = tool.output { true } else { false }
    }

    private static func properties(_ tool: ToolDefinition) -> Set<String> {
        Set(tool.inputSchema["properties"]?.objectValue?.keys ?? [])
    }

    private static func requiredArguments(_ tool: ToolDefinition) -> [String] {
        tool.inputSchema["required"]?.arrayValue?.compactMap(\.stringValue) ?? []
    }

    /// The first element of the result's list, whatever the envelope calls it.
    private static func firstElement(of result: ToolCallResult) -> JSONObject? {
        guard let object = result.structuredContent?.objectValue else { return nil }
        for key in ["items", "edges", "data"] {
            if let elements = object[key]?.arrayValue { return elements.first?.objectValue }
        }
        return nil
    }
}

extension Probe {
    /// The tool error's message, or the reason it was not called.
    var message: String { error?["message"]?.stringValue ?? note ?? outcome.label }
}
