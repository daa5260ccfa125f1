// Apple platforms only: Linux builds use `NativeUpstreamTransport` and do not link FoundationNetworking at all
// (libcurl, ~30 shared objects, a per-request leak, and the async bridge that deadlocked under cancellation).
#if canImport(Darwin)
import Foundation
import Synchronization

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
    /// byte would never time out.
    ///
    /// Built on a completion-handler data task rather than `data(for:)`, so that no cancellation path ever calls into
    /// URLSession while the Swift runtime holds a task lock: FoundationNetworking's async bridge resumes its
    /// continuation from the session's work queue (which needs that lock), while `URLSessionTask.cancel()` waits
    /// synchronously for the same queue — cancelling from a task's cancellation handler deadlocked the process. Here
    /// the handler only schedules work on a global queue, and the URLSession task is cancelled from there.
    package func send(_ request: UpstreamRequest) async -> Result<UpstreamResponse, UpstreamFailure> {
        guard let url = URL(string: request.url) else { return .failure(.unreachable("invalid URL")) }
        var urlRequest = URLRequest(url: url)
        urlRequest.httpMethod = request.method
        // Well above the hard deadline, so URLSession's idle timer never races it.
        urlRequest.timeoutInterval = 2 * Self.seconds(request.timeout) + 10
        for (name, value) in request.headers { urlRequest.addValue(value, forHTTPHeaderField: name) }
        if let body = request.body { urlRequest.httpBody = Data(body) }
        if Task.isCancelled { return .failure(.cancelled) }

        let call = PendingCall()
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                call.begin(continuation)
                let task = session.dataTask(with: urlRequest) { data, response, error in
                    call.finish(Self.outcome(data, response, error), byTask: true)
                }
                call.attach(task, deadline: request.timeout)
                task.resume()
            }
        } onCancel: {
            // Runs under the runtime's task lock: do nothing here that can wait.
            DispatchQueue.global().async { call.finish(.failure(.cancelled)) }
        }
    }

    private static func outcome(
        _ data: Data?, _ response: URLResponse?, _ error: (any Error)?
    ) -> Result<UpstreamResponse, UpstreamFailure> {
        if let error = error as? URLError {
            switch error.code {
            case .timedOut: return .failure(.timeout)
            case .cancelled: return .failure(.cancelled)
            default: return .failure(.unreachable(describe(error)))
            }
        }
        if error != nil { return .failure(.unreachable("transport error")) }
        guard let http = response as? HTTPURLResponse else { return .failure(.unreachable("not an HTTP response")) }
        var headers: [String: String] = [:]
        for (key, value) in http.allHeaderFields {
            if let name = key as? String, let value = value as? String { headers[name.lowercased()] = value }
        }
        return .success(UpstreamResponse(status: http.statusCode, headers: headers, body: [UInt8](data ?? Data())))
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
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

/// One upstream call in flight: whichever comes first — the response, the deadline or cancellation — finishes it
/// exactly once. Losing outcomes are dropped; the URLSession task is then cancelled from a global queue, never from
/// the thread that finished the call (which may be URLSession's own work queue or a cancellation handler).
private final class PendingCall: Sendable {
    private struct State {
        var continuation: CheckedContinuation<Result<UpstreamResponse, UpstreamFailure>, Never>?
        var running: Running?
        var outcome: Result<UpstreamResponse, UpstreamFailure>?
    }

    private let state = Mutex(State())

    func begin(_ continuation: CheckedContinuation<Result<UpstreamResponse, UpstreamFailure>, Never>) {
        let early = state.withLock { state -> Result<UpstreamResponse, UpstreamFailure>? in
            if let outcome = state.outcome { return outcome }
            state.continuation = continuation
            return nil
        }
        if let early { continuation.resume(returning: early) }
    }

    /// Keeps the task (to cancel it if another outcome wins) and arms the hard deadline.
    func attach(_ task: URLSessionDataTask, deadline: Duration) {
        let running = Running(task: task, deadline: deadline) { [weak self] in self?.finish(.failure(.timeout)) }
        let finished = state.withLock { state -> Bool in
            guard state.outcome == nil else { return true }
            state.running = running
            return false
        }
        if finished { running.stop(cancelTask: true) } else { running.arm() }
    }

    /// Ends the call with `outcome` unless it has already ended. `byTask` is true when URLSession delivered it (the
    /// task is then complete and needs no cancelling).
    func finish(_ outcome: Result<UpstreamResponse, UpstreamFailure>, byTask: Bool = false) {
        let taken = state.withLock { state -> Taken? in
            guard state.outcome == nil else { return nil }
            state.outcome = outcome
            defer {
                state.continuation = nil
                state.running = nil
            }
            return Taken(continuation: state.continuation, running: state.running)
        }
        guard let taken else { return }
        taken.running?.stop(cancelTask: !byTask)
        taken.continuation?.resume(returning: outcome)
    }

    private struct Taken {
        var continuation: CheckedContinuation<Result<UpstreamResponse, UpstreamFailure>, Never>?
        var running: Running?
    }
}

/// A URLSession task and its deadline timer. Both are safe to use from any thread; the toolchain does not mark
/// them `Sendable`.
private struct Running: @unchecked Sendable {
    let task: URLSessionDataTask
    /// A dispatch timer is released the moment it is cancelled; `Task.sleep` on Linux keeps its timer (and memory)
    /// until the deadline even when cancelled.
    let timer: any DispatchSourceTimer

    init(task: URLSessionDataTask, deadline: Duration, onDeadline: @escaping @Sendable () -> Void) {
        self.task = task
        timer = DispatchSource.makeTimerSource(queue: .global())
        timer.setEventHandler(handler: onDeadline)
        timer.schedule(deadline: .now() + .nanoseconds(Self.nanoseconds(deadline)))
    }

    func arm() { timer.activate() }

    /// Cancels the timer, and the task from a global queue: `URLSessionTask.cancel()` waits for the session's work
    /// queue, so it must never run on a thread that queue may be waiting for.
    func stop(cancelTask: Bool) {
        timer.cancel()
        timer.activate()  // a no-op when armed; libdispatch traps on releasing a source never activated
        if cancelTask { DispatchQueue.global().async { [task] in task.cancel() } }
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
#endif
