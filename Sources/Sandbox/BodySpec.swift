import JSONRPC

/// The type a request field must have, checked the way the Nudj API's Zod schemas do (400 naming the field).
indirect enum FieldType: Sendable {
    case string(minLength: Int = 0, maxLength: Int = .max)
    case number(minimum: Double? = nil, maximum: Double? = nil)
    case integer(minimum: Int64? = nil, maximum: Int64? = nil)
    case boolean
    case object
    case any
    case objectID
    case dateTime
    case enumeration([String])
    case array(FieldType, minItems: Int = 0, maxItems: Int = .max)
    case record([Field])
    case nullable(FieldType)

    static let text = FieldType.string()
    static let nonEmpty = FieldType.string(minLength: 1)
    static let objectIDs = FieldType.array(.objectID)
    static let strings = FieldType.array(.text)
    static let status = FieldType.enumeration(["archived", "draft", "expired", "live", "scheduled"])
    static let period = FieldType.enumeration(["daily", "weekly", "monthly", "yearly", "open"])
    static let mechanism = FieldType.enumeration(["all", "priority", "random", "select"])
    static let details = FieldType.record([
        Field("title", .nonEmpty), Field("description", .text), Field("light", .object), Field("dark", .object),
    ])
    static let detailsWithTitle = FieldType.record([
        Field("title", .nonEmpty, required: true), Field("description", .text), Field("light", .object),
        Field("dark", .object),
    ])
}

struct Field: Sendable {
    var name: String
    var type: FieldType
    var required: Bool

    init(_ name: String, _ type: FieldType, required: Bool = false) {
        self.name = name
        self.type = type
        self.required = required
    }
}

/// Validates a JSON body against its fields: unknown keys, missing required keys and wrong types are all 400s.
enum BodyValidator {
    static func validate(_ value: JSONValue?, fields: [Field], path: String = "body") throws(TRPCError) -> JSONObject {
        guard let value else {
            if let missing = fields.first(where: \.required) { throw .badRequest("Required: \(path).\(missing.name)") }
            return [:]
        }
        guard case .object(let object) = value else { throw .badRequest("Invalid input for \(path): expected object") }
        try check(object, fields: fields, path: path)
        return object
    }

    static func check(_ object: JSONObject, fields: [Field], path: String) throws(TRPCError) {
        let unknown = object.keys.filter { key in !fields.contains { $0.name == key } }
        if !unknown.isEmpty {
            throw .badRequest(
                "Unrecognized key(s) in object: \(unknown.map { "'\($0)'" }.joined(separator: ", ")) at \(path)")
        }
        for field in fields {
            let fieldPath = "\(path).\(field.name)"
            guard let value = object[field.name] else {
                if field.required { throw .badRequest("Required: \(fieldPath)") }
                continue
            }
            try check(value, type: field.type, path: fieldPath)
        }
    }

    static func check(_ value: JSONValue, type: FieldType, path: String) throws(TRPCError) {
        func invalid(_ expected: String) -> TRPCError { .badRequest("Invalid input for \(path): expected \(expected)") }
        switch type {
        case .any: return
        case .nullable(let inner):
            if value.isNull { return }
            try check(value, type: inner, path: path)
        case .string(let minLength, let maxLength):
            guard case .string(let string) = value else { throw invalid("string") }
            if string.count < minLength {
                throw .badRequest("Invalid input for \(path): must contain at least \(minLength) character(s)")
            }
            if string.count > maxLength {
                throw .badRequest("Invalid input for \(path): must contain at most \(maxLength) character(s)")
            }
        case .number(let minimum, let maximum):
            guard let number = value.doubleValue else { throw invalid("number") }
            if let minimum, number < minimum { throw .badRequest("Invalid input for \(path): must be >= \(minimum)") }
            if let maximum, number > maximum { throw .badRequest("Invalid input for \(path): must be <= \(maximum)") }
        case .integer(let minimum, let maximum):
            guard let number = value.intValue else { throw invalid("integer") }
            if let minimum, number < minimum { throw .badRequest("Invalid input for \(path): must be >= \(minimum)") }
            if let maximum, number > maximum { throw .badRequest("Invalid input for \(path): must be <= \(maximum)") }
        case .boolean:
            guard case .bool = value else { throw invalid("boolean") }
        case .object:
            guard case .object = value else { throw invalid("object") }
        case .objectID:
            guard case .string(let string) = value, isObjectID(string) else {
                throw invalid("24-character hex ObjectId")
            }
        case .dateTime:
            guard case .string(let string) = value, string.count >= 10, string.dropFirst(4).first == "-" else {
                throw invalid("ISO 8601 date-time string")
            }
        case .enumeration(let values):
            guard case .string(let string) = value, values.contains(string) else {
                throw invalid("'\(values.joined(separator: "' | '"))'")
            }
        case .array(let element, let minItems, let maxItems):
            guard case .array(let elements) = value else { throw invalid("array") }
            if elements.count < minItems {
                throw .badRequest("Invalid input for \(path): must contain at least \(minItems) element(s)")
            }
            if elements.count > maxItems {
                throw .badRequest("Invalid input for \(path): must contain at most \(maxItems) element(s)")
            }
            for (index, item) in elements.enumerated() { try check(item, type: element, path: "\(path)[\(index)]") }
        case .record(let fields):
            guard case .object(let object) = value else { throw invalid("object") }
            try check(object, fields: fields, path: path)
        }
    }

    static func isObjectID(_ text: String) -> Bool {
        text.utf8.count == 24
            && text.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) || ($0 >= 0x41 && $0 <= 0x46)
            }
    }
}
