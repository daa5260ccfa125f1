import Codecs
import JSONRPC
import NudjClient

/// Turns validated arguments into an `APICall`, each argument placed where the schema says.
///
/// No argument can change which endpoint is called: a path value that a client or server could read as anything
/// but one opaque segment (empty, a dot segment, a slash or backslash, a control character, or any of these
/// percent-encoded or in a compatibility form) is refused, and the rest is percent-encoded as a single segment. The
/// host never comes from arguments at all (the tenant's domain is applied by `NudjClient`).
package enum RequestBuilder {
    /// The upstream call for validated arguments, or `invalid_input` naming the path argument that is refused.
    package static func build(_ tool: ToolDefinition, arguments: JSONObject) -> Result<APICall, ToolError> {
        var path = tool.path
        var query: [(name: String, value: String)] = []
        var body: JSONObject?
        var rootBody: JSONValue?
        var language: String?
        for entry in arguments {
            guard let location = tool.locations[entry.key] else { continue }
            switch location {
            case .path:
                let text = scalarText(entry.value)
                if let problem = segmentProblem(text) { return .failure(refusal(tool, field: entry.key, problem)) }
                path = path.replacingFirst("{\(entry.key)}", with: PercentEncoding.encode(text))
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
                let text = scalarText(entry.value)
                // A header value is one line: a CR or LF would start another header.
                if text.unicodeScalars.contains(where: { $0.value < 0x20 || $0.value == 0x7F }) {
                    return .failure(refusal(tool, field: entry.key, "must not contain control characters"))
                }
                if name.lowercased() == "x-language" { language = text }
            }
        }
        // Writes always send a JSON body, even an empty one, as the API's POST endpoints expect.
        let payload =
            rootBody ?? body.map(JSONValue.object)
            ?? (tool.method == "GET" || tool.method == "DELETE" ? nil : .object([:]))
        return .success(
            APICall(api: tool.api, method: tool.method, path: path, query: query, body: payload, language: language))
    }

    private static func refusal(_ tool: ToolDefinition, field: String, _ problem: String) -> ToolError {
        var error = ToolError(
            .invalidInput,
            "Invalid arguments for \(tool.name): \(field): \(problem); no request was sent.",
            field: field,
            hint: "Pass the id or value exactly as a list or get tool returned it."
        )
        error.fields = [ValidationIssue(path: field, message: problem)]
        return error
    }

    /// Why `text` cannot be one opaque path segment, or `nil` if it can.
    ///
    /// Checked on the value itself, on up to three rounds of percent-decoding (servers and proxies decode once or
    /// more) and on its Unicode compatibility form (some servers apply NFKC, turning `．` into `.`).
    static func segmentProblem(_ text: String) -> String? {
        if text.isEmpty { return "must not be empty" }
        if let problem = literalProblem(text) { return problem }
        var current = text
        for _ in 0..<3 {
            guard current.contains("%"), let decoded = PercentEncoding.decode(current, plusAsSpace: false),
                decoded != current
            else { break }
            if decoded.isEmpty || literalProblem(decoded) != nil {
                return "must not contain percent-encoded dots, slashes or control characters"
            }
            current = decoded
        }
        if !text.unicodeScalars.allSatisfy(\.isASCII) {
            let compatible = compatibilityMapped(text)
            if compatible != text, literalProblem(compatible) != nil {
                return "must not contain characters that normalise to dots or slashes"
            }
        }
        return nil
    }

    /// `text` with every character whose compatibility form (NFKC) holds a dot, slash, backslash or control character
    /// replaced by that form. A server or proxy that normalises the path sees exactly these; every other character's
    /// NFKC form has none of them, so `literalProblem` judges this string as it would the full NFKC one.
    private static func compatibilityMapped(_ text: String) -> String {
        var mapped = ""
        for scalar in text.unicodeScalars {
            if let form = pathSignificantCompatibilityForms[scalar.value] {
                mapped += form
            } else {
                mapped.unicodeScalars.append(scalar)
            }
        }
        return mapped
    }

    /// Every scalar whose NFKC form contains `.`, `/`, `\\` or a control character (Unicode 14, from Python's
    /// `unicodedata`: `normalize("NFKC", c)` over all scalars). Without ICU, the binary has no normaliser of its own.
    private static let pathSignificantCompatibilityForms: [UInt32: String] = [
        0x2024: ".",
        0x2025: "..",
        0x2026: "...",
        0x2100: "a/c",
        0x2101: "a/s",
        0x2105: "c/o",
        0x2106: "c/u",
        0x2488: "1.",
        0x2489: "2.",
        0x248A: "3.",
        0x248B: "4.",
        0x248C: "5.",
        0x248D: "6.",
        0x248E: "7.",
        0x248F: "8.",
        0x2490: "9.",
        0x2491: "10.",
        0x2492: "11.",
        0x2493: "12.",
        0x2494: "13.",
        0x2495: "14.",
        0x2496: "15.",
        0x2497: "16.",
        0x2498: "17.",
        0x2499: "18.",
        0x249A: "19.",
        0x249B: "20.",
        0x33C2: "a.m.",
        0x33C7: "Co.",
        0x33D8: "p.m.",
        0xFE19: "...",
        0xFE30: "..",
        0xFE52: ".",
        0xFE68: "\\",
        0xFF0E: ".",
        0xFF0F: "/",
        0xFF3C: "\\",
        0x1F100: "0.",
    ]

    private static func literalProblem(_ text: String) -> String? {
        if text == "." || text == ".." { return "must not be '.' or '..' (a path would drop or climb the segment)" }
        for scalar in text.unicodeScalars {
            switch scalar.value {
            case 0x2F, 0x5C: return "must not contain '/' or '\\'"
            case 0..<0x20, 0x7F..<0xA0: return "must not contain control characters"
            default: continue
            }
        }
        return nil
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
        var result = self
        result.replaceSubrange(range, with: replacement)
        return result
    }
}
