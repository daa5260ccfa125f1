import Foundation
import JSONRPC
import NudjClient
import Tenancy

/// Turns an upstream failure (non-2xx or no response) into a `ToolError` an agent can act on.
///
/// Upstream messages are length-capped and scrubbed of the caller's token before they are repeated.
package enum UpstreamErrors {
    static let maxMessageLength = 300

    package static func classify(
        _ response: UpstreamResponse,
        tenant: TenantContext,
        now: Double = Date().timeIntervalSince1970
    ) -> ToolError {
        let envelope = try? JSONParser.parse(response.body, maxDepth: 32)
        let upstreamCode = envelope?["code"]?.stringValue
        let procedure = envelope?["data"]?["path"]?.stringValue
        let rawMessage = envelope?["message"]?.stringValue ?? ""
        let message = sanitize(rawMessage, tenant: tenant)
        let domain = tenant.domain
        func error(_ code: ToolErrorCode, _ fallback: String, retryable: Bool = false, hint: String? = nil) -> ToolError
        {
            ToolError(
                code,
                message.isEmpty ? fallback : message,
                httpStatus: response.status,
                upstreamCode: upstreamCode,
                path: procedure,
                retryable: retryable,
                hint: hint
            ).scoped(to: domain)
        }

        switch response.status {
        case 400, 422:
            return error(
                .invalidInput, "The API rejected the arguments",
                hint: "Fix the field named in the message and call again.")
        case 401:
            if isExpiryMessage(rawMessage) || tenant.claims?.isExpired(now: Int64(now)) == true {
                return error(.tokenExpired, "The token has expired", hint: expiredHint)
            }
            return error(
                .unauthorized,
                "The API did not accept the token",
                hint:
                    "Check the token has no extra spaces and was not revoked; generate a new one under Settings → Developer if needed."
            )
        case 403:
            if isTenantMismatch(rawMessage, tenant: tenant) {
                return error(
                    .tenantForbidden,
                    "The token belongs to a different organisation than \(domain.headerValue)",
                    hint:
                        "Use a token minted in the admin panel of \(domain.organisation) (https://\(domain.host)/admin → Settings → Developer), or point the API domain at the token's own organisation. Do not retry with this token."
                )
            }
            let role = tenant.claims?.role.map { " The token's role is \($0.name)." } ?? ""
            return error(
                .forbidden,
                "The token's role does not allow this operation",
                hint:
                    "This needs a higher RBAC role (Viewer is read-only; Manager or above edits content; Admin manages users and settings).\(role)"
            )
        case 404:
            return error(
                .notFound,
                "Not found",
                hint:
                    "Check the id. Ids from another organisation also return 404; list the resources of \(domain.organisation) to find valid ids."
            )
        case 409:
            return error(
                .conflict, "The request conflicts with the current state",
                hint: "Fetch the resource again and retry with current values.")
        case 429:
            var limited = error(.rateLimited, "Rate limit reached for \(domain.organisation)", retryable: true)
            limited.retryAfterSeconds = RateLimit.retryAfterSeconds(response.headers, now: now)
            limited.hint =
                "Wait \(limited.retryAfterSeconds.map { "\(Int($0.rounded(.up))) s" } ?? "a minute") before calling again; the limit is shared by every agent on this organisation."
            return limited
        case 502, 503, 504:
            return error(
                .upstreamUnavailable, "The Nudj API is unavailable", retryable: true, hint: "Retry in a few seconds.")
        case 500...599:
            return error(
                .upstreamError, "The Nudj API failed with an internal error", retryable: true,
                hint: "Retry once; if it persists, the operation may not be possible right now.")
        default:
            return error(
                .upstreamError,
                "Unexpected HTTP status \(response.status) from the Nudj API",
                hint:
                    "The API gave an answer this server does not recognise; check the arguments, and report it if it persists."
            )
        }
    }

    package static func classify(_ failure: UpstreamFailure, tenant: TenantContext, timeout: Duration) -> ToolError {
        switch failure {
        case .timeout:
            return ToolError(
                .upstreamTimeout,
                "The Nudj API did not answer within \(timeout.components.seconds) s",
                retryable: true,
                hint: "Retry; for lists, a smaller limit answers faster."
            ).scoped(to: tenant.domain)
        case .unreachable(let reason):
            return ToolError(
                .upstreamUnavailable,
                "Could not reach \(tenant.domain.host): \(reason)",
                retryable: true,
                hint: "Check the API domain and network; retry shortly."
            ).scoped(to: tenant.domain)
        case .cancelled:
            return ToolError(.upstreamError, "The call was cancelled", hint: "Call again if you still need the result.")
                .scoped(to: tenant.domain)
        }
    }

    /// The argument an upstream validation message names (`Invalid input for body.details.title` → `details.title`).
    static func argumentPath(in message: String) -> String? {
        for prefix in ["body.", "query."] {
            guard let range = message.firstRange(of: prefix) else { continue }
            let path = message[range.upperBound...].prefix {
                $0.isLetter || $0.isNumber || $0 == "." || $0 == "_" || $0 == "[" || $0 == "]"
            }
            if !path.isEmpty { return String(path) }
        }
        return nil
    }

    static let expiredHint =
        "Generate a new token in the Nudj admin panel (Settings → Developer) and update the client configuration."

    /// A 403 is a tenancy mismatch when the token names another organisation, or the API says so.
    static func isTenantMismatch(_ message: String, tenant: TenantContext) -> Bool {
        if let subdomain = tenant.claims?.subdomain, subdomain != tenant.domain.organisation { return true }
        let lowered = message.lowercased()
        let mentionsTenant = ["organisation", "organization", "tenant", "x-api-domain", "api domain", "subdomain"]
            .contains { lowered.contains($0) }
        let mentionsMismatch = ["match", "different", "another", "scoped to", "not belong", "mismatch"]
            .contains { lowered.contains($0) }
        return mentionsTenant && mentionsMismatch
    }

    static func isExpiryMessage(_ message: String) -> Bool {
        let lowered = message.lowercased()
        return lowered.contains("expired") || lowered.contains("jwt exp")
    }

    /// Caps length, drops control characters and removes any echo of the caller's token.
    static func sanitize(_ message: String, tenant: TenantContext) -> String {
        var text = message
        let secret = tenant.credential.secret.reveal()
        if secret.count >= 8 { text = text.replacingOccurrences(of: secret, with: "[redacted]") }
        text = String(text.unicodeScalars.filter { $0.value >= 0x20 || $0 == "\t" }.map(Character.init))
        if text.count > maxMessageLength { text = String(text.prefix(maxMessageLength)) + "…" }
        return text.trimmingCharacters(in: .whitespaces)
    }
}
