import JSONRPC
import Log

/// The per-request metadata that makes a 2026-07-28 request self-contained.
/// - SeeAlso: MCP 2026-07-28, "Lifecycle", reserved `_meta` keys.
package struct StatelessMeta: Sendable, Equatable {
    package static let protocolVersionKey = "io.modelcontextprotocol/protocolVersion"
    package static let clientCapabilitiesKey = "io.modelcontextprotocol/clientCapabilities"
    package static let logLevelKey = "io.modelcontextprotocol/logLevel"
    package static let serverInfoKey = "io.modelcontextprotocol/serverInfo"

    package var version: ProtocolVersion
    package var clientCapabilities: JSONObject
    package var logLevel: LogLevel?
    package var progressToken: JSONValue?

    /// Whether a request is stateless (2026-07-28 on): it names its protocol version in `_meta`.
    package static func isStateless(_ request: Request) -> Bool {
        request.params?["_meta"]?[protocolVersionKey] != nil
    }

    /// Reads and checks the reserved keys: -32602 for a missing or malformed key, -32022 for a version this server
    /// does not speak (with every version it does, so a legacy-capable client can fall back to `initialize`).
    package static func parse(_ params: JSONObject?) -> Result<StatelessMeta, JSONRPCError> {
        guard let meta = params?["_meta"]?.objectValue else {
            return .failure(.invalidParams("Missing params._meta with \(protocolVersionKey)"))
        }
        guard case .string(let requested)? = meta[protocolVersionKey] else {
            return .failure(.invalidParams("_meta \(protocolVersionKey) must be a string"))
        }
        let version = ProtocolVersion(rawValue: requested)
        guard ProtocolVersion.stateless.contains(version) else {
            return .failure(unsupportedVersion(requested))
        }
        guard let capabilities = meta[clientCapabilitiesKey]?.objectValue else {
            return .failure(.invalidParams("Missing _meta \(clientCapabilitiesKey) (send {} for none)"))
        }
        var logLevel: LogLevel?
        if let rawLevel = meta[logLevelKey] {
            guard let name = rawLevel.stringValue, let level = LogLevel(name: name), name == level.name else {
                return .failure(.invalidParams("Unknown log level in _meta \(logLevelKey): \(rawLevel)"))
            }
            logLevel = level
        }
        return .success(
            StatelessMeta(
                version: version,
                clientCapabilities: capabilities,
                logLevel: logLevel,
                progressToken: meta["progressToken"]
            )
        )
    }

    package static func unsupportedVersion(_ requested: String) -> JSONRPCError {
        JSONRPCError(
            .unsupportedProtocolVersion,
            "Unsupported protocol version",
            data: [
                "supported": .array(ProtocolVersion.all.map { .string($0.rawValue) }),
                "requested": .string(requested),
            ]
        )
    }
}
