// The system's OpenSSL (Debian: libssl-dev), for TLS in the native upstream client and the HTTP server. Not a package
// dependency: the library is linked from the system, like CSystem's headers. Several OpenSSL calls are macros Swift
// cannot import; the inline functions below give them a name.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static inline long nudj_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline long nudj_ssl_set_sni(SSL *ssl, const char *host) { return SSL_set_tlsext_host_name(ssl, host); }

static inline long nudj_ssl_ctx_set_mode(SSL_CTX *context, long mode) { return SSL_CTX_set_mode(context, mode); }

// Server side of ALPN: `http/1.1` when the client offers it; otherwise no ALPN at all (the client may still speak
// HTTP/1.1), never a protocol the server does not serve.
static inline int nudj_alpn_select_http11(
    SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in, unsigned int inlen,
    void *arg) {
    static const unsigned char http11[] = {8, 'h', 't', 't', 'p', '/', '1', '.', '1'};
    unsigned char *selected = NULL;
    if (SSL_select_next_proto(&selected, outlen, http11, sizeof(http11), in, inlen) != OPENSSL_NPN_NEGOTIATED) {
        return SSL_TLSEXT_ERR_NOACK;
    }
    *out = selected;
    return SSL_TLSEXT_ERR_OK;
}

static inline void nudj_ssl_ctx_accept_http11(SSL_CTX *context) {
    SSL_CTX_set_alpn_select_cb(context, nudj_alpn_select_http11, NULL);
}

// A client-initiated renegotiation costs the server a handshake per request of the client's choosing: refused.
static inline void nudj_ssl_ctx_refuse_renegotiation(SSL_CTX *context) {
    SSL_CTX_set_options(context, SSL_OP_NO_RENEGOTIATION);
}
