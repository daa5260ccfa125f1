import HTTPClient
import Platform
import TLS

/// One HTTP request to a Nudj API, fully built (absolute URL, headers, body, deadline): the native client's request
/// type, which every transport takes.
package typealias UpstreamRequest = HTTPClientRequest

/// The upstream's answer: status, headers (names lowercased) and body.
package struct UpstreamResponse: Sendable {
    package var status: Int
    package var headers: [String: String]
    package var body: [UInt8]

    package init(status: Int, headers: [String: String], body: [UInt8]) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    package func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Why no HTTP response came back.
package enum UpstreamFailure: Error, Sendable, Equatable {
    /// No response within the per-call timeout.
    case timeout
    /// The call was cancelled (the client cancelled the request).
    case cancelled
    /// Connection refused or reset, DNS failure: the API could not be reached.
    case unreachable(String)
    /// TLS failed: the API's certificate was refused, the handshake timed out, or the session broke.
    case tls(TLSFailure)
    /// An answer came back that is not a usable HTTP response (malformed, or larger than the size cap).
    case invalidResponse(String)
}

/// Sends upstream requests: `NativeUpstreamTransport` (Linux) or `URLSessionTransport`; tests may substitute a double.
package protocol UpstreamTransport: Sendable {
    func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure>
    /// Where a caller that awaits little else may run so it continues on the thread that received the response,
    /// and where a stdio session's input may be read (`HTTPClient.taskExecutor`); nil when there is no such thread.
    var taskExecutor: (any SessionLoop)? { get }
    /// Clients that run on the HTTP server's loop threads rather than their own, one per loop: the server must host
    /// them.
    var loopGuests: [any LoopGuest] { get }
}

extension UpstreamTransport {
    package var taskExecutor: (any SessionLoop)? { nil }
    package var loopGuests: [any LoopGuest] { [] }
}
