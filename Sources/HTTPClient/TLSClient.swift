#if canImport(COpenSSL)
import COpenSSL
import Platform

/// The client's TLS settings, shared by every connection: the system trust store (plus an optional private CA),
/// peer verification always on, TLS 1.2 or later, ALPN `http/1.1`. There is deliberately no way to turn
/// verification off.
package final class TLSContext: @unchecked Sendable {
    // An SSL_CTX is safe to share across threads once configured; it is only read after `init`.
    fileprivate let context: OpaquePointer

    /// - Parameter caFile: a PEM file of extra trusted certificates (a private CA), added to the system's.
    /// - Throws: `TLSSetupError` when OpenSSL cannot be set up or the CA file cannot be read.
    package init(caFile: String?) throws(TLSSetupError) {
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw TLSSetupError("cannot create a TLS context") }
        self.context = context
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        guard nudj_ssl_ctx_set_min_tls12(context) == 1 else { throw TLSSetupError("cannot require TLS 1.2") }
        _ = nudj_ssl_ctx_set_mode(
            context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        SSL_CTX_set_default_verify_paths(context)
        if let caFile {
            guard SSL_CTX_load_verify_locations(context, caFile, nil) == 1 else {
                ERR_clear_error()
                throw TLSSetupError("cannot read CA certificates from \(caFile)")
            }
        }
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        // Returns 0 on success, unlike most OpenSSL calls.
        guard SSL_CTX_set_alpn_protos(context, alpn, UInt32(alpn.count)) == 0 else {
            throw TLSSetupError("cannot set ALPN")
        }
    }

    deinit { SSL_CTX_free(context) }
}

/// The TLS context could not be set up (bad CA file).
package struct TLSSetupError: Error, CustomStringConvertible {
    package var description: String
    init(_ description: String) { self.description = description }
}

/// One TLS session over a non-blocking socket, driven by the client loop (one thread): each call does what it can
/// without blocking and says which readiness it waits for.
struct TLSSession {
    private let ssl: OpaquePointer

    enum Step: Equatable {
        case done(Int)
        case wantRead
        case wantWrite
        /// The peer closed the session (close_notify or end of stream).
        case closed
        /// A short, internals-free reason for the tool error ("TLS: …").
        case failed(String)
    }

    /// - Parameter host: the name the certificate must match (an IP literal is matched as an address), also sent
    ///   as SNI when it is a name.
    init?(context: TLSContext, fd: Int32, host: String) {
        guard let ssl = SSL_new(context.context) else { return nil }
        self.ssl = ssl
        SSL_set_fd(ssl, fd)
        if Self.isAddressLiteral(host) {
            X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            SSL_set1_host(ssl, host)
            _ = nudj_ssl_set_sni(ssl, host)
        }
        SSL_set_connect_state(ssl)
    }

    func free() { SSL_free(ssl) }

    func handshake() -> Step {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 { return .done(0) }
        return step(for: result, handshaking: true)
    }

    func read(into buffer: UnsafeMutableRawBufferPointer) -> Step {
        ERR_clear_error()
        let result = SSL_read(ssl, buffer.baseAddress, Int32(clamping: buffer.count))
        if result > 0 { return .done(Int(result)) }
        return step(for: result, handshaking: false)
    }

    func write(_ bytes: UnsafeRawBufferPointer) -> Step {
        ERR_clear_error()
        let result = SSL_write(ssl, bytes.baseAddress, Int32(clamping: bytes.count))
        if result > 0 { return .done(Int(result)) }
        return step(for: result, handshaking: false)
    }

    private func step(for result: Int32, handshaking: Bool) -> Step {
        let code = SSL_get_error(ssl, result)
        defer { ERR_clear_error() }
        switch code {
        case SSL_ERROR_WANT_READ: return .wantRead
        case SSL_ERROR_WANT_WRITE: return .wantWrite
        case SSL_ERROR_ZERO_RETURN: return .closed
        case SSL_ERROR_SYSCALL where ERR_peek_error() == 0:
            return handshaking ? .failed("connection closed during handshake") : .closed
        default:
            if handshaking { return .failed(verificationFailure() ?? "handshake failed") }
            return .failed("connection failed")
        }
    }

    /// The certificate problem, in words a user can act on.
    private func verificationFailure() -> String? {
        let result = Int32(SSL_get_verify_result(ssl))
        switch result {
        case X509_V_OK: return nil
        case X509_V_ERR_CERT_HAS_EXPIRED: return "certificate expired"
        case X509_V_ERR_CERT_NOT_YET_VALID: return "certificate not yet valid"
        case X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH: return "certificate does not match the host"
        case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT, X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
            X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT,
            X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
            return "untrusted certificate (use --ca-file for a private CA)"
        case X509_V_ERR_CERT_REVOKED: return "certificate revoked"
        default: return "certificate rejected"
        }
    }

    private static func isAddressLiteral(_ host: String) -> Bool { Socket.isAddressLiteral(host) }
}
#else
/// Without OpenSSL (macOS builds) the native client speaks plain HTTP only; macOS uses URLSession.
package final class TLSContext: Sendable {}

struct TLSSession {
    enum Step: Equatable {
        case done(Int)
        case wantRead
        case wantWrite
        case closed
        case failed(String)
    }

    init?(context: TLSContext, fd: Int32, host: String) { return nil }
    func free() {}
    func handshake() -> Step { .failed("not available in this build") }
    func read(into buffer: UnsafeMutableRawBufferPointer) -> Step { .failed("not available in this build") }
    func write(_ bytes: UnsafeRawBufferPointer) -> Step { .failed("not available in this build") }
}
#endif
