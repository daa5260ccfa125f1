import Foundation
import Synchronization
import TestSupport
import Testing

/// The tests' own child processes. Every end-to-end test depends on seeing a child's end of input and its exit when
/// they happen, whatever other tests are starting children at the same moment.
@Suite("Spawned test children")
struct SpawnedProcessTests {
    @Test("a child's end of input and exit are seen at once while other tests keep starting long-lived children")
    func concurrentSpawns() async throws {
        try await offPool {
            // With Foundation's Process, each long-lived child started meanwhile inherited the short one's stdin and
            // exit-notification socket: the short child's exit went unseen until a long one ended (4 s here).
            let stop = Mutex(false)
            let sleepers = Mutex<[SpawnedProcess]>([])
            let spawners = (0..<3).map { _ in
                Thread {
                    while !stop.withLock({ $0 }) {
                        let sleeper = try? SpawnedProcess(
                            "/bin/sleep", arguments: ["30"], stdin: .pipe, stdout: .pipe, stderr: .pipe)
                        if let sleeper { sleepers.withLock { $0.append(sleeper) } }
                        usleep(10_000)
                    }
                }
            }
            for spawner in spawners { spawner.start() }
            defer {
                stop.withLock { $0 = true }
                for sleeper in sleepers.withLock({ $0 }) { sleeper.signal(SIGKILL) }
            }
            var slowest = 0.0
            for _ in 0..<100 {
                let cat = try SpawnedProcess("/bin/cat", arguments: [], stdin: .pipe, stdout: .pipe)
                cat.stdin?.close()
                let start = Date()
                let status = cat.wait(timeout: 10)
                try #require(status == 0, "cat did not exit within 10 s of the end of its input")
                slowest = max(slowest, Date().timeIntervalSince(start))
            }
            #expect(slowest < 2, "the slowest exit took \(slowest) s to be seen")
        }
    }

    @Test("a child gets only its standard streams, and its exit status or signal is reported")
    func descriptorsAndStatus() async throws {
        try await offPool {
            // A descriptor this process opened without close-on-exec: the child must not get it.
            let leaked = open("/dev/null", O_RDONLY)
            defer { close(leaked) }
            let lister = try SpawnedProcess("/bin/ls", arguments: ["/proc/self/fd"], stdout: .pipe)
            var listing: [UInt8] = []
            var buffer = [UInt8](repeating: 0, count: 4096)
            while let output = lister.stdout, case let count = read(output.fd, &buffer, buffer.count), count > 0 {
                listing += buffer[..<count]
            }
            #expect(lister.wait(timeout: 10) == 0)
            // ls itself opens one descriptor (3) to read the directory.
            let descriptors = String(decoding: listing, as: UTF8.self).split(separator: "\n").compactMap { Int($0) }
            #expect(descriptors.sorted() == [0, 1, 2, 3], "\(descriptors)")

            #expect(try SpawnedProcess("/bin/sh", arguments: ["-c", "exit 3"]).wait(timeout: 10) == 3)
            let sleeper = try SpawnedProcess("/bin/sleep", arguments: ["30"])
            #expect(sleeper.isRunning)
            sleeper.signal(SIGTERM)
            #expect(sleeper.wait(timeout: 10) == SIGTERM)
        }
    }

    @Test("what a child writes to stderr just before it exits is all there once its exit is seen (200 children)")
    func stderrCompleteAtExit() async throws {
        try await offPool {
            for index in 0..<200 {
                let child = try ChildProcess(
                    ["-c", "printf 'usage error %s' \(index) >&2; exit 2"], executable: "/bin/sh", readStdout: false)
                #expect(try child.waitForExit() == 2)
                #expect(child.stderrText == "usage error \(index)")
            }
        }
    }
}
