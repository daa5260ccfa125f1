import JSONRPC
import MCP
import NudjTools

/// `nudj-mcp tools [--json | --stats]`: the catalogue, as the current selection flags shape it.
enum ToolsCommand {
    static func run(_ options: Options) throws -> Int32 {
        let catalogue = try Composition.catalogue()
        let selection = try Composition.selection(options)
        try Composition.check(selection, against: catalogue)
        let view = ToolView(catalogue: catalogue, server: selection)
        if options.flag(.stats) {
            print(stats(catalogue, selected: view))
        } else if options.flag(.json) {
            print(JSONWriter.encodeString(.array(view.visible.map(definition))))
        } else {
            print(table(catalogue, view: view))
        }
        return 0
    }

    static func definition(_ tool: ToolDefinition) -> JSONValue {
        var object: JSONObject = [
            "name": .string(tool.name), "title": .string(tool.title), "description": .string(tool.description),
            "toolset": .string(tool.toolset), "api": .string(tool.api.rawValue), "method": .string(tool.method),
            "path": .string(tool.api.basePath + tool.path), "evidence": .string(tool.evidence.rawValue),
            "source": tool.source.map { .string($0) } ?? .null,
            "inputSchema": .object(CompiledSchema.published(tool.inputSchema)),
        ]
        if let outputSchema = tool.outputSchema { object["outputSchema"] = .object(outputSchema) }
        object["annotations"] = .object(tool.annotations)
        return .object(object)
    }

    private static func table(_ catalogue: Catalogue, view: ToolView) -> String {
        var lines: [String] = []
        let visible = Set(view.visible.map(\.name))
        for toolset in catalogue.toolsets {
            lines.append("\(toolset.name)\(toolset.isDefault ? " (default)" : "") — \(toolset.description)")
            for name in toolset.tools {
                let tool = catalogue.tool(named: name)!
                let marker = visible.contains(name) ? " " : "-"
                let evidence = tool.evidence == .referencePage ? "" : "  [\(tool.evidence.rawValue)]"
                lines.append(
                    "  \(marker) \(name.padded(to: 34)) \(tool.method.padded(to: 6)) \(tool.api.basePath)\(tool.path)\(evidence)"
                )
            }
        }
        lines.append(
            "\(view.visible.count) of \(catalogue.tools.count) tools enabled ('-' marks disabled ones); see --stats and --json"
        )
        return lines.joined(separator: "\n")
    }

    static func listSize(_ tools: [ToolDefinition]) -> Int { JSONWriter.encode(Catalogue.toolsList(tools)).count }

    private static func stats(_ catalogue: Catalogue, selected view: ToolView) -> String {
        let defaults = catalogue.defaultTools
        var lines = ["Tools by API:"]
        for api in ["admin", "integration", "analytics"] {
            let tools = catalogue.tools.filter { $0.api.rawValue == api }
            lines.append(
                "  \(api): \(tools.count) (\(tools.filter { $0.evidence == .inferred }.count) on inferred endpoints)")
        }
        lines.append("Toolsets:")
        for toolset in catalogue.toolsets {
            let count = toolset.tools.count
            let label = "\(toolset.name)\(toolset.isDefault ? " (default)" : "")"
            lines.append("  \(label): \(count) \(count == 1 ? "tool" : "tools")")
        }
        func line(_ label: String, _ tools: [ToolDefinition]) -> String {
            let bytes = listSize(tools)
            return "\(label): \(tools.count) tools, tools/list \(bytes) bytes ≈ \(bytes / 4) tokens"
        }
        lines.append(line("Default set", defaults))
        lines.append(line("Full catalogue", catalogue.tools))
        if view.visible.count != defaults.count { lines.append(line("This selection", view.visible)) }
        let largest = catalogue.tools.max { listSize([$0]) < listSize([$1]) }!
        lines.append("Largest tool: \(largest.name), \(listSize([largest])) bytes")
        return lines.joined(separator: "\n")
    }
}
