import JSONRPC
import Log

/// Duplex channels (stdio, a legacy HTTP+SSE stream): every reply and notification goes down one channel, requests
/// run concurrently and each answer is sent when it is ready.
extension Dispatcher {
    /// Handles one JSON text. Returns once the message is admitted (so the next one sees its effects); requests run
    /// concurrently and reply when each finishes.
    package func receive(_ bytes: [UInt8], on channel: any MessageChannel, provider: any ToolProvider) {
        let value: JSONValue
        do {
            value = try JSONParser.parse(bytes)
        } catch {
            logger.warning("unparseable message", [("error", error.description)])
            channel.send(JSONRPC.errorResponse(id: nil, error: JSONRPC.parseError(error)))
            return
        }
        receive(value, on: channel, provider: provider)
    }

    /// Handles one parsed message (or batch).
    package func receive(_ value: JSONValue, on channel: any MessageChannel, provider: any ToolProvider) {
        let accepted = accept(value, provider: provider)
        if let refusal = accepted.refusal {
            channel.send(JSONRPC.errorResponse(id: nil, error: refusal))
            return
        }
        guard !accepted.requests.isEmpty else {
            send(accepted.immediate, batch: accepted.isBatch, on: channel)
            return
        }
        // Admitted here, on the receiving thread, so the next message sees them (a duplicate id, a cancellation).
        let admitted = admit(accepted)
        // Starts on this thread and runs until its first suspension: quick requests are answered without a hop.
        Task.immediate(executorPreference: inflight.executor) {
            await self.inflight.answering {
                let notifications = ChannelNotificationSink(channel: channel)
                let replies = await self.answer(admitted, provider: provider, notifications: notifications)
                self.send(replies, batch: accepted.isBatch, on: channel)
            }
        }
    }

    /// Answers a message that was dropped for exceeding the size limit.
    package func rejectOversized(byteCount: Int, limit: Int, on channel: any MessageChannel) {
        logger.warning("message over size limit", [("bytes", String(byteCount)), ("limit", String(limit))])
        let error = JSONRPCError(
            .invalidRequest,
            "Invalid Request: message of \(byteCount) bytes exceeds the \(limit)-byte limit"
        )
        channel.send(JSONRPC.errorResponse(id: nil, error: error))
    }

    /// A batch's replies go as one array (none at all for a batch of notifications); single replies one by one.
    private func send(_ replies: [Reply], batch: Bool, on channel: any MessageChannel) {
        if batch {
            if !replies.isEmpty { channel.send(.array(replies.map(\.json))) }
        } else {
            for reply in replies { channel.send(reply.json) }
        }
    }
}
