import JSONRPC

/// Server-side projection (`fields`) and schema-declared redaction of results, so an agent pays only for what it
/// reads and never sees a secret.
///
/// A path is dot-separated (`details.title`, `communityData.points`); through an array it applies to every element.
package enum Projection {
    /// Paths from the `fields` argument (`nil` when absent or empty: no projection).
    package static func paths(_ argument: JSONValue?) -> [[Substring]]? {
        let texts = argument?.arrayValue?.compactMap(\.stringValue) ?? []
        let paths = texts.map { $0.split(separator: ".", omittingEmptySubsequences: true) }.filter { !$0.isEmpty }
        return paths.isEmpty ? nil : paths
    }

    /// Keeps only `paths` of each value. Throws the paths found in none of them, with the fields that exist.
    package static func project(
        _ values: [JSONValue], _ paths: [[Substring]]
    ) -> Result<[JSONValue], ToolError> {
        if !values.isEmpty {
            let unknown = paths.filter { path in !values.contains { exists($0, path[...]) } }
            if let first = unknown.first {
                let parent = first.dropLast()
                let available = Set(values.flatMap { keys(at: $0, parent[...]) }).sorted()
                let names = unknown.map { $0.joined(separator: ".") }
                let prefix = parent.isEmpty ? "" : parent.joined(separator: ".") + "."
                return .failure(
                    ToolError(
                        .invalidInput,
                        "Unknown field\(names.count > 1 ? "s" : "") in fields: \(names.joined(separator: ", ")). Available\(parent.isEmpty ? "" : " under \(parent.joined(separator: "."))"): \(available.map { prefix + $0 }.joined(separator: ", ")).",
                        field: "fields",
                        hint: "Pick fields from the available list (dot paths reach nested fields)."
                    )
                )
            }
        }
        return .success(values.map { project($0, paths) })
    }

    /// `value` with only the given paths kept.
    static func project(_ value: JSONValue, _ paths: [[Substring]]) -> JSONValue {
        switch value {
        case .array(let elements): return .array(elements.map { project($0, paths) })
        case .object(let object):
            var kept = JSONObject()
            for (key, child) in object.entries.map({ ($0.key, $0.value) }) {
                let matching = paths.filter { $0.first.map(String.init) == key }
                guard !matching.isEmpty else { continue }
                if matching.contains(where: { $0.count == 1 }) {
                    kept.appendUnchecked(key, child)
                } else {
                    kept.appendUnchecked(key, project(child, matching.map { Array($0.dropFirst()) }))
                }
            }
            return .object(kept)
        default: return value
        }
    }

    /// Removes every value at `paths` (secrets the API returns, such as an OIDC client secret), replacing it with
    /// a marker so the agent knows the field exists but is withheld.
    package static func redact(_ value: JSONValue, _ paths: [[Substring]]) -> JSONValue {
        guard !paths.isEmpty else { return value }
        switch value {
        case .array(let elements): return .array(elements.map { redact($0, paths) })
        case .object(var object):
            for path in paths {
                guard let key = path.first.map(String.init), let child = object[key] else { continue }
                object[key] =
                    path.count == 1
                    ? (child.isNull ? .null : "[redacted]") : redact(child, [Array(path.dropFirst())])
            }
            return .object(object)
        default: return value
        }
    }

    private static func exists(_ value: JSONValue, _ path: ArraySlice<Substring>) -> Bool {
        guard let first = path.first else { return true }
        switch value {
        case .object(let object): return object[String(first)].map { exists($0, path.dropFirst()) } ?? false
        case .array(let elements): return elements.contains { exists($0, path) }
        default: return false
        }
    }

    private static func keys(at value: JSONValue, _ path: ArraySlice<Substring>) -> [String] {
        switch value {
        case .object(let object):
            guard let first = path.first else { return object.keys.map { $0 } }
            return object[String(first)].map { keys(at: $0, path.dropFirst()) } ?? []
        case .array(let elements): return elements.flatMap { keys(at: $0, path) }
        default: return []
        }
    }
}
