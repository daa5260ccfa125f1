import JSONRPC

/// A duplex message channel: every outgoing message (responses and notifications) goes down the same pipe.
///
/// stdout on stdio; the SSE stream of a legacy HTTP+SSE session.
package protocol MessageChannel: Sendable {
    func send(_ message: JSONValue)
}

/// Notifications for requests on a duplex channel simply go down the channel.
struct ChannelNotificationSink: NotificationSink {
    let channel: any MessageChannel
    func send(_ notification: Notification) { channel.send(notification.json) }
}
