import Foundation
import Synchronization

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The production transport: one shared URLSession, so connections to the Nudj API are reused across calls.
///
/// Redirects are never followed (a 3xx comes back as is): the server must only ever talk to the allowlisted host it
/// built the URL for. No cookies, no cache.
package final class URLSessionTransport: UpstreamTransport {
    private let maxConnectionsPerHost: Int
    /// Created on first use: starting URLSession (and curl) costs milliseconds a server that is only asked for
    /// `initialize` or `tools/list` should not pay at start-up.
    private let lazySession = Mutex<URLSession?>(nil)

    package init(maxConnectionsPerHost: Int = 64) { self.maxConnectionsPerHost = maxConnectionsPerHost }

    private var session: URLSession {
        lazySession.withLock { session in
            if let session { return session }
            let configuration = URLSessionConfiguration.ephemeral
            configuration.httpMaximumConnectionsPerHost = maxConnectionsPerHost
            configuration.httpCookieStorage = nil
            configuration.httpShouldSetCookies = false
            configuration.urlCache = nil
            configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
            let created = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
            session = created
            return created
        }
    }

    /// Sends with a hard deadline: URLSession's own timeout only measures idle time, so a body trickling in byte by
    /// byte would never time out. Losing the race cancels the URLSession task.
    package func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        await withTaskGroup(of: Result<UpstreamResponse, UpstreamFailure>?.self) { group in
            group.addTask { await self.perform(request) }
            group.addTask {
                await Deadline.sleep(for: request.timeout)
                return nil
            }
            let first = await group.next() ?? nil
            group.cancelAll()
            if let first { return first }
            return Task.isCancelled ? .failure(.cancelled) : .failure(.timeout)
        }
    }

    private func perform(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        guard let url = URL(string: request.url) else { return .failure(.unreachable("invalid URL")) }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        urlRequest.timeoutInterval =
            Double(request.timeout.components.seconds)
            + Double(request.timeout.components.attoseconds) / 1e18
        for (name, value) in request.headers { urlRequest.addValue(value, forHTTPHeaderField: name) }
        if let body = request.body { urlRequest.httpBody = Data(body) }
        if Task.isCancelled { return .failure(.cancelled) }
        do {
            let (data, response) = try await session.data(for: urlRequest)
            guard let http = response as? HTTPURLResponse else { return .failure(.unreachable("not an HTTP response")) }
            var headers: [String: String] = [:]
            for (key, value) in http.allHeaderFields {
                if let name = key as? String, let value = value as? String { headers[name.lowercased()] = value }
            }
            return .success(UpstreamResponse(status: http.statusCode, headers: headers, body: [UInt8](data)))
        } catch let error as URLError {
            switch error.code {
            case .timedOut: return .failure(.timeout)
            case .cancelled: return .failure(.cancelled)
            default: return .failure(.unreachable(Self.describe(error)))
            }
        } catch is CancellationError {
            return .failure(.cancelled)
        } catch {
            return .failure(Task.isCancelled ? .cancelled : .unreachable("transport error"))
        }
    }

    private static func describe(_ error: URLError) -> String {
        switch error.code {
        case .cannotConnectToHost: "connection refused"
        case .cannotFindHost, .dnsLookupFailed: "host not found"
        case .networkConnectionLost: "connection lost"
        case .notConnectedToInternet: "no network"
        case .secureConnectionFailed, .serverCertificateUntrusted, .serverCertificateHasBadDate,
            .serverCertificateNotYetValid, .serverCertificateHasUnknownRoot:
            "TLS handshake failed"
        case .badServerResponse: "malformed response"
        default: "network error \(error.code.rawValue)"
        }
    }
}

/// A sleep whose timer is gone the moment it is cancelled. `Task.sleep` on Linux keeps its timer queued until the
/// deadline even after cancellation, so every finished call held memory for the whole upstream timeout (≈18 MB at
/// 1,000 calls/s with the 30 s default); a cancelled dispatch timer source is released at once.
private enum Deadline {
    static func sleep(for duration: Duration) async {
        let timer = Timer(DispatchSource.makeTimerSource(queue: .global()))
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                // The cancel handler runs exactly once, whether the deadline passed or the task was cancelled.
                timer.source.setCancelHandler { continuation.resume() }
                timer.source.setEventHandler { timer.source.cancel() }
                timer.source.schedule(deadline: .now() + .nanoseconds(nanoseconds(duration)))
                timer.source.activate()
            }
        } onCancel: {
            timer.source.cancel()
        }
    }

    /// Dispatch sources are thread-safe; the wrapper only tells the compiler so.
    private final class Timer: @unchecked Sendable {
        let source: any DispatchSourceTimer
        init(_ source: any DispatchSourceTimer) { self.source = source }
    }

    private static func nanoseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        guard seconds < Int64(Int.max / 1_000_000_000) else { return Int.max }
        return Int(max(0, seconds * 1_000_000_000 + attoseconds / 1_000_000_000))
    }
}

private final class RefuseRedirects: NSObject, URLSessionTaskDelegate, Sendable {
    func urlSession(
        _ session: URLSession,
        task: URLSessionTask,
        willPerformHTTPRedirection response: HTTPURLResponse,
        newRequest request: URLRequest,
        completionHandler: @escaping @Sendable (URLRequest?) -> Void
    ) {
        completionHandler(nil)
    }
}
