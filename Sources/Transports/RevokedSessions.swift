import Synchronization

/// Session ids a client ended with DELETE, refused by this replica until they would have expired anyway.
///
/// Best effort by design: a sealed id stays valid on other replicas (there is no shared state), where it is still
/// useless without the credential that opened it. Bounded: past `capacity` the oldest entries are forgotten.
final class RevokedSessions: Sendable {
    private struct State {
        var expiries: [String: Int64] = [:]
        var order: [String] = []
    }

    private let state = Mutex(State())
    private let capacity: Int

    init(capacity: Int) { self.capacity = capacity }

    func revoke(_ id: String, until expiresAt: Int64) {
        state.withLock { state in
            guard state.expiries.updateValue(expiresAt, forKey: id) == nil else { return }
            state.order.append(id)
            if state.order.count > capacity {
                let dropped = state.order.count - capacity
                for old in state.order.prefix(dropped) { state.expiries[old] = nil }
                state.order.removeFirst(dropped)
            }
        }
    }

    func isRevoked(_ id: String, now: Int64) -> Bool {
        state.withLock { state in
            guard let expiresAt = state.expiries[id] else { return false }
            return now < expiresAt
        }
    }
}
