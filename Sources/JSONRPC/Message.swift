/// A request: it has an id and expects exactly one response.
package struct Request: Sendable, Equatable {
    package var id: RequestID
    package var method: String
    package var params: JSONObject?

    package init(id: RequestID, method: String, params: JSONObject? = nil) {
        self.id = id
        self.method = method
        self.params = params
    }
}

/// A notification: no id, and never answered, not even with an error.
package struct Notification: Sendable, Equatable {
    package var method: String
    package var params: JSONObject?

    package init(method: String, params: JSONObject? = nil) {
        self.method = method
        self.params = params
    }

    package var json: JSONValue {
        var object: JSONObject = ["jsonrpc": "2.0", "method": .string(method)]
        if let params { object.appendUnchecked("params", .object(params)) }
        return .object(object)
    }
}

/// One decoded JSON-RPC message from a peer.
package enum Message: Sendable, Equatable {
    case request(Request)
    case notification(Notification)
    /// A response to a request this side sent. The server sends none today, so these are ignored.
    case response(id: RequestID?)
}

/// A message that could not be accepted, with the id to answer to when one could be read.
package struct InvalidMessage: Error, Sendable, Equatable {
    package var id: RequestID?
    package var error: JSONRPCError

    package init(id: RequestID?, error: JSONRPCError) {
        self.id = id
        self.error = error
    }
}

/// The JSON-RPC 2.0 envelope: classification of incoming messages and construction of responses.
package enum JSONRPC {
    /// Classifies one parsed JSON value as a request, notification or response, or explains why it is none.
    package static func classify(_ value: JSONValue) -> Result<Message, InvalidMessage> {
        guard case .object(let object) = value else {
            return .failure(InvalidMessage(id: nil, error: invalid("a JSON-RPC message must be an object")))
        }
        // Read the id first so that every later complaint can be answered to the right request.
        let rawID = object["id"]
        var id: RequestID?
        if let rawID {
            guard let parsed = RequestID(rawID) else {
                let why =
                    rawID.isNull ? "id must not be null" : "id must be a string or an integer, not \(rawID.typeName)"
                return .failure(InvalidMessage(id: nil, error: invalid(why)))
            }
            id = parsed
        }
        guard object["jsonrpc"] == .string("2.0") else {
            return .failure(InvalidMessage(id: id, error: invalid("jsonrpc must be \"2.0\"")))
        }
        guard let methodValue = object["method"] else {
            if object["result"] != nil || object["error"] != nil { return .success(.response(id: id)) }
            return .failure(InvalidMessage(id: id, error: invalid("missing method")))
        }
        guard case .string(let method) = methodValue, !method.isEmpty else {
            return .failure(InvalidMessage(id: id, error: invalid("method must be a non-empty string")))
        }
        var params: JSONObject?
        switch object["params"] {
        case nil: params = nil
        case .object(let value)?: params = value
        case .array?:
            // JSON-RPC allows positional params; MCP never uses them.
            let error = JSONRPCError.invalidParams("params must be an object (MCP does not use positional params)")
            if let id { return .failure(InvalidMessage(id: id, error: error)) }
            return .success(.notification(Notification(method: method, params: nil)))
        case let other?:
            return .failure(InvalidMessage(id: id, error: invalid("params must be an object, not \(other.typeName)")))
        }
        if let id { return .success(.request(Request(id: id, method: method, params: params))) }
        return .success(.notification(Notification(method: method, params: params)))
    }

    private static func invalid(_ why: String) -> JSONRPCError {
        JSONRPCError(.invalidRequest, "Invalid Request: \(why)")
    }

    /// A success response.
    package static func response(id: RequestID, result: JSONObject) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id.json, "result": .object(result)])
    }

    /// An error response; `id` is `null` when the request's id could not be read (JSON-RPC 2.0 §5).
    package static func errorResponse(id: RequestID?, error: JSONRPCError) -> JSONValue {
        .object(["jsonrpc": "2.0", "id": id?.json ?? .null, "error": error.json])
    }

    /// The error for bytes that are not JSON at all.
    package static func parseError(_ error: JSONParseError) -> JSONRPCError {
        JSONRPCError(.parseError, "Parse error: \(error)")
    }
}
