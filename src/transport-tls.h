/*
 * TLS with OpenSSL (TLS 1.2 minimum, 1.3 preferred), non-blocking inside the
 * loop. The client verifies the server by CA (system store or ca_file) and
 * host name, or by a pinned certificate fingerprint; the server offers ALPN
 * "rtun/1" and "http/1.1" and never "h2" (WebSocket upgrade does not exist in
 * HTTP/2).
 *
 * Direct agent-to-agent links use TLS 1.3 alone, authenticated by a one-time
 * external PSK that rtund handed both agents: no certificates on either side,
 * (EC)DHE always mixed in (psk_dhe_ke) for forward secrecy, no tickets, no
 * early data.
 */
#ifndef RTUN_TRANSPORT_TLS_H
#define RTUN_TRANSPORT_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "transport.h"

#define TLS_ALPN_RTUN "rtun/1"
#define TLS_ALPN_HTTP "http/1.1"
#define TLS_FINGERPRINT_LEN 32
#define TLS_PSK_IDENTITY_MAX 64
#define TLS_PSK_KEY_MAX 64

struct tls_client_opts {
	const char *server_name;     /* SNI and the name the certificate must carry */
	const char *ca_file;         /* PEM bundle, or NULL for the system store */
	const uint8_t *fingerprint;  /* SHA-256 of the server certificate (DER), or NULL */
	int insecure;                /* skip verification entirely (logged by the caller) */
	const char *alpn;            /* TLS_ALPN_RTUN or TLS_ALPN_HTTP */
};

/* A client context for these options; NULL with err set (e.g. unreadable ca_file). */
SSL_CTX *tls_client_ctx_new(const struct tls_client_opts *o, char *err, size_t errlen);
/* A server context from PEM certificate chain and key files; NULL with err set. */
SSL_CTX *tls_server_ctx_new(const char *cert_file, const char *key_file, char *err,
    size_t errlen);
/*
 * TLS client transport over a connected socket (takes fd). The options are
 * copied. handshake() fails with reasons such as "certificate verify failed:
 * certificate has expired" or "fingerprint mismatch: server sent sha256:..".
 */
struct transport *transport_tls_client(SSL_CTX *ctx, int fd, const struct tls_client_opts *o);
/* TLS server transport over an accepted socket (takes fd). */
struct transport *transport_tls_server(SSL_CTX *ctx, int fd);
/* A TLS 1.3-only context for direct links: external PSK, no certificates; NULL with err set. */
SSL_CTX *tls_psk_ctx_new(int server, char *err, size_t errlen);
/*
 * TLS transport over a connected socket (takes fd) authenticated by key under
 * identity, as client or server. Both are copied (at most TLS_PSK_IDENTITY_MAX
 * and TLS_PSK_KEY_MAX bytes, else handshake() fails). handshake() fails with
 * "PSK handshake failed: ..." when the peer has another key or identity or
 * offers no PSK.
 */
struct transport *transport_tls_psk(SSL_CTX *ctx, int fd, int server, const uint8_t *identity,
    size_t idlen, const uint8_t *key, size_t keylen);
/* The ALPN protocol the handshake settled on, "" if none. */
const char *transport_tls_alpn(const struct transport *t);
/* The protocol version the handshake settled on ("TLSv1.3"), for logs. */
const char *transport_tls_version(const struct transport *t);
/* Parse "sha256:HEX" (64 hex digits, colons allowed between pairs) into out; -1 if bad. */
int tls_fingerprint_parse(const char *s, uint8_t out[TLS_FINGERPRINT_LEN]);

#endif
