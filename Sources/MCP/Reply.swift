import JSONRPC

/// The engine's answer to one request, before serialisation; transports read the error code to pick HTTP statuses.
package enum Reply: Sendable, Equatable {
    case result(RequestID, JSONObject)
    case error(RequestID?, JSONRPCError)

    package var json: JSONValue {
        switch self {
        case .result(let id, let result): JSONRPC.response(id: id, result: result)
        case .error(let id, let error): JSONRPC.errorResponse(id: id, error: error)
        }
    }

    package var error: JSONRPCError? {
        if case .error(_, let error) = self { error } else { nil }
    }
}
