import JSONRPC
import Log
import MCP
import NudjClient
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Why a session has no usable tenant: no credentials configured, or an API domain the policy refuses.
package enum TenantProblem: Error, Sendable, Equatable {
    case notConfigured(String)
    case domainNotAllowed(String)
}

/// The tools of one tenant: lists what its view allows and runs calls against that tenant's API only.
///
/// Nothing here can reach another organisation: the tenant is fixed at construction, the upstream URL comes from its
/// normalised domain, and no tool has a domain or organisation argument.
package struct NudjToolProvider: ToolProvider {
    package let catalogue: Catalogue
    package let view: ToolView
    package let tenant: Result<TenantContext, TenantProblem>
    package let client: NudjClient
    package let shaper: ResultShaper
    package let logger: Logger

    /// Built on demand: only `initialize` and `server/discover` read it.
    package var instructions: String { Instructions.text(catalogue: catalogue, view: view, tenant: tenant) }

    package init(
        catalogue: Catalogue,
        view: ToolView,
        tenant: Result<TenantContext, TenantProblem>,
        client: NudjClient,
        shaper: ResultShaper,
        logger: Logger
    ) {
        self.catalogue = catalogue
        self.view = view
        self.tenant = tenant
        self.client = client
        self.shaper = shaper
        self.logger = logger
    }

    package func listTools() -> [ToolDescriptor] { view.descriptors }

    package func callTool(named name: String, arguments: JSONObject, context: ToolCallContext) async -> ToolCallResult?
    {
        guard let tool = catalogue.tool(named: name) else { return nil }
        let started = ContinuousClock.now
        let outcome = await run(tool, arguments: arguments, context: context)
        let elapsed = ContinuousClock.now - started
        let milliseconds = Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15
        var audit: [(String, String)] = [("tool", tool.name), ("ms", String((milliseconds * 100).rounded() / 100))]
        if case .success(let context) = tenant { audit.append(("organisation", context.domain.organisation)) }
        switch outcome {
        case .success(let result):
            logger.info("tool call", audit + [("outcome", "ok")])
            Metrics.process.countToolCall(tool: tool.name, code: "ok")
            return result
        case .failure(let unscoped):
            let error = unscoped.scoped(to: try? tenant.get().domain, api: tool.api)
            Metrics.process.countToolCall(tool: tool.name, code: error.code.rawValue)
            logger.info(
                "tool call",
                audit + [("outcome", error.code.rawValue), ("status", error.httpStatus.map(String.init) ?? "-")])
            let json = error.json  // built once: the text block carries the same object
            return ToolCallResult(
                content: [["type": "text", "text": .string(error.text(json))]], structuredContent: json, isError: true)
        }
    }

    /// For an id field that failed: the tool that lists its ids, and how to enable that tool if this session cannot
    /// call it.
    private func idHint(_ issues: [ValidationIssue]) -> String? {
        guard let issue = issues.first(where: { $0.idSource != nil }), let source = issue.idSource else { return nil }
        var hint = "\(issue.fieldName) takes ids from \(source): call it and pass an item's id."
        if let lister = catalogue.tool(named: source), let refused = view.refusalError(lister) {
            hint += " \(source) is not enabled in this session: \(refused.hint ?? refused.message)"
        }
        return hint
    }

    private func run(
        _ tool: ToolDefinition, arguments: JSONObject, context: ToolCallContext
    ) async -> Result<ToolCallResult, ToolError> {
        if let refused = view.refusalError(tool) { return .failure(refused) }
        let tenant: TenantContext
        switch self.tenant {
        case .success(let context): tenant = context
        case .failure(.notConfigured(let hint)):
            return .failure(
                ToolError(.notConfigured, "No Nudj credentials are configured for this server.", hint: hint))
        case .failure(.domainNotAllowed(let reason)):
            return .failure(
                ToolError(
                    .domainNotAllowed,
                    "The configured API domain is refused: \(reason)",
                    hint:
                        "Set NUDJ_API_DOMAIN to https://<org>.nudj.cx/api/v2/admin (or allow the host with --allow-domain)."
                )
            )
        }
        if let claims = tenant.claims, claims.isExpired(now: Int64(Date().timeIntervalSince1970)) {
            return .failure(
                ToolError(.tokenExpired, "The token expired; no request was sent.", hint: UpstreamErrors.expiredHint)
            )
        }
        if let claimed = tenant.mismatchedClaim {
            return .failure(
                ToolError(
                    .tenantForbidden,
                    "The token was minted for organisation '\(claimed)' but the API domain is \(tenant.domain.organisation)'s; no request was sent.",
                    httpStatus: 403,
                    hint:
                        "Use a token minted in the admin panel of \(tenant.domain.organisation) (https://\(tenant.domain.host)/admin → Settings → Developer), or point the API domain at \(claimed). Do not retry with this token."
                )
            )
        }
        let validator: CompiledSchema
        switch tool.validator.get() {
        case .success(let compiled): validator = compiled
        case .failure(let error):
            return .failure(
                ToolError(
                    .internalError,
                    "\(tool.name) cannot check its arguments (its inputSchema: \(error)); nothing was sent.",
                    hint:
                        "This is a defect in nudj-mcp's tool catalogue: other tools still work. Report it with the tool name."
                ))
        }
        let issues = validator.validate(.object(arguments))
        if !issues.isEmpty {
            var error = ToolError(
                .invalidInput,
                "Invalid arguments for \(tool.name): " + issues.prefix(3).map(\.description).joined(separator: "; "),
                field: issues[0].path,
                hint: idHint(issues)
                    ?? "Fix the listed fields; the tool's inputSchema gives every field's type and range."
            )
            error.fields = issues
            return .failure(error)
        }
        if tool.computation != nil {  // answered inside nudj-mcp from several reads (Computations.swift)
            return await Computations.run(tool, arguments: arguments, tenant: tenant, client: client, context: context)
        }
        let effective = RequestBuilder.applyingDefaults(tool, to: arguments)
        let call: APICall
        switch RequestBuilder.build(tool, arguments: effective) {
        case .success(let built): call = built
        case .failure(let error): return .failure(error)
        }
        // Second line of defence, independent of the tool's listing: a session that may not write (read-only,
        // planner, Viewer) sends nothing but GET.
        if view.readOnly && call.method != "GET" {
            return .failure(
                ToolError(
                    view.selection.allowsWrites ? .forbidden : .toolNotEnabled,
                    "This session may not change data (read-only, planner mode or a Viewer token); \(call.method) refused; no request was sent."
                ))
        }
        context.progress.report(0, total: 1, message: "\(call.method) \(tool.api.basePath)\(tool.path)")
        let outcome = await client.send(call, tenant: tenant) { wait in
            context.progress.report(0.5, total: 1, message: "Rate limited; retrying in \(wait) s")
            context.clientLog.log(.notice, .string("Rate limited by the Nudj API; retrying \(tool.name) in \(wait) s"))
        }
        switch outcome.result {
        case .failure(let failure):
            context.clientLog.log(.warning, .string("\(tool.name): \(failure)"))
            return .failure(UpstreamErrors.classify(failure, tenant: tenant, timeout: client.timeout))
        case .success(let response):
            context.progress.report(1, total: 1, message: "HTTP \(response.status)")
            context.clientLog.log(.debug, .string("\(call.method) \(tool.path) → \(response.status)"))
            guard (200..<300).contains(response.status) else {
                return .failure(
                    await OffLoop.run(bodyBytes: response.body.count) {
                        UpstreamErrors.classify(response, tenant: tenant, api: tool.api)
                    })
            }
            return await OffLoop.run(bodyBytes: response.body.count) {
                shaper.shape(tool, arguments: effective, status: response.status, body: response.body)
            }
        }
    }
}
