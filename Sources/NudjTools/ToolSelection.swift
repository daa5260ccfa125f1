import MCP
import Tenancy

/// `x-agent-mode` / `NUDJ_AGENT_MODE`: planner reads, builder reads and writes.
package enum AgentMode: String, Sendable, CaseIterable {
    case planner
    case builder
}

/// Which tools a session sees, as configured on the server (flags, env) or chosen per request (HTTP headers).
package struct ToolSelection: Sendable, Hashable {
    /// Toolsets by name; `nil` means "not chosen" (defaults apply). `all` selects every toolset.
    package var toolsets: Set<String>?
    /// Individual tools; alone they select exactly these tools, with toolsets they add to them.
    package var tools: Set<String> = []
    /// Always removed; exclusion wins over everything.
    package var excludedTools: Set<String> = []
    /// Hides write tools and refuses any non-GET call.
    package var readOnly = false
    package var agentMode: AgentMode?

    package init(
        toolsets: Set<String>? = nil,
        tools: Set<String> = [],
        excludedTools: Set<String> = [],
        readOnly: Bool = false,
        agentMode: AgentMode? = nil
    ) {
        self.toolsets = toolsets
        self.tools = tools
        self.excludedTools = excludedTools
        self.readOnly = readOnly
        self.agentMode = agentMode
    }

    /// Whether anything chooses tools explicitly (otherwise the default toolsets apply).
    package var choosesTools: Bool { toolsets != nil || !tools.isEmpty }

    /// Splits a comma-separated list (`a, b,c`) into names.
    package static func names(_ list: String) -> Set<String> {
        Set(list.split(separator: ",").map { String($0.trimmingASCIIWhitespace()) }.filter { !$0.isEmpty })
    }

    /// The tool names this selection picks, before modes: toolsets ∪ tools (or the defaults), minus exclusions.
    func picked(from catalogue: Catalogue) -> Set<String> {
        var picked: Set<String> = []
        if choosesTools {
            let chosen = toolsets ?? []
            for toolset in catalogue.toolsets
            where chosen.contains("all") || chosen.contains(toolset.name)
                || (chosen.contains("default") && toolset.isDefault)
            {
                picked.formUnion(toolset.tools)
            }
            picked.formUnion(tools.filter { catalogue.tool(named: $0) != nil })
        } else {
            for toolset in catalogue.toolsets where toolset.isDefault { picked.formUnion(toolset.tools) }
        }
        return picked.subtracting(excludedTools)
    }
}

/// The tools one session can see and call, with the reason for every tool it cannot.
package final class ToolView: Sendable {
    package let visible: [ToolDefinition]
    package let descriptors: [ToolDescriptor]
    package let readOnly: Bool
    private let hiddenReasons: [String: String]

    /// - Parameters:
    ///   - server: what the operator configured; it caps what a request may choose.
    ///   - request: what the client asked for on this request (HTTP headers); `nil` on stdio.
    ///   - role: the token's role, when its claims name one; Viewer tokens get no write tools.
    package init(catalogue: Catalogue, server: ToolSelection, request: ToolSelection? = nil, role: NudjRole? = nil) {
        let cap: Set<String> =
            server.choosesTools
            ? server.picked(from: catalogue)
            : Set(catalogue.tools.map(\.name)).subtracting(server.excludedTools)
        var chosen = server.picked(from: catalogue)
        if let request, request.choosesTools { chosen = request.picked(from: catalogue).intersection(cap) }
        if let request { chosen.subtract(request.excludedTools) }
        let readOnly = server.readOnly || request?.readOnly == true
        let mode = request?.agentMode ?? server.agentMode

        var visible: [ToolDefinition] = []
        var reasons: [String: String] = [:]
        for tool in catalogue.tools {
            if !chosen.contains(tool.name) {
                reasons[tool.name] =
                    cap.contains(tool.name)
                    ? "Tool \(tool.name) is not enabled in this session. Enable its toolset '\(tool.toolset)' (--toolsets / NUDJ_TOOLSETS, or the X-MCP-Toolsets header) or name it in --tools / X-MCP-Tools."
                    : "Tool \(tool.name) is disabled by the server's configuration (--toolsets, --tools, --exclude-tools)."
            } else if tool.isWrite && readOnly {
                reasons[tool.name] =
                    "Tool \(tool.name) changes data and this server runs in read-only mode (--read-only, NUDJ_READ_ONLY or X-MCP-Readonly)."
            } else if tool.isWrite && mode == .planner {
                reasons[tool.name] =
                    "Tool \(tool.name) changes data and the agent mode is planner, which allows reads only; use builder mode to make changes."
            } else if tool.isWrite, let role, role == .viewer {
                reasons[tool.name] =
                    "Tool \(tool.name) changes data and the token's role is Viewer, which is read-only. Ask an admin for a token with the Manager role or above."
            } else {
                visible.append(tool)
            }
        }
        self.visible = visible
        descriptors = visible.map(\.descriptor)
        self.readOnly = readOnly
        hiddenReasons = reasons
    }

    /// Why a catalogued tool may not be called in this session, or `nil` if it may.
    package func refusal(_ tool: ToolDefinition) -> String? { hiddenReasons[tool.name] }

    package var toolsetNames: [String] {
        var seen: [String] = []
        for tool in visible where !seen.contains(tool.toolset) { seen.append(tool.toolset) }
        return seen
    }
}
