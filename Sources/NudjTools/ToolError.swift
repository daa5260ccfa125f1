import JSONRPC
import Tenancy

/// A stable, machine-readable tool error code. An open catalogue; agents branch on these strings.
package struct ToolErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }

    /// 401: the token is missing, malformed, revoked or not accepted.
    package static let unauthorized = ToolErrorCode(rawValue: "unauthorized")
    /// The token's `exp` has passed (checked locally, no upstream call made) or upstream says it expired.
    package static let tokenExpired = ToolErrorCode(rawValue: "token_expired")
    /// 403: the token belongs to a different organisation than the API domain.
    package static let tenantForbidden = ToolErrorCode(rawValue: "tenant_forbidden")
    /// A permission: 403 for any other reason (the token's role is too low), or a Viewer token's write refused locally.
    package static let forbidden = ToolErrorCode(rawValue: "forbidden")
    /// A configuration: the tool is outside this session's selection (toolsets, tools, exclusions, read-only,
    /// planner mode). The hint names the flag, env var or header that enables it.
    package static let toolNotEnabled = ToolErrorCode(rawValue: "tool_not_enabled")
    package static let notFound = ToolErrorCode(rawValue: "not_found")
    /// Arguments failed validation (locally, before any call) or upstream rejected them (400/422).
    package static let invalidInput = ToolErrorCode(rawValue: "invalid_input")
    package static let conflict = ToolErrorCode(rawValue: "conflict")
    package static let rateLimited = ToolErrorCode(rawValue: "rate_limited")
    /// 500 or an unexpected status from upstream.
    package static let upstreamError = ToolErrorCode(rawValue: "upstream_error")
    /// 502/503/504, or the API could not be reached at all.
    package static let upstreamUnavailable = ToolErrorCode(rawValue: "upstream_unavailable")
    package static let upstreamTimeout = ToolErrorCode(rawValue: "upstream_timeout")
    /// The API's TLS certificate was refused (untrusted chain, another host's name, expired): retrying cannot help
    /// until the certificate or the trust (`--ca-file`) changes.
    package static let upstreamCertificate = ToolErrorCode(rawValue: "upstream_certificate")
    /// A 2xx whose body is not the JSON the endpoint promises.
    package static let invalidUpstreamResponse = ToolErrorCode(rawValue: "invalid_upstream_response")
    package static let domainNotAllowed = ToolErrorCode(rawValue: "domain_not_allowed")
    /// No credentials were configured for this server.
    package static let notConfigured = ToolErrorCode(rawValue: "not_configured")
    /// A defect in nudj-mcp itself (a tool definition the test suite should have refused); nothing was sent.
    package static let internalError = ToolErrorCode(rawValue: "internal_error")

    package static let all: [ToolErrorCode] = [
        .unauthorized, .tokenExpired, .tenantForbidden, .forbidden, .toolNotEnabled, .notFound, .invalidInput,
        .conflict, .rateLimited,
        .upstreamError, .upstreamUnavailable, .upstreamTimeout, .upstreamCertificate, .invalidUpstreamResponse,
        .domainNotAllowed,
        .notConfigured, .internalError,
    ]

    package var description: String { rawValue }
}

/// A failure the agent can act on, complete on its own: some clients show only `structuredContent`, so the
/// structured object carries everything, and the text block says the same in words.
package struct ToolError: Error, Sendable, Equatable {
    package var code: ToolErrorCode
    package var message: String
    package var httpStatus: Int?
    package var upstreamCode: String?
    /// The argument the error concerns (`details.title`, `tags[2]`), when one is known.
    package var field: String?
    /// The API procedure that refused the call (the tRPC envelope's `data.path`), for correlating with Nudj's logs.
    package var upstreamProcedure: String?
    /// The base URL of the API the tool calls (`…/api/v2/admin`, `…/integration` or `…/analytics`).
    package var apiDomain: String?
    package var organisation: String?
    package var retryable: Bool
    package var retryAfterSeconds: Double?
    package var hint: String?
    /// Every argument problem found, when validation failed on several.
    package var fields: [ValidationIssue] = []

    package init(
        _ code: ToolErrorCode,
        _ message: String,
        httpStatus: Int? = nil,
        upstreamCode: String? = nil,
        field: String? = nil,
        upstreamProcedure: String? = nil,
        retryable: Bool = false,
        retryAfterSeconds: Double? = nil,
        hint: String? = nil
    ) {
        self.code = code
        self.message = message
        self.httpStatus = httpStatus
        self.upstreamCode = upstreamCode
        self.field = field
        self.upstreamProcedure = upstreamProcedure
        self.retryable = retryable
        self.retryAfterSeconds = retryAfterSeconds
        self.hint = hint
    }

    /// Adds where the call went: the organisation and the base URL of the API the tool calls.
    package func scoped(to domain: APIDomain?, api: NudjAPI) -> ToolError {
        var copy = self
        copy.apiDomain = domain?.baseURL(api)
        copy.organisation = domain?.organisation
        return copy
    }

    /// The structured error. A field that is not known is omitted, never filled with a placeholder.
    package var json: JSONValue {
        var error: JSONObject = ["code": .string(code.rawValue)]
        if let httpStatus { error.appendUnchecked("httpStatus", .int(Int64(httpStatus))) }
        if let upstreamCode { error.appendUnchecked("upstreamCode", .string(upstreamCode)) }
        error.appendUnchecked("message", .string(message))
        if let field { error.appendUnchecked("field", .string(field)) }
        if let upstreamProcedure { error.appendUnchecked("upstreamProcedure", .string(upstreamProcedure)) }
        if let apiDomain { error.appendUnchecked("apiDomain", .string(apiDomain)) }
        if let organisation { error.appendUnchecked("organisation", .string(organisation)) }
        error.appendUnchecked("retryable", .bool(retryable))
        if let retryAfterSeconds { error.appendUnchecked("retryAfterSeconds", .double(retryAfterSeconds)) }
        if let hint { error.appendUnchecked("hint", .string(hint)) }
        if !fields.isEmpty {
            error.appendUnchecked(
                "fields",
                .array(fields.map { .object(["field": .string($0.path), "message": .string($0.message)]) })
            )
        }
        return .object(["error": .object(error)])
    }

    /// One readable line, then `json` (this error's `json`, built once by the caller, who also sends it as
    /// structured content).
    package func text(_ json: JSONValue) -> String {
        var line = "Error \(code.rawValue)"
        if let httpStatus { line += " (HTTP \(httpStatus))" }
        if let organisation { line += " for organisation \(organisation)" }
        line += ": \(message)"
        if let retryAfterSeconds { line += " Retry after \(Self.seconds(retryAfterSeconds)) s." }
        if let hint { line += " Hint: \(hint)" }
        return line + "\n" + JSONWriter.encodeString(json)
    }

    private static func seconds(_ value: Double) -> String {
        value.rounded() == value ? String(Int(value)) : String((value * 10).rounded() / 10)
    }
}
