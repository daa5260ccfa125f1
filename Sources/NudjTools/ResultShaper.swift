import JSONRPC
import MCP

/// Shapes a successful upstream response into a tool result that fits the agent's context window.
///
/// Every list says how many items came back, the total, and the exact arguments for the next page. A result over
/// the budget is cut: a list to whole items (valid JSON, with where to continue), an entity by shortening its
/// largest fields, with a notice naming them. Text and structured content carry the same JSON, so clients that
/// show only one of them miss nothing.
package struct ResultShaper: Sendable {
    /// Budget for one result, in bytes of JSON (about four bytes per token).
    package let budgetBytes: Int

    package init(budgetTokens: Int) { budgetBytes = max(2_000, budgetTokens * 4) }

    package func shape(
        _ tool: ToolDefinition,
        arguments: JSONObject,
        status: Int,
        body: [UInt8]
    ) -> Result<ToolCallResult, ToolError> {
        var value: JSONValue
        if body.allSatisfy({ $0 == 0x20 || $0 == 0x0A || $0 == 0x0D || $0 == 0x09 }) {
            value = ["ok": true, "httpStatus": .int(Int64(status))]
        } else {
            do {
                value = try JSONParser.parse(body)
            } catch {
                return .failure(
                    ToolError(
                        .invalidUpstreamResponse,
                        "The API answered HTTP \(status) with a body that is not JSON (\(error))",
                        httpStatus: status,
                        retryable: true,
                        hint: "Retry once; if it persists the endpoint may be unavailable."
                    )
                )
            }
        }
        switch value {
        case .array(let elements): value = ["items": .array(elements)]
        case .object: break
        default: value = ["value": value]
        }
        value = Projection.redact(value, tool.redactions)
        var object = value.objectValue!
        let fields = Projection.paths(arguments["fields"])
        if case .list(let preferredKey) = tool.output,
            let key = [preferredKey, "edges", "data", "items"].first(where: { object[$0]?.arrayValue != nil })
        {
            // One list shape whatever the envelope: `items` plus `page` (which carries the total).
            var items = object[key]!.arrayValue!
            if let fields {
                switch Projection.project(items, fields) {
                case .success(let projected): items = projected
                case .failure(let error): return .failure(error)
                }
            }
            _ = object.removeValue(forKey: key)
            let total = object.removeValue(forKey: "totalCount")
            object = shapeList(object, items: items, total: total, tool: tool, arguments: arguments)
        } else {
            if let fields {
                switch Projection.project([.object(object)], fields) {
                case .success(let projected): object = projected[0].objectValue ?? object
                case .failure(let error): return .failure(error)
                }
            }
            object = fitEntity(object)
        }
        // The shaped JSON is about the size of the API's body: reserve that once instead of growing step by step.
        return .success(Self.result(.object(object), capacity: body.count + 1_024))
    }

    /// Builds the result: the same JSON as structured content and as text.
    package static func result(
        _ structured: JSONValue, isError: Bool = false, text: String? = nil, capacity: Int = 256
    ) -> ToolCallResult {
        if text == nil, case .object(let object) = structured {
            // Encoded once: the text is that encoding, and the structured copy keeps it for the reply's writer.
            let kept = JSONWriter.encodingKept(object, capacity: capacity)
            let json = String(decoding: kept.encoding ?? [], as: UTF8.self)
            return ToolCallResult(
                content: [["type": "text", "text": .string(json)]], structuredContent: .object(kept), isError: isError)
        }
        let json = text ?? JSONWriter.encodeString(structured, capacity: capacity)
        return ToolCallResult(
            content: [["type": "text", "text": .string(json)]], structuredContent: structured, isError: isError)
    }

    // MARK: - Lists

    /// `envelope` is what the API sent besides the items and the total (e.g. the recipients' reward type).
    private func shapeList(
        _ envelope: JSONObject, items: [JSONValue], total totalValue: JSONValue?, tool: ToolDefinition,
        arguments: JSONObject
    ) -> JSONObject {
        let skip = Int(arguments["skip"]?.intValue ?? 0)
        let limit = arguments["limit"]?.intValue.map(Int.init)
        let total = totalValue?.intValue.map(Int.init)

        // Fit whole items within the budget, leaving room for the rest of the envelope and the page summary. An
        // item is measured by encoding it, and keeps that encoding: the result's encoding copies those bytes.
        let reserve = JSONWriter.encodedSize(envelope) + 1_200
        var keptItems: [JSONValue] = []
        keptItems.reserveCapacity(items.count)
        var used = reserve
        for item in items {
            let (encoded, encodedSize) = Self.keepingEncoding(item)
            let size = encodedSize + 1
            if used + size > budgetBytes && !keptItems.isEmpty { break }
            used += size
            keptItems.append(encoded)
            if used > budgetBytes { break }  // a single oversized item is kept (trimmed below) so progress is possible
        }
        let kept = keptItems.count
        if kept == 1 && used > budgetBytes, case .object(let only) = keptItems[0] {
            keptItems[0] = .object(Self.trim(only, budget: budgetBytes - reserve).object)
        }
        let cut = kept < items.count
        let nextSkip = skip + kept
        let hasMore: Bool
        if let total {
            hasMore = nextSkip < total
        } else {
            hasMore = cut || (limit.map { items.count >= $0 } ?? false)
        }
        var next: JSONValue = .null
        if hasMore {
            var nextArguments = arguments
            nextArguments["skip"] = .int(Int64(nextSkip))
            if cut, let limit { nextArguments["limit"] = .int(Int64(max(1, min(limit, kept)))) }
            next = .object(nextArguments)
        }
        let noun = tool.name.split(separator: "_").dropFirst().joined(separator: " ")
        var summary = "Returned \(kept) of \(total.map(String.init) ?? "an unknown number of") \(noun) (skip=\(skip))."
        if cut {
            summary += " Cut from the \(items.count) the API returned to fit the response budget."
        }
        if hasMore {
            summary += " For the next page call \(tool.name) with skip=\(nextSkip)\(cut ? " and a smaller limit" : "")."
        } else {
            summary += " This is the last page."
        }
        var page: JSONObject = [
            "returned": .int(Int64(kept)),
            "totalCount": total.map { .int(Int64($0)) } ?? .null,
            "skip": .int(Int64(skip)),
            "limit": limit.map { .int(Int64($0)) } ?? .null,
            "hasMore": .bool(hasMore),
            "nextArguments": next,
        ]
        if cut { page["truncatedByBudget"] = true }
        page["summary"] = .string(summary)
        var shaped: JSONObject = ["items": .array(keptItems), "page": .object(page)]
        for entry in envelope.entries { shaped[entry.key] = entry.value }
        return shaped
    }

    /// `value` with its encoding kept when it is an object, and the size of its encoding.
    private static func keepingEncoding(_ value: JSONValue) -> (JSONValue, Int) {
        guard case .object(let object) = value else { return (value, JSONWriter.encodedSize(value)) }
        let kept = JSONWriter.encodingKept(object)
        return (.object(kept), kept.encoding?.count ?? 0)
    }

    // MARK: - Entities

    private func fitEntity(_ object: JSONObject) -> JSONObject {
        // Measured by encoding: an entity within the budget (nearly all) keeps that encoding for the result.
        let kept = JSONWriter.encodingKept(object)
        guard kept.encoding?.count ?? 0 > budgetBytes else { return kept }
        let (trimmed, paths) = Self.trim(object, budget: budgetBytes - 600)
        var result = trimmed
        result["_truncated"] = [
            "notice": .string(
                "This result was larger than the response budget (\(budgetBytes / 4) tokens); the fields listed were shortened. Fetch narrower data if you need them in full."
            ),
            "paths": .array(paths.map { .string($0) }),
        ]
        return result
    }

    /// Repeatedly halves the largest string or array until the object fits; returns the paths it shortened.
    ///
    /// Each round is one walk that both measures the value and finds what to halve (no encoding).
    static func trim(_ object: JSONObject, budget: Int) -> (object: JSONObject, paths: [String]) {
        var value = JSONValue.object(object)
        var paths: [String] = []
        for _ in 0..<200 {
            let (size, largest) = Self.measure(value)
            guard size > budget, let path = largest else { break }
            value = Self.shrink(value, at: path[...])
            let rendered = Self.render(path)
            if !paths.contains(rendered) { paths.append(rendered) }
        }
        return (value.objectValue ?? object, paths)
    }

    private enum Step: Equatable {
        case key(String)
        case index(Int)
    }

    /// The encoded size of `value`, and the path to the biggest string (by UTF-8 length, over 64 bytes) or array
    /// of two or more elements (by encoded size) inside it; the first in document order wins a tie.
    ///
    /// Sizes are summed bottom-up. An array always outweighs what it contains, so visiting children before their
    /// array picks the same winner as visiting the array first.
    private static func measure(_ value: JSONValue) -> (size: Int, largest: [Step]?) {
        var best: (path: [Step], size: Int)?
        var path: [Step] = []
        func visit(_ candidate: JSONValue) -> Int {
            switch candidate {
            case .string(let string):
                let length = string.utf8.count
                if length > 64 && length > (best?.size ?? 0) { best = (path, length) }
                return JSONWriter.stringSize(string)
            case .array(let elements):
                var size = 2 + max(0, elements.count - 1)
                for (index, element) in elements.enumerated() {
                    path.append(.index(index))
                    size += visit(element)
                    path.removeLast()
                }
                if elements.count > 1 && size > (best?.size ?? 0) { best = (path, size) }
                return size
            case .object(let object):
                var size = 2 + max(0, object.entries.count - 1)
                for entry in object.entries {
                    path.append(.key(entry.key))
                    size += JSONWriter.stringSize(entry.key) + 1 + visit(entry.value)
                    path.removeLast()
                }
                return size
            default:
                return JSONWriter.encodedSize(candidate)
            }
        }
        let size = visit(value)
        return (size, best?.path)
    }

    private static func shrink(_ value: JSONValue, at path: ArraySlice<Step>) -> JSONValue {
        guard let step = path.first else {
            switch value {
            case .string(let string):
                let keep = max(32, string.count / 2)
                return .string(String(string.prefix(keep)) + "…[truncated]")
            case .array(let elements):
                return .array(Array(elements.prefix(max(1, elements.count / 2))))
            default:
                return value
            }
        }
        switch (step, value) {
        case (.key(let key), .object(var object)):
            if let child = object[key] { object[key] = shrink(child, at: path.dropFirst()) }
            return .object(object)
        case (.index(let index), .array(var elements)) where elements.indices.contains(index):
            elements[index] = shrink(elements[index], at: path.dropFirst())
            return .array(elements)
        default:
            return value
        }
    }

    private static func render(_ path: [Step]) -> String {
        var text = ""
        for step in path {
            switch step {
            case .key(let key): text += text.isEmpty ? key : ".\(key)"
            case .index(let index): text += "[\(index)]"
            }
        }
        return text
    }
}
