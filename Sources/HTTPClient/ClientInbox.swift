import Platform
import Synchronization

/// What other threads tell the client loop, and the wake-up that makes it look.
final class ClientInbox: Sendable {
    enum Message: Sendable {
        case start(PendingCall)
        case cancel(UInt64)
        /// A host lookup ended (nil: it could not run).
        case resolved(key: String, addresses: [SocketAddress]?)
        /// Work of a task that prefers the loop as its executor (`HTTPClient.taskExecutor`).
        case job(UnownedJob)
        /// A stdio session's input, read on the loop (`SessionLoop.watchInput`).
        case watchInput(InputWatch)
        case resumeInput
        case shutdown
    }

    /// A descriptor read on the loop's thread for its owner (`SessionLoop`).
    struct InputWatch: Sendable {
        var fd: Int32
        var onReadable: @Sendable () -> InputDemand
        var onEnd: @Sendable () -> Void
    }

    let wakeUp: WakeUp
    /// nil once the loop has shut down.
    private let messages = Mutex<[Message]?>([])

    init() throws(SystemError) { wakeUp = try WakeUp() }

    /// Any thread: queues a message and wakes the loop. Only the first message into an empty inbox signals: the
    /// loop takes everything queued each time it looks, so under load many calls share one wake-up.
    ///
    /// - Parameter wake: false on the loop's own thread, which checks the inbox before it waits.
    /// - Returns: false when the loop has shut down and will never see the message.
    @discardableResult
    func post(_ message: Message, wake: Bool = true) -> Bool {
        let wasEmpty = messages.withLock { messages -> Bool? in
            guard messages != nil else { return nil }
            messages!.append(message)
            return messages!.count == 1
        }
        guard let wasEmpty else { return false }
        if wasEmpty && wake { wakeUp.signal() }
        return true
    }

    var isEmpty: Bool { messages.withLock { $0?.isEmpty ?? true } }

    /// The loop thread: everything posted so far, oldest first.
    func take() -> [Message] {
        messages.withLock { messages in
            defer { messages?.removeAll(keepingCapacity: true) }
            return messages ?? []
        }
    }

    /// The loop thread, at shutdown: refuses every later message and returns those it never took.
    func close() -> [Message] {
        let left = messages.withLock { messages in
            defer { messages = nil }
            return messages ?? []
        }
        wakeUp.close()
        return left
    }
}
