import HTTPServer
import JSONRPC
import MCP
import Tenancy

/// A refusal of an HTTP request: the JSON-RPC error object, the HTTP status that carries it, and any headers.
///
/// Every transport-level refusal is one of these values and is rendered by `response(id:)` alone, so clients get the
/// same shape everywhere: the real reason in a JSON-RPC error body, `data.httpStatus`, and for 401 the hint.
struct WireError: Error, Sendable {
    var status: Int
    var error: JSONRPCError
    var headers: HTTPHeaders

    init(_ status: Int, _ code: ErrorCode, _ message: String, data: JSONValue? = nil, headers: HTTPHeaders = [:]) {
        self.status = status
        error = JSONRPCError(code, message, data: data)
        self.headers = headers
    }

    /// Application error codes for transport-level refusals (outside the JSON-RPC reserved range).
    static let unauthenticatedCode = ErrorCode(rawValue: -31_401)
    static let forbiddenCode = ErrorCode(rawValue: -31_403)

    /// 400 for a request that is malformed as HTTP or as JSON-RPC.
    static func badRequest(_ message: String, code: ErrorCode = .invalidRequest, data: JSONValue? = nil) -> WireError {
        WireError(400, code, message, data: data)
    }

    /// 400 carrying a JSON-RPC error as is (a batch refused whole).
    static func badRequest(_ error: JSONRPCError) -> WireError {
        badRequest(error.message, code: error.code, data: error.data)
    }

    /// 401 with the Bearer challenge: credentials missing or malformed.
    static func unauthenticated(_ message: String) -> WireError {
        WireError(401, unauthenticatedCode, message, headers: ["WWW-Authenticate": "Bearer realm=\"nudj-mcp\""])
    }

    /// 403: a host, origin, domain or credential this server refuses.
    static func forbidden(_ message: String) -> WireError { WireError(403, forbiddenCode, message) }

    static func notFound(_ message: String) -> WireError { WireError(404, .invalidRequest, message) }

    static func methodNotAllowed(_ message: String, allow: String) -> WireError {
        WireError(405, .invalidRequest, message, headers: ["Allow": allow])
    }

    static func notAcceptable(_ message: String) -> WireError { WireError(406, .invalidRequest, message) }

    /// 503 with `Retry-After`: a capacity limit that frees up shortly.
    static func unavailable(_ message: String) -> WireError {
        WireError(503, .internalError, message, headers: ["Retry-After": "5"])
    }

    /// A refusal of the request's credentials, organisation or selection headers: the HTTP status is decided here.
    init(_ refusal: AccessRefusal) {
        switch refusal.kind {
        case .unauthenticated: self = .unauthenticated(refusal.message)
        case .domainRefused: self = .forbidden(refusal.message)
        case .badHeader: self = .badRequest(refusal.message)
        }
    }

    /// The one rendering of a refusal: a JSON-RPC error response (answering `id` when it is known) whose `data`
    /// repeats the HTTP status, so clients that only show the body still show the real reason.
    func response(id: RequestID? = nil) -> HTTPResponse {
        var data: JSONObject = error.data?.objectValue ?? [:]
        data["httpStatus"] = .int(Int64(status))
        if status == 401 {
            data["hint"] =
                "Configure the client to send Authorization: Bearer <token> on every request, and the organisation as x-api-domain or in the URL (/mcp/<org>, /sse/<org>)."
        }
        let body = JSONRPC.errorResponse(id: id, error: JSONRPCError(error.code, error.message, data: .object(data)))
        return .json(status, JSONWriter.encode(body), headers: headers)
    }
}
