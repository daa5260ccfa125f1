import JSONRPC
import Log
import Synchronization

/// Where notifications about a request (progress, log messages) are delivered: stdout, an SSE stream, …
package protocol NotificationSink: Sendable {
    func send(_ notification: Notification)
}

/// A sink that drops everything (e.g. an HTTP request answered with plain JSON and no open stream).
package struct DiscardingNotificationSink: NotificationSink {
    package init() {}
    package func send(_ notification: Notification) {}
}

/// Sends `notifications/progress` for one request, if and only if the client asked with a `progressToken`.
///
/// Progress only ever increases and stops once the request has been answered, as the spec requires.
package final class ProgressReporter: Sendable {
    private let token: JSONValue?
    private let sink: any NotificationSink
    private let state = Mutex<(last: Double, active: Bool)>((-.infinity, true))

    package init(token: JSONValue?, sink: any NotificationSink) {
        self.token = token
        self.sink = sink
    }

    package static let disabled = ProgressReporter(token: nil, sink: DiscardingNotificationSink())

    /// `message` is only built when the client asked for progress.
    package func report(_ progress: Double, total: Double? = nil, message: @autoclosure () -> String? = nil) {
        guard let token else { return }
        let accepted = state.withLock { state -> Bool in
            guard state.active, progress > state.last else { return false }
            state.last = progress
            return true
        }
        guard accepted else { return }
        var params: JSONObject = ["progressToken": token, "progress": .double(progress)]
        if let total { params.appendUnchecked("total", .double(total)) }
        if let message = message() { params.appendUnchecked("message", .string(message)) }
        sink.send(Notification(method: "notifications/progress", params: params))
    }

    /// Called when the response is about to be sent: no progress may follow it.
    package func finish() { state.withLock { $0.active = false } }
}

/// Sends `notifications/message` to the client at or above the level the client chose.
///
/// Handshake-era sessions choose with `logging/setLevel` (and may change it mid-call); stateless requests choose per request
/// in `_meta`. Without a choice nothing is sent.
package struct ClientLogger: Sendable {
    private let threshold: @Sendable () -> LogLevel?
    private let sink: any NotificationSink
    private let logger: String

    package init(
        logger: String = "nudj-mcp", threshold: @escaping @Sendable () -> LogLevel?, sink: any NotificationSink
    ) {
        self.logger = logger
        self.threshold = threshold
        self.sink = sink
    }

    package static let disabled = ClientLogger(threshold: { nil }, sink: DiscardingNotificationSink())

    /// `data` is only built when the client's level lets the message through.
    package func log(_ level: LogLevel, _ data: @autoclosure () -> JSONValue) {
        guard let minimum = threshold(), level >= minimum else { return }
        let params: JSONObject = ["level": .string(level.name), "logger": .string(logger), "data": data()]
        sink.send(Notification(method: "notifications/message", params: params))
    }
}
