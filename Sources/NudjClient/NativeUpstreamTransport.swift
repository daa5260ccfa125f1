import HTTPClient
import Platform
import TLS

/// The upstream transport on the project's own HTTP/1.1 client (`HTTPClient`): one loop thread, keep-alive pools
/// per origin, TLS from the system's OpenSSL. No FoundationNetworking on the call path.
package final class NativeUpstreamTransport: UpstreamTransport {
    private let client: HTTPClient

    /// - Throws: `HTTPClientSetupError` when the client cannot start (an unreadable CA file).
    /// - Parameter hosted: the client runs on the HTTP server's loop thread (see `loopGuest`).
    package init(configuration: HTTPClientConfiguration, hosted: Bool = false) throws(HTTPClientSetupError) {
        client = try HTTPClient(configuration: configuration, hosted: hosted)
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

    package var taskExecutor: (any TaskExecutor)? { client.taskExecutor }

    package var loopGuest: (any LoopGuest)? { client.guest }

    /// Stops the client's loop thread.
    package func shutdown() { client.shutdown() }
}
