import Codecs
import JSONRPC
import Log
import Tenancy

#if canImport(FoundationEssentials)
import FoundationEssentials
#else
import Foundation
#endif

/// One call to a Nudj API, before tenancy is applied: which API, method, path (already percent-encoded), query,
/// JSON body and optional content language.
package struct APICall: Sendable {
    package var api: NudjAPI
    package var method: String
    package var path: String
    package var query: [(name: String, value: String)]
    package var body: JSONValue?
    package var language: String?

    package init(
        api: NudjAPI,
        method: String,
        path: String,
        query: [(name: String, value: String)] = [],
        body: JSONValue? = nil,
        language: String? = nil
    ) {
        self.api = api
        self.method = method
        self.path = path
        self.query = query
        self.body = body
        self.language = language
    }
}

/// The result of an API call: the response (any status) or a transport failure, plus what the client learnt.
package struct CallOutcome: Sendable {
    package var result: Result<UpstreamResponse, UpstreamFailure>
    /// How many HTTP requests were made (2 when a rate-limited GET was retried).
    package var attempts: Int
    package var url: String
}

/// Calls the Nudj API for one tenant: builds the URL from the tenant's allowlisted domain (never from arguments),
/// adds credentials and standard headers, and retries a rate-limited GET once when the wait is short.
package struct NudjClient: Sendable {
    package let transport: any UpstreamTransport
    package let userAgent: String
    package let timeout: Duration
    /// The longest wait a 429 on a GET may be retried after, automatically.
    package let maxAutomaticRetryWait: Double
    /// Shared by every copy of this client: the process-wide cap on concurrent upstream requests.
    package let limiter: UpstreamLimiter
    package let logger: Logger

    package init(
        transport: any UpstreamTransport,
        version: String,
        timeout: Duration = .seconds(30),
        maxAutomaticRetryWait: Double = 2,
        maxConcurrentRequests: Int = 256,
        logger: Logger
    ) {
        self.transport = transport
        userAgent = "nudj-mcp/\(version)"
        self.timeout = timeout
        self.maxAutomaticRetryWait = maxAutomaticRetryWait
        limiter = UpstreamLimiter(limit: maxConcurrentRequests)
        self.logger = logger
    }

    package func send(
        _ call: APICall,
        tenant: TenantContext,
        onRetry: @Sendable (Double) -> Void = { _ in }
    ) async -> CallOutcome {
        var request = build(call, tenant: tenant)
        // Waiting for a turn counts toward the call's deadline: the caller sees one timeout, however it is spent.
        let started = ContinuousClock.now
        guard await limiter.acquire(deadline: started + timeout) else {
            return CallOutcome(
                result: .failure(Task.isCancelled ? .cancelled : .timeout), attempts: 0, url: request.url)
        }
        defer { limiter.release() }
        request.timeout = timeout - started.duration(to: .now)
        guard request.timeout > .zero else {
            return CallOutcome(result: .failure(.timeout), attempts: 0, url: request.url)
        }
        var attempts = 1
        var result = await timed { await transport.send(request) }
        if case .success(let response) = result, response.status == 429, call.method == "GET",
            let wait = RateLimit.retryAfterSeconds(response.headers, now: Date().timeIntervalSince1970),
            wait <= maxAutomaticRetryWait
        {
            onRetry(wait)
            logger.info(
                "rate limited; retrying once", [("wait_s", String(wait)), ("organisation", tenant.domain.organisation)])
            do {
                try await Task.sleep(for: .milliseconds(Int64(wait * 1000) + 50))
                attempts = 2
                result = await timed { await transport.send(request) }
            } catch {
                result = .failure(.cancelled)
            }
        }
        return CallOutcome(result: result, attempts: attempts, url: request.url)
    }

    /// Runs one upstream exchange, recording its latency in the process metrics.
    private func timed(
        _ exchange: () async -> Result<UpstreamResponse, UpstreamFailure>
    ) async -> Result<UpstreamResponse, UpstreamFailure> {
        let started = ContinuousClock.now
        let result = await exchange()
        Metrics.process.observeUpstreamLatency(ContinuousClock.now - started)
        return result
    }

    /// The exact request for a call: the only place credentials are put on the wire.
    package func build(_ call: APICall, tenant: TenantContext) -> UpstreamRequest {
        var url = tenant.domain.baseURL(call.api) + call.path
        if !call.query.isEmpty {
            url += "?" + call.query.map { "\(Self.encode($0.name))=\(Self.encode($0.value))" }.joined(separator: "&")
        }
        var headers: [(name: String, value: String)] = [("User-Agent", userAgent), ("Accept", "application/json")]
        switch tenant.credential.kind {
        case .bearer:
            headers.append(("Authorization", "Bearer " + tenant.credential.secret.reveal()))
            headers.append(("x-api-domain", tenant.domain.headerValue))
        case .apiToken:
            headers.append(("x-api-token", tenant.credential.secret.reveal()))
        }
        if let language = call.language { headers.append(("x-language", language)) }
        var body: [UInt8]?
        if let payload = call.body {
            body = JSONWriter.encode(payload)
            headers.append(("Content-Type", "application/json"))
        }
        return UpstreamRequest(method: call.method, url: url, headers: headers, body: body, timeout: timeout)
    }

    private static func encode(_ text: String) -> String { PercentEncoding.encode(text) }
}

/// Rate-limit headers as Nudj documents them (`X-RateLimit-Reset` in epoch seconds) plus standard `Retry-After`.
package enum RateLimit {
    /// Seconds until a retry may succeed, or `nil` when the response does not say. Clamped to a day: the value comes
    /// from the network and must never be non-finite or absurd (it is formatted and converted downstream).
    package static func retryAfterSeconds(_ headers: [String: String], now: Double) -> Double? {
        func clamp(_ value: Double) -> Double? { value.isFinite ? min(max(0, value), 86_400) : nil }
        if let value = headers["retry-after"].flatMap({ Double(Substring($0).trimmingASCIIWhitespace()) }) {
            return clamp(value)
        }
        if let value = headers["retry-after"], let date = HTTPDate.secondsSince1970(value) {
            return clamp(Double(date) - now)
        }
        if let reset = headers["x-ratelimit-reset"].flatMap({ Double(Substring($0).trimmingASCIIWhitespace()) }) {
            // Epoch seconds as documented; small values are read as a delta, which some gateways send instead.
            return clamp(reset > 1_000_000_000 ? (reset - now).rounded(.up) : reset)
        }
        return nil
    }
}
