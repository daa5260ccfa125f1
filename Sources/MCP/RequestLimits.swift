import JSONRPC

/// How much work one client may start: the batch rules and the per-session call caps every transport enforces
/// (stdio, Streamable HTTP, legacy SSE) through `InflightRequests`.
package struct RequestLimits: Sendable, Equatable {
    /// The longest JSON-RPC batch. A batch is answered when its last element is done, so its latency is about
    /// ⌈length / maxRunningCalls⌉ upstream calls deep: 100 at 16 is 7 calls, within any client's timeout; 1,000
    /// would be 63.
    package var maxBatchLength = 100
    /// `tools/call`s one session runs at once. Agents run a handful of tools in parallel; more only spends the
    /// organisation's rate limit faster.
    package var maxRunningCalls = 16
    /// `tools/call`s one session may have waiting for a slot: more than a full batch, so a batch is never refused in
    /// part on an idle session. Past this, calls are refused at once with a retryable error.
    package var maxQueuedCalls = 256

    package init() {}

    /// Whether a request takes one of the session's call slots: only `tools/call` reaches upstream; `ping`,
    /// `tools/list` and the like answer at once and must never wait behind slow calls.
    package static func takesCallSlot(_ request: Request) -> Bool { request.method == "tools/call" }

    /// Why a batch of `length` elements is refused as a whole in a session speaking `version`, or `nil`.
    package func batchRefusal(length: Int, version: ProtocolVersion?) -> JSONRPCError? {
        guard version?.allowsBatches == true else {
            let negotiated = version.map { "protocol version \($0)" } ?? "an uninitialized session"
            return JSONRPCError(
                .invalidRequest,
                "Invalid Request: JSON-RPC batches are only allowed in protocol version 2025-03-26, not in \(negotiated)"
            )
        }
        if length == 0 { return JSONRPCError(.invalidRequest, "Invalid Request: empty batch") }
        if length > maxBatchLength {
            return JSONRPCError(
                .invalidRequest,
                "Invalid Request: batch of \(length) messages exceeds the limit of \(maxBatchLength); send at most \(maxBatchLength) per batch",
                data: ["limit": .int(Int64(maxBatchLength))]
            )
        }
        return nil
    }
}
