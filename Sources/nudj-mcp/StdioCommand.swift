import Log
import MCP
import NudjTools
import Sandbox
import Tenancy
import Transports

/// `nudj-mcp stdio`: one process, one organisation, MCP over stdin/stdout.
enum StdioCommand {
    static func run(_ options: Options) async throws -> Int32 {
        let logger = try Composition.logger(options, label: "nudj-mcp")
        let useSandbox = options.flag(.sandbox)
        let stop = ShutdownSignal()
        stop.installProcessHandlers()
        let transport = { (server: MCPServer, provider: NudjToolProvider) throws(UsageError) -> StdioTransport in
            StdioTransport(
                server: server,
                provider: provider,
                maxLineBytes: try options.int(
                    .maxLineBytes, default: 4 * 1024 * 1024, range: 1024...(256 * 1024 * 1024)),
                shutdownGrace: .seconds(try options.int(.shutdownGrace, default: 5, range: 0...600)),
                logger: logger.with("transport", "stdio")
            )
        }

        guard useSandbox else {
            let (runtime, server) = try Composition.core(options, logger: logger, sandboxPort: nil)
            let tenant = runtime.tenant(
                bearer: options.string(.token), apiToken: options.string(.apiToken), domain: options.string(.apiDomain))
            logStart(tenant, logger: logger)
            try await transport(server, runtime.provider(for: tenant)).run(stop: stop)
            return 0
        }

        // The in-process sandbox: the one-command way to try the server.
        let sandbox = try Sandbox(
            configuration: Composition.sandboxConfiguration(options, port: 0),
            logger: logger.with("component", "sandbox"))
        let (runtime, server) = try Composition.core(options, logger: logger, sandboxPort: sandbox.port)
        let organisationName = options.string(.sandboxOrganisation) ?? sandbox.organisations[0].subdomain
        guard let organisation = sandbox.organisations.first(where: { $0.subdomain == organisationName }) else {
            throw UsageError(
                "--sandbox-org must be one of \(sandbox.organisations.map(\.subdomain).joined(separator: ", "))")
        }
        let tokenName = options.string(.sandboxToken) ?? "admin"
        guard let token = organisation.tokens[tokenName] else {
            throw UsageError("--sandbox-token must be one of admin, viewer, expired, apiToken")
        }
        let domain = sandbox.apiDomain(organisation.subdomain)
        let tenant =
            tokenName == "apiToken"
            ? runtime.tenant(bearer: nil, apiToken: token, domain: domain)
            : runtime.tenant(bearer: token, apiToken: nil, domain: domain)
        logger.info(
            "sandbox started", [("url", sandbox.url), ("organisation", organisation.subdomain), ("token", tokenName)])
        logStart(tenant, logger: logger)
        let stdio = try transport(server, runtime.provider(for: tenant))
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await sandbox.run() }
            await stdio.run(stop: stop)
            await sandbox.shutdown(grace: .seconds(1))
        }
        return 0
    }

    private static func logStart(_ tenant: Result<TenantContext, TenantProblem>, logger: Logger) {
        switch tenant {
        case .success(let context):
            logger.info(
                "serving MCP over stdio",
                [
                    ("organisation", context.domain.organisation), ("apiDomain", context.domain.headerValue),
                    ("credential", context.credential.kind.rawValue),
                ])
        case .failure(let problem):
            logger.warning(
                "serving MCP over stdio without a usable tenant; tool calls will explain", [("problem", "\(problem)")])
        }
    }
}
