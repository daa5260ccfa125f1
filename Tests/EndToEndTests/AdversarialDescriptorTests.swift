import Foundation
import Glibc
import JSONRPC
import TestSupport
import Testing

/// Descriptor exhaustion against the real binary under a 1,024 open-file limit: idle connections beyond what the
/// process can hold must neither spin the event loop nor silence `/healthz`.
@Suite("Adversarial: file-descriptor exhaustion", .serialized)
struct AdversarialDescriptorTests {
    static let prlimit = "/usr/bin/prlimit"

    /// `nudj-mcp <arguments>` with soft and hard RLIMIT_NOFILE of 1,024 (prlimit execs, so the pid is the server's).
    static func spawnLimited(_ arguments: [String]) throws -> (process: ChildProcess, ready: JSONValue) {
        let process = try ChildProcess(
            ["--nofile=1024:1024", nudjMCPBinary()] + arguments + ["--port", "0", "--log-level", "warning"],
            executable: prlimit)
        return (process, try process.readJSON(timeout: 20))
    }

    static func port(of url: String) -> Int { Int(url.split(separator: ":")[2].split(separator: "/")[0])! }

    /// CPU seconds (user + system) the process has used, from /proc/<pid>/stat.
    static func cpuSeconds(_ pid: Int32) throws -> Double {
        let stat = try String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)
        // Fields after the parenthesised command name; utime and stime are fields 14 and 15 of the whole line.
        let fields = stat[stat.lastIndex(of: ")")!...].split(separator: " ")
        let ticks = Double(fields[12])! + Double(fields[13])!
        return ticks / Double(sysconf(Int32(_SC_CLK_TCK)))
    }

    /// Opens `count` idle connections (nothing sent) and keeps them open.
    static func idleConnections(_ count: Int, port: Int) throws -> [RawHTTPClient] {
        try (0..<count).map { _ in try RawHTTPClient(port: port, timeout: 2) }
    }

    /// `/healthz` on a fresh connection, timed; the status is 200, or 503 when the server is full.
    static func healthz(_ port: Int) throws -> (status: Int, message: String, elapsed: Duration) {
        let started = ContinuousClock.now
        let client = try RawHTTPClient(port: port, timeout: 2)
        try client.send(RawHTTPClient.request("GET", "/healthz"))
        let response = try client.readResponse()
        let message = response.json["error"]?["message"]?.stringValue ?? ""
        return (response.status, message, ContinuousClock.now - started)
    }

    /// Nanoseconds each of the process's threads has spent running or runnable (waiting for a CPU), from
    /// /proc/<pid>/task/*/schedstat.
    static func busyNanoseconds(_ pid: Int32) -> [String: Double] {
        let tasks = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/\(pid)/task")) ?? []
        var busy: [String: Double] = [:]
        for task in tasks {
            guard let text = try? String(contentsOfFile: "/proc/\(pid)/task/\(task)/schedstat", encoding: .utf8)
            else { continue }
            let fields = text.split(separator: " ").compactMap {
                Double($0.trimmingCharacters(in: .whitespacesAndNewlines))
            }
            if fields.count >= 2 { busy[task] = fields[0] + fields[1] }
        }
        return busy
    }

    /// Over two quiet seconds: the server's CPU use as a fraction of one core, and the largest fraction of that
    /// time any one of its threads was running or runnable. A spinning loop is always runnable (≈ 1) even when
    /// other processes keep it off the CPU, so the second figure catches a spin on a busy machine too.
    static func idleLoad(_ pid: Int32) throws -> (cpu: Double, busiestThread: Double) {
        let cpuBefore = try cpuSeconds(pid)
        let busyBefore = busyNanoseconds(pid)
        usleep(2_000_000)
        let cpu = (try cpuSeconds(pid) - cpuBefore) / 2
        let busiest = busyNanoseconds(pid).map { task, total in (total - (busyBefore[task] ?? 0)) / 2e9 }.max() ?? 0
        return (cpu, busiest)
    }

    @Test("1,100 idle connections under a 1,024 fd limit: the cap is lowered, /healthz answers at once, no spin")
    func idleFlood() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.prlimit) else { return }
        try await offPool {
            let (serve, ready) = try Self.spawnLimited(["serve", "--allow-insecure-localhost"])
            let port = Self.port(of: ready["mcpUrl"]!.stringValue!)
            var idle = try Self.idleConnections(1100, port: port)
            usleep(300_000)
            let probe = try? Self.healthz(port)
            #expect(probe != nil, "healthz did not answer within 2 s")
            if let probe {
                #expect(probe.elapsed < .seconds(1), "healthz took \(probe.elapsed)")
                #expect(
                    probe.status == 200 || (probe.status == 503 && probe.message.contains("connection limit")),
                    "\(probe)")
            }
            let load = try Self.idleLoad(serve.pid)
            #expect(load.cpu < 0.3, "server used \(Int(load.cpu * 100))% of a core while idle")
            #expect(load.busiestThread < 0.5, "a server thread was busy \(Int(load.busiestThread * 100))% of the time")
            #expect(serve.stderrText.contains("connection cap lowered"), "\(serve.stderrText.suffix(1500))")
            #expect(serve.stderrText.contains("\"maxConnections\":\"768\""), "\(serve.stderrText.suffix(1500))")

            idle.removeAll()
            usleep(300_000)
            let after = try? Self.healthz(port)
            #expect(after?.status == 200, "running: \(serve.isRunning); \(serve.stderrText.suffix(1500))")
        }
    }

    @Test("two servers in one process exhaust descriptors together: 503 from the reserve descriptor, no spin")
    func exhaustion() async throws {
        guard FileManager.default.isExecutableFile(atPath: Self.prlimit) else { return }
        try await offPool {
            // The in-process sandbox and the MCP server each fit 768 connections under the cap, together they do
            // not: the second to fill up runs out of descriptors (accept4 fails with EMFILE).
            let (serve, ready) = try Self.spawnLimited(["serve", "--sandbox"])
            let port = Self.port(of: ready["mcpUrl"]!.stringValue!)
            let sandboxPort = Self.port(of: ready["orgs"]![0]!["apiDomain"]!["admin"]!.stringValue!)
            var sandboxIdle = try Self.idleConnections(700, port: sandboxPort)
            var serveIdle = try Self.idleConnections(500, port: port)
            usleep(300_000)
            let probe = try? Self.healthz(port)
            #expect(probe != nil, "healthz did not answer within 2 s")
            if let probe {
                #expect(probe.elapsed < .seconds(1), "healthz took \(probe.elapsed)")
                #expect(probe.status == 503 && probe.message.contains("out of file descriptors"), "\(probe)")
            }
            let load = try Self.idleLoad(serve.pid)
            #expect(load.cpu < 0.3, "server used \(Int(load.cpu * 100))% of a core while idle")
            #expect(load.busiestThread < 0.5, "a server thread was busy \(Int(load.busiestThread * 100))% of the time")

            sandboxIdle.removeAll()
            serveIdle.removeAll()
            usleep(300_000)
            let after = try? Self.healthz(port)
            #expect(after?.status == 200, "running: \(serve.isRunning); \(serve.stderrText.suffix(1500))")
            #expect(try Self.healthz(sandboxPort).status != 503)
        }
    }
}
