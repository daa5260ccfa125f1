import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The `instructions` an agent receives at initialize / discover: where it is connected, what it can and cannot do
/// and how to change that, the rate limits it shares, and how results and errors read.
enum Instructions {
    /// Documented per-organisation limits (requests per minute), shared by every agent on the organisation.
    static let rateLimits: [(api: NudjAPI, perMinute: Int)] = [(.admin, 500), (.integration, 1000), (.analytics, 100)]

    static func text(
        catalogue: Catalogue, view: ToolView, tenant: Result<TenantContext, TenantProblem>,
        now: Int64 = Int64(Date().timeIntervalSince1970)
    ) -> String {
        var lines: [String] = []
        switch tenant {
        case .success(let context):
            lines.append(connection(context, now: now))
        case .failure(.notConfigured(let hint)):
            lines.append(
                "No Nudj credentials are configured, so every tool call returns the error not_configured. \(hint)")
        case .failure(.domainNotAllowed(let reason)):
            lines.append(
                "The configured API domain is refused (\(reason)), so every tool call returns domain_not_allowed.")
        }
        let apis = Set(view.visible.map(\.api.rawValue)).sorted()
        lines.append(
            "\(view.visible.count) tools from toolsets \(view.toolsetNames.joined(separator: ", ")) (APIs: \(apis.joined(separator: ", ")))."
        )
        if let readOnly = readOnlyReason(view) {
            lines.append("This session is read-only (\(readOnly)): tools that change data are not available.")
        }
        lines += offToolsets(catalogue: catalogue, view: view)
        lines.append(
            "Rate limits per organisation, shared by every agent on it: "
                + rateLimits.map { "\($0.api.rawValue) API \($0.perMinute) requests/min" }.joined(separator: ", ")
                + ". A rate_limited error says how long to wait; avoid fanning out many calls at once."
        )
        lines.append(
            "Lists return items plus a page object (returned, totalCount, hasMore, nextArguments for the next page; limit 1-100, skip ≥ 0). Narrow them server-side instead of paging through everything: search, sort (e.g. -points), date filters where a tool offers them, and fields (dot paths) to get only the fields you need. Counts such as completedCount are lifetime totals; for a time window use the computed tools (rank_challenges_by_completions, summarise_points_by_day) where enabled."
        )
        lines.append(
            "Failures are tool results with isError and a structured error {code, message, retryable, hint, and when known httpStatus, field (the argument), upstreamCode, upstreamProcedure, apiDomain, retryAfterSeconds}. Codes: "
                + ToolErrorCode.all.map(\.rawValue).joined(separator: ", ")
                + ". On tenant_forbidden or token_expired do not retry: the credentials must change. tool_not_enabled names the setting that enables the tool."
        )
        return lines.joined(separator: "\n")
    }

    /// Who the session acts as. A token that cannot work (expired, or minted for another organisation) is said
    /// plainly instead of being announced as a connection.
    private static func connection(_ context: TenantContext, now: Int64) -> String {
        let domain = context.domain
        if let claimed = context.mismatchedClaim {
            return
                "The token belongs to the Nudj organisation '\(claimed)', but the API domain names the organisation '\(domain.organisation)' (\(domain.headerValue)), so every tool call returns tenant_forbidden and nothing is sent. Use a token minted for \(domain.organisation), or point the API domain at \(claimed)."
        }
        if let claims = context.claims, claims.isExpired(now: now) {
            return
                "The token for the Nudj organisation '\(domain.organisation)' (\(domain.headerValue)) has expired, so every tool call returns token_expired and nothing is sent. Generate a new token in the admin panel (Settings → Developer) and update the client configuration."
        }
        var who = "Connected to the Nudj organisation '\(domain.organisation)' (\(domain.headerValue))"
        if let role = context.claims?.role { who += " with \(role == .admin ? "an" : "a") \(role.name)-role token" }
        return who + ". Every tool acts on this organisation only; no tool takes an organisation or domain argument."
    }

    private static func readOnlyReason(_ view: ToolView) -> String? {
        var reasons: [String] = []
        if view.selection.serverReadOnly { reasons.append("the server runs with --read-only") }
        if view.selection.readOnly && !view.selection.serverReadOnly { reasons.append("X-MCP-Readonly: true") }
        if view.selection.serverPlanner { reasons.append("the server's agent mode is planner") }
        if view.selection.planner && !view.selection.serverPlanner { reasons.append("x-agent-mode: planner") }
        if view.role == .viewer { reasons.append("the token's role is Viewer") }
        return reasons.isEmpty ? nil : reasons.joined(separator: "; ")
    }

    /// The toolsets this session does not have, and the exact switch that turns each group on.
    private static func offToolsets(catalogue: Catalogue, view: ToolView) -> [String] {
        var byServer: [String] = []
        var byRequest: [String] = []
        for toolset in catalogue.toolsets where toolset.tools.allSatisfy({ !view.selection.tools.contains($0) }) {
            if toolset.tools.allSatisfy({ !view.selection.serverTools.contains($0) }) {
                byServer.append(toolset.name)
            } else {
                byRequest.append(toolset.name)
            }
        }
        var lines: [String] = []
        if !byServer.isEmpty {
            lines.append(
                "Toolsets off on this server: \(byServer.joined(separator: ", ")). To enable them, restart nudj-mcp with --toolsets \((view.serverToolsets + byServer).joined(separator: ",")) (or NUDJ_TOOLSETS; `all` enables every toolset); request headers cannot enable them."
            )
        }
        if !byRequest.isEmpty {
            lines.append(
                "Toolsets left out by this request's X-MCP-Toolsets / X-MCP-Tools headers: \(byRequest.joined(separator: ", ")); add them to X-MCP-Toolsets to use them."
            )
        }
        return lines
    }
}
