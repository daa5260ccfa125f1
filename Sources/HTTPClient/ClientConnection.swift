import Platform
import TLS

/// One connection to an origin, owned by the loop thread.
final class ClientConnection {
    enum State {
        case connecting
        case handshaking
        case writing
        case reading
        case idle
    }

    var fd: Int32 = -1
    let origin: Origin
    let addresses: [SocketAddress]
    var addressIndex = 0
    var state = State.connecting
    var tls: TLSSession?
    var call: PendingCall?
    var written = 0
    var parser: HTTPResponseParser?
    var connectDeadline: UInt64
    var idleSince: UInt64 = 0
    /// It carried a response before: a failure before any response byte may mean the server closed it while idle.
    var reused = false
    var interest: SelectorInterest = []
    var closed = false

    init(origin: Origin, addresses: [SocketAddress], connectDeadline: UInt64) {
        self.origin = origin
        self.addresses = addresses
        self.connectDeadline = connectDeadline
    }
}

/// Connections to one origin: the idle ones, how many are open, and calls waiting for the per-origin cap.
final class OriginPool {
    var idle: [ClientConnection] = []
    var open = 0
    var waiting: [PendingCall] = []
}

// MARK: - Bytes, plain or TLS

extension ClientConnection {
    func send(_ bytes: UnsafeRawBufferPointer) -> TLSStep {
        if let session = tls { return session.write(bytes) }
        switch Socket.send(fd, bytes) {
        case .done(let count): return .done(count)
        case .wouldBlock: return .wantWrite
        case .closed: return .closed
        }
    }

    func receive(into buffer: UnsafeMutableRawBufferPointer) -> TLSStep {
        if let session = tls { return session.read(into: buffer) }
        switch Socket.receive(fd, into: buffer) {
        case .done(let count): return .done(count)
        case .wouldBlock: return .wantRead
        case .closed: return .closed
        }
    }
}
