import JSONRPC
import Log

/// JSON-RPC session semantics for every transport: the one place that knows batch rules, "initialize not in a
/// batch", duplicate ids, reply order, cancellation, admission to the in-flight registry and shutting-down replies.
///
/// One per stdio process, per Streamable HTTP session and per legacy HTTP+SSE session. Transports parse the bytes,
/// hand the message to `accept`, and choose how to answer what `answer` returns (a line, a JSON body, an SSE
/// stream, a 202); duplex channels use `receive`, which does all three.
package final class Dispatcher: Sendable {
    package let server: MCPServer
    /// The handshake-era state (`initialize`, log level) the session's requests share.
    package let handshake: HandshakeState
    package let inflight: InflightRequests
    let logger: Logger

    /// - Parameter executor: where requests continue after they first suspend (stdio: the upstream client's loop,
    ///   see `HTTPClient.taskExecutor`); nil for the concurrency pool.
    package init(
        server: MCPServer, handshake: HandshakeState = HandshakeState(), logger: Logger,
        executor: (any TaskExecutor)? = nil
    ) {
        self.server = server
        self.handshake = handshake
        inflight = InflightRequests(limits: server.limits, executor: executor)
        self.logger = logger
    }

    /// One message or batch, sorted: what is answered at once and the requests still to run.
    package struct Accepted: Sendable {
        /// Whether the message was a batch, answered as one array.
        package let isBatch: Bool
        /// Why the whole batch is refused (answered with `id: null`); nothing in it was applied.
        package var refusal: JSONRPCError?
        /// Replies known without running anything: invalid messages, `initialize` (applied in arrival order).
        package var immediate: [Reply] = []
        /// Requests to run, in arrival order.
        package var requests: [Request] = []

        /// Whether nothing is to be answered (notifications and responses only).
        package var isSilent: Bool { refusal == nil && immediate.isEmpty && requests.isEmpty }

        /// Whether a request asked for progress notifications.
        package var wantsProgress: Bool { requests.contains { $0.params?["_meta"]?["progressToken"] != nil } }
    }

    /// Sorts one parsed message (or batch): applies batch rules, notifications (`notifications/cancelled` included)
    /// and a lone `initialize` now, in arrival order, and leaves requests to `answer`.
    package func accept(_ value: JSONValue, provider: any ToolProvider) -> Accepted {
        guard case .array(let elements) = value else {
            return sort([JSONRPC.classify(value)], isBatch: false, provider: provider)
        }
        return refusedBatch(length: elements.count)
            ?? sort(elements.map(JSONRPC.classify), isBatch: true, provider: provider)
    }

    /// Sorts messages already classified (a transport that routes on the message classifies it once).
    package func accept(
        _ messages: [Result<Message, InvalidMessage>], isBatch: Bool, provider: any ToolProvider
    ) -> Accepted {
        (isBatch ? refusedBatch(length: messages.count) : nil) ?? sort(messages, isBatch: isBatch, provider: provider)
    }

    /// A batch refused whole (the rules are `RequestLimits.batchRefusal`), or `nil` when it may be dispatched.
    private func refusedBatch(length: Int) -> Accepted? {
        guard let refusal = server.limits.batchRefusal(length: length, version: handshake.negotiatedVersion) else {
            return nil
        }
        logger.warning("batch refused", [("length", String(length)), ("reason", refusal.message)])
        return Accepted(isBatch: true, refusal: refusal)
    }

    private func sort(
        _ messages: [Result<Message, InvalidMessage>], isBatch: Bool, provider: any ToolProvider
    ) -> Accepted {
        var accepted = Accepted(isBatch: isBatch)
        for message in messages {
            switch message {
            case .failure(let invalid):
                accepted.immediate.append(.error(invalid.id, invalid.error))
            case .success(.notification(let notification)):
                handle(notification)
            case .success(.response):
                break  // The server sends no requests, so there is nothing to match a response to.
            case .success(.request(let request)) where request.method == "initialize" && isBatch:
                let error = JSONRPCError(.invalidRequest, "Invalid Request: initialize must not be part of a batch")
                accepted.immediate.append(.error(request.id, error))
            case .success(.request(let request))
            where request.method == "initialize" && !StatelessMeta.isStateless(request):
                // Applied in arrival order: requests a client pipelines behind initialize must see the session it
                // opens.
                accepted.immediate.append(server.initialize(request, session: handshake, provider: provider))
            case .success(.request(let request)):
                accepted.requests.append(request)
            }
        }
        return accepted
    }

    /// Runs the accepted requests concurrently in the in-flight registry and returns every reply: the immediate
    /// ones first, then one per request in arrival order. Cancelled requests have none.
    package func answer(
        _ accepted: Accepted, provider: any ToolProvider, notifications: any NotificationSink
    ) async -> [Reply] {
        await answer(admit(accepted), provider: provider, notifications: notifications)
    }

    /// Accepted requests entered in the in-flight registry (or refused by it), to be answered exactly once.
    struct Admitted: Sendable {
        var accepted: Accepted
        var admissions: [Result<InflightRequests.Admission, JSONRPCError>]
    }

    /// Enters every accepted request in the registry, synchronously and in arrival order: duplicate ids are refused
    /// and `notifications/cancelled` can reach a request from the moment its message is received.
    func admit(_ accepted: Accepted) -> Admitted {
        Admitted(
            accepted: accepted,
            admissions: accepted.requests.map { inflight.admit($0.id, takesSlot: RequestLimits.takesCallSlot($0)) })
    }

    func answer(
        _ admitted: Admitted, provider: any ToolProvider, notifications: any NotificationSink
    ) async -> [Reply] {
        let accepted = admitted.accepted
        if let refusal = accepted.refusal { return [.error(nil, refusal)] }
        var replies = accepted.immediate
        let requests = accepted.requests
        if requests.count == 1 {
            let reply = await run(
                requests[0], admitted.admissions[0], provider: provider, notifications: notifications)
            if let reply { replies.append(reply) }
            return replies
        }
        let ran = await withTaskGroup(of: (Int, Reply?).self) { group in
            for (index, request) in requests.enumerated() {
                let admission = admitted.admissions[index]
                group.addTask {
                    (index, await self.run(request, admission, provider: provider, notifications: notifications))
                }
            }
            var ran = [Reply?](repeating: nil, count: requests.count)
            for await (index, reply) in group { ran[index] = reply }
            return ran
        }
        for case let reply? in ran { replies.append(reply) }
        return replies
    }

    private func run(
        _ request: Request,
        _ admission: Result<InflightRequests.Admission, JSONRPCError>,
        provider: any ToolProvider,
        notifications: any NotificationSink
    ) async -> Reply? {
        let admitted: InflightRequests.Admission
        switch admission {
        case .success(let success): admitted = success
        case .failure(let refusal): return .error(request.id, refusal)
        }
        let server = server
        let handshake = handshake
        // A request that names its version in _meta is answered statelessly, whatever the session negotiated.
        let stateless = StatelessMeta.isStateless(request)
        return await inflight.run(admitted) {
            if stateless {
                await server.respondStateless(to: request, provider: provider, notifications: notifications)
            } else {
                await server.respond(
                    to: request, session: handshake, provider: provider, notifications: notifications)
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

    /// Finishes in-flight requests within `grace`, cancelling what remains; returns how many were cancelled.
    package func drain(grace: Duration) async -> Int { await inflight.drain(grace: grace) }
}
