import JSONRPC

/// An error as the Nudj API returns it: the tRPC envelope `{message, code, data: {httpStatus, path}}`.
struct TRPCError: Error, Sendable {
    var status: Int
    var code: String
    var message: String
    var headers: [(String, String)] = []

    static func badRequest(_ message: String) -> TRPCError {
        TRPCError(status: 400, code: "BAD_REQUEST", message: message)
    }
    static func unauthorized(_ message: String) -> TRPCError {
        TRPCError(status: 401, code: "UNAUTHORIZED", message: message)
    }
    static func forbidden(_ message: String) -> TRPCError {
        TRPCError(status: 403, code: "FORBIDDEN", message: message)
    }
    static func notFound(_ message: String) -> TRPCError { TRPCError(status: 404, code: "NOT_FOUND", message: message) }
    static func conflict(_ message: String) -> TRPCError { TRPCError(status: 409, code: "CONFLICT", message: message) }

    func body(procedure: String) -> JSONValue {
        [
            "message": .string(message), "code": .string(code),
            "data": ["httpStatus": .int(Int64(status)), "path": .string(procedure)],
        ]
    }
}
