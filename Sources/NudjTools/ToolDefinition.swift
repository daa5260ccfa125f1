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
    /// The schemas with their references resolved, and the descriptor, made at first use.
    package let schemas: ToolSchemas
    /// The compiled `inputSchema`, made at the tool's first call: a session calls a few tools, and compiling all of
    /// them was a sixth of a stdio start. `Catalogue.compileSchemas()` (the test suite) proves each one compiles.
    package let validator: LazyValidator
    package let output: OutputKind
    package let annotations: JSONObject
    /// Arguments nudj-mcp consumes itself (`in: "local"`, e.g. `fields`); never sent upstream.
    package let localArguments: Set<String>
    /// Result paths withheld from the agent (`output.redact`), e.g. an OIDC client secret.
    package let redactions: [[Substring]]
    /// For a tool computed inside nudj-mcp (`compute`): which computation; `path` is then the data it scans.
    package let computation: String?

    package var inputSchema: JSONObject { schemas.resolved.input }
    package var outputSchema: JSONObject? { schemas.resolved.output }
    /// What `tools/list` publishes.
    package var descriptor: ToolDescriptor { schemas.resolved.descriptor }

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

/// A tool's input and output schemas with their `$ref`s inlined, and the descriptor `tools/list` publishes, made once
/// by whichever thread needs them first: a session lists and calls a fraction of the catalogue, and resolving every
/// tool's schemas was most of a stdio start. `Catalogue.compileSchemas()` (the test suite) proves each one resolves.
package final class ToolSchemas: Sendable {
    package struct Resolved: Sendable {
        package var input: JSONObject
        package var output: JSONObject?
        package var descriptor: ToolDescriptor
        /// Why a reference did not resolve (the schemas are then as written); nil when they did.
        package var failure: String?
    }

    private let input: JSONObject
    private let output: JSONObject?
    private let file: String
    private let resolver: SharedRefResolver
    private let describe: @Sendable (_ input: JSONObject, _ output: JSONObject?) -> ToolDescriptor
    private let state = Mutex<Resolved?>(nil)

    init(
        input: JSONObject, output: JSONObject?, file: String, resolver: SharedRefResolver,
        describe: @escaping @Sendable (_ input: JSONObject, _ output: JSONObject?) -> ToolDescriptor
    ) {
        self.input = input
        self.output = output
        self.file = file
        self.resolver = resolver
        self.describe = describe
    }

    package var resolved: Resolved {
        state.withLock { state in
            if let state { return state }
            var result: Resolved
            do throws(RefResolver.Failure) {
                let input = try resolver.resolve(self.input, in: file)
                var output: JSONObject?
                if let written = self.output { output = try resolver.resolve(written, in: file) }
                result = Resolved(input: input, output: output, descriptor: describe(input, output))
            } catch {
                result = Resolved(
                    input: input, output: output, descriptor: describe(input, output), failure: error.message)
            }
            state = result
            return result
        }
    }
}

/// A tool's input schema compiled once, on first use, by whichever thread needs it first.
package final class LazyValidator: Sendable {
    private let schemas: ToolSchemas
    private let compiled = Mutex<Result<CompiledSchema, CompiledSchema.CompileError>?>(nil)

    init(_ schemas: ToolSchemas) { self.schemas = schemas }

    package func get() -> Result<CompiledSchema, CompiledSchema.CompileError> {
        compiled.withLock { state in
            if let state { return state }
            let resolved = schemas.resolved
            let result: Result<CompiledSchema, CompiledSchema.CompileError>
            if let failure = resolved.failure {
                result = .failure(CompiledSchema.CompileError(path: "", message: failure))
            } else {
                result = Result { () throws(CompiledSchema.CompileError) in try CompiledSchema(resolved.input) }
            }
            state = result
            return result
        }
    }
}
