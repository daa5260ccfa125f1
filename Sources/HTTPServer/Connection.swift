import Platform
import TLS

/// One client connection as the event loop sees it: the socket, its output buffer, and the protocol state machine.
/// Confined to the loop thread.
final class Connection {
    let fd: Int32
    let generation: UInt64
    let remote: String
    var machine: HTTPConnectionMachine
    /// The responder of the request a handler holds, told if the client goes away.
    var responder: HTTPResponder?
    var output: [UInt8] = []
    var outputOffset = 0
    var interest: SelectorInterest = []
    var isOpen = true
    var lastWriteProgress: UInt64
    /// The connection's TLS session when the server serves HTTPS; `nil` on plain HTTP.
    var tls: TLSSession?
    /// While the TLS handshake is in progress: when it must be done by (0 once it is, and on plain HTTP).
    var handshakeDeadline: UInt64 = 0
    /// Readiness an OpenSSL call waits for beyond the plain direction (a read that must write, and vice versa).
    var tlsWants: SelectorInterest = []

    init(fd: Int32, generation: UInt64, remote: String, rules: HTTPConnectionMachine.Rules, now: UInt64) {
        self.fd = fd
        self.generation = generation
        self.remote = remote
        machine = HTTPConnectionMachine(rules: rules, now: now)
        lastWriteProgress = now
    }

    var outputPending: Bool { outputOffset < output.count }

    /// What the selector should report for this connection now.
    var wantedInterest: SelectorInterest {
        var interest = SelectorInterest.peerHangup
        if handshakeDeadline != 0 { return interest.union(tlsWants) }
        if !machine.readPaused { interest.insert(.read) }
        if outputPending { interest.insert(.write) }
        return interest.union(tlsWants)
    }

    // MARK: - Bytes, plain or TLS

    /// Reads what is available without blocking; through the TLS session when there is one.
    func receive(into buffer: UnsafeMutableRawBufferPointer) -> Socket.IOResult {
        guard let tls else { return Socket.receive(fd, into: buffer) }
        return result(of: tls.read(into: buffer))
    }

    /// Writes what fits without blocking; through the TLS session when there is one.
    func send(_ bytes: UnsafeRawBufferPointer) -> Socket.IOResult {
        guard let tls else { return Socket.send(fd, bytes) }
        return result(of: tls.write(bytes))
    }

    /// A TLS step as socket I/O: waiting in the other direction is remembered for the selector; a failed session is
    /// a closed connection (there is nobody left to tell).
    private func result(of step: TLSStep) -> Socket.IOResult {
        switch step {
        case .done(let count):
            tlsWants = []
            return .done(count)
        case .wantRead:
            tlsWants = .read
            return .wouldBlock
        case .wantWrite:
            tlsWants = .write
            return .wouldBlock
        case .closed, .failed:
            return .closed
        }
    }
}
