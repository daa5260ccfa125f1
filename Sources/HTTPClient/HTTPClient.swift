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
    /// When TLS is set up (OpenSSL's initialisation and the system trust store: a few milliseconds of CPU where roots
    /// are looked up in a hashed directory, tens where the whole bundle is decoded). A `caFile` is always read in
    /// `init`, so a bad one stops the process at start.
    package var trustStoreLoading = TrustStoreLoading.atStart

    package enum TrustStoreLoading: Sendable {
        /// In `init`: a server says it is ready only once TLS works.
        case atStart
        /// On a thread of its own once the start is over (`BackgroundTrustStore`): a process whose start-up time is
        /// felt (stdio) and whose API is HTTPS.
        case inBackground
        /// At the first TLS connection: a process whose API is plain HTTP (the sandbox, a local API) may never
        /// need it.
        case onFirstUse
    }

    package init() {}
}

/// The client could not start (no selector, or a TLS context it cannot build, such as an unreadable CA file).
package struct HTTPClientSetupError: Error, CustomStringConvertible {
    package var description: String
}

/// An HTTP/1.1 client on one event-loop thread: keep-alive pools per origin, TLS through the system's OpenSSL, no
/// redirects (a 3xx is returned as is), no cookies, no cache.
///
/// Host names are resolved by the loop's `HostResolver`, on threads of its own, so the loop never blocks.
package final class HTTPClient: Sendable {
    let loop: ClientLoop
    private let nextID = Atomic<UInt64>(1)

    /// - Parameter hosted: the client runs on another loop's thread (see `guest`) instead of starting its own.
    package convenience init(
        configuration: HTTPClientConfiguration = HTTPClientConfiguration(), hosted: Bool = false
    ) throws(HTTPClientSetupError) {
        try self.init(configuration: configuration, hosted: hosted, tls: Self.trustStore(configuration))
    }

    /// `count` clients to be hosted by the loops of one HTTP server (one each), sharing one TLS context, built now
    /// whatever `trustStoreLoading` says: a server says it is ready only once TLS works.
    package static func hosted(
        count: Int, configuration: HTTPClientConfiguration
    ) throws(HTTPClientSetupError) -> [HTTPClient] {
        var configuration = configuration
        configuration.trustStoreLoading = .atStart
        let tls = try trustStore(configuration)
        var clients: [HTTPClient] = []
        for _ in 0..<count { clients.append(try HTTPClient(configuration: configuration, hosted: true, tls: tls)) }
        return clients
    }

    /// A private CA file is always read now, so a bad one stops the process at start; otherwise the system trust
    /// store may wait (see `trustStoreLoading`).
    private static func trustStore(_ configuration: HTTPClientConfiguration) throws(HTTPClientSetupError) -> TrustStore
    {
        switch (configuration.caFile, configuration.trustStoreLoading) {
        case (nil, .inBackground): return .loading(BackgroundTrustStore(after: .milliseconds(100)))
        case (nil, .onFirstUse): return .loading(BackgroundTrustStore(after: nil))
        default:
            do { return .ready(try TLSContext(caFile: configuration.caFile)) } catch {
                throw HTTPClientSetupError(description: error.description)
            }
        }
    }

    private init(
        configuration: HTTPClientConfiguration, hosted: Bool, tls: TrustStore
    ) throws(HTTPClientSetupError) {
        do {
            let backend = (try? EventBackend.fromEnvironment()) ?? .platformDefault
            loop = try ClientLoop(
                configuration: configuration, selector: hosted ? nil : backend.makeSelector(), tls: tls)
        } catch {
            throw HTTPClientSetupError(description: "cannot start the HTTP client loop: \(error)")
        }
        self.hosted = hosted
        guard !hosted else { return }
        let loop = self.loop
        OSThread.start { loop.run() }
    }

    private let hosted: Bool

    /// A hosted client's loop, for the host to attach (one of `HTTPServer`'s `guests`); nil for a client with its own
    /// thread. Until it is attached, calls wait in its inbox.
    package var guest: (any LoopGuest)? { hosted ? loop : nil }

    /// Whether the caller runs on this client's loop thread (its own, or its host's).
    package var isOnLoopThread: Bool { loop.isLoopThread }

    /// The loop thread as a task executor: a task that prefers it continues there after each call's response,
    /// without a hop through the concurrency pool; it can read a stdio session's input too. Only for work that is
    /// light and never blocks (one stdio session): while it runs, the loop serves no other connection.
    package var taskExecutor: any SessionLoop { loop }

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
        if Task.isCancelled { return .failure(.cancelled) }
        let token = CallToken(id: nextID.wrappingAdd(1, ordering: .relaxed).oldValue)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let call = PendingCall(
                    token: token, origin: origin, outbound: bytes, method: request.method,
                    deadline: deadline, continuation: continuation)
                // A client already shut down answers at once instead of leaving the caller waiting forever.
                if !loop.post(.start(call)) { continuation.resume(returning: .failure(.cancelled)) }
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

extension Duration {
    /// Whole nanoseconds, clamped to zero and to a century.
    var clientNanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        guard seconds < 3_000_000_000 else { return 3_000_000_000 * 1_000_000_000 }
        return UInt64(seconds) * 1_000_000_000 + UInt64(max(0, attoseconds / 1_000_000_000))
    }
}
