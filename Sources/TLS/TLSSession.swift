/// What one non-blocking TLS call achieved, and which readiness it waits for otherwise.
package enum TLSStep: Equatable {
    case done(Int)
    case wantRead
    case wantWrite
    /// The peer closed the session (close_notify, or end of stream where that is not an error).
    case closed
    case failed(TLSFailure)
}

#if canImport(COpenSSL)
import COpenSSL
import Platform

/// One TLS session over a non-blocking socket, driven by one loop thread: each call does what it can without
/// blocking and says which readiness it waits for. The owner calls `free` once, when it closes the socket.
package struct TLSSession {
    private let ssl: OpaquePointer

    /// A client session.
    ///
    /// - Parameter host: the name the certificate must match (an IP literal is matched as an address), also sent
    ///   as SNI when it is a name.
    package init?(context: TLSContext, fd: Int32, host: String) {
        guard !context.isServer, let ssl = SSL_new(context.pointer) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        if Socket.isAddressLiteral(host) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            SSL_set1_host(ssl, host)
            _ = nudj_ssl_set_sni(ssl, host)
        }
        SSL_set_connect_state(ssl)
    }

    /// A server session on an accepted connection.
    package init?(accepting fd: Int32, context: TLSContext) {
        guard context.isServer, let ssl = SSL_new(context.pointer) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        SSL_set_accept_state(ssl)
    }

    package func free() { SSL_free(ssl) }

    /// The protocol ALPN settled on (`http/1.1`), once the handshake is done; `nil` when none was.
    package var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }

    package func handshake() -> TLSStep {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .done(0) }
        return step(for: result, handshaking: true)
    }

    package func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSStep {
        ERR_clear_error()
        let result = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if result > 0 { return .done(Int(result)) }
        return step(for: result, handshaking: false)
    }

    package func write(_ bytes: UnsafeRawBufferPointer) -> TLSStep {
        ERR_clear_error()
        let result = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if result > 0 { return .done(Int(result)) }
        return step(for: result, handshaking: false)
    }

    /// Sends close_notify, best effort and without waiting for the peer's: what the peer reads ends cleanly.
    package func close() {
        ERR_clear_error()
        if SSL_is_init_finished(ssl) == 1 { _ = SSL_shutdown(ssl) }
        ERR_clear_error()
    }

    private func step(for result: Int32, handshaking: Bool) -> TLSStep {
        let code = SSL_get_error(ssl, result)
        defer { ERR_clear_error() }
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            return handshaking ? .failed(.closedDuringHandshake) : .closed
        default:
            let reason = ERR_GET_REASON(ERR_peek_error())
            if handshaking {
                if let certificate = verificationFailure() { return .failed(certificate) }
                return .failed(reason == SSL_R_UNEXPECTED_EOF_WHILE_READING ? .closedDuringHandshake : .handshakeFailed)
            }
            if reason == SSL_R_UNEXPECTED_EOF_WHILE_READING { return .failed(.truncated) }
            // OpenSSL reports a received alert as its code offset by SSL_AD_REASON_OFFSET.
            if reason > SSL_AD_REASON_OFFSET { return .failed(.alertReceived) }
            return .failed(.sessionFailed)
        }
    }

    /// The certificate problem, if verification is what failed.
    private func verificationFailure() -> TLSFailure? {
        let result = Int32(SSL_get_verify_result(ssl))
        switch result {
        case X509_V_OK: return nil
        case X509_V_ERR_CERT_HAS_EXPIRED: return .certificateExpired
        case X509_V_ERR_CERT_NOT_YET_VALID: return .certificateNotYetValid
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH: return .hostMismatch
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return .untrustedCertificate
        case X509_V_ERR_CERT_REVOKED: return .certificateRevoked
        default: return .certificateRejected
        }
    }
}
#else
/// Without OpenSSL (macOS builds) no session can start: the native client speaks plain HTTP only.
package struct TLSSession {
    package init?(context: TLSContext, fd: Int32, host: String) { return nil }
    package init?(accepting fd: Int32, context: TLSContext) { return nil }
    package func free() {}
    package var negotiatedProtocol: String? { nil }
    package func handshake() -> TLSStep { .failed(.handshakeFailed) }
    package func read(into buffer: UnsafeMutableRawBufferPointer) -> TLSStep { .failed(.sessionFailed) }
    package func write(_ bytes: UnsafeRawBufferPointer) -> TLSStep { .failed(.sessionFailed) }
    package func close() {}
}
#endif
