import JSONRPC

/// Applying a compiled schema: every way a value breaks it, with paths and readable messages.
extension CompiledSchema {
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
