import Platform

/// Host names to addresses, for the loop thread alone: a short cache, and lookups on threads of their own, since
/// `getaddrinfo` blocks and cannot be interrupted. Never on a shared pool: a pool busy with other work would hold a
/// lookup back past its call's deadline. The loop enforces deadlines and cancellation on waiting calls as on any.
final class HostResolver {
    private struct Entry {
        var addresses: [SocketAddress]
        var expires: UInt64
    }

    /// At most this many lookups run at once; more wait their turn (a hung resolver holds at most this many threads).
    private static let maxLookups = 4
    private static let maxCachedNames = 1024

    private let ttl: UInt64
    private let report: @Sendable (_ key: String, _ addresses: [SocketAddress]?) -> Void
    private var cache: [String: Entry] = [:]
    private var waiting: [String: [PendingCall]] = [:]
    private var queued: [(key: String, host: String, port: Int)] = []
    private var running = 0

    /// - Parameter report: called on a lookup's thread with its answer (nil: no thread could run it); it must hand
    ///   the answer to the loop, which then calls `finished`.
    init(ttl: UInt64, report: @escaping @Sendable (_ key: String, _ addresses: [SocketAddress]?) -> Void) {
        self.ttl = ttl
        self.report = report
    }

    /// Address literals at once, cached names at once; otherwise nil, and `call` waits for a lookup.
    func addresses(for call: PendingCall) -> [SocketAddress]? {
        let host = call.origin.host
        let key = "\(host):\(call.origin.port)"
        if let entry = cache[key], entry.expires > monotonicNanoseconds() { return entry.addresses }
        if Socket.isAddressLiteral(host) {
            let addresses = Socket.resolve(host: host, port: call.origin.port)
            store(addresses, for: key)
            return addresses
        }
        if waiting[key] != nil {
            waiting[key]!.append(call)
            return nil
        }
        waiting[key] = [call]
        // RFC 6761: every `*.localhost` name is loopback (curl and browsers do this; glibc's resolver does not).
        let name = host.hasSuffix(".localhost") ? "localhost" : host
        queued.append((key, name, call.origin.port))
        startQueued()
        return nil
    }

    /// A lookup ended: caches a non-empty answer and returns the calls that waited for it.
    func finished(_ key: String, _ addresses: [SocketAddress]?) -> [PendingCall] {
        running -= 1
        if let addresses { store(addresses, for: key) }
        startQueued()
        return waiting.removeValue(forKey: key) ?? []
    }

    /// A waiting call ended (deadline or cancellation) before its lookup did.
    func forget(_ call: PendingCall) {
        let key = "\(call.origin.host):\(call.origin.port)"
        waiting[key]?.removeAll { $0 === call }
    }

    private func store(_ addresses: [SocketAddress], for key: String) {
        guard !addresses.isEmpty else { return }
        if cache.count >= Self.maxCachedNames { cache.removeAll() }
        cache[key] = Entry(addresses: addresses, expires: monotonicNanoseconds() &+ ttl)
    }

    private func startQueued() {
        while running < Self.maxLookups, !queued.isEmpty {
            let (key, host, port) = queued.removeFirst()
            running += 1
            let report = self.report
            if !OSThread.tryStart({ report(key, Socket.resolve(host: host, port: port)) }) { report(key, nil) }
        }
    }
}
