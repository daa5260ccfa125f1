/// Why a TLS session failed, in terms a user can act on: each case renders as a short, internals-free reason, and
/// says whether retrying can help (a certificate problem stays until someone changes the server or the trust).
package enum TLSFailure: Error, Sendable, Equatable, CaseIterable, CustomStringConvertible {
    /// The chain does not lead to a trusted CA (a self-signed certificate, or a private CA not given with --ca-file).
    case untrustedCertificate
    /// The certificate is valid but names another host.
    case hostMismatch
    case certificateExpired
    case certificateNotYetValid
    case certificateRevoked
    /// Any other verification failure (bad signature, wrong purpose, chain too long…).
    case certificateRejected
    /// The peer and this side could not agree (protocol version, cipher, an alert during the handshake).
    case handshakeFailed
    /// The peer accepted the connection but did not complete the handshake in time.
    case handshakeTimedOut
    /// The peer closed the connection before the handshake completed.
    case closedDuringHandshake
    /// After the handshake, the peer sent a fatal alert.
    case alertReceived
    /// After the handshake, the connection ended without the TLS close that proves nothing was cut off.
    case truncated
    /// After the handshake, the session failed for another reason (a protocol error, a reset).
    case sessionFailed

    package var description: String {
        switch self {
        case .untrustedCertificate: "untrusted certificate (use --ca-file for a private CA)"
        case .hostMismatch: "certificate does not match the host"
        case .certificateExpired: "certificate expired"
        case .certificateNotYetValid: "certificate not yet valid"
        case .certificateRevoked: "certificate revoked"
        case .certificateRejected: "certificate rejected"
        case .handshakeFailed: "handshake failed"
        case .handshakeTimedOut: "handshake timed out"
        case .closedDuringHandshake: "connection closed during handshake"
        case .alertReceived: "the peer ended the session with an alert"
        case .truncated: "connection cut without a TLS close"
        case .sessionFailed: "connection failed"
        }
    }

    /// The peer's certificate was refused: the same call fails the same way until the certificate or the trust
    /// changes, so retrying is pointless.
    package var isCertificateProblem: Bool {
        switch self {
        case .untrustedCertificate, .hostMismatch, .certificateExpired, .certificateNotYetValid, .certificateRevoked,
            .certificateRejected:
            true
        case .handshakeFailed, .handshakeTimedOut, .closedDuringHandshake, .alertReceived, .truncated, .sessionFailed:
            false
        }
    }
}

/// A TLS context could not be set up (an unreadable CA file, certificate or key, or a key that does not match).
package struct TLSSetupError: Error, CustomStringConvertible {
    package var description: String
    package init(_ description: String) { self.description = description }
}
