#if canImport(COpenSSL)
import COpenSSL
import Platform

/// TLS settings shared by every connection of one side: TLS 1.2 or later, partial writes from a buffer that may
/// move between retries (the callers' output buffers grow), and ALPN `http/1.1`.
///
/// A client context verifies the peer against the system trust store plus an optional private CA; there is
/// deliberately no way to turn verification off. A server context presents one certificate chain.
package final class TLSContext: @unchecked Sendable {
    // An SSL_CTX is safe to share across threads once configured; it is only read after `init`.
    let pointer: OpaquePointer
    let isServer: Bool

    /// Where a client context finds the roots it trusts besides a `caFile`.
    package enum SystemTrust: Sendable {
        /// The system's store, as OpenSSL finds it (`SSL_CERT_FILE`, `SSL_CERT_DIR`, its built-in paths).
        case system
        /// Only the hashed links in this directory, read when a handshake needs them (tests of that lookup).
        case hashedDirectory(String)
    }

    /// A client context.
    ///
    /// - Parameter caFile: a PEM file of extra trusted certificates (a private CA), added to the system's.
    /// - Throws: `TLSSetupError` when OpenSSL cannot be set up or the CA file cannot be read.
    package init(caFile: String?, systemTrust: SystemTrust = .system) throws(TLSSetupError) {
        pointer = try Self.make(TLS_client_method())
        isServer = false
        SSL_CTX_set_verify(pointer, SSL_VERIFY_PEER, nil)
        switch systemTrust {
        case .system: Self.trustSystemRoots(pointer)
        case .hashedDirectory(let directory):
            guard SSL_CTX_load_verify_dir(pointer, directory) == 1 else {
                ERR_clear_error()
                throw TLSSetupError("cannot use \(directory) as a certificate directory")
            }
        }
        if let caFile {
            guard SSL_CTX_load_verify_locations(pointer, caFile, nil) == 1 else {
                ERR_clear_error()
                throw TLSSetupError("cannot read CA certificates from \(caFile)")
            }
        }
        let alpn: [UInt8] = [8] + Array("http/1.1".utf8)
        // Returns 0 on success, unlike most OpenSSL calls.
        guard SSL_CTX_set_alpn_protos(pointer, alpn, UInt32(alpn.count)) == 0 else {
            throw TLSSetupError("cannot set ALPN")
        }
    }

    /// A server context presenting the certificate chain in `certificateFile` (leaf first, then intermediates).
    ///
    /// - Throws: `TLSSetupError` naming the file when a PEM file cannot be read, or when the key is not the
    ///   certificate's.
    package init(certificateFile: String, keyFile: String) throws(TLSSetupError) {
        pointer = try Self.make(TLS_server_method())
        isServer = true
        defer { ERR_clear_error() }
        guard SSL_CTX_use_certificate_chain_file(pointer, certificateFile) == 1 else {
            throw TLSSetupError("cannot read a PEM certificate chain from \(certificateFile)")
        }
        guard SSL_CTX_use_PrivateKey_file(pointer, keyFile, SSL_FILETYPE_PEM) == 1 else {
            // OpenSSL compares the key with the certificate as it loads it.
            let reason = ERR_GET_REASON(ERR_peek_last_error())
            if reason == X509_R_KEY_VALUES_MISMATCH || reason == X509_R_KEY_TYPE_MISMATCH {
                throw TLSSetupError(
                    "the private key in \(keyFile) does not match the certificate in \(certificateFile)")
            }
            throw TLSSetupError("cannot read a PEM private key from \(keyFile)")
        }
        guard SSL_CTX_check_private_key(pointer) == 1 else {
            throw TLSSetupError("the private key in \(keyFile) does not match the certificate in \(certificateFile)")
        }
        nudj_ssl_ctx_accept_http11(pointer)
        nudj_ssl_ctx_refuse_renegotiation(pointer)
    }

    /// The system's roots. Loading the whole bundle up front parses every root (~140 on Debian): ~240 M
    /// instructions, about 50 ms of CPU at every start, for the one or two a connection needs. Where the default
    /// directory holds OpenSSL's hashed links (`/etc/ssl/certs` on Debian and Ubuntu, kept by update-ca-certificates
    /// with the same roots as the bundle), roots are read from it by subject when a handshake needs them. An
    /// operator's `SSL_CERT_FILE` or `SSL_CERT_DIR`, or a directory without hashed links, gets OpenSSL's defaults.
    private static func trustSystemRoots(_ context: OpaquePointer) {
        if ProcessEnvironment.value(String(cString: X509_get_default_cert_file_env())) == nil,
            ProcessEnvironment.value(String(cString: X509_get_default_cert_dir_env())) == nil,
            let directory = X509_get_default_cert_dir().map({ String(cString: $0) }),
            holdsHashedLinks(directory), SSL_CTX_load_verify_dir(context, directory) == 1
        {
            return
        }
        ERR_clear_error()
        SSL_CTX_set_default_verify_paths(context)
    }

    /// Whether `directory` has an entry named like OpenSSL's hashed links (`3513523f.0`): eight hex digits, a dot,
    /// a number.
    private static func holdsHashedLinks(_ directory: String) -> Bool {
        Directory.containsEntry(in: directory) { name in
            let parts = name.utf8.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
            return parts.count == 2 && parts[0].count == 8 && parts[0].allSatisfy(isHexDigit) && !parts[1].isEmpty
                && parts[1].allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
        }
    }

    private static func isHexDigit(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "f")).contains(byte)
    }

    private static func make(_ method: OpaquePointer?) throws(TLSSetupError) -> OpaquePointer {
        // OpenSSL writes with write(2), which raises SIGPIPE on a closed peer: the callers handle the failed write.
        ProcessSignals.ignoreBrokenPipe()
        // No atexit clean-up: at exit it would free OpenSSL's state under a loop thread still using it (the client
        // loads the trust store on its own thread), a crash on the way out. The system reclaims it all anyway.
        _ = OPENSSL_init_crypto(UInt64(OPENSSL_INIT_NO_ATEXIT), nil)
        guard let context = SSL_CTX_new(method) else { throw TLSSetupError("cannot create a TLS context") }
        guard nudj_ssl_ctx_set_min_tls12(context) == 1 else {
            SSL_CTX_free(context)
            throw TLSSetupError("cannot require TLS 1.2")
        }
        _ = nudj_ssl_ctx_set_mode(context, Int(SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER))
        return context
    }

    deinit { SSL_CTX_free(pointer) }
}
#else
/// Without OpenSSL (macOS builds) there is no TLS here: the native client speaks plain HTTP only (macOS uses
/// URLSession) and the server cannot serve HTTPS.
package final class TLSContext: Sendable {
    package init() {}

    package init(caFile: String?) throws(TLSSetupError) {
        throw TLSSetupError("TLS is not available in this build")
    }

    package init(certificateFile: String, keyFile: String) throws(TLSSetupError) {
        throw TLSSetupError("TLS is not available in this build")
    }
}
#endif
