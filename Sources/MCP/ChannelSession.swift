import JSONRPC
import Log
import Synchronization

/// A duplex message channel: every outgoing message (responses and notifications) goes down the same pipe.
///
/// stdout on stdio; the SSE stream of a legacy HTTP+SSE session.
package protocol MessageChannel: Sendable {
    func send(_ message: JSONValue)
}

/// A handshake-era (and, on stdio, modern-era) MCP session over one duplex channel.
///
/// It turns raw JSON texts into replies: parse (-32700), classify (-32600), batch rules, era dispatch, per-request
/// tasks, `notifications/cancelled`. Transports only move bytes and choose the tool provider for each message.
package final class ChannelSession: Sendable {
    package let server: MCPServer
    package let legacy = LegacySession()
    package let inflight: InflightRequests
    private let channel: any MessageChannel
    private let logger: Logger

    package init(server: MCPServer, channel: any MessageChannel, logger: Logger) {
        self.server = server
        inflight = InflightRequests(limits: server.limits)
        self.channel = channel
        self.logger = logger
    }

    private var notifications: any NotificationSink { ChannelNotificationSink(channel: channel) }

    /// Handles one JSON text. Returns at once; requests run concurrently and reply when each finishes.
    package func receive(_ bytes: [UInt8], provider: any ToolProvider) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            logger.warning("unparseable message", [("error", error.description)])
            channel.send(JSONRPC.errorResponse(id: nil, error: JSONRPC.parseError(error)))
            return
        }
        receive(value, provider: provider)
    }

    /// Handles one parsed message (or batch).
    package func receive(_ value: JSONValue, provider: any ToolProvider) {
        if case .array(let elements) = value {
            receiveBatch(elements, provider: provider)
        } else {
            receive(JSONRPC.classify(value), provider: provider, deliver: { [channel] in channel.send($0.json) })
        }
    }

    /// Answers a message that was dropped for exceeding the size limit.
    package func rejectOversized(byteCount: Int, limit: Int) {
        logger.warning("message over size limit", [("bytes", String(byteCount)), ("limit", String(limit))])
        let error = JSONRPCError(
            .invalidRequest,
            "Invalid Request: message of \(byteCount) bytes exceeds the \(limit)-byte limit"
        )
        channel.send(JSONRPC.errorResponse(id: nil, error: error))
    }

    /// Dispatches one classified message. `deliver` gets its reply if it has one; `completion` is called exactly
    /// once when the message is fully handled (batches count on it).
    private func receive(
        _ classified: Result<Message, InvalidMessage>,
        provider: any ToolProvider,
        deliver: @escaping @Sendable (Reply) -> Void,
        completion: (@Sendable () -> Void)? = nil
    ) {
        switch classified {
        case .failure(let invalid):
            deliver(.error(invalid.id, invalid.error))
            completion?()
        case .success(.notification(let notification)):
            handle(notification)
            completion?()
        case .success(.response):
            completion?()  // The server sends no requests, so there is nothing to match a response to.
        case .success(.request(let request)):
            let modern = ModernMeta.isModern(request)
            if request.method == "initialize" && !modern {
                // Applied in arrival order: requests a client pipelines behind initialize must see the session it
                // opens.
                deliver(server.initialize(request, session: legacy, provider: provider))
                completion?()
                return
            }
            let server = server
            let legacy = legacy
            let notifications = notifications
            let started = inflight.start(
                request.id,
                takesSlot: RequestLimits.takesCallSlot(request),
                work: {
                    if modern {
                        await server.respondModern(to: request, provider: provider, notifications: notifications)
                    } else {
                        await server.respond(
                            to: request,
                            session: legacy,
                            provider: provider,
                            notifications: notifications
                        )
                    }
                },
                deliver: { reply in
                    if let reply { deliver(reply) }
                    completion?()
                }
            )
            if let refusal = inflight.refusal(started, id: request.id) {
                deliver(.error(request.id, refusal))
                completion?()
            }
        }
    }

    /// Only `notifications/cancelled` changes anything; every other notification (`notifications/initialized`
    /// included: a request before it is served anyway) is ignored, as JSON-RPC requires: never answered.
    private func handle(_ notification: Notification) {
        guard notification.method == "notifications/cancelled" else { return }
        if let raw = notification.params?["requestId"], let id = RequestID(raw) {
            logger.debug("request cancelled by client", [("id", id.description)])
            inflight.cancel(id)
        }
    }

    /// JSON-RPC batches, which only 2025-03-26 allows: every reply is collected and sent back as one array.
    private func receiveBatch(_ elements: [JSONValue], provider: any ToolProvider) {
        if let refusal = server.limits.batchRefusal(length: elements.count, version: legacy.negotiatedVersion) {
            logger.warning("batch refused", [("length", String(elements.count)), ("reason", refusal.message)])
            channel.send(JSONRPC.errorResponse(id: nil, error: refusal))
            return
        }
        let collector = BatchCollector(expected: elements.count, channel: channel)
        for element in elements {
            var classified = JSONRPC.classify(element)
            if case .success(.request(let request)) = classified, request.method == "initialize" {
                let error = JSONRPCError(.invalidRequest, "Invalid Request: initialize must not be part of a batch")
                classified = .failure(InvalidMessage(id: request.id, error: error))
            }
            receive(
                classified,
                provider: provider,
                deliver: { collector.add($0) },
                completion: { collector.complete() }
            )
        }
    }

    /// Finishes in-flight requests within `grace`, cancelling what remains.
    package func drain(grace: Duration) async -> Int { await inflight.drain(grace: grace) }
}

/// Notifications for requests on a duplex channel simply go down the channel.
private struct ChannelNotificationSink: NotificationSink {
    let channel: any MessageChannel
    func send(_ notification: Notification) { channel.send(notification.json) }
}

/// Gathers the replies of one batch and sends them as a single array once every element is done.
private final class BatchCollector: Sendable {
    private struct State {
        var pending: Int
        var replies: [JSONValue] = []
    }

    private let state: Mutex<State>
    private let channel: any MessageChannel

    init(expected: Int, channel: any MessageChannel) {
        state = Mutex(State(pending: expected))
        self.channel = channel
    }

    func add(_ reply: Reply) { state.withLock { $0.replies.append(reply.json) } }

    func complete() {
        let replies = state.withLock { state -> [JSONValue]? in
            state.pending -= 1
            return state.pending == 0 ? state.replies : nil
        }
        // A batch of notifications only is answered with nothing at all.
        if let replies, !replies.isEmpty { channel.send(.array(replies)) }
    }
}
