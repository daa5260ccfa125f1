import Foundation
import Glibc
import JSONRPC
import TestSupport
import Testing

/// Descriptor exhaustion against the real binary under a lowered open-file limit: idle connections beyond what the
/// process can hold must neither spin the event loop nor silence `/healthz`.
///
/// The numbers are a 1,024 limit and 1,100 connections; the tests scale both down (96 and 100) because the
/// test process must hold every client socket, and with more than ~1,300 descriptors open, Foundation's
/// `Process.run()` (which other tests call concurrently) reads past the end of its /proc/self/fd listing buffer and
/// crashes. The mechanism (accept4 failing with EMFILE) is the same at any limit.
@Suite("Adversarial: file-descriptor exhaustion", .serialized)
struct AdversarialDescriptorTests {
    static let prlimit = "/usr/bin/prlimit"

    static let fileLimit = 96

    /// `nudj-mcp <arguments>` with soft and hard RLIMIT_NOFILE of `fileLimit` (prlimit execs, so the pid is the
    /// server's).
    static func spawnLimited(_ arguments: [String]) throws -> (process: ChildProcess, ready: JSONValue) {
        let process = try ChildProcess(
            ["--nofile=\(fileLimit):\(fileLimit)", nudjMCPBinary()] + arguments + [
                "--port", "0", "--log-level", "warning",
            ],
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

    /// Opens `count` idle connections (nothing sent). Close-on-exec, so children that other tests spawn meanwhile
    /// do not inherit them and keep them open.
    static func idleConnections(_ count: Int, port: Int) throws -> IdleSockets {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var sockets: [Int32] = []
        for _ in 0..<count {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                }
            }
            guard fd >= 0, connected else {
                let code = errno
                close(fd)
                sockets.forEach { close($0) }
                throw ChildProcess.Timeout(description: "cannot connect to the server (errno \(code))")
            }
            sockets.append(fd)
        }
        return IdleSockets(sockets)
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

    @Test("100 idle connections under a 96 fd limit: the cap is lowered, /healthz answers at once, no spin")
    func idleFlood() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.prlimit), "needs prlimit (util-linux)")
        try await offPool {
            let (serve, ready) = try Self.spawnLimited(["serve", "--allow-insecure-localhost"])
            let port = Self.port(of: ready["mcpUrl"]!.stringValue!)
            let idle = try Self.idleConnections(100, port: port)
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
            #expect(load.busiestThread < 0.9, "a server thread was busy \(Int(load.busiestThread * 100))% of the time")
            #expect(serve.stderrText.contains("connection cap lowered"), "\(serve.stderrText.suffix(1500))")
            // 96 minus a reserve of 32.
            #expect(serve.stderrText.contains("\"maxConnections\":\"64\""), "\(serve.stderrText.suffix(1500))")

            idle.close()
            usleep(300_000)
            let after = try? Self.healthz(port)
            #expect(after?.status == 200, "running: \(serve.isRunning); \(serve.stderrText.suffix(1500))")
        }
    }

    @Test("two servers in one process exhaust descriptors together: 503 from the reserve descriptor, no spin")
    func exhaustion() async throws {
        try #require(FileManager.default.isExecutableFile(atPath: Self.prlimit), "needs prlimit (util-linux)")
        try await offPool {
            // The in-process sandbox and the MCP server each fit 64 connections under the cap, together they do
            // not: the second to fill up runs out of descriptors (accept4 fails with EMFILE).
            let (serve, ready) = try Self.spawnLimited(["serve", "--sandbox"])
            let port = Self.port(of: ready["mcpUrl"]!.stringValue!)
            let sandboxPort = Self.port(of: ready["orgs"]![0]!["apiDomain"]!["admin"]!.stringValue!)
            // The sandbox fills first (within its cap and the limit), so only the MCP server's loop runs out. (Two
            // loops running out at once can take each other's reserve descriptor; the loser then stops polling its
            // listener until a descriptor is freed: no spin, but no 503 either.)
            let sandboxIdle = try Self.idleConnections(60, port: sandboxPort)
            usleep(300_000)
            let serveIdle = try Self.idleConnections(40, port: port)
            usleep(300_000)
            let probe = try? Self.healthz(port)
            #expect(probe != nil, "healthz did not answer within 2 s")
            if let probe {
                #expect(probe.elapsed < .seconds(1), "healthz took \(probe.elapsed)")
                #expect(probe.status == 503 && probe.message.contains("out of file descriptors"), "\(probe)")
            }
            let load = try Self.idleLoad(serve.pid)
            #expect(load.cpu < 0.3, "server used \(Int(load.cpu * 100))% of a core while idle")
            #expect(load.busiestThread < 0.9, "a server thread was busy \(Int(load.busiestThread * 100))% of the time")

            sandboxIdle.close()
            serveIdle.close()
            usleep(300_000)
            let after = try? Self.healthz(port)
            #expect(after?.status == 200, "running: \(serve.isRunning); \(serve.stderrText.suffix(1500))")
            #expect(try Self.healthz(sandboxPort).status != 503)
        }
    }
}

/// Client sockets closed once: by `close()`, or when dropped (a test that throws half-way).
final class IdleSockets {
    private var descriptors: [Int32]

    init(_ descriptors: [Int32]) { self.descriptors = descriptors }

    deinit { close() }

    func close() {
        descriptors.forEach { Glibc.close($0) }
        descriptors = []
    }
}
