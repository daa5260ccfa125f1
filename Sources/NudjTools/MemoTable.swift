import Synchronization

/// Results worked out from client-chosen keys, remembered: bounded (emptied when full) and, with a `lifetime`,
/// forgotten after it. Only for pure functions of the key, so an entry is right for anyone presenting that key.
final class MemoTable<Key: Hashable & Sendable, Value: Sendable>: Sendable {
    private struct Entry: Sendable {
        var value: Value
        var expires: ContinuousClock.Instant?
    }

    private struct State: Sendable {
        var entries: [Key: Entry] = [:]
        var lastSweep = ContinuousClock.now
    }

    private let capacity: Int
    private let lifetime: Duration?
    private let state = Mutex(State())

    init(capacity: Int, lifetime: Duration? = nil) {
        self.capacity = capacity
        self.lifetime = lifetime
    }

    /// Entries held now, expired ones included until the next sweep.
    var count: Int { state.withLock { $0.entries.count } }

    func value(for key: Key, make: () -> Value) -> Value {
        let now = lifetime == nil ? nil : ContinuousClock.now
        if let entry = state.withLock({ $0.entries[key] }), now == nil || entry.expires! > now! { return entry.value }
        let value = make()
        state.withLock { state in
            if let now, let lifetime {
                // Expired entries (credentials among their keys) are dropped when a new one is made, at most once a
                // lifetime: a flood of new keys costs one sweep a minute, not one per key.
                if state.lastSweep + lifetime <= now {
                    state.entries = state.entries.filter { $0.value.expires! > now }
                    state.lastSweep = now
                }
            }
            if state.entries.count >= capacity { state.entries.removeAll() }
            state.entries[key] = Entry(value: value, expires: now.map { $0 + lifetime! })
        }
        return value
    }
}
