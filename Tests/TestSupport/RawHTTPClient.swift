import Glibc
import TLS

/// A blocking, byte-exact HTTP/1.1 client for tests: sends whatever bytes a test wants (including malformed ones)
/// and parses what comes back, so tests can assert on statuses, headers and bodies the way a client sees them.
package final class RawHTTPClient {
    package struct Response {
        package var status: Int
        package var headers: [(String, String)]
        package var body: [UInt8]

        package func header(_ name: String) -> String? {
            headers.first { $0.0.lowercased() == name.lowercased() }?.1
        }

        package var text: String { String(decoding: body, as: UTF8.self) }
    }

    package struct Failure: Error, CustomStringConvertible {
        package var description: String
    }

    private let fd: Int32
    private var buffer: [UInt8] = []
    private var isOpen = true
    /// Over TLS (blocking: each call completes or fails, except a read that times out).
    private var session: TLSSession?

    /// Connects to `127.0.0.1:port`; `timeout` bounds every read. `source` (another loopback address such as
    /// `127.0.0.2`) makes the connection come from a different peer. With `tls`, speaks HTTPS, verifying the
    /// server's certificate for `serverName`.
    package init(
        port: Int, timeout: Double = 10, source: String? = nil, tls: TLSContext? = nil,
        serverName: String = "localhost"
    ) throws {
        // Every stored property is set from here on, so a throw below runs `deinit`, which closes `fd`: closing it
        // here as well closed it twice, and the second close took whichever descriptor another test had just
        // opened under the same number (sends failing with EBADF, batches lost, in full runs).
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else {
            isOpen = false
            throw Failure(description: "socket failed (errno \(errno))")
        }
        if let source {
            var local = sockaddr_in()
            local.sin_family = sa_family_t(AF_INET)
            local.sin_addr.s_addr = inet_addr(source)
            let bound = withUnsafePointer(to: &local) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            guard bound == 0 else {
                throw Failure(description: "bind to \(source) failed (errno \(errno))")
            }
        }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            throw Failure(description: "connect to port \(port) failed (errno \(errno))")
        }
        var interval = timeval(tv_sec: Int(timeout), tv_usec: Int((timeout - Double(Int(timeout))) * 1_000_000))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &interval, socklen_t(MemoryLayout<timeval>.size))
        if let tls { try startTLS(tls, serverName: serverName) }
    }

    deinit {
        session?.free()
        if isOpen { Glibc.close(fd) }
    }

    private func startTLS(_ context: TLSContext, serverName: String) throws {
        guard let session = TLSSession(context: context, fd: fd, host: serverName) else {
            throw Failure(description: "cannot start a TLS session")
        }
        self.session = session
        while true {
            switch session.handshake() {
            case .done: return
            case .wantRead, .wantWrite: throw Failure(description: "TLS handshake timed out")
            case .closed: throw Failure(description: "TLS handshake: connection closed")
            case .failed(let failure): throw Failure(description: "TLS handshake: \(failure)")
            }
        }
    }

    package func send(_ text: String) throws { try send(Array(text.utf8)) }

    package func send(_ bytes: [UInt8]) throws {
        if let session {
            var offset = 0
            while offset < bytes.count {
                guard case .done(let written) = bytes.withUnsafeBytes({ session.write(.init(rebasing: $0[offset...])) })
                else { throw Failure(description: "TLS send failed") }
                offset += written
            }
            return
        }
        var offset = 0
        while offset < bytes.count {
            let written = bytes.withUnsafeBytes {
                Glibc.send(fd, $0.baseAddress! + offset, $0.count - offset, Int32(MSG_NOSIGNAL))
            }
            if written < 0 && errno == EINTR { continue }
            guard written > 0 else { throw Failure(description: "send failed (errno \(errno))") }
            offset += written
        }
    }

    /// The protocol ALPN chose on a TLS connection.
    package var negotiatedProtocol: String? { session?.negotiatedProtocol }

    /// Closes the client's side completely (a client that goes away).
    package func close() { shutdown(fd, Int32(SHUT_RDWR)) }

    /// Aborts the connection with a TCP reset (a client that crashes or gives up mid-request).
    package func reset() {
        guard isOpen else { return }
        var abort = linger(l_onoff: 1, l_linger: 0)
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, socklen_t(MemoryLayout<linger>.size))
        Glibc.close(fd)
        isOpen = false
    }

    /// Reads more bytes; `false` on EOF.
    /// A signal (the test process gets SIGCHLD whenever a spawned child exits) interrupts the read: retry it.
    private func fill() throws -> Bool {
        var chunk = [UInt8](repeating: 0, count: 65_536)
        while let session {
            errno = 0
            switch chunk.withUnsafeMutableBytes({ session.read(into: $0) }) {
            case .done(let count):
                buffer.append(contentsOf: chunk[0..<count])
                return true
            case .closed:
                if errno == EINTR { continue }  // a signal, not the end (see above)
                return false
            case .wantRead, .wantWrite: throw Failure(description: "read timed out")
            case .failed(let failure): throw Failure(description: "TLS read failed: \(failure)")
            }
        }
        var count = 0
        repeat {
            count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        } while count < 0
            && errno == EINTR
        if count == 0 { return false }
        guard count > 0 else { throw Failure(description: "read timed out or failed (errno \(errno))") }
        buffer.append(contentsOf: chunk[0..<count])
        return true
    }

    private func readLine() throws -> String {
        while true {
            if let newline = buffer.firstIndex(of: 0x0A) {
                var line = Array(buffer[0..<newline])
                buffer.removeFirst(newline + 1)
                if line.last == 0x0D { line.removeLast() }
                return String(decoding: line, as: UTF8.self)
            }
            guard try fill() else { throw Failure(description: "connection closed mid-line") }
        }
    }

    private func readExactly(_ count: Int) throws -> [UInt8] {
        while buffer.count < count {
            guard try fill() else { throw Failure(description: "connection closed mid-body") }
        }
        let bytes = Array(buffer[0..<count])
        buffer.removeFirst(count)
        return bytes
    }

    /// Reads one response head (skipping `100 Continue` unless asked for).
    package func readHead(skipContinue: Bool = true) throws -> Response {
        while true {
            let statusLine = try readLine()
            let parts = statusLine.split(separator: " ", maxSplits: 2)
            guard parts.count >= 2, let status = Int(parts[1]) else {
                throw Failure(description: "bad status line: \(statusLine)")
            }
            var headers: [(String, String)] = []
            while true {
                let line = try readLine()
                if line.isEmpty { break }
                guard let colon = line.firstIndex(of: ":") else { continue }
                let value = line[line.index(after: colon)...].drop { $0 == " " }
                headers.append((String(line[..<colon]), String(value)))
            }
            if status == 100 && skipContinue { continue }
            return Response(status: status, headers: headers, body: [])
        }
    }

    /// Reads one complete response (Content-Length, chunked, or until close).
    package func readResponse() throws -> Response {
        var response = try readHead()
        if response.header("Transfer-Encoding")?.lowercased() == "chunked" {
            while let chunk = try readChunk() { response.body += chunk }
        } else if let length = response.header("Content-Length").flatMap({ Int($0) }) {
            response.body = try readExactly(length)
        } else if response.status != 204 && response.status != 304 {
            while try fill() {}
            response.body = buffer
            buffer.removeAll()
        }
        return response
    }

    /// Reads one chunk of a chunked body; `nil` at the terminating chunk.
    package func readChunk() throws -> [UInt8]? {
        let sizeLine = try readLine()
        guard let size = Int(sizeLine.split(separator: ";").first ?? "", radix: 16) else {
            throw Failure(description: "bad chunk size line: \(sizeLine)")
        }
        if size == 0 {
            while try !readLine().isEmpty {}
            return nil
        }
        let data = try readExactly(size)
        _ = try readLine()
        return data
    }

    /// A request with a JSON body and the usual headers.
    package static func request(
        _ method: String,
        _ path: String,
        headers: [(String, String)] = [],
        body: String? = nil
    ) -> String {
        var text = "\(method) \(path) HTTP/1.1\r\nHost: localhost\r\n"
        for (name, value) in headers { text += "\(name): \(value)\r\n" }
        if let body { text += "Content-Length: \(body.utf8.count)\r\n" }
        text += "\r\n"
        if let body { text += body }
        return text
    }
}

/// Reads server-sent events off a chunked streaming response.
package struct SSEReader {
    package struct Event: Equatable {
        package var event: String?
        package var id: String?
        package var data: String
    }

    private var pending = ""
    package private(set) var comments: [String] = []

    package init() {}

    /// Feeds a chunk; returns the complete events it finished.
    package mutating func feed(_ bytes: [UInt8]) -> [Event] {
        pending += String(decoding: bytes, as: UTF8.self)
        var events: [Event] = []
        while let range = pending.firstRange(of: "\n\n") {
            let block = pending[..<range.lowerBound]
            pending = String(pending[range.upperBound...])
            var event = Event(event: nil, id: nil, data: "")
            var dataLines: [Substring] = []
            var isComment = true
            for line in block.split(separator: "\n", omittingEmptySubsequences: false) {
                if line.hasPrefix(":") {
                    comments.append(String(line.dropFirst()))
                    continue
                }
                isComment = false
                if line.hasPrefix("event:") { event.event = line.dropFirst(6).trimmingPrefix(" ").description }
                if line.hasPrefix("id:") { event.id = line.dropFirst(3).trimmingPrefix(" ").description }
                if line.hasPrefix("data:") { dataLines.append(line.dropFirst(5).trimmingPrefix(" ")) }
            }
            if isComment { continue }
            event.data = dataLines.joined(separator: "\n")
            events.append(event)
        }
        return events
    }
}
