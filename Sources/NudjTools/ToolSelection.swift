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

    /// The tool names this selection picks on its own: toolsets ∪ tools, or `unchosen` when it chooses neither,
    /// minus exclusions.
    func picked(from catalogue: Catalogue, unchosen: Set<String>) -> Set<String> {
        guard choosesTools else { return unchosen.subtracting(excludedTools) }
        var picked: Set<String> = []
        let chosen = toolsets ?? []
        for toolset in catalogue.toolsets
        where chosen.contains("all") || chosen.contains(toolset.name)
            || (chosen.contains("default") && toolset.isDefault)
        {
            picked.formUnion(toolset.tools)
        }
        picked.formUnion(tools.filter { catalogue.tool(named: $0) != nil })
        return picked.subtracting(excludedTools)
    }
}

/// What one session may use: the server's selection narrowed by the request's, restriction by restriction.
///
/// This is a meet: a tool is enabled only if both sides enable it, and the session is read-only or in planner mode
/// if either side says so. The server's own choice, including the default toolsets when it names none, is the cap a
/// request can only select within. Both `tools/list` and `tools/call` read this one value.
package struct EffectiveSelection: Sendable, Equatable {
    /// Tools the server enables (its flags, or the default toolsets): the most any request can have.
    package let serverTools: Set<String>
    /// Tools enabled for this session: a subset of `serverTools`.
    package let tools: Set<String>
    package let serverReadOnly: Bool
    package let readOnly: Bool
    package let serverPlanner: Bool
    package let planner: Bool

    package init(catalogue: Catalogue, server: ToolSelection, request: ToolSelection?) {
        let everything = Set(catalogue.tools.map(\.name))
        let defaults = Set(catalogue.toolsets.filter(\.isDefault).flatMap(\.tools))
        serverTools = server.picked(from: catalogue, unchosen: defaults)
        tools = serverTools.intersection(request?.picked(from: catalogue, unchosen: everything) ?? everything)
        serverReadOnly = server.readOnly
        readOnly = server.readOnly || request?.readOnly == true
        serverPlanner = server.agentMode == .planner
        planner = serverPlanner || request?.agentMode == .planner
    }

    /// Whether any call that changes data may leave the process.
    package var allowsWrites: Bool { !readOnly && !planner }
}

/// Why a catalogued tool cannot be used in a session.
package enum ToolRefusal: Sendable, Equatable {
    /// Outside the server's selection: its flags / env (or the default toolsets when none are named).
    case notEnabledByServer(excluded: Bool)
    /// Enabled by the server but narrowed away by this request's `X-MCP-*` headers.
    case notEnabledByRequest
    /// A write tool in a read-only session (`byServer`: the operator's flag, otherwise the request's header).
    case readOnly(byServer: Bool)
    /// A write tool in planner mode.
    case planner(byServer: Bool)
    /// A write tool for a Viewer token: a permission, not a configuration.
    case viewerRole
}

/// The tools one session can see and call, with the reason for every tool it cannot.
package final class ToolView: Sendable {
    package let visible: [ToolDefinition]
    /// What `tools/list` publishes (each tool's descriptor is made at its first listing).
    package var descriptors: [ToolDescriptor] { visible.map(\.descriptor) }
    package let selection: EffectiveSelection
    package let role: NudjRole?
    /// The operator's toolsets, as `--toolsets` would name them, for hints that say how to enable more.
    package let serverToolsets: [String]
    private let refusals: [String: ToolRefusal]

    /// - Parameters:
    ///   - server: what the operator configured; it caps what a request may choose.
    ///   - request: what the client asked for on this request (HTTP headers); `nil` on stdio.
    ///   - role: the token's role, when its claims name one; Viewer tokens get no write tools.
    package init(catalogue: Catalogue, server: ToolSelection, request: ToolSelection? = nil, role: NudjRole? = nil) {
        let selection = EffectiveSelection(catalogue: catalogue, server: server, request: request)
        var visible: [ToolDefinition] = []
        var refusals: [String: ToolRefusal] = [:]
        for tool in catalogue.tools {
            if !selection.serverTools.contains(tool.name) {
                refusals[tool.name] = .notEnabledByServer(excluded: server.excludedTools.contains(tool.name))
            } else if !selection.tools.contains(tool.name) {
                refusals[tool.name] = .notEnabledByRequest
            } else if tool.isWrite && selection.readOnly {
                refusals[tool.name] = .readOnly(byServer: selection.serverReadOnly)
            } else if tool.isWrite && selection.planner {
                refusals[tool.name] = .planner(byServer: selection.serverPlanner)
            } else if tool.isWrite && role == .viewer {
                refusals[tool.name] = .viewerRole
            } else {
                visible.append(tool)
            }
        }
        self.visible = visible
        self.selection = selection
        self.role = role
        self.refusals = refusals
        // Without --toolsets, the defaults apply unless --tools names tools (then they are the whole selection).
        serverToolsets = server.toolsets.map { $0.sorted() } ?? (server.tools.isEmpty ? ["default"] : [])
    }

    /// Why a catalogued tool may not be called in this session, or `nil` if it may.
    package func refusal(_ tool: ToolDefinition) -> ToolRefusal? { refusals[tool.name] }

    /// Hides write tools and refuses non-GET calls: read-only, planner, or a Viewer token.
    package var readOnly: Bool { !selection.allowsWrites || role == .viewer }

    package var toolsetNames: [String] {
        var seen: [String] = []
        for tool in visible where !seen.contains(tool.toolset) { seen.append(tool.toolset) }
        return seen
    }
}

extension ToolView {
    /// The tool error a call to a refused tool gets: what stops it and the exact switch that would allow it.
    package func refusalError(_ tool: ToolDefinition) -> ToolError? {
        guard let refusal = refusal(tool) else { return nil }
        let name = tool.name
        switch refusal {
        case .notEnabledByServer(let excluded):
            let hint =
                excluded
                ? "The server excludes it: remove \(name) from --exclude-tools / NUDJ_EXCLUDE_TOOLS and restart nudj-mcp. A request header cannot enable a tool the server does not."
                : "Restart nudj-mcp with --toolsets \((serverToolsets + [tool.toolset]).joined(separator: ",")) (env NUDJ_TOOLSETS) or add --tools \(name) (NUDJ_TOOLS). A request header cannot enable a tool the server does not."
            return ToolError(
                .toolNotEnabled, "Tool \(name) (toolset '\(tool.toolset)') is not enabled on this server.", hint: hint)
        case .notEnabledByRequest:
            return ToolError(
                .toolNotEnabled,
                "Tool \(name) (toolset '\(tool.toolset)') is not enabled by this request's X-MCP-* headers.",
                hint:
                    "Add '\(tool.toolset)' to the X-MCP-Toolsets header or \(name) to X-MCP-Tools, or remove it from X-MCP-Exclude-Tools."
            )
        case .readOnly(let byServer):
            return ToolError(
                .toolNotEnabled, "Tool \(name) changes data and this session is read-only; no request was sent.",
                hint: byServer
                    ? "The server runs with --read-only (NUDJ_READ_ONLY); restart it without that flag to allow changes."
                    : "This request sent X-MCP-Readonly: true; send it without that header to allow changes.")
        case .planner(let byServer):
            return ToolError(
                .toolNotEnabled,
                "Tool \(name) changes data and the agent mode is planner (reads only); no request was sent.",
                hint: byServer
                    ? "The server runs with --agent-mode planner (NUDJ_AGENT_MODE); restart it with --agent-mode builder to allow changes."
                    : "This request sent x-agent-mode: planner; send x-agent-mode: builder (or no header) to allow changes."
            )
        case .viewerRole:
            return ToolError(
                .forbidden, "Tool \(name) changes data and the token's role is Viewer, which is read-only.",
                hint: "Ask an admin for a token with the Manager role or above.")
        }
    }
}
