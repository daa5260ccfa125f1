import JSONRPC
import NudjClient
import TLS
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// Turns an upstream failure (non-2xx or no response) into a `ToolError` an agent can act on.
///
/// Every upstream-derived value is sanitised (controls dropped, length capped) and then scrubbed of any piece of the
/// caller's token before it is repeated; code-like values are kept only when identifier-shaped.
package enum UpstreamErrors {
    static let maxMessageLength = 300

    package static func classify(
        _ response: UpstreamResponse,
        tenant: TenantContext,
        api: NudjAPI = .admin,
        now: Double = Date().timeIntervalSince1970
    ) -> ToolError {
        let envelope = try? JSONParser.parse(response.body, maxDepth: 32)
        let secret = tenant.credential.secret.reveal()
        let upstreamCode = identifier(envelope?["code"]?.stringValue, maxLength: 64, secret: secret)
        // A router's placeholder for "no procedure matched" says nothing: omit it.
        let procedure = identifier(envelope?["data"]?["path"]?.stringValue, maxLength: 128, secret: secret).flatMap {
            $0 == "unknown" ? nil : $0
        }
        let rawMessage = envelope?["message"]?.stringValue ?? ""
        let message = sanitize(rawMessage, secret: secret)
        let domain = tenant.domain
        func error(_ code: ToolErrorCode, _ fallback: String, retryable: Bool = false, hint: String? = nil) -> ToolError
        {
            ToolError(
                code,
                message.isEmpty ? fallback : message,
                httpStatus: response.status,
                upstreamCode: upstreamCode,
                upstreamProcedure: procedure,
                retryable: retryable,
                hint: hint
            )
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
            // The limit the API reports, else the documented one.
            let perMinute =
                response.headers["x-ratelimit-limit"].flatMap { Int(Substring($0).trimmingASCIIWhitespace()) }
                .flatMap { (1...1_000_000).contains($0) ? $0 : nil }
                ?? Instructions.rateLimits.first { $0.api == api }?.perMinute
            let limit = perMinute.map { "the \(api.rawValue) API allows \($0) requests/min per organisation, " } ?? ""
            limited.hint =
                "Wait \(limited.retryAfterSeconds.map { "\(Int($0.rounded(.up))) s" } ?? "a minute") before calling again; \(limit)shared by every agent on \(domain.organisation). Avoid fanning out many calls at once."
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
            )
        case .unreachable(let reason):
            return ToolError(
                .upstreamUnavailable,
                "Could not reach \(tenant.domain.host): \(sanitize(reason, secret: tenant.credential.secret.reveal()))",
                retryable: true,
                hint: "Check the API domain and network; retry shortly."
            )
        case .invalidResponse(let reason):
            return ToolError(
                .invalidUpstreamResponse,
                "\(tenant.domain.host) sent an unusable response: \(sanitize(reason, secret: tenant.credential.secret.reveal()))",
                retryable: true,
                hint: "Retry; for lists, a smaller limit gives a smaller response.")
        case .tls(let failure):
            return classify(failure, host: tenant.domain.host)
        case .cancelled:
            return ToolError(.upstreamError, "The call was cancelled", hint: "Call again if you still need the result.")
        }
    }

    /// A refused certificate is not retryable and its hint says what must change; a handshake or session that
    /// broke is `upstream_unavailable`, like any other connection that failed.
    static func classify(_ failure: TLSFailure, host: String) -> ToolError {
        let hint: String
        switch failure {
        case .untrustedCertificate:
            hint =
                "The certificate is not signed by a CA this machine trusts. For a server with a private or self-signed CA, start nudj-mcp with --ca-file <ca.pem> (or NUDJ_CA_FILE); verification cannot be turned off."
        case .hostMismatch:
            hint =
                "Check that the API domain names the server the certificate was issued for (--api-domain, NUDJ_API_DOMAIN or x-api-domain)."
        case .certificateExpired, .certificateNotYetValid:
            hint =
                "The server's certificate must be renewed (or this machine's clock is wrong); retrying will not help."
        case .certificateRevoked, .certificateRejected:
            hint = "The server's certificate must be replaced; retrying will not help."
        case .handshakeTimedOut, .handshakeFailed, .closedDuringHandshake:
            hint = "Check that the API domain's port serves HTTPS (TLS 1.2 or later); retry shortly."
        case .alertReceived, .truncated, .sessionFailed:
            hint = "The connection broke before the whole response arrived (a proxy or the server cut it); retry."
        }
        if failure.isCertificateProblem {
            return ToolError(
                .upstreamCertificate, "The TLS certificate of \(host) was refused: \(failure)", retryable: false,
                hint: hint)
        }
        let message =
            switch failure {
            case .alertReceived, .truncated, .sessionFailed: "The TLS connection to \(host) broke: \(failure)"
            default: "Could not reach \(host): TLS \(failure)"
            }
        return ToolError(.upstreamUnavailable, message, retryable: true, hint: hint)
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

    /// Upstream text made safe to repeat: percent-escapes decoded, control characters dropped and the length capped
    /// first, so no split or encoded echo of the token survives the redaction that follows.
    static func sanitize(_ text: String, secret: String, maxLength: Int = maxMessageLength) -> String {
        var scalars = String.UnicodeScalarView()
        var count = 0
        var capped = false
        for scalar in String(decoding: decodingPercentEscapes(Array(text.utf8)), as: UTF8.self).unicodeScalars
        where !isControl(scalar) {
            guard count < maxLength else {
                capped = true
                break
            }
            scalars.append(scalar)
            count += 1
        }
        var clean = String(scalars)
        clean = redact(clean, secret: secret)
        if capped { clean += "…" }
        return String(Substring(clean).trimmingASCIIWhitespace())
    }

    /// A code-like upstream value (`BAD_REQUEST`, `challenge.create`), kept only when it is identifier-shaped and
    /// carries no piece of the token; anything else is dropped rather than repeated.
    static func identifier(_ value: String?, maxLength: Int, secret: String) -> String? {
        guard let value, !value.isEmpty, value.utf8.count <= maxLength,
            value.utf8.allSatisfy({ byte in
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                    UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "_"), UInt8(ascii: "-"), UInt8(ascii: "."),
                    UInt8(ascii: "/"), UInt8(ascii: ":"):
                    true
                default: false
                }
            })
        else { return nil }
        return redact(value, secret: secret) == value ? value : nil
    }

    /// The shortest run of the token's characters that counts as a piece of it: every JWT segment and any other
    /// slice of a real token is longer, while shorter runs occur in ordinary words.
    static let secretPieceLength = 8

    /// Replaces every run of `text` that repeats `secretPieceLength` or more consecutive characters of `secret` (the
    /// whole token, a JWT segment, or any other slice of it) with `[redacted]`. Short secrets are replaced only whole.
    static func redact(_ text: String, secret: String) -> String {
        let token = Array(secret.utf8)
        let bytes = Array(text.utf8)
        guard token.count >= 4, bytes.count >= min(token.count, secretPieceLength) else { return text }
        let piece = min(token.count, secretPieceLength)
        guard sharesRun(bytes, token, length: piece) else { return text }
        // Longest common substring ending at each position (one DP row): O(text × token), only for text that holds
        // a piece of the token.
        var covered = [Bool](repeating: false, count: bytes.count)
        var previous = [Int](repeating: 0, count: token.count + 1)
        var current = previous
        var any = false
        for i in 1...bytes.count {
            for j in 1...token.count {
                current[j] = bytes[i - 1] == token[j - 1] ? previous[j - 1] + 1 : 0
                if current[j] >= piece {
                    any = true
                    for k in (i - current[j])..<i { covered[k] = true }
                }
            }
            swap(&previous, &current)
        }
        guard any else { return text }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if covered[index] {
                output += Array("[redacted]".utf8)
                while index < bytes.count && covered[index] { index += 1 }
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// Whether some `length`-byte run of `bytes` (`length` ≤ 8) also occurs in `token`: one pass over each, so the
    /// usual error message, which holds no piece of the token, costs a few microseconds instead of the full table
    /// (~80,000 steps for a 300-character message and a JWT: a fifth of the server's CPU in a storm of 429s).
    private static func sharesRun(_ bytes: [UInt8], _ token: [UInt8], length: Int) -> Bool {
        func run(_ source: [UInt8], at start: Int) -> UInt64 {
            var packed: UInt64 = 0
            for offset in 0..<length { packed = packed << 8 | UInt64(source[start + offset]) }
            return packed
        }
        var runs = Set<UInt64>(minimumCapacity: token.count)
        for start in 0...(token.count - length) { runs.insert(run(token, at: start)) }
        for start in 0...(bytes.count - length) where runs.contains(run(bytes, at: start)) { return true }
        return false
    }

    /// Decodes every well-formed `%XX` escape and keeps anything else as it is (a stray `%` is ordinary text).
    private static func decodingPercentEscapes(_ bytes: [UInt8]) -> [UInt8] {
        guard bytes.contains(UInt8(ascii: "%")) else { return bytes }
        func hex(_ byte: UInt8) -> UInt8? {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var index = 0
        while index < bytes.count {
            if bytes[index] == UInt8(ascii: "%"), index + 2 < bytes.count, let high = hex(bytes[index + 1]),
                let low = hex(bytes[index + 2])
            {
                output.append(high << 4 | low)
                index += 3
            } else {
                output.append(bytes[index])
                index += 1
            }
        }
        return output
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0..<0x20, 0x7F..<0xA0, 0x200B...0x200F, 0x2028...0x202E, 0x2060...0x2064, 0xFEFF: true
        default: false
        }
    }
}
