#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Blocking reads and writes on a descriptor (stdin, stdout, stderr), retried across signals.
package enum FileDescriptor {
    /// Reads what is available into `buffer` (blocking until something is); 0 at end of input, -1 on an error.
    package static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = systemRead(fd, buffer.baseAddress, buffer.count)
            if count < 0 && errno == EINTR { continue }
            return count
        }
    }

    /// `read` for a descriptor a selector reported readable: nil if there was nothing to read after all (a
    /// descriptor its parent made non-blocking, read by another process first).
    package static func readReady(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int? {
        let count = read(fd, into: buffer)
        if count < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) { return nil }
        return count
    }

    /// Whether `fd` is a pipe or a socket: what every selector can watch (epoll refuses regular files and
    /// `/dev/null`, and a terminal is best read by a thread of its own).
    package static func isPipeOrSocket(_ fd: Int32) -> Bool {
        var status = stat()
        guard fstat(fd, &status) == 0 else { return false }
        let kind = status.st_mode & S_IFMT
        return kind == S_IFIFO || kind == S_IFSOCK
    }

    /// Writes every byte; `false` if the descriptor failed (`lastErrno` says why), e.g. a closed pipe.
    package static func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(fd, bytes.baseAddress! + offset, bytes.count - offset)
            if written < 0 {
                if errno == EINTR { continue }
                return false
            }
            offset += written
        }
        return true
    }

    package static func close(_ fd: Int32) { _ = systemClose(fd) }

    /// A whole (small) file's bytes: configuration a person points the server at.
    package static func contents(ofFile path: String, limit: Int = 1 << 20) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError.last("open") }
        defer { close(fd) }
        var bytes: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let count = chunk.withUnsafeMutableBytes { read(fd, into: $0) }
            if count < 0 { throw SystemError.last("read") }
            if count == 0 { return bytes }
            bytes += chunk[0..<count]
            if bytes.count > limit { throw SystemError(call: "read (over \(limit) bytes)", code: EFBIG) }
        }
    }

    /// How `tryWrite` may write to `fd` without ever blocking, decided once from its type.
    package enum ImmediateWrite: Sendable {
        /// A socket (Node-based clients give their children socketpairs): `send` with `MSG_DONTWAIT`.
        case socket
        /// A pipe: at most `PIPE_BUF` bytes, and only when poll(2) says there is room; such a write is atomic and
        /// does not block.
        case pipe
        /// A regular file or `/dev/null`: writes do not wait on a reader.
        case file
        /// Anything else (a terminal): never written from the caller's thread.
        case never
    }

    package static func immediateWrite(for fd: Int32) -> ImmediateWrite {
        var status = stat()
        guard fstat(fd, &status) == 0 else { return .never }
        switch status.st_mode & S_IFMT {
        case S_IFSOCK: return .socket
        case S_IFIFO: return .pipe
        case S_IFREG: return .file
        case S_IFCHR:
            var null = stat()
            return stat("/dev/null", &null) == 0 && null.st_rdev == status.st_rdev ? .file : .never
        default: return .never
        }
    }

    /// Writes a prefix of `bytes` if that cannot block: the count written (0: nothing could be, try the slow way),
    /// or -1 if the descriptor failed.
    package static func tryWrite(_ fd: Int32, _ bytes: UnsafeRawBufferPointer, _ mode: ImmediateWrite) -> Int {
        guard let base = bytes.baseAddress, !bytes.isEmpty else { return 0 }
        while true {
            let written: Int
            switch mode {
            case .never: return 0
            case .socket: written = systemSend(fd, base, bytes.count, Int32(MSG_DONTWAIT) | noSignal)
            case .pipe:
                guard bytes.count <= Int(PIPE_BUF) else { return 0 }
                var probe = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
                guard poll(&probe, 1, 0) == 1, probe.revents & Int16(POLLOUT) != 0 else { return 0 }
                written = systemWrite(fd, base, bytes.count)
            case .file: written = systemWrite(fd, base, bytes.count)
            }
            if written >= 0 { return written }
            if errno == EINTR { continue }
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1
        }
    }

    #if os(Linux)
    private static let noSignal = Int32(MSG_NOSIGNAL)
    #else
    private static let noSignal: Int32 = 0
    #endif
}

/// Standard output or error, for text a person reads (help, ready lines, summaries). Not the stdio transport's
/// stdout, which has a writer of its own.
package struct StandardStream: Sendable {
    package let fd: Int32

    package static let output = StandardStream(fd: 1)
    package static let error = StandardStream(fd: 2)

    /// Best effort: a closed stream loses the text, as `print` would.
    package func write(_ text: String) {
        var text = text
        text.withUTF8 { _ = FileDescriptor.writeAll(fd, UnsafeRawBufferPointer($0)) }
    }
}

/// Directory listings.
package enum Directory {
    /// Whether any entry's name in `path` satisfies `matches` (false when the directory cannot be read). Stops at the
    /// first match.
    package static func containsEntry(in path: String, where matches: (String) -> Bool) -> Bool {
        guard let stream = opendir(path) else { return false }
        defer { closedir(stream) }
        while let entry = readdir(stream) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if matches(name) { return true }
        }
        return false
    }
}
