import JSONRPC
import MCP
import Synchronization

/// Records the notifications a call sends (its own file: Foundation also declares a `Notification`).
final class NotificationRecorder: NotificationSink {
    let sent = Mutex<[Notification]>([])
    func send(_ notification: Notification) { sent.withLock { $0.append(notification) } }
}
