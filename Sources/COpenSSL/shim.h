// The system's OpenSSL (Debian: libssl-dev), for the native upstream client's TLS. Not a package dependency: the
// library is linked from the system, like CSystem's headers. Several OpenSSL calls are macros Swift cannot import;
// the inline functions below give them a name.
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

static inline long nudj_ssl_ctx_set_min_tls12(SSL_CTX *context) {
    return SSL_CTX_set_min_proto_version(context, TLS1_2_VERSION);
}

static inline long nudj_ssl_set_sni(SSL *ssl, const char *host) { return SSL_set_tlsext_host_name(ssl, host); }

static inline long nudj_ssl_ctx_set_mode(SSL_CTX *context, long mode) { return SSL_CTX_set_mode(context, mode); }
