import Synchronization

/// Results worked out from client-chosen keys, remembered: bounded (emptied when full) and, with a `lifetime`,
/// forgotten after it. Only for pure functions of the key, so an entry is right for anyone presenting that key.
final class MemoTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        var expires: ContinuousClock.Instant?
    }

    private let capacity: Int
    private let lifetime: Duration?
    private let entries = Mutex<[Key: Entry]>([:])

    init(capacity: Int, lifetime: Duration? = nil) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    func value(for key: Key, make: () -> Value) -> Value {
        let now = lifetime == nil ? nil : ContinuousClock.now
        if let entry = entries.withLock({ $0[key] }), now == nil || entry.expires! > now! { return entry.value }
        let value = make()
        let expires = now.map { $0 + lifetime! }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll() }
            entries[key] = Entry(value: value, expires: expires)
        }
        return value
    }
}
