import Codecs

/// Every option nudj-mcp reads: its flag, its environment variable and what it means. Flags win over env.
struct Setting: Sendable, Hashable {
    enum Kind: Sendable, Hashable {
        case value
        case flag
        /// Repeatable; also accepts comma-separated lists.
        case list
    }

    let flag: String
    let env: String?
    let kind: Kind
    let help: String
    let commands: Set<String>

    static let token = Setting(
        flag: "--token", env: "NUDJ_MCP_TOKEN", kind: .value,
        help: "MCP/Bearer token; sent upstream as Authorization: Bearer with x-api-domain",
        commands: ["stdio", "doctor"])
    static let apiToken = Setting(
        flag: "--api-token", env: "NUDJ_API_TOKEN", kind: .value,
        help: "Legacy API token; sent upstream as x-api-token", commands: ["stdio", "doctor"])
    static let apiDomain = Setting(
        flag: "--api-domain", env: "NUDJ_API_DOMAIN", kind: .value,
        help: "Organisation API domain: https://<org>.nudj.cx/api/v2/admin, <org>.nudj.cx or <org>",
        commands: ["stdio", "doctor"]
    )
    static let allowDomain = Setting(
        flag: "--allow-domain", env: "NUDJ_ALLOWED_DOMAINS", kind: .list,
        help: "Extra allowed API hosts (*.example.com or api.example.com); https only",
        commands: ["stdio", "serve", "doctor"])
    static let allowInsecureLocalhost = Setting(
        flag: "--allow-insecure-localhost", env: "NUDJ_ALLOW_INSECURE_LOCALHOST", kind: .flag,
        help: "Allow plain http to localhost / *.localhost API domains (e.g. a separate sandbox)",
        commands: ["stdio", "serve", "doctor"])
    static let sandbox = Setting(
        flag: "--sandbox", env: "NUDJ_SANDBOX", kind: .flag, help: "Start the Nudj API simulator in-process and use it",
        commands: ["stdio", "serve", "doctor"])
    static let sandboxOrganisation = Setting(
        flag: "--sandbox-org", env: "NUDJ_SANDBOX_ORG", kind: .value,
        help: "stdio/doctor --sandbox: organisation to serve (acme or globex; default acme)",
        commands: ["stdio", "doctor"])
    static let sandboxToken = Setting(
        flag: "--sandbox-token", env: "NUDJ_SANDBOX_TOKEN", kind: .value,
        help: "stdio/doctor --sandbox: which minted token to use (admin, viewer, expired, apiToken; default admin)",
        commands: ["stdio", "doctor"])
    static let toolsets = Setting(
        flag: "--toolsets", env: "NUDJ_TOOLSETS", kind: .list,
        help: "Toolsets to enable (names, 'default' or 'all'; doctor probes all by default); see `nudj-mcp tools`",
        commands: ["stdio", "serve", "tools", "doctor"])
    static let tools = Setting(
        flag: "--tools", env: "NUDJ_TOOLS", kind: .list,
        help: "Individual tools to enable (alone: exactly these; with --toolsets: added)",
        commands: ["stdio", "serve", "tools"])
    static let excludeTools = Setting(
        flag: "--exclude-tools", env: "NUDJ_EXCLUDE_TOOLS", kind: .list,
        help: "Tools to disable; exclusion always wins", commands: ["stdio", "serve", "tools"])
    static let readOnly = Setting(
        flag: "--read-only", env: "NUDJ_READ_ONLY", kind: .flag,
        help: "Hide write tools and refuse every non-GET upstream call", commands: ["stdio", "serve", "tools"])
    static let agentMode = Setting(
        flag: "--agent-mode", env: "NUDJ_AGENT_MODE", kind: .value,
        help: "planner (reads only) or builder (reads and writes)", commands: ["stdio", "serve"])
    static let budget = Setting(
        flag: "--result-budget-tokens", env: "NUDJ_RESULT_BUDGET_TOKENS", kind: .value,
        help: "Largest tool result, in tokens (default 20000)", commands: ["stdio", "serve"])
    static let timeout = Setting(
        flag: "--timeout", env: "NUDJ_TIMEOUT_SECONDS", kind: .value,
        help: "Upstream call timeout in seconds (default 30)", commands: ["stdio", "serve", "doctor"])
    static let upstreamClient = Setting(
        flag: "--upstream-client", env: "NUDJ_UPSTREAM_CLIENT", kind: .value,
        help:
            "HTTP client for Nudj API calls: native (the default on Linux; TLS from the system's OpenSSL) or urlsession (macOS default)",
        commands: ["stdio", "serve", "doctor"])
    static let caFile = Setting(
        flag: "--ca-file", env: "NUDJ_CA_FILE", kind: .value,
        help:
            "PEM file of extra trusted CA certificates for the Nudj API (a private CA, e.g. a local API; native client)",
        commands: ["stdio", "serve", "doctor"])
    static let maxBatchLength = Setting(
        flag: "--max-batch-length", env: "NUDJ_MAX_BATCH_LENGTH", kind: .value,
        help: "Longest JSON-RPC batch (2025-03-26 only); longer ones get one -32600 (default 100)",
        commands: ["stdio", "serve"])
    static let maxCallsPerSession = Setting(
        flag: "--max-calls-per-session", env: "NUDJ_MAX_CALLS_PER_SESSION", kind: .value,
        help: "tools/call requests one session runs at once; the rest wait (default 16)", commands: ["stdio", "serve"])
    static let maxQueuedCallsPerSession = Setting(
        flag: "--max-queued-calls", env: "NUDJ_MAX_QUEUED_CALLS", kind: .value,
        help: "tools/call requests one session may have waiting; more get a retryable -32000 (default 256)",
        commands: ["stdio", "serve"])
    static let maxUpstreamRequests = Setting(
        flag: "--max-upstream-requests", env: "NUDJ_MAX_UPSTREAM_REQUESTS", kind: .value,
        help: "Concurrent upstream requests for the whole process; the rest wait within their timeout (default 256)",
        commands: ["stdio", "serve"])
    static let sessionProbation = Setting(
        flag: "--session-probation-timeout", env: "NUDJ_SESSION_PROBATION_SECONDS", kind: .value,
        help: "Idle seconds before an HTTP session that never made a successful call expires (default 300)",
        commands: ["serve"])
    static let maxProbationSessionsPerPeer = Setting(
        flag: "--max-probation-per-peer", env: "NUDJ_MAX_PROBATION_PER_PEER", kind: .value,
        help: "Sessions without a successful call one remote address may hold; more evict its oldest (default 1000)",
        commands: ["serve"])
    static let maxLineBytes = Setting(
        flag: "--max-line-bytes", env: "NUDJ_MAX_LINE_BYTES", kind: .value,
        help: "Largest stdio message in bytes (default 4194304)", commands: ["stdio"])
    static let toolsPageSize = Setting(
        flag: "--tools-page-size", env: "NUDJ_TOOLS_PAGE_SIZE", kind: .value,
        help: "tools/list page size (default 200: one page)", commands: ["stdio", "serve"])
    static let shutdownGrace = Setting(
        flag: "--shutdown-grace", env: "NUDJ_SHUTDOWN_GRACE_SECONDS", kind: .value,
        help: "Seconds in-flight calls get to finish on exit (default 5)", commands: ["stdio", "serve"])
    static let logLevel = Setting(
        flag: "--log-level", env: "NUDJ_LOG_LEVEL", kind: .value,
        help: "stderr log level: debug, info, notice, warning, error (default info; doctor: warning)",
        commands: ["stdio", "serve", "sandbox", "doctor"])
    static let host = Setting(
        flag: "--host", env: "NUDJ_HOST", kind: .value, help: "Interface to bind (default 127.0.0.1)",
        commands: ["serve"])
    static let port = Setting(
        flag: "--port", env: "NUDJ_PORT", kind: .value,
        help: "Port (serve default 4010; sandbox default 4011; 0 picks a free one)", commands: ["serve", "sandbox"])
    static let allowOrigin = Setting(
        flag: "--allow-origin", env: "NUDJ_ALLOWED_ORIGINS", kind: .list,
        help: "Browser origins allowed to call the HTTP endpoint (default: localhost origins only)", commands: ["serve"]
    )
    static let sessionIdle = Setting(
        flag: "--session-idle-timeout", env: "NUDJ_SESSION_IDLE_SECONDS", kind: .value,
        help:
            "Idle seconds before a Streamable HTTP session leaves memory (default 28800 = 8 h); its sealed id restores it until --session-max-age",
        commands: ["serve"])
    static let maxSessions = Setting(
        flag: "--max-sessions", env: "NUDJ_MAX_SESSIONS", kind: .value,
        help: "Live HTTP session cap (default 10000); when full, the oldest session on probation is evicted, else 503",
        commands: ["serve"])
    static let sessionSecretFile = Setting(
        flag: "--session-secret-file", env: "NUDJ_SESSION_SECRET_FILE", kind: .value,
        help:
            "File with the secret that seals session ids (line 1 issues, optional line 2 is still accepted: rotation); or set NUDJ_SESSION_SECRET (and NUDJ_SESSION_SECRET_PREVIOUS). Replicas sharing it serve each other's sessions",
        commands: ["serve"])
    static let sessionMaxAge = Setting(
        flag: "--session-max-age", env: "NUDJ_SESSION_MAX_AGE_SECONDS", kind: .value,
        help: "Seconds a sealed session id stays valid after initialize (default 604800 = 7 days)", commands: ["serve"])
    static let replicaID = Setting(
        flag: "--replica-id", env: "NUDJ_REPLICA_ID", kind: .value,
        help: "This replica's name in legacy SSE POST URLs /messages/<replica-id> (default: the host name)",
        commands: ["serve"])
    static let tenantURLTemplate = Setting(
        flag: "--tenant-url-template", env: "NUDJ_TENANT_URL_TEMPLATE", kind: .value,
        help:
            "API domain that /mcp/<org> and /sse/<org> stand for, {org} replaced (default https://{org}.nudj.cx/api/v2/admin; with --sandbox the sandbox's)",
        commands: ["serve"])
    static let drainDelay = Setting(
        flag: "--drain-delay", env: "NUDJ_DRAIN_DELAY_SECONDS", kind: .value,
        help:
            "On SIGTERM, seconds /readyz answers 503 before the listener closes (default 0; behind a load balancer ~5)",
        commands: ["serve"])
    static let maxBodyBytes = Setting(
        flag: "--max-body-bytes", env: "NUDJ_MAX_BODY_BYTES", kind: .value,
        help: "Largest HTTP request body (default 4194304)", commands: ["serve"])
    static let loops = Setting(
        flag: "--loops", env: "NUDJ_LOOPS", kind: .value,
        help:
            "Event loops, each a thread doing the I/O and request work of its connections (default: half the cores, at least 1)",
        commands: ["serve"])
    static let maxConnections = Setting(
        flag: "--max-connections", env: "NUDJ_MAX_CONNECTIONS", kind: .value,
        help: "Open connection cap (default 16384)", commands: ["serve"])
    static let rateLimitAdmin = Setting(
        flag: "--rate-limit-admin", env: "NUDJ_SANDBOX_RATE_ADMIN", kind: .value,
        help: "Sandbox: admin API requests per window per organisation (default 500)",
        commands: ["sandbox", "stdio", "serve"])
    static let rateLimitIntegration = Setting(
        flag: "--rate-limit-integration", env: "NUDJ_SANDBOX_RATE_INTEGRATION", kind: .value,
        help: "Sandbox: integration API requests per window (default 1000)", commands: ["sandbox", "stdio", "serve"])
    static let rateLimitAnalytics = Setting(
        flag: "--rate-limit-analytics", env: "NUDJ_SANDBOX_RATE_ANALYTICS", kind: .value,
        help: "Sandbox: analytics API requests per window (default 100)", commands: ["sandbox", "stdio", "serve"])
    static let rateWindow = Setting(
        flag: "--rate-window", env: "NUDJ_SANDBOX_RATE_WINDOW_SECONDS", kind: .value,
        help: "Sandbox: rate-limit window in seconds (default 60)", commands: ["sandbox", "stdio", "serve"])
    static let faultKind = Setting(
        flag: "--fault", env: "NUDJ_SANDBOX_FAULT", kind: .value,
        help: "Sandbox: inject status, reset, malformed, truncated, slow-body, cut-body or rate-limit",
        commands: ["sandbox", "stdio", "serve"])
    static let faultRate = Setting(
        flag: "--fault-rate", env: "NUDJ_SANDBOX_FAULT_RATE", kind: .value,
        help: "Sandbox: fraction of requests the fault hits (default 1)", commands: ["sandbox", "stdio", "serve"])
    static let faultStatus = Setting(
        flag: "--fault-status", env: "NUDJ_SANDBOX_FAULT_STATUS", kind: .value,
        help: "Sandbox: status for --fault status (default 503)", commands: ["sandbox", "stdio", "serve"])
    static let faultLatency = Setting(
        flag: "--fault-latency-ms", env: "NUDJ_SANDBOX_LATENCY_MS", kind: .value,
        help: "Sandbox: latency added to every request", commands: ["sandbox", "stdio", "serve"])
    static let tlsCertificate = Setting(
        flag: "--tls-cert", env: "NUDJ_SANDBOX_TLS_CERT", kind: .value,
        help:
            "Sandbox: serve HTTPS with this PEM certificate chain (for localhost and <org>.localhost; with --tls-key)",
        commands: ["sandbox"])
    static let tlsKey = Setting(
        flag: "--tls-key", env: "NUDJ_SANDBOX_TLS_KEY", kind: .value,
        help: "Sandbox: the PEM private key of --tls-cert", commands: ["sandbox"])
    static let json = Setting(
        flag: "--json", env: nil, kind: .flag,
        help: "tools: print the full definitions as JSON; doctor: print the report as one JSON document",
        commands: ["tools", "doctor"])
    static let stats = Setting(
        flag: "--stats", env: nil, kind: .flag,
        help: "tools: print tool counts and tools/list size in bytes and tokens", commands: ["tools"])

    static let all: [Setting] = [
        token, apiToken, apiDomain, allowDomain, allowInsecureLocalhost, sandbox, sandboxOrganisation, sandboxToken,
        toolsets,
        tools, excludeTools, readOnly, agentMode, budget, timeout, upstreamClient, caFile, maxLineBytes, toolsPageSize,
        shutdownGrace, logLevel,
        host, maxBatchLength, maxCallsPerSession, maxQueuedCallsPerSession, maxUpstreamRequests, sessionProbation,
        maxProbationSessionsPerPeer,
        port, allowOrigin, sessionIdle, maxSessions, sessionSecretFile, sessionMaxAge, replicaID,
        tenantURLTemplate, drainDelay, maxBodyBytes, loops, maxConnections, rateLimitAdmin, rateLimitIntegration,
        rateLimitAnalytics, rateWindow, faultKind, faultRate, faultStatus, faultLatency, tlsCertificate, tlsKey, json,
        stats,
    ]
}

/// A usage error: printed with the command's help, exit code 2.
struct UsageError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Parsed options for one command: flag values over environment values.
struct Options: Sendable {
    private var values: [Setting: [String]] = [:]
    private let environment: [String: String]

    init(command: String, arguments: [String], environment: [String: String]) throws(UsageError) {
        self.environment = environment
        var index = 0
        while index < arguments.count {
            let argument = arguments[index]
            index += 1
            let (name, inline) = argument.split(separator: "=", maxSplits: 1).map(String.init).pairOrSingle
            guard let setting = Setting.all.first(where: { $0.flag == name }), setting.commands.contains(command) else {
                throw UsageError("unknown option \(name) for `nudj-mcp \(command)`")
            }
            switch setting.kind {
            case .flag:
                values[setting, default: []].append(inline ?? "1")
            case .value, .list:
                if let inline {
                    values[setting, default: []].append(inline)
                } else {
                    guard index < arguments.count else { throw UsageError("\(name) needs a value") }
                    values[setting, default: []].append(arguments[index])
                    index += 1
                }
            }
        }
    }

    /// The flag's value, else the environment's, else `nil`.
    func string(_ setting: Setting) -> String? {
        if let value = values[setting]?.last { return value }
        if let env = setting.env, let value = environment[env], !value.isEmpty { return value }
        return nil
    }

    /// An environment variable no flag mirrors (secrets: they must not appear on a command line).
    func environmentValue(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

    func flag(_ setting: Setting) -> Bool {
        guard let value = string(setting) else { return false }
        return !["0", "false", "no", "off", ""].contains(value.lowercased())
    }

    func list(_ setting: Setting) -> [String]? {
        let raw = values[setting] ?? (setting.env.flatMap { environment[$0] }.map { [$0] } ?? [])
        let items = raw.flatMap { $0.split(separator: ",") }.map { $0.trimmingSpaces() }.filter {
            !$0.isEmpty
        }
        return raw.isEmpty ? nil : items
    }

    func int(_ setting: Setting, default fallback: Int, range: ClosedRange<Int>) throws(UsageError) -> Int {
        guard let text = string(setting) else { return fallback }
        guard let value = Int(text), range.contains(value) else {
            throw UsageError(
                "\(setting.flag)\(setting.env.map { " / \($0)" } ?? "") must be an integer in \(range.lowerBound)...\(range.upperBound), got '\(text)'"
            )
        }
        return value
    }

    func double(_ setting: Setting, default fallback: Double, range: ClosedRange<Double>) throws(UsageError) -> Double {
        guard let text = string(setting) else { return fallback }
        guard let value = Double(text), range.contains(value) else {
            throw UsageError(
                "\(setting.flag)\(setting.env.map { " / \($0)" } ?? "") must be a number in \(range.lowerBound)...\(range.upperBound), got '\(text)'"
            )
        }
        return value
    }
}

extension Array where Element == String {
    fileprivate var pairOrSingle: (String, String?) { (self[0], count > 1 ? self[1] : nil) }
}
