import Dispatch
import Platform
import Synchronization
import TLS

/// The native client's limits and trust.
package struct HTTPClientConfiguration: Sendable {
    /// Connections open at once to one origin; further calls wait (within their deadline) for one to free up.
    package var maxConnectionsPerOrigin = 64
    /// An idle keep-alive connection is closed after this long (below Node's 5 s default, so the client closes
    /// first rather than racing the server).
    package var idleTimeout: Duration = .seconds(4)
    /// TCP connect plus TLS handshake.
    package var connectTimeout: Duration = .seconds(10)
    /// The largest decoded response body accepted.
    package var maxResponseBytes = 32 * 1024 * 1024
    /// How long a resolved host name is reused.
    package var dnsCacheTTL: Duration = .seconds(10)
    /// A PEM file of extra trusted CA certificates (a private CA), added to the system trust store.
    package var caFile: String?

    package init() {}
}

/// The client could not start (no selector, or a TLS context it cannot build, such as an unreadable CA file).
package struct HTTPClientSetupError: Error, CustomStringConvertible {
    package var description: String
}

/// An HTTP/1.1 client on one event-loop thread: keep-alive pools per origin, TLS through the system's OpenSSL, no
/// redirects (a 3xx is returned as is), no cookies, no cache.
///
/// DNS is resolved on a dispatch queue before a call reaches the loop, so the loop never blocks.
package final class HTTPClient: Sendable {
    private let loop: ClientLoop
    private let addresses: AddressCache
    private let nextID = Atomic<UInt64>(1)

    package init(configuration: HTTPClientConfiguration = HTTPClientConfiguration()) throws(HTTPClientSetupError) {
        #if canImport(COpenSSL)
        let tls: TLSContext
        do { tls = try TLSContext(caFile: configuration.caFile) } catch {
            throw HTTPClientSetupError(description: error.description)
        }
        #else
        let tls = TLSContext()
        #endif
        do {
            let backend = (try? EventBackend.fromEnvironment()) ?? .platformDefault
            loop = try ClientLoop(configuration: configuration, selector: backend.makeSelector(), tls: tls)
        } catch {
            throw HTTPClientSetupError(description: "cannot start the HTTP client loop: \(error)")
        }
        addresses = AddressCache(ttl: configuration.dnsCacheTTL)
        let loop = self.loop
        OSThread.start { loop.run() }
    }

    /// Stops the loop thread; calls in flight end as cancelled. For tests and orderly shutdown.
    package func shutdown() { loop.post(.shutdown) }

    /// Sends `request` and returns the response, or why there is none. Cancelling the calling task closes the
    /// connection the request was using.
    package func execute(_ request: HTTPClientRequest) async -> Result<HTTPClientResponse, HTTPClientFailure> {
        let deadline = monotonicNanoseconds() &+ request.timeout.clientNanoseconds
        guard let (origin, target, authority) = Origin.parse(request.url) else {
            return .failure(.unreachable("invalid URL"))
        }
        guard let bytes = request.encoded(target: target, authority: authority) else {
            return .failure(.unreachable("invalid request header"))
        }
        guard let resolved = await addresses.resolve(host: origin.host, port: origin.port, within: request.timeout)
        else { return .failure(.timeout) }
        guard !resolved.isEmpty else { return .failure(.unreachable("host not found")) }
        if Task.isCancelled { return .failure(.cancelled) }
        let token = CallToken(id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let call = PendingCall(
                    token: token, origin: origin, addresses: resolved, outbound: bytes, method: request.method,
                    deadline: deadline, continuation: continuation)
                loop.post(.start(call))
            }
        } onCancel: {
            // Runs under the runtime's task lock: only flag and post, never wait.
            token.cancelled.store(true, ordering: .releasing)
            loop.post(.cancel(token.id))
        }
    }
}

/// Identifies a call across threads; `cancelled` is set before the cancel message is posted, so a call the loop
/// has not started yet is refused when it arrives.
final class CallToken: Sendable {
    let id: UInt64
    let cancelled = Atomic<Bool>(false)
    init(id: UInt64) { self.id = id }
}

/// Resolved addresses per host and port, reused for `ttl`. Failures are not cached.
final class AddressCache: Sendable {
    private struct Entry {
        var addresses: [SocketAddress]
        var expires: UInt64
    }

    private let ttl: UInt64
    private let entries = Mutex<[String: Entry]>([:])

    init(ttl: Duration) { self.ttl = ttl.clientNanoseconds }

    /// - Returns: the addresses (empty: the name has none), or nil when the resolver did not answer within
    ///   `timeout` (getaddrinfo cannot be interrupted; its answer is still cached when it comes).
    func resolve(host: String, port: Int, within timeout: Duration) async -> [SocketAddress]? {
        let key = "\(host):\(port)"
        let now = monotonicNanoseconds()
        if let cached = entries.withLock({ $0[key] }), cached.expires > now { return cached.addresses }
        // RFC 6761: every `*.localhost` name is loopback (curl and browsers do this; glibc's resolver does not).
        let name = host.hasSuffix(".localhost") ? "localhost" : host
        return await withCheckedContinuation { continuation in
            let once = Mutex<CheckedContinuation<[SocketAddress]?, Never>?>(continuation)
            DispatchQueue.global().async {
                let addresses = Socket.resolve(host: name, port: port)
                self.store(addresses, for: key)
                once.withLock { $0.take() }?.resume(returning: addresses)
            }
            DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(Int(timeout.clientNanoseconds))) {
                once.withLock { $0.take() }?.resume(returning: nil)
            }
        }
    }

    private func store(_ addresses: [SocketAddress], for key: String) {
        if !addresses.isEmpty {
            let entry = Entry(addresses: addresses, expires: monotonicNanoseconds() &+ ttl)
            entries.withLock { entries in
                if entries.count > 1024 { entries.removeAll() }
                entries[key] = entry
            }
        }
    }
}

extension Duration {
    /// Whole nanoseconds, clamped to zero and to a century.
    var clientNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        guard seconds < 3_000_000_000 else { return 3_000_000_000 * 1_000_000_000 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
    }
}
