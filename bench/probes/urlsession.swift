// URLSession alone: the client nudj-mcp uses for every upstream call, doing nothing else. bench/run.py compares it
// with nudj-mcp to show how much of nudj-mcp's per-call time and throughput ceiling is URLSession's own.
//   urlsession-probe <url> <bearer token> <x-api-domain> <requests> <in flight>
// Prints one JSON line: {"rps": …, "p50_us": …, "p99_us": …, "errors": …}.
import Foundation

#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

let arguments = CommandLine.arguments
guard arguments.count == 6, let url = URL(string: arguments[1]), let total = Int(arguments[4]),
    let inFlight = Int(arguments[5])
else {
    FileHandle.standardError.write(
        Data("usage: urlsession-probe <url> <token> <x-api-domain> <requests> <in flight>\n".utf8))
    exit(2)
}
let (token, domain) = (arguments[2], arguments[3])

// The same settings as nudj-mcp's URLSessionTransport.
let configuration = URLSessionConfiguration.ephemeral
configuration.httpMaximumConnectionsPerHost = 64
configuration.httpCookieStorage = nil
configuration.httpShouldSetCookies = false
configuration.urlCache = nil
configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
let session = URLSession(configuration: configuration)

func request() -> URLRequest {
    var request = URLRequest(url: url)
    request.addValue("Bearer \(token)", forHTTPHeaderField: "Authorization")
    request.addValue(domain, forHTTPHeaderField: "x-api-domain")
    request.addValue("application/json", forHTTPHeaderField: "Accept")
    return request
}

/// One request's latency in microseconds, or nil when it was not a 200.
func timed() async -> Double? {
    let started = ContinuousClock.now
    guard let (_, response) = try? await session.data(for: request()),
        (response as? HTTPURLResponse)?.statusCode == 200
    else { return nil }
    let elapsed = ContinuousClock.now - started
    return Double(elapsed.components.seconds) * 1e6 + Double(elapsed.components.attoseconds) / 1e12
}

for _ in 0..<100 { _ = await timed() }  // warm-up: connections open, curl initialised
let started = ContinuousClock.now
let samples = await withTaskGroup(of: [Double?].self) { group in
    for worker in 0..<inFlight {
        group.addTask {
            var mine: [Double?] = []
            for _ in stride(from: worker, to: total, by: inFlight) { mine.append(await timed()) }
            return mine
        }
    }
    var all: [Double?] = []
    for await part in group { all += part }
    return all
}
let elapsed = ContinuousClock.now - started
let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
let latencies = samples.compactMap { $0 }.sorted()
func percentile(_ p: Double) -> Double {
    latencies.isEmpty ? 0 : latencies[min(latencies.count - 1, Int((p / 100 * Double(latencies.count - 1)).rounded()))]
}
print(
    "{\"rps\": \(Double(total) / seconds), \"p50_us\": \(percentile(50)), \"p99_us\": \(percentile(99)), "
        + "\"errors\": \(samples.count - latencies.count)}")
