import HTTPClient
import Platform
import Synchronization
import TLS

/// The upstream transport on the project's own HTTP/1.1 client (`HTTPClient`): keep-alive pools per origin, TLS
/// from the system's OpenSSL. No FoundationNetworking on the call path.
///
/// One client on a loop thread of its own, or one client per HTTP server loop (`hostedLoops`), each a guest of its
/// loop: a call made on a loop's thread goes through that loop's client, so it never changes threads.
package final class NativeUpstreamTransport: UpstreamTransport {
    private let clients: [HTTPClient]
    private let nextClient = Atomic<Int>(0)

    /// - Throws: `HTTPClientSetupError` when the client cannot start (an unreadable CA file).
    /// - Parameter hostedLoops: how many HTTP server loops host a client each (see `loopGuests`); 0: one client on a
    ///   thread of its own.
    package init(configuration: HTTPClientConfiguration, hostedLoops: Int = 0) throws(HTTPClientSetupError) {
        if hostedLoops > 0 {
            clients = try HTTPClient.hosted(count: hostedLoops, configuration: configuration)
        } else {
            clients = [try HTTPClient(configuration: configuration)]
        }
    }

    /// The client of the loop the caller runs on; elsewhere (a large body parsed on the pool, a task of another
    /// loop's session), the clients in turn.
    private var client: HTTPClient {
        if clients.count == 1 { return clients[0] }
        if let local = clients.first(where: \.isOnLoopThread) { return local }
        return clients[nextClient.wrappingAdd(1, ordering: .relaxed).oldValue % clients.count]
    }

    package func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        let outcome = await client.execute(request)
        switch outcome {
        case .success(let response):
            return .success(UpstreamResponse(status: response.status, headers: response.headers, body: response.body))
        case .failure(.timeout): return .failure(.timeout)
        case .failure(.cancelled): return .failure(.cancelled)
        case .failure(.unreachable(let reason)): return .failure(.unreachable(reason))
        case .failure(.tls(let failure)): return .failure(.tls(failure))
        case .failure(.invalidResponse(let reason)): return .failure(.invalidResponse(reason))
        }
    }

    package var taskExecutor: (any SessionLoop)? { clients.count == 1 ? clients[0].taskExecutor : nil }

    package var loopGuests: [any LoopGuest] { clients.compactMap(\.guest) }

    /// Stops the clients' loops.
    package func shutdown() { for client in clients { client.shutdown() } }
}
