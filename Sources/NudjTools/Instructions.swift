import Foundation
import Tenancy

/// The `instructions` an agent receives at initialize / discover: where it is connected, what it can do, how
/// results and errors read.
enum Instructions {
    static func text(view: ToolView, tenant: Result<TenantContext, TenantProblem>) -> String {
        var lines: [String] = []
        switch tenant {
        case .success(let context):
            var who =
                "Connected to the Nudj organisation '\(context.domain.organisation)' (\(context.domain.headerValue))"
            if let role = context.claims?.role { who += " with \(role == .admin ? "an" : "a") \(role.name)-role token" }
            lines.append(
                who + ". Every tool acts on this organisation only; no tool takes an organisation or domain argument.")
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
                + (view.readOnly ? " Read-only mode: tools that change data are not available." : "")
        )
        lines.append(
            "Lists are paginated (limit 1-100, skip ≥ 0); each list result has a page object with returned, totalCount, hasMore and nextArguments to call for the next page."
        )
        lines.append(
            "Failures are tool results with isError and a structured error {code, httpStatus, message, retryable, retryAfterSeconds, hint}. Codes: unauthorized, token_expired, tenant_forbidden, forbidden, not_found, invalid_input, conflict, rate_limited, upstream_error, upstream_unavailable, upstream_timeout, invalid_upstream_response, domain_not_allowed, not_configured. On tenant_forbidden or token_expired do not retry: the credentials must change."
        )
        return lines.joined(separator: "\n")
    }
}
