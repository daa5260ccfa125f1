import JSONRPC
import NudjTools
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// What `nudj-mcp doctor` found, rendered as a short human report or one JSON document. Never holds the token:
/// only its kind and decoded claims.
struct DoctorReport: Sendable {
    var verdict = DoctorVerdict.ok
    /// What is wrong, when the verdict is not ok.
    var problem: String?
    /// How to fix it.
    var hint: String?
    let credentialKind: Credential.Kind?
    let claims: TokenClaims?
    let domainInput: String?
    var domain: APIDomain?
    var domainRefusal: String?
    /// The first request: whether and how fast the API answered.
    var reachability: Probe?
    var probes: [Probe] = []

    init(credential: Credential?, domainInput: String?) {
        credentialKind = credential?.kind
        claims = credential?.claims
        self.domainInput = domainInput
    }

    func failing(_ verdict: DoctorVerdict, _ problem: String, hint: String?) -> DoctorReport {
        var copy = self
        copy.verdict = verdict
        copy.problem = problem
        copy.hint = hint
        return copy
    }

    func count(_ outcome: ProbeOutcome) -> Int { probes.count { $0.outcome == outcome } }

    /// What to do next, most important first.
    var nextSteps: [String] {
        if verdict != .ok { return hint.map { [$0] } ?? [] }
        var steps: [String] = []
        let organisation = domain?.organisation ?? "this organisation"
        let absent = probes.filter { $0.outcome == .endpointAbsent }.map(\.tool.name)
        if !absent.isEmpty {
            steps.append(
                "\(absent.count) \(absent.count == 1 ? "endpoint does" : "endpoints do") not exist for \(organisation); their tools answer not_found. Hide them with --exclude-tools \(absent.joined(separator: ",")) (or NUDJ_EXCLUDE_TOOLS)."
            )
        }
        let denied = probes.filter { $0.outcome == .roleTooLow }.map(\.tool.name)
        if !denied.isEmpty {
            let role = claims?.role.map { " than \($0.name)" } ?? ""
            steps.append(
                "\(denied.count) \(denied.count == 1 ? "tool needs" : "tools need") a higher role\(role): ask an admin of \(organisation) for such a token, or hide them with --exclude-tools \(denied.joined(separator: ","))."
            )
        }
        if count(.rateLimited) > 0 {
            steps.append(
                "\(Self.tools(count(.rateLimited))) met the rate limit (shared per organisation and API): run nudj-mcp doctor again in a minute."
            )
        }
        if count(.skipped) > 0 {
            steps.append(
                "\(Self.tools(count(.skipped))) skipped: each needs an id and no list supplied one (the table says why; an empty list means no data to try yet)."
            )
        }
        if count(.other) > 0 {
            steps.append(
                "\(Self.tools(count(.other))) failed otherwise: the table shows each error code; --json has the messages."
            )
        }
        if steps.isEmpty {
            steps.append(
                "Everything works. Give your MCP client the same token and API domain (README: Install and connect a client)."
            )
        }
        return steps
    }

    // MARK: - Text

    var text: String {
        var lines = ["nudj-mcp doctor", ""]
        func row(_ label: String, _ value: String) {
            lines.append(label.padded(to: 12) + value)
        }
        row("Token", tokenLine)
        row("API domain", domainLine)
        row("API", reachabilityLine)
        if !probes.isEmpty {
            // One row per toolset keeps the table short; only the tools that do not work get a row of their own.
            lines.append("")
            lines.append("Toolset".padded(to: 16) + "Read-only tools   Result")
            var toolsets: [String] = []
            for probe in probes where !toolsets.contains(probe.tool.toolset) { toolsets.append(probe.tool.toolset) }
            for toolset in toolsets {
                let members = probes.filter { $0.tool.toolset == toolset }
                lines.append(
                    toolset.padded(to: 16)
                        + String(members.count).padded(to: 18)
                        + Self.tally(members, all: "all work"))
            }
            let failing = probes.filter { $0.outcome != .works }
            if !failing.isEmpty {
                lines.append("")
                lines.append("Not working:")
                let width = (failing.map(\.tool.name.count).max() ?? 0) + 4
                for probe in failing {
                    let name = probe.tool.name + (probe.tool.evidence == .inferred ? " *" : "")
                    lines.append(
                        "  " + name.padded(to: width)
                            + probe.tool.api.rawValue.padded(to: 13) + result(probe)
                    )
                }
            }
            let inferred = probes.filter { $0.tool.evidence == .inferred }
            if !inferred.isEmpty {
                let exist = inferred.filter { $0.outcome == .works }.map(\.tool.name)
                let absent = inferred.filter { $0.outcome == .endpointAbsent }.map(\.tool.name)
                var line = "Inferred endpoints (* not in Nudj's API reference): "
                line += exist.isEmpty ? "none confirmed" : "\(exist.count) exist (\(exist.joined(separator: ", ")))"
                if !absent.isEmpty { line += "; \(absent.count) absent (\(absent.joined(separator: ", ")))" }
                lines.append("")
                lines.append(line + ".")
            }
        }
        lines.append("")
        if let problem {
            lines.append("Problem: \(problem)")
        } else {
            lines.append("Summary: \(summaryLine)")
        }
        let steps = nextSteps
        if !steps.isEmpty {
            lines.append("Next:")
            lines += steps.map { "  - \($0)" }
        }
        return lines.joined(separator: "\n")
    }

    var summaryLine: String { "\(probes.count) read-only tools probed: \(Self.tally(probes, all: "all work"))." }

    /// `50 work, 2 endpoint absent, 1 skipped`.
    private static func tally(_ probes: [Probe], all: String) -> String {
        if probes.allSatisfy({ $0.outcome == .works }) { return all }
        return ProbeOutcome.allCases.compactMap { outcome -> String? in
            let count = probes.count { $0.outcome == outcome }
            guard count > 0 else { return nil }
            return outcome == .works ? "\(count) work" : "\(count) \(outcome.label)"
        }.joined(separator: ", ")
    }

    private var tokenLine: String {
        guard let credentialKind else { return "none configured" }
        let kind = credentialKind == .bearer ? "MCP token (Bearer)" : "legacy API token (x-api-token)"
        guard let claims else { return "\(kind) · no readable claims: the API will judge it" }
        var parts = [kind]
        if let subdomain = claims.subdomain {
            parts.append("organisation \(subdomain)")
        } else if let id = claims.organisationId {
            parts.append("organisation id \(id)")
        }
        parts.append(claims.role.map { "role \($0.name)" } ?? "role not stated")
        if let expiry = claims.expiresAt {
            parts.append((isExpired ? "EXPIRED " : "expires ") + Self.when(expiry))
        } else {
            parts.append("no expiry")
        }
        return parts.joined(separator: " · ")
    }

    private var isExpired: Bool { claims?.isExpired(now: Int64(Date().timeIntervalSince1970)) == true }

    private var domainLine: String {
        if let domain { return "\(domain.headerValue) · organisation \(domain.organisation) · allowed" }
        if domainRefusal != nil { return "\(domainInput ?? "") · REFUSED (see Problem)" }
        return "not configured"
    }

    private var reachabilityLine: String {
        guard let reach = reachability else { return "not contacted" }
        let time = reach.milliseconds.map { " in \(Self.milliseconds($0)) ms" } ?? ""
        if verdict == .apiUnreachable { return "NOT REACHED: \(reach.message)" }
        if verdict != .ok { return "answered\(time), refusing the token" }
        return "reachable: \(reach.tool.name) answered\(time)"
    }

    private func result(_ probe: Probe) -> String {
        let status = probe.error?["httpStatus"]?.intValue.map { "HTTP \($0)" }
        switch probe.outcome {
        case .works: return "works" + (probe.milliseconds.map { " (\(Self.milliseconds($0)) ms)" } ?? "")
        case .endpointAbsent, .roleTooLow: return probe.outcome.label + (status.map { " (\($0))" } ?? "")
        case .rateLimited:
            if let note = probe.note { return "rate limited (\(note))" }
            let wait = probe.error?["retryAfterSeconds"]?.doubleValue.map { "retry after \(Int($0.rounded(.up))) s" }
            return "rate limited" + (wait.map { " (\($0))" } ?? "")
        case .skipped: return "skipped (\(probe.note ?? "needs an id"))"
        case .other:
            return "other: " + ([probe.errorCode ?? "unknown", status].compactMap { $0 }.joined(separator: ", "))
        }
    }

    // MARK: - JSON

    var json: JSONValue {
        var object: JSONObject = [
            "status": .string(verdict.name), "exitCode": .int(Int64(verdict.exitCode)),
            "problem": problem.map { .string($0) } ?? .null,
        ]
        var credential: JSONValue = .null
        if let credentialKind {
            var fields: JSONObject = ["kind": .string(credentialKind.rawValue), "claims": .bool(claims != nil)]
            if let claims {
                fields["organisation"] = claims.subdomain.map { .string($0) } ?? .null
                fields["organisationId"] = claims.organisationId.map { .string($0) } ?? .null
                fields["role"] = claims.role.map { .string($0.name) } ?? .null
                fields["expiresAt"] = claims.expiresAt.map { .string(Self.iso($0)) } ?? .null
                fields["expired"] = .bool(isExpired)
            }
            credential = .object(fields)
        }
        object["credential"] = credential
        object["domain"] = [
            "input": domainInput.map { .string($0) } ?? .null,
            "allowed": .bool(domain != nil),
            "apiDomain": domain.map { .string($0.headerValue) } ?? .null,
            "organisation": domain.map { .string($0.organisation) } ?? .null,
            "refusal": domainRefusal.map { .string($0) } ?? .null,
        ]
        object["api"] =
            reachability.map { reach in
                [
                    "reached": .bool(verdict != .apiUnreachable), "tool": .string(reach.tool.name),
                    "latencyMs": reach.milliseconds.map { .double(Self.milliseconds($0)) } ?? .null,
                    "errorCode": reach.errorCode.map { .string($0) } ?? .null,
                ]
            } ?? .null
        object["tools"] = .array(probes.map(Self.json))
        var summary: JSONObject = ["probed": .int(Int64(probes.count))]
        for outcome in ProbeOutcome.allCases { summary[outcome.rawValue] = .int(Int64(count(outcome))) }
        object["summary"] = .object(summary)
        object["next"] = .array(nextSteps.map { .string($0) })
        return .object(object)
    }

    private static func json(_ probe: Probe) -> JSONValue {
        var object: JSONObject = [
            "name": .string(probe.tool.name), "toolset": .string(probe.tool.toolset),
            "api": .string(probe.tool.api.rawValue), "evidence": .string(probe.tool.evidence.rawValue),
            "outcome": .string(probe.outcome.rawValue),
            "latencyMs": probe.milliseconds.map { .double(milliseconds($0)) } ?? .null,
        ]
        if let error = probe.error {
            object["errorCode"] = error["code"] ?? .null
            object["httpStatus"] = error["httpStatus"] ?? .null
            object["message"] = error["message"] ?? .null
        }
        if let note = probe.note { object["note"] = .string(note) }
        return .object(object)
    }

    // MARK: - Formatting

    private static func tools(_ count: Int) -> String { count == 1 ? "1 tool" : "\(count) tools" }

    private static func milliseconds(_ value: Double) -> Double { (value * 10).rounded() / 10 }

    private static func iso(_ seconds: Int64) -> String {
        Date(timeIntervalSince1970: TimeInterval(seconds)).formatted(.iso8601)
    }

    /// `2026-12-01T15:26:30Z (1 hour ago)`.
    static func when(_ seconds: Int64) -> String {
        let delta = seconds - Int64(Date().timeIntervalSince1970)
        let magnitude = abs(delta)
        let span =
            magnitude >= 2 * 86_400
            ? "\(magnitude / 86_400) days"
            : magnitude >= 2 * 3_600 ? "\(magnitude / 3_600) hours" : "\(magnitude / 60) minutes"
        return "\(iso(seconds)) (\(delta >= 0 ? "in \(span)" : "\(span) ago"))"
    }
}
