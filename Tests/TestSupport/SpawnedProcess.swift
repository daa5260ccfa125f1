import Glibc
import Synchronization

/// A child process started with `posix_spawn`, for tests that run many children at once.
///
/// Foundation's `Process` is unsafe under that concurrency. Its pipes are inheritable, it closes in the child only the
/// descriptors open when it looked, and it learns of an exit through a socket that every child spawned meanwhile
/// inherits. So one test's long-lived server could hold another test's stdin open (no EOF), or hide its exit, for as
/// long as it lived. In CI that was "process did not exit within 10 s".
///
/// Here the child gets only 0, 1 and 2 (everything from 3 up is closed in it, whoever opened it), the parent's ends
/// are close-on-exec, and exit is observed with `waitpid`.
package final class SpawnedProcess: Sendable {
    /// Where one of the child's standard streams goes.
    package enum Stream {
        /// A pipe whose other end the parent keeps.
        case pipe
        /// `/dev/null`.
        case null
        /// A Unix socket pair (Node-based clients give their children these), the parent keeping one end.
        case socket
        /// A file read from the start (stdin only).
        case file(String)
    }

    package struct SpawnError: Error, CustomStringConvertible {
        package var description: String
    }

    package let pid: pid_t
    /// The parent's ends of the pipes asked for: stdin's write end, stdout's and stderr's read ends.
    package let stdin: Descriptor?
    package let stdout: Descriptor?
    package let stderr: Descriptor?
    /// The raw `waitpid` status once the child has been reaped.
    private let reaped = Mutex<Int32?>(nil)

    package init(
        _ executable: String, arguments: [String], environment: [String: String]? = nil, directory: String? = nil,
        stdin stdinMode: Stream = .null, stdout stdoutMode: Stream = .null, stderr stderrMode: Stream = .null
    ) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }

        func connect(_ mode: Stream, to target: Int32, childReads: Bool) throws -> Descriptor? {
            switch mode {
            case .null:
                posix_spawn_file_actions_addopen(&actions, target, "/dev/null", childReads ? O_RDONLY : O_WRONLY, 0)
                return nil
            case .file(let path):
                posix_spawn_file_actions_addopen(&actions, target, path, O_RDONLY, 0)
                return nil
            case .pipe, .socket:
                var ends: [Int32] = [-1, -1]
                if case .socket = mode {
                    guard socketpair(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0, &ends) == 0 else {
                        throw SpawnError(description: "socketpair: errno \(errno)")
                    }
                } else {
                    guard pipe(&ends) == 0 else { throw SpawnError(description: "pipe: errno \(errno)") }
                }
                // Close-on-exec for any other spawner; ours close everything from 3 up in the child anyway.
                for end in ends { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
                let (childEnd, parentEnd) = childReads ? (ends[0], ends[1]) : (ends[1], ends[0])
                childEnds.append(childEnd)
                // dup2 clears close-on-exec on the copy: the child keeps exactly this one.
                posix_spawn_file_actions_adddup2(&actions, childEnd, target)
                return Descriptor(parentEnd)
            }
        }
        stdin = try connect(stdinMode, to: 0, childReads: true)
        stdout = try connect(stdoutMode, to: 1, childReads: false)
        stderr = try connect(stderrMode, to: 2, childReads: false)
        if let directory { try Self.addChangeDirectory(&actions, directory) }
        try Self.addCloseFrom(&actions, 3)

        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // Its own process group (a ^C at the test run is not delivered to it twice), default signal handling and an
        // empty mask, as a shell would start it: the test process ignores SIGPIPE.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGPIPE)
        var empty = sigset_t()
        sigemptyset(&empty)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setsigmask(&attributes, &empty)
        posix_spawnattr_setpgroup(&attributes, 0)
        posix_spawnattr_setflags(
            &attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK))

        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        // Without an environment of its own, the child gets the test process's.
        let envp = environment.map { $0.map { strdup("\($0.key)=\($0.value)") } + [nil] }
        defer { for pointer in argv + (envp ?? []) { free(pointer) } }
        var child: pid_t = 0
        let result =
            if var envp {
                posix_spawn(&child, executable, &actions, &attributes, argv, &envp)
            } else {
                posix_spawn(&child, executable, &actions, &attributes, argv, environ)
            }
        guard result == 0 else { throw SpawnError(description: "posix_spawn \(executable): errno \(result)") }
        pid = child
    }

    deinit {
        if isRunning {
            kill(pid, SIGKILL)
            _ = wait(timeout: 5)
        }
    }

    /// Whether the child is still running (reaps it if it has exited).
    package var isRunning: Bool { status == nil }

    /// As Foundation reports it: the exit code, or the number of the signal that ended the child; `nil` while running.
    package var terminationStatus: Int32? {
        guard let status else { return nil }
        return status & 0x7f == 0 ? (status >> 8) & 0xff : status & 0x7f
    }

    /// Waits up to `timeout` seconds for the child to exit; returns `terminationStatus`, `nil` if it is still running.
    package func wait(timeout: Double) -> Int32? {
        var remaining = Int(timeout * 1000)
        while isRunning && remaining > 0 {
            usleep(5_000)
            remaining -= 5
        }
        return terminationStatus
    }

    package func signal(_ number: Int32) {
        if isRunning { kill(pid, number) }
    }

    private var status: Int32? {
        reaped.withLock { reaped in
            if reaped == nil {
                var raw: Int32 = 0
                if waitpid(pid, &raw, WNOHANG) == pid { reaped = raw }
            }
            return reaped
        }
    }

    /// A descriptor the parent owns: closed once, by `close()` or when the last reference goes.
    package final class Descriptor: Sendable {
        private let value: Mutex<Int32>

        init(_ fd: Int32) { value = Mutex(fd) }

        /// The descriptor, or -1 once closed.
        package var fd: Int32 { value.withLock { $0 } }

        package func close() {
            let fd = value.withLock { fd in
                defer { fd = -1 }
                return fd
            }
            if fd >= 0 { _ = Glibc.close(fd) }
        }

        deinit { close() }
    }

    // glibc's `posix_spawn_file_actions_addclosefrom_np` (2.34) and `addchdir_np` (2.29) are not in Swift's Glibc
    // module: found at run time.
    private typealias AddClosefrom = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, Int32) -> Int32
    private typealias AddChdir =
        @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32

    private static func addCloseFrom(_ actions: inout posix_spawn_file_actions_t, _ lowest: Int32) throws {
        let function = try lookup("posix_spawn_file_actions_addclosefrom_np", as: AddClosefrom.self)
        guard function(&actions, lowest) == 0 else { throw SpawnError(description: "addclosefrom_np failed") }
    }

    private static func addChangeDirectory(_ actions: inout posix_spawn_file_actions_t, _ path: String) throws {
        let function = try lookup("posix_spawn_file_actions_addchdir_np", as: AddChdir.self)
        guard function(&actions, path) == 0 else { throw SpawnError(description: "addchdir_np failed") }
    }

    private static func lookup<Function>(_ name: String, as type: Function.Type) throws -> Function {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), name) else {
            throw SpawnError(description: "\(name) is missing: glibc 2.34 or later is needed")
        }
        return unsafeBitCast(symbol, to: type)
    }
}
