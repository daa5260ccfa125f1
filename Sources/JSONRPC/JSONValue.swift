/// A JSON value that mirrors JSON exactly: integers stay integers, object key order is kept.
///
/// Protocol ids, tool arguments and upstream payloads all pass through this type, so it must never change a
/// value's JSON type (an integer id is echoed as an integer, `1.5` stays a double, `"data:..."` stays a string).
/// - SeeAlso: RFC 8259.
package enum JSONValue: Sendable, Hashable {
    case null
    case bool(Bool)
    case int(Int64)
    case double(Double)
    case string(String)
    case array([JSONValue])
    case object(JSONObject)
}

extension JSONValue {
    package var isNull: Bool { if case .null = self { true } else { false } }

    package var stringValue: String? { if case .string(let value) = self { value } else { nil } }

    package var boolValue: Bool? { if case .bool(let value) = self { value } else { nil } }

    package var intValue: Int64? {
        switch self {
        case .int(let value): value
        case .double(let value) where value.rounded() == value && abs(value) < 9.007_199_254_740_992e15:
            Int64(value)
        default: nil
        }
    }

    package var doubleValue: Double? {
        switch self {
        case .int(let value): Double(value)
        case .double(let value): value
        default: nil
        }
    }

    package var arrayValue: [JSONValue]? { if case .array(let value) = self { value } else { nil } }

    package var objectValue: JSONObject? { if case .object(let value) = self { value } else { nil } }

    /// The JSON type name, as JSON Schema spells it (`integer` for whole numbers).
    package var typeName: String {
        switch self {
        case .null: "null"
        case .bool: "boolean"
        case .int: "integer"
        case .double: "number"
        case .string: "string"
        case .array: "array"
        case .object: "object"
        }
    }

    /// Member lookup on objects; `nil` for other types or missing keys.
    package subscript(key: String) -> JSONValue? { objectValue?[key] }

    /// Element lookup on arrays; `nil` for other types or out-of-range indices.
    package subscript(index: Int) -> JSONValue? {
        guard case .array(let elements) = self, elements.indices.contains(index) else { return nil }
        return elements[index]
    }
}

// Deliberately not ExpressibleByNilLiteral: `nil` must always mean "absent" (Optional), never JSON null.
extension JSONValue: ExpressibleByBooleanLiteral, ExpressibleByIntegerLiteral,
    ExpressibleByFloatLiteral, ExpressibleByStringLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral
{
    package init(booleanLiteral value: Bool) { self = .bool(value) }
    package init(integerLiteral value: Int64) { self = .int(value) }
    package init(floatLiteral value: Double) { self = .double(value) }
    package init(stringLiteral value: String) { self = .string(value) }
    package init(arrayLiteral elements: JSONValue...) { self = .array(elements) }
    package init(dictionaryLiteral elements: (String, JSONValue)...) {
        self = .object(JSONObject(elements.map { JSONObject.Entry(key: $0.0, value: $0.1) }))
    }
}

extension JSONValue: CustomStringConvertible {
    /// Compact JSON text.
    package var description: String { String(decoding: JSONWriter.encode(self), as: UTF8.self) }
}
