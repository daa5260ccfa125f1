import HTTPClient
import Log
import MCP
import NudjClient
import NudjTools
import Platform
import Sandbox
import Tenancy

/// Builds the process's shared pieces from parsed options: the single composition root.
enum Composition {
    static let identity = ServerIdentity(
        name: "nudj-mcp",
        version: Build.version,
        title: "Nudj",
        description:
            "Nudj community gamification (communities, challenges, rewards, users, analytics) for one organisation"
    )

    static func logger(_ options: Options, label: String, defaultLevel: String = "info") throws(UsageError) -> Logger {
        let name = options.string(.logLevel) ?? defaultLevel
        guard let level = LogLevel(name: name) else {
            throw UsageError(
                "--log-level / NUDJ_LOG_LEVEL must be one of debug, info, notice, warning, error (got '\(name)')")
        }
        return Logger(label: label, sink: StderrJSONLogSink(minimumLevel: level))
    }

    static func selection(_ options: Options) throws(UsageError) -> ToolSelection {
        var selection = ToolSelection()
        selection.toolsets = options.list(.toolsets).map(Set.init)
        selection.tools = Set(options.list(.tools) ?? [])
        selection.excludedTools = Set(options.list(.excludeTools) ?? [])
        selection.readOnly = options.flag(.readOnly)
        if let mode = options.string(.agentMode) {
            guard let parsed = AgentMode(rawValue: mode.lowercased()) else {
                throw UsageError("--agent-mode / NUDJ_AGENT_MODE must be planner or builder (got '\(mode)')")
            }
            selection.agentMode = parsed
        }
        return selection
    }

    /// Validates toolset and tool names against the catalogue so a typo fails at startup, not silently.
    static func check(_ selection: ToolSelection, against catalogue: Catalogue) throws(UsageError) {
        for name in selection.toolsets ?? [] where !catalogue.selectableToolsets.contains(name) {
            throw UsageError(
                "unknown toolset '\(name)'; known: \(catalogue.toolsets.map(\.name).joined(separator: ", ")), all, default"
            )
        }
        for name in selection.tools.union(selection.excludedTools) where catalogue.tool(named: name) == nil {
            throw UsageError("unknown tool '\(name)'; run `nudj-mcp tools` for the list")
        }
    }

    /// The embedded catalogue, parsed once per process.
    private static let embeddedCatalogue = Result { () throws(CatalogueError) in try Catalogue.embedded() }

    /// Starts parsing the catalogue on a thread of its own; `catalogue()` then waits for that parse (a `static let`
    /// initialises once, other readers block until it has) instead of starting its own.
    static func preloadCatalogue() { _ = OSThread.tryStart { _ = embeddedCatalogue } }

    static func catalogue() throws -> Catalogue { try embeddedCatalogue.get() }

    /// What every serving command starts from: the tool runtime and the MCP engine. `sandboxPort` (the in-process
    /// sandbox's port) allows plain-http localhost domains on that port only.
    /// - Parameters:
    ///   - startsFast: the process is started per session by a client that waits for it (stdio): costs that can wait
    ///     until first use are taken off the start-up path.
    ///   - hostedLoops: the upstream client runs on the HTTP server's loops, one client per loop (`serve`): the server
    ///     must host the transport's `loopGuests`. 0: a client on a thread of its own.
    static func core(
        _ options: Options, logger: Logger, sandboxPort: Int?, startsFast: Bool = false, hostedLoops: Int = 0
    ) throws -> (
        runtime: NudjRuntime, server: MCPServer
    ) {
        let runtime = try runtime(
            options, catalogue: try catalogue(), logger: logger, sandboxPort: sandboxPort, startsFast: startsFast,
            hostedLoops: hostedLoops)
        let server = try server(options)
        logger.info(
            "work limits",
            [
                ("maxBatchLength", String(server.limits.maxBatchLength)),
                ("maxCallsPerSession", String(server.limits.maxRunningCalls)),
                ("maxQueuedCallsPerSession", String(server.limits.maxQueuedCalls)),
                ("maxUpstreamRequests", String(runtime.client.limiter.limit)),
            ])
        return (runtime, server)
    }

    /// The upstream HTTP client `--upstream-client` names: on Linux only the native one exists (the build does not
    /// link FoundationNetworking); on Apple platforms URLSession is the default. `--ca-file` needs the native one.
    /// - Parameter plainHTTP: the API is reached over plain HTTP (the in-process sandbox, an `http://` domain), so TLS
    ///   is set up only if a connection ever needs it.
    static func upstreamTransport(
        _ options: Options, startsFast: Bool, plainHTTP: Bool = false, hostedLoops: Int = 0
    ) throws(UsageError) -> any UpstreamTransport {
        #if canImport(Darwin)
        let name = options.string(.upstreamClient)?.lowercased() ?? "urlsession"
        #else
        let name = options.string(.upstreamClient)?.lowercased() ?? "native"
        #endif
        let caFile = options.string(.caFile)
        switch name {
        case "native":
            var configuration = HTTPClientConfiguration()
            configuration.caFile = caFile
            configuration.trustStoreLoading = !startsFast ? .atStart : plainHTTP ? .onFirstUse : .inBackground
            do { return try NativeUpstreamTransport(configuration: configuration, hostedLoops: hostedLoops) } catch {
                throw UsageError("--upstream-client native: \(error.description)")
            }
        case "urlsession":
            #if canImport(Darwin)
            if caFile != nil {
                throw UsageError("--ca-file / NUDJ_CA_FILE needs --upstream-client native (URLSession cannot add a CA)")
            }
            return URLSessionTransport()
            #else
            throw UsageError("--upstream-client urlsession is only available on macOS; Linux builds use native")
            #endif
        default:
            throw UsageError("--upstream-client / NUDJ_UPSTREAM_CLIENT must be native or urlsession (got '\(name)')")
        }
    }

    /// - Parameter selection: the tools the runtime may call, when not the options' (doctor probes its own set).
    static func runtime(
        _ options: Options, catalogue: Catalogue, logger: Logger, sandboxPort: Int?,
        selection override: ToolSelection? = nil, startsFast: Bool = false, hostedLoops: Int = 0
    ) throws(UsageError) -> NudjRuntime {
        var selection: ToolSelection
        if let override { selection = override } else { selection = try self.selection(options) }
        try check(selection, against: catalogue)
        let timeout = try options.int(.timeout, default: 30, range: 1...600)
        let budget = try options.int(.budget, default: 20_000, range: 1_000...1_000_000)
        let maxUpstream = try options.int(.maxUpstreamRequests, default: 256, range: 1...100_000)
        let client = NudjClient(
            transport: try upstreamTransport(
                options, startsFast: startsFast,
                plainHTTP: sandboxPort != nil || options.string(.apiDomain)?.lowercased().hasPrefix("http://") == true,
                hostedLoops: hostedLoops),
            version: Build.version,
            timeout: .seconds(timeout),
            maxConcurrentRequests: maxUpstream,
            logger: logger.with("component", "upstream")
        )
        let insecureLocalhost: DomainPolicy.InsecureLocalhost =
            if options.flag(.allowInsecureLocalhost) { .anyPort } else if let sandboxPort {
                .onlyPort(sandboxPort)
            } else {
                .refused
            }
        let policy = DomainPolicy(
            extraPatterns: options.list(.allowDomain) ?? [], insecureLocalhost: insecureLocalhost)
        return NudjRuntime(
            catalogue: catalogue,
            client: client,
            shaper: ResultShaper(budgetTokens: budget),
            policy: policy,
            selection: selection,
            logger: logger.with("component", "tools")
        )
    }

    static func server(_ options: Options) throws(UsageError) -> MCPServer {
        MCPServer(
            identity: identity, toolsPageSize: try options.int(.toolsPageSize, default: 200, range: 1...10_000),
            limits: try requestLimits(options))
    }

    static func requestLimits(_ options: Options) throws(UsageError) -> RequestLimits {
        var limits = RequestLimits()
        limits.maxBatchLength = try options.int(.maxBatchLength, default: 100, range: 1...10_000)
        limits.maxRunningCalls = try options.int(.maxCallsPerSession, default: 16, range: 1...10_000)
        limits.maxQueuedCalls = try options.int(.maxQueuedCallsPerSession, default: 256, range: 0...100_000)
        return limits
    }

    static func sandboxConfiguration(_ options: Options, port: Int) throws(UsageError) -> SandboxConfiguration {
        var configuration = SandboxConfiguration()
        configuration.port = port
        configuration.rateLimits[.admin] = try options.int(.rateLimitAdmin, default: 500, range: 1...1_000_000)
        configuration.rateLimits[.integration] = try options.int(
            .rateLimitIntegration, default: 1000, range: 1...1_000_000)
        configuration.rateLimits[.analytics] = try options.int(.rateLimitAnalytics, default: 100, range: 1...1_000_000)
        configuration.rateWindowSeconds = try options.int(.rateWindow, default: 60, range: 1...86_400)
        if let kind = options.string(.faultKind) {
            guard let parsed = FaultPlan.Kind(rawValue: kind) else {
                throw UsageError(
                    "--fault must be one of \(FaultPlan.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            configuration.faults.kind = parsed
        }
        configuration.faults.rate = try options.double(.faultRate, default: 1, range: 0...1)
        configuration.faults.status = try options.int(.faultStatus, default: 503, range: 400...599)
        configuration.faults.latencyMilliseconds = try options.int(.faultLatency, default: 0, range: 0...600_000)
        return configuration
    }
}

enum Build {
    static let version = "0.1.0"
}
