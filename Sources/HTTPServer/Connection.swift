import Platform

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
        if !machine.readPaused { interest.insert(.read) }
        if outputPending { interest.insert(.write) }
        return interest
    }
}
