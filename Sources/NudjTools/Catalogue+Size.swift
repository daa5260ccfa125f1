import JSONRPC
import MCP

extension Catalogue {
    /// The `tools/list` result a 2025-11-25 client receives for `tools` (titles, output schemas and annotations
    /// included): what every agent turn pays for.
    package static func toolsList(_ tools: [ToolDefinition], version: ProtocolVersion = .v2025_11_25) -> JSONValue {
        ["tools": .array(tools.map { $0.descriptor.json(for: version) })]
    }

    /// Approximate tokens of that result (bytes / 4), as `nudj-mcp tools --stats` reports and the tests bound.
    package static func toolsListTokens(_ tools: [ToolDefinition]) -> Int {
        JSONWriter.encodedSize(toolsList(tools)) / 4
    }

    /// The tools enabled when nothing is chosen.
    package var defaultTools: [ToolDefinition] {
        let names = Set(toolsets.filter(\.isDefault).flatMap(\.tools))
        return tools.filter { names.contains($0.name) }
    }
}
