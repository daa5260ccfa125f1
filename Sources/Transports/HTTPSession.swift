import Codecs
import HTTPServer
import JSONRPC
import Log
import MCP
import Synchronization
import Tenancy

/// One MCP session over HTTP (Streamable HTTP or legacy HTTP+SSE): bound at creation to an organisation and a credential fingerprint.
///
/// The session never holds the token: every request brings its own credentials, which must reproduce `binding`.
final class HTTPSession: Sendable {
    enum Kind: Sendable {
        /// Streamable HTTP at /mcp.
        case streamable
        /// Legacy HTTP+SSE: every message for the client goes down one GET /sse stream.
        case legacySSE
    }

    let id: String
    let kind: Kind
    let binding: TenantBinding
    let organisation: String
    /// The remote address (without port) that opened the session: probation is counted per peer.
    let peer: String
    /// The session's JSON-RPC semantics: handshake state, in-flight requests, batches, cancellation.
    let dispatcher: Dispatcher
    private let lastActivity: Mutex<ContinuousClock.Instant>
    /// The client's GET stream (Streamable HTTP) for notifications not tied to a request.
    private let standaloneStream = Mutex<SSEMessageStream?>(nil)
    /// The channel of a legacy HTTP+SSE session: its GET /sse stream, where every reply goes.
    private let sseChannel = Mutex<(any MessageChannel)?>(nil)

    init(
        id: String, kind: Kind, binding: TenantBinding, organisation: String, peer: String, dispatcher: Dispatcher
    ) {
        self.id = id
        self.kind = kind
        self.binding = binding
        self.organisation = organisation
        self.peer = peer
        self.dispatcher = dispatcher
        lastActivity = Mutex(ContinuousClock.now)
    }

    /// Anyone can open a session with a made-up token; only a successful call shows the upstream accepted it. Until
    /// then the session is on probation: a short idle timeout, a per-peer cap, first to be evicted when full.
    var onProbation: Bool { !dispatcher.handshake.hasSucceededCall }

    func touch() { lastActivity.withLock { $0 = ContinuousClock.now } }
    var idleSince: ContinuousClock.Instant { lastActivity.withLock { $0 } }

    /// Replaces the GET stream (a client reconnecting gets the new one; the old one is finished).
    func attach(_ stream: SSEMessageStream) {
        let previous = standaloneStream.withLock { current -> SSEMessageStream? in
            defer { current = stream }
            return current
        }
        previous?.finish()
    }

    func detach(_ stream: SSEMessageStream) {
        standaloneStream.withLock { current in if current === stream { current = nil } }
    }

    var stream: SSEMessageStream? { standaloneStream.withLock { $0 } }

    func setChannel(_ channel: any MessageChannel) { sseChannel.withLock { $0 = channel } }
    var channel: (any MessageChannel)? { sseChannel.withLock { $0 } }

    /// Ends the session: cancels its work and closes its streams.
    func close() {
        dispatcher.inflight.cancelAll()
        stream?.finish()
    }
}
