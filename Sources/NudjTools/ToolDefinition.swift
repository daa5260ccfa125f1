import JSONRPC
import MCP
import Synchronization
import Tenancy

/// Where one argument goes in the upstream request.
package enum ArgumentLocation: Sendable, Equatable {
    case path
    case query
    /// A field of the JSON body object.
    case body
    /// The whole JSON body (for endpoints whose body is an array).
    case bodyRoot
    case header(String)

    init?(_ text: String) {
        switch text {
        case "path": self = .path
        case "query": self = .query
        case "body": self = .body
        case "body-root": self = .bodyRoot
        default:
            guard text.hasPrefix("header:"), text.count > 7 else { return nil }
            self = .header(String(text.dropFirst(7)))
        }
    }
}

/// How a successful response is shaped for the agent.
package enum OutputKind: Sendable, Equatable {
    /// A paginated list; `key` names the array inside the upstream envelope (`edges`, `data`, `items`).
    case list(key: String)
    /// One entity; trimmed as a whole when it exceeds the budget.
    case entity
}

/// Where an endpoint's definition comes from (nudj-endpoints.json's `evidence`).
package enum Evidence: String, Sendable {
    case referencePage = "reference-page"
    case overviewOnly = "overview-only"
    /// Not documented: follows the documented CRUD pattern and must be verified against the live API.
    case inferred
}

/// One tool, interpreted from `schemas/`: everything needed to list it, validate a call and build the request.
package struct ToolDefinition: Sendable {
    package let name: String
    package let title: String
    package let description: String
    package let toolset: String
    package let api: NudjAPI
    package let method: String
    package let path: String
    package let evidence: Evidence
    package let source: String?
    package let locations: [String: ArgumentLocation]
    package let inputSchema: JSONObject
    /// The compiled `inputSchema`, made at the tool's first call: a session calls a few tools, and compiling all of
    /// them was a sixth of a stdio start. `Catalogue.compileSchemas()` (the test suite) proves each one compiles.
    package let validator: LazyValidator
    package let output: OutputKind
    package let outputSchema: JSONObject?
    package let annotations: JSONObject
    package let descriptor: ToolDescriptor
    /// Arguments nudj-mcp consumes itself (`in: "local"`, e.g. `fields`); never sent upstream.
    package let localArguments: Set<String>
    /// Result paths withheld from the agent (`output.redact`), e.g. an OIDC client secret.
    package let redactions: [[Substring]]
    /// For a tool computed inside nudj-mcp (`compute`): which computation; `path` is then the data it scans.
    package let computation: String?

    /// Any non-GET call changes state upstream.
    package var isWrite: Bool { method != "GET" }
    package var isDestructive: Bool { annotations["destructiveHint"]?.boolValue ?? false }
}

/// A named group of tools, one per resource family.
package struct Toolset: Sendable {
    package let name: String
    package let title: String
    package let description: String
    /// Enabled when no toolsets are chosen explicitly.
    package let isDefault: Bool
    package let tools: [String]
}

/// A schema compiled once, on first use, by whichever thread needs it first.
package final class LazyValidator: Sendable {
    private let schema: JSONObject
    private let compiled = Mutex<Result<CompiledSchema, CompiledSchema.CompileError>?>(nil)

    init(_ schema: JSONObject) { self.schema = schema }

    package func get() -> Result<CompiledSchema, CompiledSchema.CompileError> {
        compiled.withLock { state in
            if let state { return state }
            let result = Result { () throws(CompiledSchema.CompileError) in try CompiledSchema(schema) }
            state = result
            return result
        }
    }
}
