import Platform
import TLS

/// Everything the HTTP server bounds: sizes, counts and times, each with a clear answer when exceeded.
package struct HTTPServerConfiguration: Sendable {
    package var host = "127.0.0.1"
    /// 0 picks a free port.
    package var port = 0
    /// Selector loops, each on a thread of its own doing the I/O and the handler work of the connections it accepts
    /// (one per core the server may use).
    package var loops = 1
    package var limits = HTTPParserLimits()
    /// Connections beyond this get a 503 and are closed at once.
    package var maxConnections = 16_384
    /// From a request's first byte to the end of its head (slow-loris guard) → 408.
    package var headTimeout: Duration = .seconds(10)
    /// From the end of the head to the end of the body → 408.
    package var bodyTimeout: Duration = .seconds(30)
    /// Idle keep-alive connections are closed after this.
    package var idleTimeout: Duration = .seconds(120)
    /// A connection whose pending output makes no progress for this long is dropped.
    package var writeTimeout: Duration = .seconds(30)
    /// Quiet streams get their heartbeat bytes this often (well under common 60 s proxy idle cut-offs).
    package var heartbeatInterval: Duration = .seconds(15)
    /// Unsent bytes a stream may accumulate before its reader is considered stalled and disconnected.
    package var maxPendingStreamBytes = 8 * 1024 * 1024
    /// Serves HTTPS with this server context (`TLSContext(certificateFile:keyFile:)`); `nil`: plain HTTP.
    package var tls: TLSContext?
    /// From accepting a TLS connection to the end of its handshake; a client that stays silent is dropped.
    package var tlsHandshakeTimeout: Duration = .seconds(10)
    /// The readiness mechanism; `nil`: `NUDJ_EVENT_BACKEND` (`epoll` / `poll`) when set, else the platform default.
    package var eventBackend: EventBackend?
    /// Renders the body of errors the server produces itself (400, 408, 413, 431, 503…).
    package var errorBody: @Sendable (_ status: Int, _ message: String) -> HTTPResponse = { status, message in
        var body = "{\"error\":{\"status\":\(status),\"message\":\""
        for scalar in message.unicodeScalars {
            switch scalar {
            case "\"": body += "\\\""
            case "\\": body += "\\\\"
            default: if scalar.value >= 0x20 { body.unicodeScalars.append(scalar) }
            }
        }
        body += "\"}}"
        return HTTPResponse.json(status, Array(body.utf8))
    }

    package init() {}
}
