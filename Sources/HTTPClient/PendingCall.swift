import Platform

/// A call handed to the loop. Created by the calling task, then owned by the loop thread alone.
final class PendingCall: @unchecked Sendable {
    let token: CallToken
    let origin: Origin
    /// Empty until the host is resolved.
    var addresses: [SocketAddress] = []
    let outbound: [UInt8]
    let method: String
    let deadline: UInt64
    let continuation: CheckedContinuation<Result<HTTPClientResponse, HTTPClientFailure>, Never>
    var connection: ClientConnection?
    /// A reused connection that turned out closed is replaced once.
    var retried = false

    init(
        token: CallToken, origin: Origin, outbound: [UInt8], method: String,
        deadline: UInt64, continuation: CheckedContinuation<Result<HTTPClientResponse, HTTPClientFailure>, Never>
    ) {
        self.token = token
        self.origin = origin
        self.outbound = outbound
        self.method = method
        self.deadline = deadline
        self.continuation = continuation
    }
}
