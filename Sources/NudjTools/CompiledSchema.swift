import JSONRPC

/// A JSON Schema (2020-12 subset) compiled once at catalogue load and applied to every call's arguments.
///
/// Compilation rejects keywords it does not implement, so a schema in `schemas/` can never promise a check that
/// does not happen. Supported: type, enum, const, minimum/maximum (and exclusive), multipleOf, minLength/maxLength,
/// pattern, format (date-time, date, email, uri), items, minItems/maxItems, uniqueItems, properties, required,
/// additionalProperties, minProperties/maxProperties; annotations (title, description, default, examples, …) pass.
package final class CompiledSchema: Sendable {
    enum Additional: Sendable {
        case allowed
        case forbidden
        case schema(CompiledSchema)
    }

    enum Pattern: Sendable {
        /// `^[0-9a-fA-F]{24}$`, checked without a regex engine (it is on every id argument).
        case objectID
        case regex(source: String, regex: SendableRegex)
    }

    let types: [String]?
    let enumValues: [JSONValue]?
    let constValue: JSONValue?
    let minimum: Double?
    let maximum: Double?
    let exclusiveMinimum: Double?
    let exclusiveMaximum: Double?
    let multipleOf: Double?
    let minLength: Int?
    let maxLength: Int?
    let pattern: Pattern?
    let format: String?
    let items: CompiledSchema?
    let minItems: Int?
    let maxItems: Int?
    let uniqueItems: Bool
    let properties: [(name: String, schema: CompiledSchema)]
    let required: [String]
    let additional: Additional
    let minProperties: Int?
    let maxProperties: Int?
    /// The tool that lists valid values for this id field (`x-idSource`), named in hints when a value is refused.
    package let idSource: String?

    package static let objectIDPattern = "^[0-9a-fA-F]{24}$"

    private static let annotationKeywords: Set<String> = [
        "title", "description", "default", "examples", "deprecated", "readOnly", "writeOnly", "$comment",
        "$schema", "$id",
    ]
    private static let knownFormats: Set<String> = ["date-time", "date", "email", "uri"]
    private static let jsonTypes: Set<String> = ["null", "boolean", "integer", "number", "string", "array", "object"]

    package struct CompileError: Error, CustomStringConvertible {
        package var path: String
        package var message: String
        package var description: String { "\(path.isEmpty ? "schema" : path): \(message)" }
    }

    /// The server-only keyword naming the tool an id field's values come from: `"x-idSource": "list_tags"` on a
    /// property (an array of ids passes it to its items). Not published in `tools/list`; it feeds error hints.
    package static let idSourceKeyword = "x-idSource"

    /// Compiles a schema object; `path` locates it in error messages; `idSource` is inherited by array items.
    package init(_ schema: JSONObject, path: String = "", idSource inherited: String? = nil) throws(CompileError) {
        func fail(_ message: String) -> CompileError { CompileError(path: path, message: message) }
        func number(_ key: String) throws(CompileError) -> Double? {
            guard let value = schema[key] else { return nil }
            guard let number = value.doubleValue else { throw fail("\(key) must be a number") }
            return number
        }
        func count(_ key: String) throws(CompileError) -> Int? {
            guard let value = schema[key] else { return nil }
            guard let number = value.intValue, number >= 0 else { throw fail("\(key) must be a non-negative integer") }
            return Int(number)
        }

        for entry in schema where !Self.annotationKeywords.contains(entry.key) {
            switch entry.key {
            case "type", "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf",
                "minLength", "maxLength", "pattern", "format", "items", "minItems", "maxItems", "uniqueItems",
                "properties", "required", "additionalProperties", "minProperties", "maxProperties",
                Self.idSourceKeyword:
                continue
            default:
                throw fail("unsupported schema keyword '\(entry.key)'")
            }
        }

        switch schema["type"] {
        case nil: types = nil
        case .string(let name)?:
            guard Self.jsonTypes.contains(name) else { throw fail("unknown type '\(name)'") }
            types = [name]
        case .array(let names)?:
            let strings = names.compactMap(\.stringValue)
            guard strings.count == names.count, !strings.isEmpty, strings.allSatisfy(Self.jsonTypes.contains) else {
                throw fail("type must name JSON types")
            }
            types = strings
        default: throw fail("type must be a string or an array")
        }
        if let values = schema["enum"] {
            guard case .array(let array) = values, !array.isEmpty else { throw fail("enum must be a non-empty array") }
            enumValues = array
        } else {
            enumValues = nil
        }
        constValue = schema["const"]
        minimum = try number("minimum")
        maximum = try number("maximum")
        exclusiveMinimum = try number("exclusiveMinimum")
        exclusiveMaximum = try number("exclusiveMaximum")
        multipleOf = try number("multipleOf")
        if let multipleOf, multipleOf <= 0 { throw fail("multipleOf must be positive") }
        minLength = try count("minLength")
        maxLength = try count("maxLength")
        switch schema["pattern"] {
        case nil: pattern = nil
        case .string(let source)?:
            if source == Self.objectIDPattern {
                pattern = .objectID
            } else {
                guard let regex = SendableRegex.compiled(source) else {
                    throw fail("pattern '\(source)' does not compile")
                }
                pattern = .regex(source: source, regex: regex)
            }
        default: throw fail("pattern must be a string")
        }
        format = schema["format"]?.stringValue
        if let format, !Self.knownFormats.contains(format) { throw fail("unsupported format '\(format)'") }
        switch schema[Self.idSourceKeyword] {
        case nil: idSource = inherited
        // A tool name (`^[a-z0-9_]{1,48}$`); checked here because the schema files also build alone (fuzz/schema).
        case .string(let tool)?
        where !tool.isEmpty && tool.utf8.count <= 48
            && tool.utf8.allSatisfy({ ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x5F }):
            idSource = tool
        default: throw fail("\(Self.idSourceKeyword) must name a tool")
        }
        switch schema["items"] {
        case nil: items = nil
        case .object(let object)?: items = try CompiledSchema(object, path: path + "[]", idSource: idSource)
        default: throw fail("items must be a schema object")
        }
        minItems = try count("minItems")
        maxItems = try count("maxItems")
        uniqueItems = schema["uniqueItems"]?.boolValue ?? false
        var compiledProperties: [(name: String, schema: CompiledSchema)] = []
        if let rawProperties = schema["properties"] {
            guard case .object(let object) = rawProperties else { throw fail("properties must be an object") }
            for entry in object {
                guard case .object(let propertySchema) = entry.value else {
                    throw fail("property '\(entry.key)' must be a schema object")
                }
                let childPath = path.isEmpty ? entry.key : "\(path).\(entry.key)"
                compiledProperties.append((entry.key, try CompiledSchema(propertySchema, path: childPath)))
            }
        }
        properties = compiledProperties
        switch schema["required"] {
        case nil: required = []
        case .array(let names)?:
            let strings = names.compactMap(\.stringValue)
            guard strings.count == names.count else { throw fail("required must list property names") }
            for name in strings where !compiledProperties.contains(where: { $0.name == name }) {
                throw fail("required property '\(name)' is not declared in properties")
            }
            required = strings
        default: throw fail("required must be an array")
        }
        switch schema["additionalProperties"] {
        case nil, .bool(true)?: additional = .allowed
        case .bool(false)?: additional = .forbidden
        case .object(let object)?: additional = .schema(try CompiledSchema(object, path: path + ".*"))
        default: throw fail("additionalProperties must be a boolean or a schema")
        }
        minProperties = try count("minProperties")
        maxProperties = try count("maxProperties")
    }

    /// Names of the declared properties (for suggestions on unknown arguments).
    package var propertyNames: [String] { properties.map(\.name) }

    package func property(_ name: String) -> CompiledSchema? { properties.first { $0.name == name }?.schema }

    /// `schema` as clients see it: server-only keywords (`x-idSource`) removed at every depth.
    package static func published(_ schema: JSONObject) -> JSONObject {
        func strip(_ value: JSONValue) -> JSONValue {
            switch value {
            case .object(let object): .object(published(object))
            case .array(let elements): .array(elements.map(strip))
            default: value
            }
        }
        var result = JSONObject()
        for entry in schema where entry.key != idSourceKeyword { result.appendUnchecked(entry.key, strip(entry.value)) }
        return result
    }
}
