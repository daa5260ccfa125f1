import MCP

/// The HTTP status of an engine reply, decided here only.
enum ReplyStatus {
    /// A stateless (2026-07-28) reply: the status names the failure class, so HTTP intermediaries see it.
    static func stateless(_ reply: Reply) -> Int {
        guard let error = reply.error else { return 200 }
        switch error.code {
        case .methodNotFound: return 404
        case .invalidParams, .invalidRequest, .parseError, .headerMismatch, .unsupportedProtocolVersion: return 400
        default: return 200
        }
    }

    /// A session's (handshake-era) POST: JSON-RPC errors of requests ride in a 200 body, as the transport spec
    /// has it; a POST that carried no request at all, only invalid messages, is a 400.
    static func session(ranRequests: Bool) -> Int { ranRequests ? 200 : 400 }
}
