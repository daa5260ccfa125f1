import Codecs
import JSONRPC
import Log

/// The MCP engine: lifecycle, version negotiation, method dispatch and version-specific result shaping.
///
/// It performs no I/O and holds no per-connection state: transports pass in the session (handshake era) or the
/// request's own `_meta` (stateless era), a tenant-bound `ToolProvider`, and a sink for request-scoped notifications.
package struct MCPServer: Sendable {
    package let identity: ServerIdentity
    /// Tools per `tools/list` page; large enough by default that common clients see every tool on one page.
    package let toolsPageSize: Int
    /// Cache lifetime advertised on stateless list and discover results.
    package let listTTLMilliseconds: Int64
    /// How much work one client may start; every transport enforces them.
    package let limits: RequestLimits

    package init(
        identity: ServerIdentity, toolsPageSize: Int = 200, listTTLMilliseconds: Int64 = 300_000,
        limits: RequestLimits = RequestLimits()
    ) {
        precondition(toolsPageSize > 0)
        self.identity = identity
        self.limits = limits
        self.toolsPageSize = toolsPageSize
        self.listTTLMilliseconds = listTTLMilliseconds
    }

    // MARK: - Handshake era

    /// Answers `initialize` synchronously, so a channel can apply it before it dispatches anything that follows it.
    package func initialize(_ request: Request, session: HandshakeState, provider: any ToolProvider) -> Reply {
        reply(request.id, initialize(request.params, session: session, provider: provider))
    }

    /// Answers a request in a handshake-era session.
    package func respond(
        to request: Request,
        session: HandshakeState,
        provider: any ToolProvider,
        notifications: any NotificationSink
    ) async -> Reply {
        let outcome: Result<JSONObject, JSONRPCError>
        if request.method == "initialize" {
            outcome = initialize(request.params, session: session, provider: provider)
        } else if request.method == "ping" {
            outcome = .success([:])  // Served in every phase, as the lifecycle requires.
        } else if let version = session.negotiatedVersion {
            outcome = await dispatchHandshake(
                request, version: version, session: session, provider: provider, notifications: notifications)
        } else if request.method == "server/discover" {
            outcome = .failure(
                .invalidParams("server/discover requires params._meta with \(StatelessMeta.protocolVersionKey)"))
        } else {
            outcome = .failure(
                JSONRPCError(.invalidRequest, "Server not initialized: send initialize before \(request.method)")
            )
        }
        return reply(request.id, outcome)
    }

    private func initialize(
        _ params: JSONObject?,
        session: HandshakeState,
        provider: any ToolProvider
    ) -> Result<JSONObject, JSONRPCError> {
        guard case .string(let requested)? = params?["protocolVersion"] else {
            return .failure(.invalidParams("initialize requires params.protocolVersion (a string)"))
        }
        if let capabilities = params?["capabilities"], capabilities.objectValue == nil {
            return .failure(.invalidParams("initialize params.capabilities must be an object"))
        }
        let version = ProtocolVersion.negotiate(requested: requested)
        guard session.begin(version: version) else {
            return .failure(JSONRPCError(.invalidRequest, "Session already initialized"))
        }
        return .success([
            "protocolVersion": .string(version.rawValue),
            "capabilities": capabilities,
            "serverInfo": identity.json(for: version),
            "instructions": .string(provider.instructions),
        ])
    }

    private var capabilities: JSONValue { ["tools": [:], "logging": [:]] }

    private func dispatchHandshake(
        _ request: Request,
        version: ProtocolVersion,
        session: HandshakeState,
        provider: any ToolProvider,
        notifications: any NotificationSink
    ) async -> Result<JSONObject, JSONRPCError> {
        switch request.method {
        case "tools/list":
            return listTools(request.params, version: version, provider: provider)
        case "tools/call":
            let clientLog = ClientLogger(threshold: { session.clientLogLevel }, sink: notifications)
            let outcome = await callTool(
                request,
                version: version,
                progressToken: request.params?["_meta"]?["progressToken"],
                clientLog: clientLog,
                provider: provider,
                notifications: notifications
            )
            if case .success(let result) = outcome, result["isError"] != .bool(true) { session.markCallSucceeded() }
            return outcome
        case "logging/setLevel":
            guard let name = request.params?["level"]?.stringValue, let level = LogLevel(name: name), level.name == name
            else {
                return .failure(.invalidParams("logging/setLevel requires params.level, one of \(Self.levelNames)"))
            }
            session.setClientLogLevel(level)
            return .success([:])
        default:
            return .failure(.methodNotFound(request.method))
        }
    }

    private static let levelNames = LogLevel.allCases.map(\.name).joined(separator: ", ")

    // MARK: - Stateless era (2026-07-28)

    /// Answers a stateless request that carries its own version and capabilities in `_meta`.
    package func respondStateless(
        to request: Request,
        provider: any ToolProvider,
        notifications: any NotificationSink
    ) async -> Reply {
        let meta: StatelessMeta
        switch StatelessMeta.parse(request.params) {
        case .success(let parsed): meta = parsed
        case .failure(let error): return .error(request.id, error)
        }
        let version = meta.version
        var outcome: Result<JSONObject, JSONRPCError>
        switch request.method {
        case "server/discover":
            outcome = .success([
                "supportedVersions": .array(ProtocolVersion.all.map { .string($0.rawValue) }),
                "capabilities": capabilities,
                "instructions": .string(provider.instructions),
                "ttlMs": .int(listTTLMilliseconds),
                "cacheScope": "private",
            ])
        case "tools/list":
            outcome = listTools(request.params, version: version, provider: provider)
            if case .success(var result) = outcome {
                // The list depends on the tenant and token, so shared caches must not reuse it.
                result["ttlMs"] = .int(listTTLMilliseconds)
                result["cacheScope"] = "private"
                outcome = .success(result)
            }
        case "tools/call":
            let level = meta.logLevel
            outcome = await callTool(
                request,
                version: version,
                progressToken: meta.progressToken,
                clientLog: ClientLogger(threshold: { level }, sink: notifications),
                provider: provider,
                notifications: notifications
            )
        default:
            outcome = .failure(.methodNotFound(request.method))
        }
        guard case .success(var result) = outcome else { return reply(request.id, outcome) }
        result["resultType"] = "complete"
        var resultMeta = result["_meta"]?.objectValue ?? [:]
        resultMeta[StatelessMeta.serverInfoKey] = identity.json(for: version)
        result["_meta"] = .object(resultMeta)
        return .result(request.id, result)
    }

    // MARK: - Shared methods

    private func listTools(
        _ params: JSONObject?,
        version: ProtocolVersion,
        provider: any ToolProvider
    ) -> Result<JSONObject, JSONRPCError> {
        let tools = provider.listTools()
        var offset = 0
        switch params?["cursor"] {
        case nil, .null?: break
        case .string(let cursor)?:
            guard let decoded = ToolsCursor.offset(from: cursor), decoded <= tools.count else {
                return .failure(.invalidParams("Invalid cursor: pass back a nextCursor from an earlier tools/list"))
            }
            offset = decoded
        case let other?:
            return .failure(.invalidParams("cursor must be a string, not \(other.typeName)"))
        }
        let end = min(tools.count, offset + toolsPageSize)
        var result: JSONObject = ["tools": .array(tools[offset..<end].map { $0.json(for: version) })]
        if end < tools.count { result.appendUnchecked("nextCursor", .string(ToolsCursor.cursor(for: end))) }
        return .success(result)
    }

    private func callTool(
        _ request: Request,
        version: ProtocolVersion,
        progressToken: JSONValue?,
        clientLog: ClientLogger,
        provider: any ToolProvider,
        notifications: any NotificationSink
    ) async -> Result<JSONObject, JSONRPCError> {
        guard case .string(let name)? = request.params?["name"] else {
            return .failure(.invalidParams("tools/call requires params.name (a string)"))
        }
        let arguments: JSONObject
        switch request.params?["arguments"] {
        case nil, .null?: arguments = [:]
        case .object(let object)?: arguments = object
        case let other?:
            return .failure(.invalidParams("tools/call params.arguments must be an object, not \(other.typeName)"))
        }
        let progress = ProgressReporter(token: progressToken, sink: notifications)
        let context = ToolCallContext(requestID: request.id, progress: progress, clientLog: clientLog)
        let result = await provider.callTool(named: name, arguments: arguments, context: context)
        progress.finish()
        guard let result else {
            return .failure(.invalidParams("Unknown tool: \(name). Call tools/list for the available tools."))
        }
        return .success(result.json(for: version))
    }

    private func reply(_ id: RequestID, _ outcome: Result<JSONObject, JSONRPCError>) -> Reply {
        switch outcome {
        case .success(let result): .result(id, result)
        case .failure(let error): .error(id, error)
        }
    }
}

/// Opaque `tools/list` cursors: base64url of a tagged offset, so a client cannot mistake them for anything else.
package enum ToolsCursor {
    private static let prefix = "tools:"

    package static func cursor(for offset: Int) -> String {
        Base64URL.encode(Array((prefix + String(offset)).utf8))
    }

    package static func offset(from cursor: String) -> Int? {
        guard let bytes = Base64URL.decode(cursor), let text = String(validating: bytes, as: UTF8.self),
            text.hasPrefix(prefix), let offset = Int(text.dropFirst(prefix.count)), offset >= 0
        else { return nil }
        return offset
    }
}
