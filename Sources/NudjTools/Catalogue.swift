import JSONRPC
import MCP
import Synchronization
import Tenancy

/// Why the catalogue is unusable: which file, which tool, what is wrong. Raised at load (startup and tests).
package struct CatalogueError: Error, Sendable, CustomStringConvertible {
    package var file: String
    package var tool: String?
    package var message: String
    package var description: String { "schemas/\(file)\(tool.map { " tool \($0)" } ?? ""): \(message)" }
}

/// Every tool the server knows, interpreted from `schemas/`: the single place tools are defined.
///
/// Loading checks each definition against the rules the code relies on (names, paths and their parameters,
/// argument locations, annotations consistent with the HTTP method), and `compileSchemas()` that every schema's
/// references resolve and that the validator implements every input schema, so a broken schema fails the test suite
/// instead of a user's call.
package struct Catalogue: Sendable {
    package let tools: [ToolDefinition]
    package let toolsets: [Toolset]
    /// The names a selection may choose (`--toolsets`, `X-MCP-Toolsets`): every toolset, `all` and `default`.
    package let selectableToolsets: Set<String>
    private let index: [String: Int]

    package static let namePattern = "^[a-z0-9_]{1,48}$"

    /// The catalogue embedded in the binary at build time.
    package static func embedded() throws(CatalogueError) -> Catalogue {
        try Catalogue(files: EmbeddedSchemas.files.map { ($0.name, $0.json) })
    }

    package init(files: [(name: String, json: String)]) throws(CatalogueError) {
        var documents: [String: JSONObject] = [:]
        for file in files {
            guard case .object(let object)? = try? JSONParser.parse(file.json) else {
                throw CatalogueError(file: file.name, message: "not a JSON object")
            }
            documents[file.name] = object
        }
        let resolver = SharedRefResolver(documents: documents)
        var tools: [ToolDefinition] = []
        var toolsets: [Toolset] = []
        for file in files.map(\.name).sorted() {
            let document = documents[file]!
            guard document["toolset"] != nil else {
                guard document["definitions"] != nil else {
                    throw CatalogueError(
                        file: file, message: "neither a toolset (\"toolset\") nor a library (\"definitions\")")
                }
                continue
            }
            let (toolset, definitions) = try Self.loadToolset(document, file: file, resolver: resolver)
            toolsets.append(toolset)
            tools += definitions
        }
        var index: [String: Int] = [:]
        for (position, tool) in tools.enumerated() {
            if index[tool.name] != nil {
                throw CatalogueError(file: "\(tool.toolset).json", tool: tool.name, message: "duplicate tool name")
            }
            index[tool.name] = position
        }
        self.tools = tools
        self.toolsets = toolsets
        selectableToolsets = Set(toolsets.map(\.name)).union(["all", "default"])
        self.index = index
    }

    package func tool(named name: String) -> ToolDefinition? { index[name].map { tools[$0] } }

    /// Resolves every tool's schemas and compiles its input schema, as its first listing and call would: the check
    /// that every `$ref` in `schemas/` resolves and that a schema uses only what the validator implements. The test
    /// suite runs it on the embedded catalogue; serving does both on demand.
    package func compileSchemas() throws(CatalogueError) {
        for tool in tools {
            if let failure = tool.schemas.resolved.failure {
                throw CatalogueError(file: "\(tool.toolset).json", tool: tool.name, message: failure)
            }
            if case .failure(let error) = tool.validator.get() {
                throw CatalogueError(file: "\(tool.toolset).json", tool: tool.name, message: "inputSchema: \(error)")
            }
        }
    }

    // MARK: - Loading

    private static func loadToolset(
        _ document: JSONObject,
        file: String,
        resolver: SharedRefResolver
    ) throws(CatalogueError) -> (Toolset, [ToolDefinition]) {
        func fail(_ message: String, tool: String? = nil) -> CatalogueError {
            CatalogueError(file: file, tool: tool, message: message)
        }
        guard let name = document["toolset"]?.stringValue, !name.isEmpty,
            let title = document["title"]?.stringValue,
            let description = document["description"]?.stringValue, !description.isEmpty,
            let isDefault = document["default"]?.boolValue,
            let rawTools = document["tools"]?.arrayValue, !rawTools.isEmpty
        else { throw fail("a toolset needs toolset, title, description, default and a non-empty tools array") }
        guard file == "\(name).json" else { throw fail("toolset '\(name)' must live in \(name).json") }
        var definitions: [ToolDefinition] = []
        for raw in rawTools {
            guard case .object(let object) = raw else { throw fail("every tool must be an object") }
            definitions.append(try loadTool(object, toolset: name, file: file, resolver: resolver))
        }
        let toolset = Toolset(
            name: name,
            title: title,
            description: description,
            isDefault: isDefault,
            tools: definitions.map(\.name)
        )
        return (toolset, definitions)
    }

    private static let allowedToolKeys: Set<String> = [
        "name", "title", "description", "api", "method", "path", "evidence", "source", "in", "inputSchema", "output",
        "annotations", "notes", "compute",
    ]

    private static func loadTool(
        _ object: JSONObject,
        toolset: String,
        file: String,
        resolver: SharedRefResolver
    ) throws(CatalogueError) -> ToolDefinition {
        let name = object["name"]?.stringValue ?? "?"
        func fail(_ message: String) -> CatalogueError { CatalogueError(file: file, tool: name, message: message) }

        for key in object.keys where !allowedToolKeys.contains(key) { throw fail("unknown key '\(key)'") }
        guard isValidName(name) else { throw fail("name must match \(namePattern)") }
        guard let title = object["title"]?.stringValue, !title.isEmpty else { throw fail("title is required") }
        // Bytes, not characters: counting characters means grapheme breaking, at every start.
        guard let description = object["description"]?.stringValue, description.utf8.count >= 20 else {
            throw fail("description is required (one or two sentences an agent can act on)")
        }
        guard let api = object["api"]?.stringValue.flatMap(NudjAPI.init(rawValue:)) else {
            throw fail("api must be admin, integration or analytics")
        }
        guard let method = object["method"]?.stringValue, ["GET", "POST", "PATCH", "PUT", "DELETE"].contains(method)
        else {
            throw fail("method must be GET, POST, PATCH, PUT or DELETE")
        }
        // Byte checks: with Foundation visible in this module, String.contains(String) is its locale-aware search,
        // ~6,000 instructions a call at every start.
        guard let path = object["path"]?.stringValue, path.utf8.first == UInt8(ascii: "/"),
            !path.utf8.contains(UInt8(ascii: "?")), !Self.containsDotDot(path)
        else {
            throw fail("path must start with / and hold no query")
        }
        guard let evidence = object["evidence"]?.stringValue.flatMap(Evidence.init(rawValue:)) else {
            throw fail("evidence must be reference-page, overview-only or inferred")
        }
        let source = object["source"]?.stringValue
        if evidence != .inferred && source == nil { throw fail("documented tools need a source URL") }

        // Input schema: strict, object-rooted. Only its top level is resolved now, for these checks; the rest at the
        // tool's first use (`ToolSchemas`).
        guard case .object(let rawInput)? = object["inputSchema"] else { throw fail("inputSchema is required") }
        let inputSchema: JSONObject
        do { inputSchema = try resolver.resolveTopLevel(rawInput, in: file) } catch { throw fail(error.message) }
        guard inputSchema["type"] == "object" else { throw fail("inputSchema must have type object") }
        guard inputSchema["additionalProperties"] == .bool(false) else {
            throw fail("inputSchema must set additionalProperties: false so misspelt arguments are caught")
        }
        let properties = inputSchema["properties"]?.objectValue?.keys ?? []
        let required = Set(inputSchema["required"]?.arrayValue?.compactMap(\.stringValue) ?? [])

        // Argument locations.
        var locations: [String: ArgumentLocation] = [:]
        var localArguments: Set<String> = []
        for entry in object["in"]?.objectValue ?? [:] {
            guard properties.contains(entry.key) else { throw fail("in.\(entry.key) names no inputSchema property") }
            if entry.value == "local" {
                localArguments.insert(entry.key)
                continue
            }
            guard let text = entry.value.stringValue, let location = ArgumentLocation(text) else {
                throw fail("in.\(entry.key) must be path, query, body, body-root, header:<name> or local")
            }
            locations[entry.key] = location
        }
        let computation = object["compute"]?.stringValue
        if let computation {
            guard Computations.kinds.contains(computation) else {
                throw fail("compute must be one of \(Computations.kinds.sorted().joined(separator: ", "))")
            }
            guard method == "GET" else { throw fail("computed tools only read (method GET)") }
            for property in properties where locations[property] == nil { localArguments.insert(property) }
        }
        for property in properties where locations[property] == nil && !localArguments.contains(property) {
            guard method != "GET" && method != "DELETE" else {
                throw fail("argument '\(property)' needs a location: \(method) requests have no body")
            }
            locations[property] = .body
        }
        let templateNames = pathParameters(path)
        for parameter in templateNames {
            guard locations[parameter] == .path else {
                throw fail("path parameter {\(parameter)} must be an argument in the path")
            }
            guard required.contains(parameter) else { throw fail("path parameter \(parameter) must be required") }
        }
        for (argument, location) in locations where location == .path && !templateNames.contains(argument) {
            throw fail("argument '\(argument)' is located in the path but {\(argument)} is not in \(path)")
        }
        if locations.values.contains(.bodyRoot) && locations.values.filter({ $0 == .bodyRoot || $0 == .body }).count > 1
        {
            throw fail("a body-root argument must be the only body argument")
        }

        // Annotations must agree with the HTTP method.
        guard case .object(let annotations)? = object["annotations"] else { throw fail("annotations are required") }
        let readOnly = annotations["readOnlyHint"]?.boolValue
        guard readOnly == (method == "GET") else {
            throw fail("readOnlyHint must be \(method == "GET") for a \(method) endpoint")
        }
        guard annotations["openWorldHint"] == .bool(false) else {
            throw fail("openWorldHint must be false (one closed API)")
        }
        if method != "GET" {
            guard annotations["destructiveHint"]?.boolValue != nil, annotations["idempotentHint"]?.boolValue != nil
            else {
                throw fail("write tools must state destructiveHint and idempotentHint")
            }
        }
        for key in annotations.keys
        where !["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"].contains(key) {
            throw fail("unknown annotation '\(key)'")
        }

        // Output shaping and schema.
        var output = OutputKind.entity
        var outputSchema: JSONObject?
        var redactions: [[Substring]] = []
        if let rawOutput = object["output"] {
            guard case .object(let spec) = rawOutput, let kind = spec["kind"]?.stringValue else {
                throw fail("output must be an object with kind list or entity")
            }
            for key in spec.keys where !["kind", "key", "schema", "redact"].contains(key) {
                throw fail("unknown output key '\(key)'")
            }
            if let redact = spec["redact"] {
                guard let paths = redact.arrayValue?.compactMap(\.stringValue), paths.count == redact.arrayValue?.count
                else { throw fail("output.redact must be an array of dot paths") }
                redactions = paths.map { $0.split(separator: ".") }
            }
            switch kind {
            case "list":
                let key = spec["key"]?.stringValue ?? "edges"
                guard ["edges", "data", "items"].contains(key) else {
                    throw fail("output.key must be edges, data or items")
                }
                guard spec["schema"] == nil else {
                    throw fail("a list's shape is fixed (items + page); it takes no output.schema")
                }
                output = .list(key: key)
            case "entity":
                if case .object(let rawSchema)? = spec["schema"] {
                    do { outputSchema = try resolver.resolveTopLevel(rawSchema, in: file) } catch {
                        throw fail(error.message)
                    }
                    guard outputSchema?["type"] == "object" else { throw fail("output.schema must have type object") }
                }
            default:
                throw fail("output.kind must be list or entity")
            }
            // Output schemas are compiled by the test suite (every result is checked against its schema there);
            // the server itself never validates its own output, so it does not pay for compiling them at start-up.
        }

        let schemas = ToolSchemas(input: inputSchema, output: outputSchema, file: file, resolver: resolver) {
            input, output in
            ToolDescriptor(
                name: name,
                title: title,
                description: description,
                inputSchema: CompiledSchema.published(input),
                outputSchema: output,
                annotations: annotations
            )
        }
        return ToolDefinition(
            name: name,
            title: title,
            description: description,
            toolset: toolset,
            api: api,
            method: method,
            path: path,
            evidence: evidence,
            source: source,
            locations: locations,
            schemas: schemas,
            validator: LazyValidator(schemas),
            output: output,
            annotations: annotations,
            localArguments: localArguments,
            redactions: redactions,
            computation: computation
        )
    }

    package static func isValidName(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 48
            && name.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }
    }

    /// `{name}` segments of a path template.
    package static func pathParameters(_ path: String) -> [String] {
        // By UTF-8 bytes: braces are ASCII, and a search by `Character` breaks graphemes (~8k instructions a path).
        var names: [String] = []
        var rest = path.utf8[...]
        while let open = rest.firstIndex(of: UInt8(ascii: "{")),
            let close = rest[open...].firstIndex(of: UInt8(ascii: "}"))
        {
            names.append(String(decoding: rest[rest.index(after: open)..<close], as: UTF8.self))
            rest = rest[rest.index(after: close)...]
        }
        return names
    }

    private static func containsDotDot(_ path: String) -> Bool {
        var previous: UInt8 = 0
        for byte in path.utf8 {
            if byte == UInt8(ascii: ".") && previous == UInt8(ascii: ".") { return true }
            previous = byte
        }
        return false
    }
}

/// Inlines `$ref`s (`shared.json#/definitions/x`, `#/definitions/x`) so every served schema is self-contained.
/// Keys next to a `$ref` override the referenced schema's (e.g. a tool-specific description).
///
/// A subtree without a `$ref` is returned as it is (its storage shared, not rebuilt), and each target is resolved
/// once however often it is referenced: most of the catalogue's load time was rebuilding identical objects.
final class RefResolver {
    struct Failure: Error { var message: String }

    let documents: [String: JSONObject]
    /// Resolved targets by "file#pointer".
    private var resolvedTargets: [String: JSONObject] = [:]

    init(documents: [String: JSONObject]) { self.documents = documents }

    func resolve(_ schema: JSONObject, in file: String) throws(Failure) -> JSONObject {
        try resolved(schema, in: file, depth: 0) ?? schema
    }

    /// `schema` with its references replaced, or nil if it has none.
    private func resolved(_ schema: JSONObject, in file: String, depth: Int) throws(Failure) -> JSONObject? {
        guard depth < 32 else { throw Failure(message: "$ref nesting too deep (a cycle?)") }
        if case .string(let reference)? = schema["$ref"] {
            var result = try target(reference, from: file, depth: depth)
            for entry in schema where entry.key != "$ref" {
                result[entry.key] = try resolved(entry.value, in: file, depth: depth + 1) ?? entry.value
            }
            return result
        }
        var result: JSONObject?
        for entry in schema {
            guard let value = try resolved(entry.value, in: file, depth: depth + 1) else { continue }
            if result == nil { result = schema }
            result![entry.key] = value
        }
        return result
    }

    private func resolved(_ value: JSONValue, in file: String, depth: Int) throws(Failure) -> JSONValue? {
        switch value {
        case .object(let object): return try resolved(object, in: file, depth: depth).map(JSONValue.object)
        case .array(let elements):
            var result: [JSONValue]?
            for (index, element) in elements.enumerated() {
                guard let changed = try resolved(element, in: file, depth: depth) else { continue }
                if result == nil { result = elements }
                result![index] = changed
            }
            return result.map(JSONValue.array)
        default: return nil
        }
    }

    private func target(_ reference: String, from file: String, depth: Int) throws(Failure) -> JSONObject {
        let parts = reference.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false)
        guard parts.count == 2 else { throw Failure(message: "$ref '\(reference)' needs a #/pointer") }
        let targetFile = parts[0].isEmpty ? file : String(parts[0])
        let key = "\(targetFile)#\(parts[1])"
        if let known = resolvedTargets[key] { return known }
        guard var node = documents[targetFile].map(JSONValue.object) else {
            throw Failure(message: "$ref '\(reference)': no file \(targetFile)")
        }
        for component in parts[1].split(separator: "/") {
            guard let next = node[String(component)] else {
                throw Failure(message: "$ref '\(reference)' does not resolve")
            }
            node = next
        }
        guard case .object(let object) = node else {
            throw Failure(message: "$ref '\(reference)' is not a schema object")
        }
        let result = try resolved(object, in: targetFile, depth: depth + 1) ?? object
        resolvedTargets[key] = result
        return result
    }
}

/// One resolver for the whole catalogue, shared by the tools that resolve their schemas at first use (from any
/// thread), so each target is still resolved once.
final class SharedRefResolver: Sendable {
    private let resolver: Mutex<RefResolver>

    init(documents: [String: JSONObject]) { resolver = Mutex(RefResolver(documents: documents)) }

    func resolve(_ schema: JSONObject, in file: String) throws(RefResolver.Failure) -> JSONObject {
        try resolver.withLock { resolver throws(RefResolver.Failure) in try resolver.resolve(schema, in: file) }
    }

    /// `schema` itself when its top level has no `$ref` (its members may still hold some), else fully resolved.
    func resolveTopLevel(_ schema: JSONObject, in file: String) throws(RefResolver.Failure) -> JSONObject {
        guard schema["$ref"] != nil else { return schema }
        return try resolve(schema, in: file)
    }
}
