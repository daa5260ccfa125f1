import Platform
import Synchronization

/// What other threads tell the client loop, and the wake-up that makes it look.
final class ClientInbox: Sendable {
    enum Message: Sendable {
        case start(PendingCall)
        case cancel(UInt64)
        /// A host lookup ended (nil: it could not run).
        case resolved(key: String, addresses: [SocketAddress]?)
        case shutdown
    }

    let wakeUp: WakeUp
    private let messages = Mutex<[Message]>([])

    init() throws(SystemError) { wakeUp = try WakeUp() }

    /// Any thread: queues a message and wakes the loop. Only the first message into an empty inbox signals: the
    /// loop takes everything queued each time it looks, so under load many calls share one wake-up.
    func post(_ message: Message) {
        let wasEmpty = messages.withLock { messages in
            messages.append(message)
            return messages.count == 1
        }
        if wasEmpty { wakeUp.signal() }
    }

    /// The loop thread: everything posted so far, oldest first.
    func take() -> [Message] {
        messages.withLock { messages in
            defer { messages.removeAll(keepingCapacity: true) }
            return messages
        }
    }
}
