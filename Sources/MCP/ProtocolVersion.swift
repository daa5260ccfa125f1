/// An MCP protocol revision, identified by its date string.
///
/// The server is dual-era: the handshake versions are negotiated by `initialize`; the stateless version is
/// named on every request in `_meta`. Feature checks live here so that output shaping never compares strings.
/// - SeeAlso: MCP specification, "Versioning".
package struct ProtocolVersion: RawRepresentable, Sendable, Hashable, Comparable, CustomStringConvertible {
    package let rawValue: String
    package init(rawValue: String) { self.rawValue = rawValue }

    // The version strings' own dates read best as names; the usual camel-case rule would obscure them.
    // swift-format-ignore: AlwaysUseLowerCamelCase
    package static let v2024_11_05 = ProtocolVersion(rawValue: "2024-11-05")
    // swift-format-ignore: AlwaysUseLowerCamelCase
    package static let v2025_03_26 = ProtocolVersion(rawValue: "2025-03-26")
    // swift-format-ignore: AlwaysUseLowerCamelCase
    package static let v2025_06_18 = ProtocolVersion(rawValue: "2025-06-18")
    // swift-format-ignore: AlwaysUseLowerCamelCase
    package static let v2025_11_25 = ProtocolVersion(rawValue: "2025-11-25")
    // swift-format-ignore: AlwaysUseLowerCamelCase
    package static let v2026_07_28 = ProtocolVersion(rawValue: "2026-07-28")

    /// Versions negotiated through `initialize`, newest first.
    package static let handshake: [ProtocolVersion] = [.v2025_11_25, .v2025_06_18, .v2025_03_26, .v2024_11_05]
    /// Stateless versions named per request, newest first.
    package static let stateless: [ProtocolVersion] = [.v2026_07_28]
    /// Everything this server speaks, newest first (what `server/discover` and -32022 report).
    package static let all: [ProtocolVersion] = stateless + handshake

    /// The version to answer a legacy `initialize` with: the client's, if supported, else our newest.
    package static func negotiate(requested: String) -> ProtocolVersion {
        let version = ProtocolVersion(rawValue: requested)
        return handshake.contains(version) ? version : handshake[0]
    }

    package var isStateless: Bool { self >= .v2026_07_28 }
    package var isSupportedHandshake: Bool { Self.handshake.contains(self) }

    /// JSON-RPC batches exist only in 2025-03-26.
    package var allowsBatches: Bool { self == .v2025_03_26 }
    /// Tool `annotations` arrived in 2025-03-26.
    package var hasToolAnnotations: Bool { self >= .v2025_03_26 }
    /// `title`, `outputSchema` and `structuredContent` arrived in 2025-06-18.
    package var hasStructuredOutput: Bool { self >= .v2025_06_18 }
    /// `Implementation.description` / `websiteUrl` arrived in 2025-11-25.
    package var hasImplementationDescription: Bool { self >= .v2025_11_25 }

    package static func < (lhs: ProtocolVersion, rhs: ProtocolVersion) -> Bool { lhs.rawValue < rhs.rawValue }
    package var description: String { rawValue }
}
