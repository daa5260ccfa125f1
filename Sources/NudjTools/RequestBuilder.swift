import Codecs
import JSONRPC
import NudjClient

/// Turns validated arguments into an `APICall`, each argument placed where the schema says.
///
/// Path values are percent-encoded as single segments, so no argument can change which endpoint is called; the
/// host never comes from arguments at all (the tenant's domain is applied by `NudjClient`).
package enum RequestBuilder {
    package static func build(_ tool: ToolDefinition, arguments: JSONObject) -> APICall {
        var path = tool.path
        var query: [(name: String, value: String)] = []
        var body: JSONObject?
        var rootBody: JSONValue?
        var language: String?
        for entry in arguments {
            guard let location = tool.locations[entry.key] else { continue }
            switch location {
            case .path:
                path = path.replacingFirst("{\(entry.key)}", with: PercentEncoding.encode(scalarText(entry.value)))
            case .query:
                if case .array(let values) = entry.value {
                    for value in values { query.append((entry.key, scalarText(value))) }
                } else if !entry.value.isNull {
                    query.append((entry.key, scalarText(entry.value)))
                }
            case .body:
                if body == nil { body = [:] }
                body?.appendUnchecked(entry.key, entry.value)
            case .bodyRoot:
                rootBody = entry.value
            case .header(let name):
                if name.lowercased() == "x-language" { language = scalarText(entry.value) }
            }
        }
        // Writes always send a JSON body, even an empty one, as the API's POST endpoints expect.
        let payload =
            rootBody ?? body.map(JSONValue.object)
            ?? (tool.method == "GET" || tool.method == "DELETE" ? nil : .object([:]))
        return APICall(api: tool.api, method: tool.method, path: path, query: query, body: payload, language: language)
    }

    /// Arguments with schema defaults filled in for absent top-level properties (so pagination is explicit).
    package static func applyingDefaults(_ tool: ToolDefinition, to arguments: JSONObject) -> JSONObject {
        var result = arguments
        for entry in tool.inputSchema["properties"]?.objectValue ?? [:] where result[entry.key] == nil {
            if let value = entry.value["default"], tool.locations[entry.key] == .query { result[entry.key] = value }
        }
        return result
    }

    private static func scalarText(_ value: JSONValue) -> String {
        switch value {
        case .string(let string): string
        case .int(let number): String(number)
        case .double(let number):
            number.rounded() == number && abs(number) < 1e15 ? String(Int64(number)) : String(number)
        case .bool(let flag): flag ? "true" : "false"
        case .null: ""
        case .array, .object: JSONWriter.encodeString(value)
        }
    }
}

extension String {
    func replacingFirst(_ target: String, with replacement: String) -> String {
        guard let range = firstRange(of: target) else { return self }
        return replacingCharacters(in: range, with: replacement)
    }
}
