/*
 * TLS as a transport: OpenSSL driven non-blocking straight over the socket,
 * so a TLS link is a link whose bytes pass through SSL_read_ex/SSL_write_ex.
 * Each SSL_* call starts with a clean error queue and its outcome is mapped
 * once, in tls_outcome(), onto the transport conventions (EAGAIN with want(),
 * 0 for EOF, -1 with errno and a reason in t->error). The client trusts a
 * server by CA and name, or by a pinned SHA-256 of its certificate, which
 * replaces the CA check; the server picks ALPN "rtun/1" or "http/1.1".
 *
 * OpenSSL requires a write() refused with EAGAIN to be retried with the same
 * bytes at the start of the buffer (it may move: ACCEPT_MOVING_WRITE_BUFFER);
 * a link that writes from the head of its output queue does that naturally.
 *
 * Nothing a peer sends makes this layer queue without bound, so it keeps no
 * queue of its own. What OpenSSL must answer by itself is one message at a
 * time, and while it cannot send it, SSL_read says WANT_WRITE and reads no
 * further (checked with OpenSSL 3.0, see test_tls): a TLS 1.3 KeyUpdate that
 * requests one back leaves at most one owed, however many arrive; an alert is
 * dispatched before anything more is read. TLS 1.2 renegotiation, the other
 * way to make a server work and answer, is refused outright. Record and
 * handshake buffers have fixed upper sizes, and no tickets are sent.
 *
 * A direct link between two agents has no certificates: both hold a one-time
 * key from rtund and use it as a TLS 1.3 external PSK, found through the PSK
 * session callbacks. The handshake still runs (EC)DHE (psk_dhe_ke), so a key
 * that leaks later does not open recorded traffic. A PSK side that ends up
 * without the PSK fails: a server has no certificate to fall back on, and a
 * client refuses any certificate it is shown.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "transport-tls.h"
#include "xmalloc.h"

/*
 * No SSL_MODE_RELEASE_BUFFERS: a daemon holds one busy link per agent, and
 * freeing and allocating the record buffers around every read and write costs
 * more than the 34 KiB it saves on an idle one.
 */
#define TLS_MODES (SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER)
/*
 * TLS 1.3 suites, fastest first: AES-128-GCM where the CPU has AES
 * instructions, ChaCha20-Poly1305 where it does not, AES-256-GCM for peers
 * that insist. The server picks in this order.
 */
#define TLS_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256:TLS_AES_256_GCM_SHA384"
/*
 * A PSK is bound to one hash, and a server drops a PSK whose hash is not that
 * of the suite it picked: PSK links offer only the SHA-256 suites, so any
 * choice keeps the PSK, which is made with the first of them.
 */
#define TLS_PSK_SUITES "TLS_AES_128_GCM_SHA256:TLS_CHACHA20_POLY1305_SHA256"
static const unsigned char tls_psk_suite[2] = { 0x13, 0x01 }; /* TLS_AES_128_GCM_SHA256 */

/* The PSK of one direct link and what its callbacks saw; hangs on the SSL as ex_data. */
struct tls_psk {
	uint8_t identity[TLS_PSK_IDENTITY_MAX];
	size_t idlen;
	uint8_t key[TLS_PSK_KEY_MAX];
	size_t keylen;
	int offered;   /* server: the client offered a PSK at all */
	int matched;   /* server: ... under our identity */
	int cert_seen; /* client: the server showed a certificate instead */
};

struct tls_transport {
	struct transport t;
	SSL *ssl;
	int want;
	int established;
	int fatal;  /* OpenSSL forbids SSL_shutdown after a fatal error */
	int eof;    /* the failure was the peer closing the connection */
	int reason; /* ERR_GET_REASON of the OpenSSL error that failed it, 0 if none */
	int pinned;
	uint8_t pin[TLS_FINGERPRINT_LEN];
	char alpn[256];
	struct tls_psk *psk; /* NULL unless a direct link authenticated by a PSK */
};

/*
 * The ex_data slot of struct tls_psk. OpenSSL hands out slots per process, so
 * it is taken once, on first use, and never changes after; -1 if none.
 */
static CRYPTO_ONCE psk_once = CRYPTO_ONCE_STATIC_INIT;
static int psk_index = -1;

static void
psk_index_init(void)
{
	psk_index = SSL_get_ex_new_index(0, NULL, NULL, NULL, NULL);
}

static int
psk_index_get(void)
{
	if (!CRYPTO_THREAD_run_once(&psk_once, psk_index_init))
		return -1;
	return psk_index;
}

/* The first queued OpenSSL error as text (or fallback), and an empty queue. */
static const char *
tls_err_text(char *buf, size_t len, const char *fallback)
{
	unsigned long e = ERR_peek_error();

	if (e == 0)
		snprintf(buf, len, "%s", fallback);
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* Set err to "what: <first OpenSSL error>"; returns NULL for the caller's convenience. */
static SSL_CTX *
ctx_fail(SSL_CTX *ctx, char *err, size_t errlen, const char *what)
{
	char text[256];

	snprintf(err, errlen, "%s: %s", what, tls_err_text(text, sizeof(text), "unknown error"));
	SSL_CTX_free(ctx);
	return NULL;
}

/* A context with the settings both sides share. */
static SSL_CTX *
ctx_new(const SSL_METHOD *method, char *err, size_t errlen)
{
	SSL_CTX *ctx;

	ERR_clear_error();
	if ((ctx = SSL_CTX_new(method)) == NULL)
		return ctx_fail(NULL, err, errlen, "SSL_CTX_new");
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1)
		return ctx_fail(ctx, err, errlen, "TLS 1.2 minimum");
	/* TLS 1.2 is allowed, so renegotiation must be refused: a peer could repeat it forever. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION |
	    SSL_OP_CIPHER_SERVER_PREFERENCE);
	SSL_CTX_set_mode(ctx, TLS_MODES);
	if (SSL_CTX_set_ciphersuites(ctx, TLS_SUITES) != 1)
		return ctx_fail(ctx, err, errlen, "TLS 1.3 cipher suites");
	return ctx;
}

/* How the client checks the server: a pin or insecure skip the CA check. */
static SSL_CTX *
client_ctx_verify(SSL_CTX *ctx, const struct tls_client_opts *o, char *err, size_t errlen)
{
	if (o->insecure || o->fingerprint != NULL) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (o->ca_file == NULL) {
		if (SSL_CTX_set_default_verify_paths(ctx) != 1)
			return ctx_fail(ctx, err, errlen, "system CA store");
		return ctx;
	}
	if (SSL_CTX_load_verify_locations(ctx, o->ca_file, NULL) != 1) {
		char what[320];

		snprintf(what, sizeof(what), "ca_file %s", o->ca_file);
		return ctx_fail(ctx, err, errlen, what);
	}
	return ctx;
}

SSL_CTX *
tls_client_ctx_new(const struct tls_client_opts *o, char *err, size_t errlen)
{
	unsigned char wire[256];
	size_t n = o->alpn != NULL ? strlen(o->alpn) : 0;
	SSL_CTX *ctx;

	if (n >= sizeof(wire)) {
		snprintf(err, errlen, "ALPN protocol name too long");
		return NULL;
	}
	if ((ctx = ctx_new(TLS_client_method(), err, errlen)) == NULL)
		return NULL;
	if (n > 0) {
		wire[0] = (unsigned char)n;
		memcpy(wire + 1, o->alpn, n);
		/* Unlike most of OpenSSL, this one returns 0 on success. */
		if (SSL_CTX_set_alpn_protos(ctx, wire, (unsigned int)n + 1) != 0)
			return ctx_fail(ctx, err, errlen, "ALPN");
	}
	return client_ctx_verify(ctx, o, err, errlen);
}

/* Whether the ALPN protocol p (n bytes) is one we serve; never "h2". */
static int
alpn_known(const unsigned char *p, unsigned int n)
{
	return (n == strlen(TLS_ALPN_RTUN) && memcmp(p, TLS_ALPN_RTUN, n) == 0) ||
	       (n == strlen(TLS_ALPN_HTTP) && memcmp(p, TLS_ALPN_HTTP, n) == 0);
}

/* Pick the first protocol in the client's list that we serve, or go on without ALPN. */
static int
alpn_select(SSL *ssl, const unsigned char **out, unsigned char *outlen, const unsigned char *in,
    unsigned int inlen, void *arg)
{
	unsigned int i, n;

	for (i = 0; i < inlen; i += 1 + n) {
		n = in[i];
		if (n == 0 || n > inlen - i - 1)
			break;
		if (alpn_known(in + i + 1, n)) {
			*out = in + i + 1;
			*outlen = (unsigned char)n;
			return SSL_TLSEXT_ERR_OK;
		}
	}
	return SSL_TLSEXT_ERR_NOACK;
}

SSL_CTX *
tls_server_ctx_new(const char *cert_file, const char *key_file, char *err, size_t errlen)
{
	char what[320];
	SSL_CTX *ctx;

	if ((ctx = ctx_new(TLS_server_method(), err, errlen)) == NULL)
		return NULL;
	snprintf(what, sizeof(what), "tls_cert %s", cert_file);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert_file) != 1)
		return ctx_fail(ctx, err, errlen, what);
	/* This also checks that the key is the certificate's ("key values mismatch"). */
	snprintf(what, sizeof(what), "tls_key %s", key_file);
	if (SSL_CTX_use_PrivateKey_file(ctx, key_file, SSL_FILETYPE_PEM) != 1)
		return ctx_fail(ctx, err, errlen, what);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_select, NULL);
	/* Agents never resume sessions: no tickets to send, no cache to keep. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
}

/* Record a failure: errno and t->error; returns -1. */
static int __attribute__((format(printf, 3, 4)))
tls_fail(struct tls_transport *tt, int err, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(tt->t.error, sizeof(tt->t.error), fmt, ap);
	va_end(ap);
	tt->fatal = 1;
	errno = err;
	return -1;
}

/*
 * Record the first queued OpenSSL error as the failure; returns -1. Such an
 * error (bad record MAC, unexpected message, bad KeyUpdate) is the peer's.
 */
static int
tls_fail_ssl(struct tls_transport *tt)
{
	tt->reason = ERR_GET_REASON(ERR_peek_error());
	tls_err_text(tt->t.error, sizeof(tt->t.error), "TLS error");
	tt->fatal = 1;
	tt->t.violation = 1;
	errno = EPROTO;
	return -1;
}

/*
 * What an SSL_* call that returned r means, given the errno it left: 1 try
 * again (errno EAGAIN, want set), 0 clean EOF (close_notify), -1 failed.
 */
static int
tls_outcome(struct tls_transport *tt, int r, int saved_errno)
{
	switch (SSL_get_error(tt->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		tt->want = EV_READ;
		errno = EAGAIN;
		return 1;
	case SSL_ERROR_WANT_WRITE:
		tt->want = EV_WRITE;
		errno = EAGAIN;
		return 1;
	case SSL_ERROR_ZERO_RETURN:
		tt->eof = 1;
		return 0;
	case SSL_ERROR_SYSCALL:
		ERR_clear_error();
		if (saved_errno != 0)
			return tls_fail(tt, saved_errno, "%s", strerror(saved_errno));
		break;
	default:
		if (ERR_GET_REASON(ERR_peek_error()) != SSL_R_UNEXPECTED_EOF_WHILE_READING)
			return tls_fail_ssl(tt);
		ERR_clear_error();
		break;
	}
	tt->eof = 1;
	return tls_fail(tt, ECONNRESET, "connection closed without a TLS close_notify");
}

/* The SHA-256 of the peer's certificate (DER); -1 if it sent none. */
static int
tls_peer_digest(SSL *ssl, uint8_t md[TLS_FINGERPRINT_LEN])
{
	X509 *cert = SSL_get0_peer_certificate(ssl);
	unsigned int n = 0;

	if (cert == NULL || X509_digest(cert, EVP_sha256(), md, &n) != 1 ||
	    n != TLS_FINGERPRINT_LEN)
		return -1;
	return 0;
}

/* Compare the server certificate with the pin; -1 with the reason when it differs. */
static int
tls_check_pin(struct tls_transport *tt)
{
	uint8_t md[TLS_FINGERPRINT_LEN];
	char hex[2 * TLS_FINGERPRINT_LEN + 1];
	size_t i;

	if (tls_peer_digest(tt->ssl, md) == -1)
		return tls_fail(tt, EPROTO, "fingerprint mismatch: server sent no certificate");
	if (CRYPTO_memcmp(md, tt->pin, sizeof(md)) == 0)
		return 0;
	for (i = 0; i < sizeof(md); i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return tls_fail(tt, EPROTO, "fingerprint mismatch: server sent sha256:%s", hex);
}

/* The handshake is done: check the pin and note the ALPN outcome. */
static int
tls_established(struct tls_transport *tt)
{
	const unsigned char *p = NULL;
	unsigned int n = 0;

	if (tt->pinned && tls_check_pin(tt) == -1)
		return -1;
	/* Belt and braces: neither side can finish without it, see tls_psk_ctx_new(). */
	if (tt->psk != NULL && !SSL_session_reused(tt->ssl))
		return tls_fail(tt, EPROTO, "PSK handshake failed: the peer did not use the PSK");
	SSL_get0_alpn_selected(tt->ssl, &p, &n);
	if (p != NULL && n < sizeof(tt->alpn))
		memcpy(tt->alpn, p, n);
	tt->alpn[n < sizeof(tt->alpn) ? n : 0] = '\0';
	tt->established = 1;
	tt->want = EV_READ;
	return 0;
}

/* The cause of a failed PSK handshake: what the callbacks saw explains more than OpenSSL. */
static void
psk_handshake_reason(struct tls_transport *tt)
{
	const struct tls_psk *psk = tt->psk;
	int server = SSL_is_server(tt->ssl);
	char cause[sizeof(tt->t.error)];
	const char *why = cause;

	memcpy(cause, tt->t.error, sizeof(cause));
	if (tt->eof)
		why = "connection closed during the handshake";
	else if (server && !psk->offered)
		why = "the client offered no PSK";
	else if (server && !psk->matched)
		why = "unknown PSK identity";
	else if (!server && psk->cert_seen)
		why = "the server sent a certificate instead of taking the PSK";
	else if (server && tt->reason == SSL_R_BINDER_DOES_NOT_VERIFY)
		why = "the client has another key (binder does not verify)";
	/* An alert from a PSK server: it found no PSK it knows, or the key differs. */
	if (why == cause && !server && tt->reason >= SSL_AD_REASON_OFFSET) {
		snprintf(tt->t.error, sizeof(tt->t.error),
		    "PSK handshake failed: refused by the server: %.180s", cause);
		return;
	}
	snprintf(tt->t.error, sizeof(tt->t.error), "PSK handshake failed: %.200s", why);
}

/* Rewrite t->error after a failed handshake into a cause a human can act on. */
static void
tls_handshake_reason(struct tls_transport *tt)
{
	long v = SSL_get_verify_result(tt->ssl);
	char cause[sizeof(tt->t.error)];

	if (tt->psk != NULL) {
		psk_handshake_reason(tt);
		return;
	}
	if (!SSL_is_server(tt->ssl) && v != X509_V_OK && SSL_get_verify_mode(tt->ssl) != 0) {
		snprintf(tt->t.error, sizeof(tt->t.error), "certificate verify failed: %s",
		    X509_verify_cert_error_string(v));
	} else if (tt->eof) {
		snprintf(
		    tt->t.error, sizeof(tt->t.error), "connection closed during the TLS handshake");
	} else {
		memcpy(cause, tt->t.error, sizeof(cause));
		snprintf(tt->t.error, sizeof(tt->t.error), "TLS handshake failed: %.200s", cause);
	}
}

static int
tls_handshake(struct transport *t)
{
	struct tls_transport *tt = (struct tls_transport *)t;
	int r, saved_errno;

	if (tt->established)
		return 0;
	if (tt->fatal)
		return -1;
	ERR_clear_error();
	errno = 0;
	r = SSL_do_handshake(tt->ssl);
	saved_errno = errno;
	if (r == 1)
		return tls_established(tt);
	if (tls_outcome(tt, r, saved_errno) == 1)
		return 1;
	tls_handshake_reason(tt);
	tt->fatal = 1;
	errno = EPROTO;
	return -1;
}

/* The result of SSL_read_ex, SSL_peek_ex or SSL_write_ex as transport I/O. */
static ssize_t
tls_io_result(struct tls_transport *tt, int r, size_t n, int saved_errno, int want)
{
	int rc;

	if (r == 1) {
		tt->want = want;
		return (ssize_t)n;
	}
	rc = tls_outcome(tt, r, saved_errno);
	return rc == 1 ? -1 : rc;
}

/* SSL_read_ex or SSL_peek_ex, which share a signature and every outcome. */
static ssize_t
tls_recv(struct transport *t, int (*fn)(SSL *, void *, size_t, size_t *), void *buf, size_t len)
{
	struct tls_transport *tt = (struct tls_transport *)t;
	size_t n = 0;
	int r;

	ERR_clear_error();
	errno = 0;
	r = fn(tt->ssl, buf, len, &n);
	return tls_io_result(tt, r, n, errno, EV_READ);
}

static ssize_t
tls_read(struct transport *t, void *buf, size_t len)
{
	return tls_recv(t, SSL_read_ex, buf, len);
}

static ssize_t
tls_peek(struct transport *t, void *buf, size_t len)
{
	return tls_recv(t, SSL_peek_ex, buf, len);
}

static ssize_t
tls_write(struct transport *t, const void *buf, size_t len)
{
	struct tls_transport *tt = (struct tls_transport *)t;
	size_t n = 0;
	ssize_t rc;
	int r;

	if (len == 0)
		return 0;
	ERR_clear_error();
	errno = 0;
	r = SSL_write_ex(tt->ssl, buf, len, &n);
	rc = tls_io_result(tt, r, n, errno, EV_WRITE);
	/* The peer's close_notify ends our sending too. */
	if (rc == 0)
		return tls_fail(tt, EPIPE, "peer closed the TLS session");
	return rc;
}

static int
tls_flush(struct transport *t)
{
	return 0;
}

static int
tls_want(const struct transport *t)
{
	return ((const struct tls_transport *)t)->want;
}

static size_t
tls_pending(const struct transport *t)
{
	int n = SSL_pending(((const struct tls_transport *)t)->ssl);

	return n > 0 ? (size_t)n : 0;
}

static void
tls_free(struct transport *t)
{
	struct tls_transport *tt = (struct tls_transport *)t;

	/* One non-blocking close_notify, best effort; nobody waits for the answer. */
	if (tt->established && !tt->fatal) {
		ERR_clear_error();
		(void)SSL_shutdown(tt->ssl);
	}
	ERR_clear_error();
	SSL_free(tt->ssl);
	if (tt->psk != NULL) {
		OPENSSL_cleanse(tt->psk, sizeof(*tt->psk));
		free(tt->psk);
	}
	close(t->fd);
	free(tt);
}

static const struct transport_ops tls_ops = {
	.name = transport_names[TRANSPORT_TLS],
	.handshake = tls_handshake,
	.read = tls_read,
	.write = tls_write,
	.flush = tls_flush,
	.want = tls_want,
	.pending = tls_pending,
	.peek = tls_peek,
	.free = tls_free,
};

/* A TLS layer over fd; an SSL object that cannot be had is out of memory, which is fatal. */
static struct tls_transport *
tls_new(SSL_CTX *ctx, int fd)
{
	struct tls_transport *tt = xcalloc(1, sizeof(*tt));

	tt->t.ops = &tls_ops;
	tt->t.fd = fd;
	tt->want = EV_READ;
	ERR_clear_error();
	if ((tt->ssl = SSL_new(ctx)) == NULL || SSL_set_fd(tt->ssl, fd) != 1) {
		fprintf(stderr, "fatal: SSL_new: %s\n",
		    tls_err_text(tt->t.error, sizeof(tt->t.error), "out of memory"));
		abort();
	}
	return tt;
}

/* Name the server must carry: an IP address SAN or a DNS name (which is also the SNI). */
static int
tls_set_peer_name(struct tls_transport *tt, const char *name, int verify)
{
	unsigned char addr[sizeof(struct in6_addr)];
	int ip = inet_pton(AF_INET, name, addr) == 1 || inet_pton(AF_INET6, name, addr) == 1;

	ERR_clear_error();
	if (!ip && SSL_set_tlsext_host_name(tt->ssl, name) != 1)
		return tls_fail(tt, EINVAL, "server_name %.200s: not usable as SNI", name);
	if (!verify)
		return 0;
	SSL_set_hostflags(tt->ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (ip ? X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(tt->ssl), name) != 1
	       : SSL_set1_host(tt->ssl, name) != 1)
		return tls_fail(tt, EINVAL, "server_name %.200s: not usable", name);
	return 0;
}

struct transport *
transport_tls_client(SSL_CTX *ctx, int fd, const struct tls_client_opts *o)
{
	struct tls_transport *tt = tls_new(ctx, fd);

	SSL_set_connect_state(tt->ssl);
	if (o->fingerprint != NULL) {
		memcpy(tt->pin, o->fingerprint, sizeof(tt->pin));
		tt->pinned = 1;
	}
	/* A failure here is reported by the first handshake() call. */
	if (o->server_name != NULL && o->server_name[0] != '\0')
		(void)tls_set_peer_name(tt, o->server_name, !o->insecure && !tt->pinned);
	ERR_clear_error();
	return &tt->t;
}

struct transport *
transport_tls_server(SSL_CTX *ctx, int fd)
{
	struct tls_transport *tt = tls_new(ctx, fd);

	SSL_set_accept_state(tt->ssl);
	return &tt->t;
}

const char *
transport_tls_alpn(const struct transport *t)
{
	return ((const struct tls_transport *)t)->alpn;
}

const char *
transport_tls_version(const struct transport *t)
{
	return SSL_get_version(((const struct tls_transport *)t)->ssl);
}

/* A client never accepts a certificate on a PSK link: it would mean the PSK was ignored. */
static int
psk_refuse_cert(int preverify_ok, X509_STORE_CTX *store)
{
	SSL *ssl = X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx());
	struct tls_psk *psk = ssl != NULL ? SSL_get_ex_data(ssl, psk_index) : NULL;

	if (psk != NULL)
		psk->cert_seen = 1;
	return 0;
}

SSL_CTX *
tls_psk_ctx_new(int server, char *err, size_t errlen)
{
	const SSL_METHOD *method = server ? TLS_server_method() : TLS_client_method();
	SSL_CTX *ctx;

	if (psk_index_get() < 0) {
		snprintf(err, errlen, "SSL_get_ex_new_index: out of memory");
		return NULL;
	}
	if ((ctx = ctx_new(method, err, errlen)) == NULL)
		return NULL;
	if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
	    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1)
		return ctx_fail(ctx, err, errlen, "TLS 1.3 only");
	if (SSL_CTX_set_ciphersuites(ctx, TLS_PSK_SUITES) != 1)
		return ctx_fail(ctx, err, errlen, "TLS 1.3 PSK cipher suites");
	/* Without this option a client offers only psk_dhe_ke and a server accepts only that. */
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	/* The key is good for one link: nothing to resume, nothing to send early. */
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_max_early_data(ctx, 0);
	SSL_CTX_set_recv_max_early_data(ctx, 0);
	if (!server)
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, psk_refuse_cert);
	return ctx;
}

/* A TLS 1.3 session that carries psk as its key; NULL if OpenSSL cannot make one. */
static SSL_SESSION *
psk_session(SSL *ssl, const struct tls_psk *psk)
{
	const SSL_CIPHER *cipher = SSL_CIPHER_find(ssl, tls_psk_suite);
	SSL_SESSION *sess = SSL_SESSION_new();

	if (sess == NULL || cipher == NULL ||
	    SSL_SESSION_set1_master_key(sess, psk->key, psk->keylen) != 1 ||
	    SSL_SESSION_set_cipher(sess, cipher) != 1 ||
	    SSL_SESSION_set_protocol_version(sess, TLS1_3_VERSION) != 1) {
		SSL_SESSION_free(sess);
		return NULL;
	}
	return sess;
}

/* Client: offer our identity and key (OpenSSL owns the session we return). */
static int
psk_use_session(SSL *ssl, const EVP_MD *md, const unsigned char **id, size_t *idlen,
    SSL_SESSION **sess)
{
	struct tls_psk *psk = SSL_get_ex_data(ssl, psk_index);

	*sess = NULL;
	if (psk == NULL)
		return 0;
	/* After a HelloRetryRequest md is the server's hash; ours is SHA-256 or nothing. */
	if (md != NULL && EVP_MD_get_type(md) != NID_sha256)
		return 1;
	if ((*sess = psk_session(ssl, psk)) == NULL)
		return 0;
	*id = psk->identity;
	*idlen = psk->idlen;
	return 1;
}

/*
 * Server: the one identity we expect gets the key; any other gets no PSK,
 * and a server without a certificate then fails the handshake. Identities
 * are compared in constant time, as key lookups should be.
 */
static int
psk_find_session(SSL *ssl, const unsigned char *id, size_t idlen, SSL_SESSION **sess)
{
	struct tls_psk *psk = SSL_get_ex_data(ssl, psk_index);

	*sess = NULL;
	if (psk == NULL)
		return 0;
	psk->offered = 1;
	if (idlen != psk->idlen || CRYPTO_memcmp(id, psk->identity, idlen) != 0)
		return 1;
	psk->matched = 1;
	*sess = psk_session(ssl, psk);
	return *sess != NULL;
}

/* Copy identity and key into tt's PSK; -1 with the reason when either cannot be used. */
static int
psk_set(struct tls_transport *tt, const uint8_t *identity, size_t idlen, const uint8_t *key,
    size_t keylen)
{
	struct tls_psk *psk = tt->psk;

	if (idlen == 0 || idlen > sizeof(psk->identity))
		return tls_fail(tt, EINVAL, "PSK handshake failed: an identity of %zu bytes (1 to %d)",
		    idlen, TLS_PSK_IDENTITY_MAX);
	if (keylen == 0 || keylen > sizeof(psk->key))
		return tls_fail(tt, EINVAL, "PSK handshake failed: a key of %zu bytes (1 to %d)",
		    keylen, TLS_PSK_KEY_MAX);
	if (psk_index_get() < 0)
		return tls_fail(tt, ENOMEM, "PSK handshake failed: no ex_data slot");
	memcpy(psk->identity, identity, idlen);
	psk->idlen = idlen;
	memcpy(psk->key, key, keylen);
	psk->keylen = keylen;
	if (SSL_set_ex_data(tt->ssl, psk_index, psk) != 1) {
		fprintf(stderr, "fatal: SSL_set_ex_data: out of memory\n");
		abort();
	}
	return 0;
}

struct transport *
transport_tls_psk(SSL_CTX *ctx, int fd, int server, const uint8_t *identity, size_t idlen,
    const uint8_t *key, size_t keylen)
{
	struct tls_transport *tt = tls_new(ctx, fd);

	tt->psk = xcalloc(1, sizeof(*tt->psk));
	if (server) {
		SSL_set_accept_state(tt->ssl);
		SSL_set_psk_find_session_callback(tt->ssl, psk_find_session);
	} else {
		SSL_set_connect_state(tt->ssl);
		SSL_set_psk_use_session_callback(tt->ssl, psk_use_session);
	}
	/* A failure here is reported by the first handshake() call. */
	(void)psk_set(tt, identity, idlen, key, keylen);
	return &tt->t;
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
tls_fingerprint_parse(const char *s, uint8_t out[TLS_FINGERPRINT_LEN])
{
	uint8_t md[TLS_FINGERPRINT_LEN];
	size_t i;

	if (strncasecmp(s, "sha256:", 7) != 0)
		return -1;
	s += 7;
	for (i = 0; i < sizeof(md); i++) {
		int hi, lo;

		if (i > 0 && *s == ':')
			s++;
		if ((hi = hex_digit(s[0])) < 0 || (lo = hex_digit(s[1])) < 0)
			return -1;
		md[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
	}
	if (*s != '\0')
		return -1;
	memcpy(out, md, sizeof(md));
	return 0;
}
