/// A JSON-RPC error code. An open catalogue: MCP adds codes of its own on top of JSON-RPC's.
package struct ErrorCode: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
    package var rawValue: Int
    package init(rawValue: Int) { self.rawValue = rawValue }

    /// The input is not valid JSON.
    package static let parseError = ErrorCode(rawValue: -32700)
    /// The JSON is not a valid request object (or a batch where batches are not allowed).
    package static let invalidRequest = ErrorCode(rawValue: -32600)
    package static let methodNotFound = ErrorCode(rawValue: -32601)
    package static let invalidParams = ErrorCode(rawValue: -32602)
    package static let internalError = ErrorCode(rawValue: -32603)
    /// The server is at a capacity limit (e.g. a session's in-flight calls); retrying later can succeed.
    package static let serverBusy = ErrorCode(rawValue: -32000)
    /// MCP 2026-07-28: an HTTP header is missing or disagrees with the body.
    package static let headerMismatch = ErrorCode(rawValue: -32020)
    // MCP 2026-07-28 also defines -32021 (a required client capability is missing). It is not defined here because
    // nothing this server does needs a client capability (no sampling, elicitation or roots), so it never sends it.
    /// MCP 2026-07-28: the requested protocol version is not supported.
    package static let unsupportedProtocolVersion = ErrorCode(rawValue: -32022)

    package var description: String { String(rawValue) }
}

/// A JSON-RPC error object: what went wrong, in a form that is sent to the peer as is.
///
/// Messages are written for the client developer and never carry internals (no stack traces, no tokens).
/// - SeeAlso: JSON-RPC 2.0 §5.1.
package struct JSONRPCError: Error, Sendable, Equatable {
    package var code: ErrorCode
    package var message: String
    package var data: JSONValue?

    package init(_ code: ErrorCode, _ message: String, data: JSONValue? = nil) {
        self.code = code
        self.message = message
        self.data = data
    }

    package var json: JSONValue {
        var object: JSONObject = ["code": .int(Int64(code.rawValue)), "message": .string(message)]
        if let data { object.appendUnchecked("data", data) }
        return .object(object)
    }

    package static func invalidParams(_ message: String, data: JSONValue? = nil) -> JSONRPCError {
        JSONRPCError(.invalidParams, message, data: data)
    }

    package static func methodNotFound(_ method: String) -> JSONRPCError {
        JSONRPCError(.methodNotFound, "Method not found: \(method)")
    }
}
