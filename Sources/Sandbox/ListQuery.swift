import JSONRPC

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// The query parameters the pagination guide documents for most list endpoints, applied before paging:
/// `search` (case-insensitive substring of the main text fields), `sort` (`key` or `-key`, dot paths allowed,
/// "Invalid sort key" when no item has it) and `fromDate`/`toDate` (on `createdAt`; a plain date is inclusive).
struct ListQuery {
    var search: String?
    var sort: (path: [Substring], descending: Bool)?
    var range: (start: Date?, end: Date?)
    var endIsDate = false

    /// The fields `search` looks at, as the API's list pages describe "the main text fields".
    static let searchFields: [[String]] = [
        ["details", "title"], ["name"], ["username"], ["displayName"], ["email"], ["value"], ["slug"], ["key"],
    ]

    init(_ context: RequestContext) throws(TRPCError) {
        if let text = context.queryValue("search"), !text.isEmpty { search = text.lowercased() }
        if let text = context.queryValue("sort"), !text.isEmpty {
            let descending = text.hasPrefix("-")
            let key = descending ? text.dropFirst() : Substring(text)
            guard !key.isEmpty else { throw .badRequest("Invalid sort key") }
            sort = (key.split(separator: "."), descending)
        }
        range = (try Routes.dateQuery(context, "fromDate"), try Routes.dateQuery(context, "toDate"))
        if let start = range.start, let end = range.end, end < start {
            throw .badRequest("Invalid input for query.toDate: must not be before fromDate")
        }
        endIsDate = context.queryValue("toDate")?.count == 10
    }

    var isEmpty: Bool { search == nil && sort == nil && range.start == nil && range.end == nil }

    func apply(_ items: [JSONValue]) throws(TRPCError) -> [JSONValue] {
        var items = items.filter { item in
            if let search,
                !Self.searchFields.contains(where: {
                    Self.value(item, $0[...])?.stringValue?.lowercased().contains(search) == true
                })
            {
                return false
            }
            if range.start != nil || range.end != nil {
                guard let text = item["createdAt"]?.stringValue, let date = Routes.parseDate(text) else { return false }
                if let start = range.start, date < start { return false }
                if let end = range.end, date >= end.addingTimeInterval(endIsDate ? 86_400 : 0.001) { return false }
            }
            return true
        }
        if let sort {
            let keys = items.map { Self.value($0, sort.path[...]) }
            guard items.isEmpty || keys.contains(where: { $0 != nil && $0 != .null }) else {
                throw .badRequest("Invalid sort key")
            }
            let order = items.indices.sorted { left, right in
                let (a, b) = (keys[left], keys[right])
                if let a, let b, Self.less(a, b) != Self.less(b, a) {
                    return sort.descending ? Self.less(b, a) : Self.less(a, b)
                }
                if (a == nil) != (b == nil) { return a != nil }  // items without the key go last
                return left < right
            }
            items = order.map { items[$0] }
        }
        return items
    }

    /// The value at a dot path; through an array, the first element that has it.
    static func value(_ value: JSONValue, _ path: ArraySlice<some StringProtocol>) -> JSONValue? {
        guard let first = path.first else { return value }
        switch value {
        case .object(let object): return object[String(first)].flatMap { Self.value($0, path.dropFirst()) }
        case .array(let elements):
            return elements.lazy.compactMap { Self.value($0, path) }.first
        default: return nil
        }
    }

    private static func less(_ a: JSONValue, _ b: JSONValue) -> Bool {
        switch (a, b) {
        case (.int(let x), .int(let y)): return x < y
        case (.string(let x), .string(let y)): return x < y
        case (.bool(let x), .bool(let y)): return !x && y
        default:
            if let x = a.doubleValue ?? a.intValue.map(Double.init),
                let y = b.doubleValue ?? b.intValue.map(Double.init)
            {
                return x < y
            }
            return false
        }
    }
}
