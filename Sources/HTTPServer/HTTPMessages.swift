import Codecs

/// A complete HTTP request as handlers see it: head plus fully read body.
package struct HTTPRequest: Sendable {
    package var method: String
    /// The request-target as sent (`/mcp?x=1`).
    package var target: String
    package var headers: HTTPHeaders
    package var body: [UInt8]
    /// `"HTTP/1.1"` or `"HTTP/1.0"`.
    package var version: String
    /// The peer's address, for access logs.
    package var remoteAddress: String
    /// The loop that read it, for work that should continue on its thread (see `EventLoop`); nil in tests that make
    /// requests by hand.
    package var executor: (any TaskExecutor)?

    package init(
        method: String,
        target: String,
        headers: HTTPHeaders,
        body: [UInt8] = [],
        version: String = "HTTP/1.1",
        remoteAddress: String = "-"
    ) {
        self.method = method
        self.target = target
        self.headers = headers
        self.body = body
        self.version = version
        self.remoteAddress = remoteAddress
    }

    /// The path without the query string.
    package var path: String {
        // By bytes: `Character` search (grapheme breaking) cost more than the rest of routing.
        guard let mark = target.utf8.firstIndex(of: UInt8(ascii: "?")) else { return target }
        return String(target[..<mark])
    }

    /// Decoded query parameters, in order.
    package var queryItems: [(name: String, value: String)] {
        guard let mark = target.firstIndex(of: "?") else { return [] }
        return target[target.index(after: mark)...].split(separator: "&").map { pair in
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = PercentEncoding.decode(String(parts[0])) ?? String(parts[0])
            let value = parts.count > 1 ? (PercentEncoding.decode(String(parts[1])) ?? String(parts[1])) : ""
            return (name, value)
        }
    }

    package func query(_ name: String) -> String? { queryItems.first { $0.name == name }?.value }
}

/// A complete response.
package struct HTTPResponse: Sendable {
    package var status: Int
    package var headers: HTTPHeaders
    package var body: [UInt8]

    package init(status: Int, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package static func json(_ status: Int, _ body: [UInt8], headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", "application/json")
        return HTTPResponse(status: status, headers: headers, body: body)
    }

    package static func text(_ status: Int, _ body: String, headers: HTTPHeaders = [:]) -> HTTPResponse {
        var headers = headers
        headers.set("Content-Type", "text/plain; charset=utf-8")
        return HTTPResponse(status: status, headers: headers, body: Array(body.utf8))
    }

    package static func reasonPhrase(_ status: Int) -> String {
        switch status {
        case 100: "Continue"
        case 200: "OK"
        case 201: "Created"
        case 202: "Accepted"
        case 204: "No Content"
        case 400: "Bad Request"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "Not Found"
        case 405: "Method Not Allowed"
        case 406: "Not Acceptable"
        case 408: "Request Timeout"
        case 409: "Conflict"
        case 410: "Gone"
        case 411: "Length Required"
        case 413: "Content Too Large"
        case 414: "URI Too Long"
        case 415: "Unsupported Media Type"
        case 422: "Unprocessable Content"
        case 429: "Too Many Requests"
        case 431: "Request Header Fields Too Large"
        case 500: "Internal Server Error"
        case 501: "Not Implemented"
        case 502: "Bad Gateway"
        case 503: "Service Unavailable"
        case 504: "Gateway Timeout"
        case 505: "HTTP Version Not Supported"
        default: "Status \(status)"
        }
    }
}
