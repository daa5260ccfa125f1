import HTTPServer
import JSONRPC
import Log
import MCP
import NudjTools
import Platform
import Sandbox
import Tenancy
import Transports

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// `nudj-mcp serve`: MCP over HTTP for many organisations at once, each session pinned to one.
enum ServeCommand {
    static func run(_ options: Options) async throws -> Int32 {
        let logger = try Composition.logger(options, label: "nudj-mcp")
        // The sandbox starts first: its port is the only plain-http destination `--sandbox` allows.
        let sandbox =
            options.flag(.sandbox)
            ? try Sandbox(
                configuration: Composition.sandboxConfiguration(options, port: 0),
                logger: logger.with("component", "sandbox")) : nil
        // Each loop does the I/O and the request work of its connections on a core; half the cores by default leaves
        // the other half to the kernel's network work and, on a shared machine, to its neighbours (on 2 cores shared
        // with the load and the upstream, one loop served 8 clients best; see BENCHMARKS.md).
        let loops = try options.int(
            .loops, default: min(max(1, ProcessEnvironment.usableProcessorCount / 2), 16), range: 1...Self.maxLoops)
        let (runtime, server) = try Composition.core(
            options, logger: logger, sandboxPort: sandbox?.port, hostedLoops: loops)
        let host = options.string(.host) ?? "127.0.0.1"
        let loopback = LoopbackHost.isLoopback(host: host)
        if !loopback {
            logger.warning(
                "binding a non-loopback interface: anyone who can reach it can try credentials; put it behind TLS",
                [("host", host)])
        }

        var mcp = MCPHTTPConfiguration()
        mcp.allowedOrigins = options.list(.allowOrigin) ?? []
        mcp.requireLoopbackHost = loopback
        mcp.maxSessions = try options.int(.maxSessions, default: 10_000, range: 1...1_000_000)
        mcp.sessionIdleTimeout = .seconds(try options.int(.sessionIdle, default: 8 * 3600, range: 10...(30 * 86_400)))
        mcp.sessionProbationIdleTimeout = .seconds(
            try options.int(.sessionProbation, default: 300, range: 10...(30 * 86_400)))
        mcp.maxProbationSessionsPerPeer = try options.int(
            .maxProbationSessionsPerPeer, default: 1_000, range: 1...1_000_000)
        logger.info(
            "session limits",
            [
                ("maxSessions", String(mcp.maxSessions)),
                ("idleSeconds", String(mcp.sessionIdleTimeout.components.seconds)),
                ("probationIdleSeconds", String(mcp.sessionProbationIdleTimeout.components.seconds)),
                ("maxProbationSessionsPerPeer", String(mcp.maxProbationSessionsPerPeer)),
            ])
        mcp.version = Build.version
        mcp.sessionMaxAge = Int64(try options.int(.sessionMaxAge, default: 7 * 86_400, range: 60...(365 * 86_400)))
        mcp.replicaID = try replicaID(options)
        if let secrets = try sessionSecrets(options) {
            mcp.sealer = SessionSealer(secrets: secrets)
        } else {
            logger.warning(
                "no session secret (NUDJ_SESSION_SECRET or --session-secret-file): session ids are sealed with a random per-process key, so a restart or another replica loses every session"
            )
        }
        if let template = options.string(.tenantURLTemplate) {
            guard template.contains("{org}") else {
                throw UsageError(
                    "--tenant-url-template / NUDJ_TENANT_URL_TEMPLATE must contain {org} (got '\(template)')")
            }
            mcp.pathTenantDomain = template
        } else if let sandbox {
            mcp.pathTenantDomain = sandbox.apiDomain("{org}")
        }
        let handler = MCPHTTPHandler(
            server: server, gateway: RuntimeGateway(runtime: runtime), configuration: mcp,
            logger: logger.with("transport", "http"))

        var http = HTTPServerConfiguration()
        http.loops = loops
        http.host = host
        http.port = try options.int(.port, default: 4010, range: 0...65_535)
        http.limits.maxBodyBytes = try options.int(
            .maxBodyBytes, default: 4 * 1024 * 1024, range: 1024...(256 * 1024 * 1024))
        http.maxConnections = try options.int(.maxConnections, default: 16_384, range: 1...1_000_000)
        http.errorBody = { status, message in
            let error = JSONRPCError(.invalidRequest, message, data: ["httpStatus": .int(Int64(status))])
            return .json(status, JSONWriter.encode(JSONRPC.errorResponse(id: nil, error: error)))
        }
        let httpServer = try HTTPServer(
            configuration: http, handler: handler, logger: logger.with("transport", "http"),
            accessLogger: logger.with("log", "access"), guests: runtime.client.transport.loopGuests)
        let stop = ShutdownSignal()
        stop.installProcessHandlers()
        announce(httpServer: httpServer, sandbox: sandbox, logger: logger)
        let grace = Duration.seconds(try options.int(.shutdownGrace, default: 5, range: 0...600))
        let drainDelay = Duration.seconds(try options.int(.drainDelay, default: 0, range: 0...600))

        await withTaskGroup(of: Void.self) { group in
            group.addImmediateTask { await httpServer.run() }
            if let sandbox { group.addImmediateTask { await sandbox.run() } }
            group.addTask { await MemoryTuning.releaseAfterBursts(runtime.client.limiter) }
            // Often enough that a session on probation outlives its timeout by at most half of it.
            let sweepInterval = min(.seconds(30), mcp.sessionProbationIdleTimeout / 2)
            group.addTask {
                while !Task.isCancelled {
                    try? await Task.sleep(for: sweepInterval)
                    handler.expireIdleSessions()
                }
            }
            await stop.wait()
            // Draining: /readyz fails first so the load balancer stops routing here, then the listener closes and
            // in-flight calls get `grace` to finish; open streams end cleanly (clients reconnect elsewhere).
            handler.beginDraining()
            logger.info("draining", [("sessions", String(handler.sessionCount)), ("delay_s", "\(drainDelay)")])
            if drainDelay > .zero { try? await Task.sleep(for: drainDelay) }
            logger.info("shutting down", [("sessions", String(handler.sessionCount))])
            await httpServer.shutdown(grace: grace)
            handler.closeAllSessions()
            await sandbox?.shutdown(grace: .seconds(1))
            group.cancelAll()
        }
        return 0
    }

    static let maxLoops = 64

    /// `--session-secret-file` (line 1 issues ids, line 2 is still accepted), else `NUDJ_SESSION_SECRET` (and
    /// `NUDJ_SESSION_SECRET_PREVIOUS`); `nil` when neither is set.
    private static func sessionSecrets(_ options: Options) throws -> [SessionSecret]? {
        var texts: [String]
        if let path = options.string(.sessionSecretFile) {
            let contents: String
            do {
                contents = String(decoding: try FileDescriptor.contents(ofFile: path), as: UTF8.self)
            } catch {
                throw UsageError("--session-secret-file: cannot read \(path): \(error)")
            }
            texts = contents.split(whereSeparator: \.isNewline).map(String.init).filter {
                !Substring($0).trimmingASCIIWhitespace().isEmpty
            }
            guard (1...2).contains(texts.count) else {
                throw UsageError(
                    "--session-secret-file must hold one secret per line: the current one, then optionally the previous one"
                )
            }
        } else if let current = options.environmentValue("NUDJ_SESSION_SECRET") {
            texts = [current]
            if let previous = options.environmentValue("NUDJ_SESSION_SECRET_PREVIOUS") { texts.append(previous) }
        } else {
            return nil
        }
        do {
            return try texts.map { text throws(SessionSecretError) in try SessionSecret.parse(text) }
        } catch {
            throw UsageError("session secret: \(error.description)")
        }
    }

    /// `--replica-id`, else the host name's first label: a path segment a load balancer can route on.
    private static func replicaID(_ options: Options) throws -> String {
        let name =
            options.string(.replicaID) ?? ProcessInfo.processInfo.hostName.split(separator: ".").first.map(String.init)
            ?? "replica"
        guard (1...63).contains(name.utf8.count),
            name.utf8.allSatisfy({ byte in
                (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x30 && byte <= 0x39)
                    || byte == 0x2D || byte == 0x5F
            })
        else {
            throw UsageError("--replica-id / NUDJ_REPLICA_ID must be 1-63 letters, digits, '-' or '_' (got '\(name)')")
        }
        return name
    }

    /// The ready line on stdout (one JSON object) and a paste-ready mcp-remote config on stderr.
    private static func announce(httpServer: HTTPServer, sandbox: Sandbox?, logger: Logger) {
        let host = httpServer.host.contains(":") ? "[\(httpServer.host)]" : httpServer.host
        let base = "http://\(host == "0.0.0.0" ? "127.0.0.1" : host):\(httpServer.port)"
        var ready: JSONObject = ["event": "ready", "mcpUrl": .string(base + "/mcp"), "sseUrl": .string(base + "/sse")]
        if let sandbox { ready["orgs"] = sandbox.organisationsJSON }
        StandardStream.output.write(JSONWriter.encodeString(.object(ready)) + "\n")
        logger.info("serving MCP over HTTP", [("mcp", base + "/mcp"), ("sse", base + "/sse")])
        guard let sandbox, let organisation = sandbox.organisations.first else { return }
        let config: JSONValue = [
            "mcpServers": [
                "nudj-sandbox": [
                    "command": "npx",
                    "args": [
                        "-y", "mcp-remote", .string(base + "/mcp"), "--allow-http",
                        "--header", .string("Authorization:Bearer \(organisation.tokens["admin"]!)"),
                        "--header", .string("x-api-domain:\(sandbox.apiDomain(organisation.subdomain))"),
                    ],
                ]
            ]
        ]
        let text =
            "mcp-remote config for the sandbox organisation '\(organisation.subdomain)' (paste into .mcp.json / mcp.json):\n"
            + JSONWriter.prettyString(config) + "\n"
        StandardStream.error.write(text)
    }
}

/// Adapts the tool runtime to the HTTP transports: headers in, tenant binding and provider out.
struct RuntimeGateway: HTTPGateway {
    let runtime: NudjRuntime

    func authorize(_ headers: HTTPHeaders, pathDomain: String?) -> Result<GatewayGrant, AccessRefusal> {
        var values = AuthorizationHeaders()
        for field in headers { values.add(name: field.name, value: field.value) }
        return runtime.authorize(values, pathDomain: pathDomain).map {
            GatewayGrant(
                binding: $0.tenant.binding, organisation: $0.tenant.domain.organisation, provider: $0.provider,
                credential: $0.tenant.credential)
        }
    }
}
