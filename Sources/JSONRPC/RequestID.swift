/// A JSON-RPC request id: a string or an integer, echoed back with the JSON type it arrived with.
///
/// MCP forbids `null` ids and fractional numbers, so neither can be represented here.
/// - SeeAlso: MCP schema `RequestId`.
package enum RequestID: Sendable, Hashable, CustomStringConvertible {
    case string(String)
    case int(Int64)

    package init?(_ value: JSONValue) {
        switch value {
        case .string(let string): self = .string(string)
        case .int(let number): self = .int(number)
        default: return nil
        }
    }

    package var json: JSONValue {
        switch self {
        case .string(let string): .string(string)
        case .int(let number): .int(number)
        }
    }

    package var description: String {
        switch self {
        case .string(let string): "\"\(string)\""
        case .int(let number): String(number)
        }
    }
}
