import JSONRPC
import Synchronization

/// One way an argument failed its schema: where (`details.title`, `tags[2]`) and why.
package struct ValidationIssue: Sendable, Equatable, CustomStringConvertible {
    package var path: String
    package var message: String
    /// The tool that lists the ids this field takes (the schema's `x-idSource`), when it is an id field.
    package var idSource: String? = nil

    /// The argument's name without array indices (`tags[0]` → `tags`).
    package var fieldName: String {
        var field = ""
        var depth = 0
        for character in path {
            if character == "[" {
                depth += 1
            } else if character == "]" {
                depth -= 1
            } else if depth == 0 {
                field.append(character)
            }
        }
        return field
    }

    package var description: String { path.isEmpty ? message : "\(path): \(message)" }
}

/// A JSON Schema (2020-12 subset) compiled once at catalogue load and applied to every call's arguments.
///
/// Compilation rejects keywords it does not implement, so a schema in `schemas/` can never promise a check that
/// does not happen. Supported: type, enum, const, minimum/maximum (and exclusive), multipleOf, minLength/maxLength,
/// pattern, format (date-time, date, email, uri), items, minItems/maxItems, uniqueItems, properties, required,
/// additionalProperties, minProperties/maxProperties; annotations (title, description, default, examples, …) pass.
package final class CompiledSchema: Sendable {
    private enum Additional: Sendable {
        case allowed
        case forbidden
        case schema(CompiledSchema)
    }

    private enum Pattern: Sendable {
        /// `^[0-9a-fA-F]{24}$`, checked without a regex engine (it is on every id argument).
        case objectID
        case regex(source: String, regex: SendableRegex)
    }

    private let types: [String]?
    private let enumValues: [JSONValue]?
    private let constValue: JSONValue?
    private let minimum: Double?
    private let maximum: Double?
    private let exclusiveMinimum: Double?
    private let exclusiveMaximum: Double?
    private let multipleOf: Double?
    private let minLength: Int?
    private let maxLength: Int?
    private let pattern: Pattern?
    private let format: String?
    private let items: CompiledSchema?
    private let minItems: Int?
    private let maxItems: Int?
    private let uniqueItems: Bool
    private let properties: [(name: String, schema: CompiledSchema)]
    private let required: [String]
    private let additional: Additional
    private let minProperties: Int?
    private let maxProperties: Int?
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
        // A tool name (`^[a-z0-9_]{1,48}$`); checked here because this file also builds alone (fuzz/schema).
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

    /// Every way `value` breaks the schema (at most `limit`), empty when it is valid.
    package func validate(_ value: JSONValue, path: String = "", limit: Int = 10) -> [ValidationIssue] {
        var issues: [ValidationIssue] = []
        check(value, path: path, into: &issues, limit: limit)
        return issues
    }

    private func check(_ value: JSONValue, path: String, into issues: inout [ValidationIssue], limit: Int) {
        guard issues.count < limit else { return }
        func report(_ message: String, at reportPath: String? = nil, idSource: String? = idSource) {
            guard issues.count < limit else { return }
            issues.append(ValidationIssue(path: reportPath ?? path, message: message, idSource: idSource))
        }

        if let types, !types.contains(where: { Self.matches(value, type: $0) }) {
            let expected = types.count == 1 ? types[0] : types.joined(separator: " or ")
            report("must be \(Self.article(expected)) \(expected), got \(value.typeName)")
            return
        }
        if let enumValues, !enumValues.contains(where: { Self.jsonEqual($0, value) }) {
            let choices = enumValues.map { $0.stringValue ?? $0.description }.joined(separator: ", ")
            report("must be one of: \(choices) (got \(Self.shortDescription(value)))")
        }
        if let constValue, !Self.jsonEqual(constValue, value) { report("must be \(constValue)") }

        switch value {
        case .int, .double:
            let number = value.doubleValue!
            if let minimum, number < minimum { report("must be at least \(Self.format(minimum)) (got \(value))") }
            if let maximum, number > maximum { report("must be at most \(Self.format(maximum)) (got \(value))") }
            if let exclusiveMinimum, number <= exclusiveMinimum {
                report("must be greater than \(Self.format(exclusiveMinimum)) (got \(value))")
            }
            if let exclusiveMaximum, number >= exclusiveMaximum {
                report("must be less than \(Self.format(exclusiveMaximum)) (got \(value))")
            }
            if let multipleOf, (number / multipleOf).rounded() != number / multipleOf {
                report("must be a multiple of \(Self.format(multipleOf))")
            }
        case .string(let string):
            let length = string.count
            if let minLength, length < minLength {
                report(minLength == 1 ? "must not be empty" : "must be at least \(minLength) characters")
            }
            if let maxLength, length > maxLength { report("must be at most \(maxLength) characters (got \(length))") }
            switch pattern {
            case .objectID?:
                if !Self.isObjectID(string) {
                    report("must be a 24-character hexadecimal id (got \(Self.shortDescription(value)))")
                }
            case .regex(let source, let regex)?:
                if (try? regex.regex.firstMatch(in: string)) == nil { report("must match the pattern \(source)") }
            case nil:
                break
            }
            if let format, !Self.conforms(string, format: format) { report("must be a valid \(format)") }
        case .array(let elements):
            if let minItems, elements.count < minItems { report("must have at least \(minItems) item(s)") }
            if let maxItems, elements.count > maxItems {
                report("must have at most \(maxItems) items (got \(elements.count))")
            }
            if uniqueItems, Set(elements).count != elements.count { report("must not contain duplicates") }
            if let items {
                for (index, element) in elements.enumerated() {
                    items.check(element, path: "\(path)[\(index)]", into: &issues, limit: limit)
                }
            }
        case .object(let object):
            if let minProperties, object.count < minProperties {
                report("must have at least \(minProperties) field(s)")
            }
            if let maxProperties, object.count > maxProperties { report("must have at most \(maxProperties) fields") }
            for name in required where object[name] == nil {
                report("is required", at: Self.join(path, name), idSource: property(name)?.idSource)
            }
            for entry in object {
                let childPath = Self.join(path, entry.key)
                if let schema = property(entry.key) {
                    schema.check(entry.value, path: childPath, into: &issues, limit: limit)
                    continue
                }
                switch additional {
                case .allowed: break
                case .schema(let schema): schema.check(entry.value, path: childPath, into: &issues, limit: limit)
                case .forbidden:
                    var message = "is not a known field"
                    if let suggestion = Self.closest(entry.key, in: propertyNames) {
                        message += "; did you mean '\(suggestion)'?"
                    } else if !propertyNames.isEmpty {
                        message += "; known fields: \(propertyNames.joined(separator: ", "))"
                    }
                    report(message, at: childPath, idSource: nil)
                }
            }
        case .bool, .null:
            break
        }
    }

    // MARK: - Helpers

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

    private static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    private static func matches(_ value: JSONValue, type: String) -> Bool {
        switch (type, value) {
        case ("null", .null), ("boolean", .bool), ("string", .string), ("array", .array), ("object", .object),
            ("number", .int), ("number", .double), ("integer", .int):
            true
        case ("integer", .double(let number)): number.rounded() == number
        default: false
        }
    }

    /// JSON equality with 1 == 1.0, as JSON Schema defines it.
    private static func jsonEqual(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
        if let left = lhs.doubleValue, let right = rhs.doubleValue { return left == right }
        return lhs == rhs
    }

    package static func isObjectID(_ string: String) -> Bool {
        string.utf8.count == 24
            && string.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x61 && byte <= 0x66) || (byte >= 0x41 && byte <= 0x46)
            }
    }

    private static func conforms(_ string: String, format: String) -> Bool {
        switch format {
        case "date": return isDate(string.utf8.prefix(10)) && string.utf8.count == 10
        case "date-time":
            // RFC 3339: 2026-11-22T10:00:00Z, with optional fraction and offset.
            let bytes = Array(string.utf8)
            guard bytes.count >= 20, isDate(bytes[0..<10]),
                bytes[10] == UInt8(ascii: "T") || bytes[10] == UInt8(ascii: "t"),
                bytes[13] == UInt8(ascii: ":"), bytes[16] == UInt8(ascii: ":")
            else { return false }
            let last = bytes.last!
            return last == UInt8(ascii: "Z") || last == UInt8(ascii: "z") || bytes.suffix(6).first == UInt8(ascii: "+")
                || bytes.suffix(6).first == UInt8(ascii: "-")
        case "email":
            let parts = string.split(separator: "@", omittingEmptySubsequences: false)
            return parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".") && !string.contains(" ")
        case "uri":
            guard let colon = string.firstIndex(of: ":"), colon != string.startIndex else { return false }
            return string[..<colon].allSatisfy { $0.isLetter || $0.isNumber || $0 == "+" || $0 == "-" || $0 == "." }
                && !string.contains(" ")
        default:
            return true
        }
    }

    private static func isDate<C: Collection<UInt8>>(_ bytes: C) -> Bool {
        let array = Array(bytes)
        guard array.count == 10, array[4] == UInt8(ascii: "-"), array[7] == UInt8(ascii: "-") else { return false }
        let digits = array[0..<4] + array[5..<7] + array[8..<10]
        return digits.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
    }

    private static func format(_ number: Double) -> String {
        number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
    }

    private static func article(_ word: String) -> String {
        guard let first = word.first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    private static func shortDescription(_ value: JSONValue) -> String {
        let text = value.description
        return text.count > 40 ? String(text.prefix(37)) + "..." : text
    }

    /// The known name closest to a misspelt one, if it is close enough to be a typo.
    private static func closest(_ name: String, in candidates: [String]) -> String? {
        let lowered = name.lowercased()
        var best: (String, Int)?
        for candidate in candidates {
            let distance = editDistance(lowered, candidate.lowercased())
            if distance <= max(1, candidate.count / 3), distance < (best?.1 ?? .max) { best = (candidate, distance) }
        }
        return best?.0
    }

    private static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8)
        let b = Array(b.utf8)
        guard !a.isEmpty else { return b.count }
        guard !b.isEmpty else { return a.count }
        var previous = Array(0...b.count)
        var current = previous
        for i in 1...a.count {
            current[0] = i
            for j in 1...b.count {
                current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&previous, &current)
        }
        return previous[b.count]
    }
}

/// `Regex` with an `AnyRegexOutput` is not declared `Sendable`; compiled patterns are immutable and only used for
/// matching, which is thread-safe.
package struct SendableRegex: @unchecked Sendable {
    let regex: Regex<AnyRegexOutput>

    private static let cache = Mutex<[String: SendableRegex]>([:])

    /// Compiled once per distinct pattern (the same patterns recur across many tools).
    static func compiled(_ source: String) -> SendableRegex? {
        if let cached = cache.withLock({ $0[source] }) { return cached }
        guard let regex = try? Regex(source) else { return nil }
        let compiled = SendableRegex(regex: regex)
        cache.withLock { $0[source] = compiled }
        return compiled
    }
}
