import Synchronization

/// The process's operational counters, rendered at `/metrics` in the Prometheus text format (0.0.4).
///
/// One per process, like its stderr: every layer counts into `Metrics.process`. Fixed-shape series are atomics; the
/// only labelled family with open keys (tool × error code) is a short lock on a small dictionary. Labels never carry
/// an organisation, a token or a session: they would leak tenants and grow without bound.
package final class Metrics: Sendable {
    package static let process = Metrics()

    /// The HTTP surface a request arrived on.
    package enum Transport: Int, Sendable, CaseIterable {
        /// `/mcp` (and `/mcp/<org>`): Streamable HTTP and stateless 2026-07-28.
        case streamableHTTP
        /// `/sse` and `/messages`: legacy HTTP+SSE.
        case sse
        /// Everything else: probes, metrics, not-found.
        case other

        var label: String {
            switch self {
            case .streamableHTTP: "streamable_http"
            case .sse: "sse"
            case .other: "other"
            }
        }
    }

    /// Upper bounds of the upstream latency buckets, in seconds (`+Inf` is implicit).
    static let latencyBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

    /// Requests per transport (3) × status class 1xx…5xx (5).
    private let requests: InlineArray<15, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    /// Cumulative-later: one slot per bound plus `+Inf`; summed when rendered.
    private let latencyBuckets: InlineArray<13, Atomic<Int>> = InlineArray { _ in Atomic(0) }
    private let latencySumMicroseconds = Atomic<Int>(0)
    private let streams = Atomic<Int>(0)
    private let toolCalls = Mutex<[ToolCallKey: Int]>([:])

    private struct ToolCallKey: Hashable {
        var tool: String
        var code: String
    }

    package init() {}

    package func countRequest(_ transport: Transport, status: Int) {
        let statusClass = min(max(status / 100, 1), 5) - 1
        requests[transport.rawValue * 5 + statusClass].wrappingAdd(1, ordering: .relaxed)
    }

    /// - Parameter code: the tool error code, or `ok`.
    package func countToolCall(tool: String, code: String) {
        toolCalls.withLock { $0[ToolCallKey(tool: tool, code: code), default: 0] += 1 }
    }

    package func observeUpstreamLatency(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        let microseconds = Int(seconds) * 1_000_000 + Int(attoseconds / 1_000_000_000_000)
        let value = Double(microseconds) / 1_000_000
        let slot = Self.latencyBounds.firstIndex { value <= $0 } ?? Self.latencyBounds.count
        latencyBuckets[slot].wrappingAdd(1, ordering: .relaxed)
        latencySumMicroseconds.wrappingAdd(microseconds, ordering: .relaxed)
    }

    package func streamOpened() { streams.wrappingAdd(1, ordering: .relaxed) }
    package func streamClosed() { streams.wrappingSubtract(1, ordering: .relaxed) }
    package var openStreams: Int { streams.load(ordering: .relaxed) }

    /// The exposition text. `sessions` and `ready` are read by the caller, which owns them.
    package func render(sessions: Int, ready: Bool) -> String {
        var text = ""
        text += "# HELP nudj_mcp_http_requests_total HTTP requests answered, by transport and status class.\n"
        text += "# TYPE nudj_mcp_http_requests_total counter\n"
        for transport in Transport.allCases {
            for statusClass in 0..<5 {
                let value = requests[transport.rawValue * 5 + statusClass].load(ordering: .relaxed)
                text +=
                    "nudj_mcp_http_requests_total{transport=\"\(transport.label)\",status=\"\(statusClass + 1)xx\"} \(value)\n"
            }
        }
        text += "# HELP nudj_mcp_tool_calls_total Tool calls, by tool and outcome (ok or the error code).\n"
        text += "# TYPE nudj_mcp_tool_calls_total counter\n"
        let calls = toolCalls.withLock { $0 }.sorted { ($0.key.tool, $0.key.code) < ($1.key.tool, $1.key.code) }
        for (key, value) in calls {
            text += "nudj_mcp_tool_calls_total{tool=\"\(key.tool)\",code=\"\(key.code)\"} \(value)\n"
        }
        text += "# HELP nudj_mcp_upstream_request_duration_seconds Nudj API call latency.\n"
        text += "# TYPE nudj_mcp_upstream_request_duration_seconds histogram\n"
        var cumulative = 0
        for (index, bound) in Self.latencyBounds.enumerated() {
            cumulative += latencyBuckets[index].load(ordering: .relaxed)
            text += "nudj_mcp_upstream_request_duration_seconds_bucket{le=\"\(bound)\"} \(cumulative)\n"
        }
        cumulative += latencyBuckets[Self.latencyBounds.count].load(ordering: .relaxed)
        text += "nudj_mcp_upstream_request_duration_seconds_bucket{le=\"+Inf\"} \(cumulative)\n"
        let sum = Double(latencySumMicroseconds.load(ordering: .relaxed)) / 1_000_000
        text += "nudj_mcp_upstream_request_duration_seconds_sum \(sum)\n"
        text += "nudj_mcp_upstream_request_duration_seconds_count \(cumulative)\n"
        text += "# HELP nudj_mcp_sessions Live HTTP sessions held by this replica.\n"
        text += "# TYPE nudj_mcp_sessions gauge\n"
        text += "nudj_mcp_sessions \(sessions)\n"
        text += "# HELP nudj_mcp_open_streams Open SSE streams (legacy, standalone and streamed responses).\n"
        text += "# TYPE nudj_mcp_open_streams gauge\n"
        text += "nudj_mcp_open_streams \(openStreams)\n"
        text += "# HELP nudj_mcp_ready 1 while this replica takes new work, 0 while it drains.\n"
        text += "# TYPE nudj_mcp_ready gauge\n"
        text += "nudj_mcp_ready \(ready ? 1 : 0)\n"
        return text
    }
}
