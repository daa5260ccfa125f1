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
                logger: logger.with("transport", "stdio"),
                executor: provider.client.transport.taskExecutor
            )
        }

        guard useSandbox else {
            let (runtime, server) = try Composition.core(options, logger: logger, sandboxPort: nil, startsFast: true)
            let tenant = runtime.tenant(
                bearer: options.string(.token), apiToken: options.string(.apiToken), domain: options.string(.apiDomain))
            logStart(tenant, logger: logger)
            let stdio = try transport(server, runtime.provider(for: tenant))
            await withTaskGroup(of: Void.self) { group in
                group.addTask { await MemoryTuning.releaseAfterBursts(runtime.client.limiter) }
                await stdio.run(stop: stop)
                group.cancelAll()
            }
            return 0
        }

        // The in-process sandbox: the one-command way to try the server.
        let inProcess = try SandboxCommand.inProcess(options, logger: logger)
        let sandbox = inProcess.sandbox
        let (runtime, server) = try Composition.core(
            options, logger: logger, sandboxPort: sandbox.port, startsFast: true)
        let (organisation, tokenName) = (inProcess.organisation, inProcess.tokenName)
        let tenant = inProcess.tenant(runtime)
        logger.info(
            "sandbox started", [("url", sandbox.url), ("organisation", organisation), ("token", tokenName)])
        logStart(tenant, logger: logger)
        let stdio = try transport(server, runtime.provider(for: tenant))
        await withTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await sandbox.run() }
            group.addTask { await MemoryTuning.releaseAfterBursts(runtime.client.limiter) }
            await stdio.run(stop: stop)
            await sandbox.shutdown(grace: .seconds(1))
            group.cancelAll()
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
