/*
 * Unit tests of src/transport-tls.c: fingerprint parsing, and real TLS
 * handshakes in process between a client and a server transport over a
 * non-blocking socketpair, with a CA, a server certificate and an unrelated
 * CA made here with OpenSSL. Covers data both ways, pending(), EOF with and
 * without close_notify, ALPN, pinning, and each verification failure with the
 * reason a user would read in the log, and a client that floods KeyUpdates
 * without reading. The PSK transports of direct links are driven the same
 * way: the right key, a wrong key, a wrong identity, and peers that offer no
 * PSK or want a certificate.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "transport-tls.h"
#include "xmalloc.h"

/* A key and the certificate that goes with it. */
struct cred {
	EVP_PKEY *key;
	X509 *cert;
};

/* A client and a server transport joined by a socketpair, and how their handshakes ended. */
struct pair {
	SSL_CTX *cctx, *sctx;
	struct transport *c, *s;
	int cr, sr;
};

static char dir[256];
static char ca_pem[300], ca2_pem[300], srv_pem[300], srv_key[300], ca_key[300];
static uint8_t srv_fp[TLS_FINGERPRINT_LEN];

static void
add_ext(X509 *cert, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, v3, nid, value);

	ck_assert_ptr_nonnull(ext);
	ck_assert_int_eq(X509_add_ext(cert, ext, -1), 1);
	X509_EXTENSION_free(ext);
}

/* A P-256 key and a certificate for cn: a CA when san is NULL, else a leaf issued by issuer. */
static void
cred_make(struct cred *c, const char *cn, const char *san, const struct cred *issuer)
{
	static long serial = 1;
	X509V3_CTX v3;
	X509_NAME *name;

	ck_assert_ptr_nonnull(c->key = EVP_EC_gen("P-256"));
	ck_assert_ptr_nonnull(c->cert = X509_new());
	X509_set_version(c->cert, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(c->cert), serial++);
	X509_gmtime_adj(X509_getm_notBefore(c->cert), -3600);
	X509_gmtime_adj(X509_getm_notAfter(c->cert), 86400);
	X509_set_pubkey(c->cert, c->key);
	name = X509_get_subject_name(c->cert);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(c->cert, san != NULL ? X509_get_subject_name(issuer->cert) : name);
	X509V3_set_ctx(&v3, san != NULL ? issuer->cert : c->cert, c->cert, NULL, NULL, 0);
	if (san == NULL) {
		add_ext(c->cert, &v3, NID_basic_constraints, "critical,CA:TRUE");
		add_ext(c->cert, &v3, NID_key_usage, "critical,keyCertSign,cRLSign");
	} else {
		add_ext(c->cert, &v3, NID_basic_constraints, "critical,CA:FALSE");
		add_ext(c->cert, &v3, NID_subject_alt_name, san);
	}
	ck_assert_int_ne(X509_sign(c->cert, san != NULL ? issuer->key : c->key, EVP_sha256()), 0);
}

/* Write the certificate (and the key, when key_path is set) as PEM; then free both. */
static void
cred_save(struct cred *c, const char *cert_path, const char *key_path)
{
	FILE *f;

	ck_assert_ptr_nonnull(f = fopen(cert_path, "w"));
	ck_assert_int_eq(PEM_write_X509(f, c->cert), 1);
	fclose(f);
	if (key_path != NULL) {
		ck_assert_ptr_nonnull(f = fopen(key_path, "w"));
		ck_assert_int_eq(PEM_write_PrivateKey(f, c->key, NULL, NULL, 0, NULL, NULL), 1);
		fclose(f);
	}
	X509_free(c->cert);
	EVP_PKEY_free(c->key);
}

static void
setup(void)
{
	struct cred ca, ca2, srv;
	unsigned int n;

	snprintf(dir, sizeof(dir), "%s/rtun-test-tls-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(ca_pem, sizeof(ca_pem), "%s/ca.pem", dir);
	snprintf(ca_key, sizeof(ca_key), "%s/ca.key", dir);
	snprintf(ca2_pem, sizeof(ca2_pem), "%s/ca2.pem", dir);
	snprintf(srv_pem, sizeof(srv_pem), "%s/server.pem", dir);
	snprintf(srv_key, sizeof(srv_key), "%s/server.key", dir);
	cred_make(&ca, "rtun test CA", NULL, NULL);
	cred_make(&ca2, "unrelated CA", NULL, NULL);
	cred_make(&srv, "localhost", "DNS:localhost,IP:127.0.0.1", &ca);
	ck_assert_int_eq(X509_digest(srv.cert, EVP_sha256(), srv_fp, &n), 1);
	cred_save(&srv, srv_pem, srv_key);
	cred_save(&ca, ca_pem, ca_key);
	cred_save(&ca2, ca2_pem, NULL);
}

static void
teardown(void)
{
	unlink(ca_pem);
	unlink(ca_key);
	unlink(ca2_pem);
	unlink(srv_pem);
	unlink(srv_key);
	rmdir(dir);
}

/* Client options that trust the test CA and expect "localhost". */
static struct tls_client_opts
opts_default(void)
{
	struct tls_client_opts o = { "localhost", ca_pem, NULL, 0, TLS_ALPN_RTUN };

	return o;
}

static void
pair_connect(struct pair *p, int sv[2], const struct tls_client_opts *o)
{
	char err[256] = "";

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	p->sctx = tls_server_ctx_new(srv_pem, srv_key, err, sizeof(err));
	ck_assert_msg(p->sctx != NULL, "server ctx: %s", err);
	p->cctx = tls_client_ctx_new(o, err, sizeof(err));
	ck_assert_msg(p->cctx != NULL, "client ctx: %s", err);
	p->c = transport_tls_client(p->cctx, sv[0], o);
	p->s = transport_tls_server(p->sctx, sv[1]);
	p->cr = p->sr = 1;
}

/* Drive both handshakes, alternating, until neither is in progress. */
static void
pair_drive(struct pair *p)
{
	int i;

	for (i = 0; i < 100 && (p->cr == 1 || p->sr == 1); i++) {
		if (p->cr == 1)
			p->cr = transport_handshake(p->c);
		if (p->sr == 1)
			p->sr = transport_handshake(p->s);
	}
}

static void
pair_open(struct pair *p, const struct tls_client_opts *o)
{
	int sv[2];

	pair_connect(p, sv, o);
	pair_drive(p);
}

static void
pair_close(struct pair *p)
{
	transport_free(p->c);
	transport_free(p->s);
	SSL_CTX_free(p->cctx);
	SSL_CTX_free(p->sctx);
}

/* The pair is up; its ALPN outcome is alpn on both sides. */
static void
assert_up(const struct pair *p, const char *alpn)
{
	ck_assert_msg(p->cr == 0, "client: %d %s", p->cr, p->c->error);
	ck_assert_msg(p->sr == 0, "server: %d %s", p->sr, p->s->error);
	ck_assert_str_eq(transport_tls_alpn(p->c), alpn);
	ck_assert_str_eq(transport_tls_alpn(p->s), alpn);
}

/* The client's handshake failed with a reason that starts with want. */
static void
assert_client_failed(const struct pair *p, const char *want)
{
	ck_assert_int_eq(p->cr, -1);
	ck_assert_msg(strncmp(p->c->error, want, strlen(want)) == 0,
	    "client error \"%s\", want \"%s\"", p->c->error, want);
}

/* A handshake with these options succeeds on both sides and settles on alpn. */
static void
expect_up(const struct tls_client_opts *o, const char *alpn)
{
	struct pair p;

	pair_open(&p, o);
	assert_up(&p, alpn);
	pair_close(&p);
}

/* A handshake with these options fails on the client with a reason that starts with want. */
static void
expect_client_fails(const struct tls_client_opts *o, const char *want)
{
	struct pair p;

	pair_open(&p, o);
	assert_client_failed(&p, want);
	pair_close(&p);
}

/* An I/O call that moved nothing must be EAGAIN, not an error. */
static void
assert_again(ssize_t n, const struct transport *t)
{
	ck_assert_msg(n == -1 && errno == EAGAIN, "n=%zd errno=%d: %s", n, errno, t->error);
}

/* Move len bytes through the pair, from one side to the other, both non-blocking. */
static void
pump(struct transport *from, struct transport *to, size_t len)
{
	uint8_t *src = xmalloc(len), *dst = xmalloc(len);
	size_t i, sent = 0, got = 0;
	ssize_t n;

	for (i = 0; i < len; i++)
		src[i] = (uint8_t)(i * 7 + i / 251);
	for (i = 0; got < len && i < 100000; i++) {
		if (sent < len) {
			n = transport_write(from, src + sent, len - sent);
			if (n > 0)
				sent += (size_t)n;
			else
				assert_again(n, from);
		}
		n = transport_read(to, dst + got, len - got);
		if (n > 0)
			got += (size_t)n;
		else
			assert_again(n, to);
	}
	ck_assert_uint_eq(got, len);
	ck_assert_int_eq(memcmp(src, dst, len), 0);
	free(src);
	free(dst);
}

/* Expect "sha256:" and the lowercase hex of fp at the end of s. */
static void
assert_ends_with_fp(const char *s, const uint8_t fp[TLS_FINGERPRINT_LEN])
{
	char want[80] = "sha256:";
	size_t i;

	for (i = 0; i < TLS_FINGERPRINT_LEN; i++)
		snprintf(want + 7 + 2 * i, 3, "%02x", fp[i]);
	ck_assert_uint_ge(strlen(s), strlen(want));
	ck_assert_str_eq(s + strlen(s) - strlen(want), want);
}

START_TEST(test_fingerprint_parse)
{
	const char *hex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
	const char *colons = "SHA256:00:01:02:03:04:05:06:07:08:09:0A:0B:0C:0D:0E:0F:10:11:12:"
	                     "13:14:15:16:17:18:19:1A:1B:1C:1D:1E:FF";
	char s[200];
	uint8_t fp[TLS_FINGERPRINT_LEN];
	size_t i;

	snprintf(s, sizeof(s), "sha256:%s", hex);
	ck_assert_int_eq(tls_fingerprint_parse(s, fp), 0);
	for (i = 0; i < sizeof(fp); i++)
		ck_assert_uint_eq(fp[i], i);
	ck_assert_int_eq(tls_fingerprint_parse(colons, fp), 0);
	ck_assert_uint_eq(fp[10], 10);
	ck_assert_uint_eq(fp[31], 0xff);
	ck_assert_int_eq(tls_fingerprint_parse(s + 7, fp), -1);     /* no prefix */
	ck_assert_int_eq(tls_fingerprint_parse("sha1:00", fp), -1); /* other hash */
	s[strlen(s) - 2] = '\0';
	ck_assert_int_eq(tls_fingerprint_parse(s, fp), -1); /* 31 bytes */
	snprintf(s, sizeof(s), "sha256:%s00", hex);
	ck_assert_int_eq(tls_fingerprint_parse(s, fp), -1); /* 33 bytes */
	snprintf(s, sizeof(s), "sha256:%s", hex);
	s[20] = 'g';
	ck_assert_int_eq(tls_fingerprint_parse(s, fp), -1); /* bad hex */
	ck_assert_int_eq(tls_fingerprint_parse("sha256:", fp), -1);
	ck_assert_int_eq(tls_fingerprint_parse("sha256::00", fp), -1);
}
END_TEST

START_TEST(test_handshake_and_data)
{
	struct tls_client_opts o = opts_default();
	struct pair p;
	int sv[2];

	pair_connect(&p, sv, &o);
	ck_assert_int_eq(transport_handshake(p.c), 1);
	ck_assert_int_eq(transport_want(p.c), EV_READ);
	p.cr = 1;
	pair_drive(&p);
	assert_up(&p, TLS_ALPN_RTUN);
	ck_assert_str_eq(p.c->ops->name, "tls");
	pump(p.c, p.s, 1 << 20);
	pump(p.s, p.c, 1 << 20);
	pump(p.c, p.s, 1);
	pair_close(&p);
}
END_TEST

START_TEST(test_pending_and_peek)
{
	struct tls_client_opts o = opts_default();
	struct pair p;
	char buf[1000];
	int i;

	pair_open(&p, &o);
	assert_up(&p, TLS_ALPN_RTUN);
	assert_again(transport_read(p.s, buf, sizeof(buf)), p.s);
	ck_assert_int_eq(transport_want(p.s), EV_READ);
	for (i = 0; i < (int)sizeof(buf); i++)
		buf[i] = (char)i;
	ck_assert_int_eq(transport_write(p.c, buf, sizeof(buf)), sizeof(buf));
	ck_assert_int_eq(transport_peek(p.s, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "\0\1\2\3", 4), 0);
	ck_assert_int_eq(transport_read(p.s, buf, 10), 10);
	ck_assert_uint_eq(transport_pending(p.s), sizeof(buf) - 10);
	ck_assert_int_eq(transport_read(p.s, buf, sizeof(buf)), sizeof(buf) - 10);
	ck_assert_int_eq(buf[0], 10);
	ck_assert_uint_eq(transport_pending(p.s), 0);
	ck_assert_int_eq(transport_flush(p.c), 0);
	pair_close(&p);
}
END_TEST

START_TEST(test_eof)
{
	struct tls_client_opts o = opts_default();
	struct pair p;
	char buf[16];

	/* free() sends close_notify: a clean EOF. */
	pair_open(&p, &o);
	assert_up(&p, TLS_ALPN_RTUN);
	transport_free(p.c);
	ck_assert_int_eq(transport_read(p.s, buf, sizeof(buf)), 0);
	transport_free(p.s);
	SSL_CTX_free(p.cctx);
	SSL_CTX_free(p.sctx);

	/* A TCP close without close_notify is a reset, with a reason. */
	pair_open(&p, &o);
	assert_up(&p, TLS_ALPN_RTUN);
	ck_assert_int_eq(shutdown(p.c->fd, SHUT_WR), 0);
	ck_assert_int_eq(transport_read(p.s, buf, sizeof(buf)), -1);
	ck_assert_int_eq(errno, ECONNRESET);
	ck_assert_str_eq(p.s->error, "connection closed without a TLS close_notify");
	pair_close(&p);
}
END_TEST

START_TEST(test_alpn)
{
	struct tls_client_opts o = opts_default();

	o.alpn = TLS_ALPN_HTTP;
	expect_up(&o, TLS_ALPN_HTTP);
	o.alpn = "h2";
	expect_up(&o, "");
	o.alpn = NULL;
	expect_up(&o, "");
}
END_TEST

START_TEST(test_pin)
{
	struct tls_client_opts o = opts_default();
	uint8_t wrong[TLS_FINGERPRINT_LEN];
	struct pair p;

	/* The pin is the trust anchor: no CA, and the name does not matter. */
	o.ca_file = NULL;
	o.server_name = "not-in-the-cert.example";
	o.fingerprint = srv_fp;
	expect_up(&o, TLS_ALPN_RTUN);

	memcpy(wrong, srv_fp, sizeof(wrong));
	wrong[5] ^= 1;
	o.fingerprint = wrong;
	pair_open(&p, &o);
	assert_client_failed(&p, "fingerprint mismatch: server sent sha256:");
	assert_ends_with_fp(p.c->error, srv_fp);
	pair_close(&p);
}
END_TEST

START_TEST(test_insecure)
{
	struct tls_client_opts o = opts_default();

	o.ca_file = ca2_pem;
	o.server_name = "wrong.example";
	o.insecure = 1;
	expect_up(&o, TLS_ALPN_RTUN);
}
END_TEST

START_TEST(test_unknown_ca)
{
	struct tls_client_opts o = opts_default();
	struct pair p;

	o.ca_file = ca2_pem;
	pair_open(&p, &o);
	assert_client_failed(&p, "certificate verify failed: unable to get local issuer");
	/* The server learns why from the client's alert. */
	ck_assert_int_eq(p.sr, -1);
	ck_assert_msg(strstr(p.s->error, "TLS handshake failed: ") == p.s->error, "%s", p.s->error);
	ck_assert_msg(strstr(p.s->error, "unknown ca") != NULL, "%s", p.s->error);
	pair_close(&p);
}
END_TEST

START_TEST(test_wrong_name)
{
	struct tls_client_opts o = opts_default();

	o.server_name = "other.example";
	expect_client_fails(&o, "certificate verify failed: hostname mismatch");
	o.server_name = "127.0.0.2";
	expect_client_fails(&o, "certificate verify failed: IP address mismatch");
	o.server_name = "127.0.0.1";
	expect_up(&o, TLS_ALPN_RTUN);
}
END_TEST

/* A server transport over one end of a socketpair whose other end the test holds raw. */
static struct transport *
server_raw(SSL_CTX **ctx, int *peer)
{
	char err[256] = "";
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	*ctx = tls_server_ctx_new(srv_pem, srv_key, err, sizeof(err));
	ck_assert_msg(*ctx != NULL, "%s", err);
	*peer = sv[0];
	return transport_tls_server(*ctx, sv[1]);
}

START_TEST(test_server_bad_peers)
{
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	struct transport *t;
	SSL_CTX *ctx;
	int peer;

	t = server_raw(&ctx, &peer);
	ck_assert_int_eq(transport_handshake(t), 1);
	ck_assert_int_eq(transport_want(t), EV_READ);
	close(peer);
	ck_assert_int_eq(transport_handshake(t), -1);
	ck_assert_str_eq(t->error, "connection closed during the TLS handshake");
	transport_free(t);
	SSL_CTX_free(ctx);

	t = server_raw(&ctx, &peer);
	ck_assert_int_eq(write(peer, http, sizeof(http) - 1), sizeof(http) - 1);
	ck_assert_int_eq(transport_handshake(t), -1);
	ck_assert_msg(strstr(t->error, "TLS handshake failed: error:") == t->error, "%s", t->error);
	ck_assert_int_eq(transport_handshake(t), -1);
	close(peer);
	transport_free(t);
	SSL_CTX_free(ctx);
}
END_TEST

/* An OpenSSL client of our own on the raw end, handshaken with the server transport t. */
static SSL *
client_raw(struct transport *t, int peer, SSL_CTX **cctx, int max_version)
{
	struct tls_client_opts o = opts_default();
	char err[256] = "";
	int i, cr = -1, sr = 1;
	SSL *c;

	o.insecure = 1;
	*cctx = tls_client_ctx_new(&o, err, sizeof(err));
	ck_assert_msg(*cctx != NULL, "%s", err);
	ck_assert_ptr_nonnull(c = SSL_new(*cctx));
	ck_assert_int_eq(SSL_set_fd(c, peer), 1);
	ck_assert_int_eq(SSL_set_max_proto_version(c, max_version), 1);
	SSL_set_connect_state(c);
	for (i = 0; i < 100 && (cr != 1 || sr == 1); i++) {
		if (cr != 1)
			cr = SSL_do_handshake(c);
		if (sr == 1)
			sr = transport_handshake(t);
	}
	ck_assert_int_eq(cr, 1);
	ck_assert_msg(sr == 0, "server: %s", t->error);
	return c;
}

START_TEST(test_key_update_flood)
{
	struct transport *t;
	SSL_CTX *ctx, *cctx;
	int peer, i, queued = 0;
	char buf[16];
	SSL *c;

	/*
	 * TLS 1.3 KeyUpdates that each ask for one back, from a client that never
	 * reads: OpenSSL owes at most one KeyUpdate at a time, and while it cannot
	 * send it, it reads nothing more (EAGAIN, want EV_WRITE). The client runs
	 * out of room to send long before the loop ends.
	 */
	t = server_raw(&ctx, &peer);
	c = client_raw(t, peer, &cctx, TLS1_3_VERSION);
	for (i = 0; i < 100000; i++) {
		ERR_clear_error();
		if (SSL_get_key_update_type(c) == SSL_KEY_UPDATE_NONE &&
		    SSL_key_update(c, SSL_KEY_UPDATE_REQUESTED) != 1)
			break; /* the last one is still stuck in the client's socket */
		(void)SSL_do_handshake(c);
		assert_again(transport_read(t, buf, sizeof(buf)), t);
	}
	ck_assert_int_lt(i, 100000);
	assert_again(transport_read(t, buf, sizeof(buf)), t);
	ck_assert_int_eq(transport_want(t), EV_WRITE);
	ck_assert_int_eq(ioctl(peer, FIONREAD, &queued), 0);
	ck_assert_int_lt(queued, 64 * 1024);
	ERR_clear_error();
	SSL_free(c);
	SSL_CTX_free(cctx);
	close(peer);
	transport_free(t);
	SSL_CTX_free(ctx);
}
END_TEST

START_TEST(test_ctx_errors)
{
	struct tls_client_opts o = opts_default();
	char err[256];

	ck_assert_ptr_null(tls_server_ctx_new("/nonexistent/cert.pem", srv_key, err, sizeof(err)));
	ck_assert_msg(strstr(err, "tls_cert /nonexistent/cert.pem: ") == err, "%s", err);
	ck_assert_ptr_null(tls_server_ctx_new(srv_pem, "/nonexistent/key.pem", err, sizeof(err)));
	ck_assert_msg(strstr(err, "tls_key /nonexistent/key.pem: ") == err, "%s", err);
	ck_assert_ptr_null(tls_server_ctx_new(srv_pem, ca_key, err, sizeof(err)));
	ck_assert_msg(strstr(err, "key values mismatch") != NULL, "%s", err);
	ck_assert_ptr_null(tls_server_ctx_new(ca2_pem, ca2_pem, err, sizeof(err)));
	o.ca_file = "/nonexistent/ca.pem";
	ck_assert_ptr_null(tls_client_ctx_new(&o, err, sizeof(err)));
	ck_assert_msg(strstr(err, "ca_file /nonexistent/ca.pem: ") == err, "%s", err);
}
END_TEST

static const uint8_t psk_id[16] = "session-0123456";
static const uint8_t psk_key[32] = "a one-time key of 32 bytes.....";

/* What a PSK client saw of the handshake: ServerHello extensions, tickets. */
static struct psk_seen {
	int server_hello, key_share, pre_shared_key, tickets;
} seen;

/* Whether the ServerHello msg (len bytes) carries the extension of type ext. */
static int
hello_has_ext(const uint8_t *msg, size_t len, unsigned int ext)
{
	/* type, u24 length, version, random, legacy session id, suite, compression */
	size_t at = 4 + 2 + 32, end, size = 0;

	if (len < at + 1)
		return 0;
	at += 1 + msg[at] + 2 + 1;
	if (len < at + 2)
		return 0;
	end = at + 2 + ((size_t)msg[at] << 8 | msg[at + 1]);
	for (at += 2; at + 4 <= end && end <= len; at += 4 + size) {
		size = (size_t)msg[at + 2] << 8 | msg[at + 3];
		if (((unsigned int)msg[at] << 8 | msg[at + 1]) == ext)
			return 1;
	}
	return 0;
}

/* A message callback for the client's context: notes what the server sent. */
static void
psk_watch(int write_p, int version, int content_type, const void *buf, size_t len, SSL *ssl,
    void *arg)
{
	const uint8_t *msg = buf;

	if (write_p || content_type != SSL3_RT_HANDSHAKE || len < 4)
		return;
	if (msg[0] == SSL3_MT_SERVER_HELLO) {
		seen.server_hello++;
		seen.key_share = hello_has_ext(msg, len, TLSEXT_TYPE_key_share);
		seen.pre_shared_key = hello_has_ext(msg, len, TLSEXT_TYPE_psk);
	} else if (msg[0] == SSL3_MT_NEWSESSION_TICKET) {
		seen.tickets++;
	}
}

/* A PSK client (cid, ckey) and a PSK server expecting (sid, skey), handshaken. */
static void
psk_pair_open(struct pair *p, const uint8_t *cid, size_t cidlen, const uint8_t *ckey,
    size_t ckeylen, const uint8_t *skey)
{
	char err[256] = "";
	int sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	p->sctx = tls_psk_ctx_new(1, err, sizeof(err));
	ck_assert_msg(p->sctx != NULL, "server ctx: %s", err);
	p->cctx = tls_psk_ctx_new(0, err, sizeof(err));
	ck_assert_msg(p->cctx != NULL, "client ctx: %s", err);
	memset(&seen, 0, sizeof(seen));
	SSL_CTX_set_msg_callback(p->cctx, psk_watch);
	p->c = transport_tls_psk(p->cctx, sv[0], 0, cid, cidlen, ckey, ckeylen);
	p->s = transport_tls_psk(p->sctx, sv[1], 1, psk_id, sizeof(psk_id), skey, sizeof(psk_key));
	p->cr = p->sr = 1;
	pair_drive(p);
}

/* Side t's handshake ended with r == -1 and an error that starts with "PSK handshake failed: ". */
static void
assert_psk_failed(int r, const struct transport *t, const char *also)
{
	ck_assert_msg(r == -1, "r=%d %s", r, t->error);
	ck_assert_msg(strstr(t->error, "PSK handshake failed: ") == t->error, "%s", t->error);
	if (also != NULL)
		ck_assert_msg(strstr(t->error, also) != NULL, "%s, want %s", t->error, also);
}

START_TEST(test_psk_handshake_and_data)
{
	struct pair p;

	psk_pair_open(&p, psk_id, sizeof(psk_id), psk_key, sizeof(psk_key), psk_key);
	ck_assert_msg(p.cr == 0, "client: %d %s", p.cr, p.c->error);
	ck_assert_msg(p.sr == 0, "server: %d %s", p.sr, p.s->error);
	ck_assert_str_eq(p.c->ops->name, "tls");
	ck_assert_str_eq(transport_tls_version(p.c), "TLSv1.3");
	ck_assert_str_eq(transport_tls_version(p.s), "TLSv1.3");
	ck_assert_str_eq(transport_tls_alpn(p.c), "");
	/* The server took the PSK and mixed in a key share: psk_dhe_ke, never psk_ke alone. */
	ck_assert_int_eq(seen.server_hello, 1);
	ck_assert_int_eq(seen.pre_shared_key, 1);
	ck_assert_int_eq(seen.key_share, 1);
	ck_assert_uint_eq(SSL_CTX_get_options(p.cctx) & SSL_OP_ALLOW_NO_DHE_KEX, 0);
	ck_assert_uint_eq(SSL_CTX_get_options(p.sctx) & SSL_OP_ALLOW_NO_DHE_KEX, 0);
	ck_assert_int_eq(SSL_CTX_get_max_early_data(p.sctx), 0);
	pump(p.c, p.s, 1 << 18);
	pump(p.s, p.c, 1 << 18);
	pump(p.c, p.s, 1);
	/* The client has read everything the server sent: no ticket was among it. */
	ck_assert_int_eq(seen.tickets, 0);
	pair_close(&p);
}
END_TEST

START_TEST(test_psk_wrong_key)
{
	uint8_t key[sizeof(psk_key)];
	struct pair p;

	memcpy(key, psk_key, sizeof(key));
	key[31] ^= 0x80;
	psk_pair_open(&p, psk_id, sizeof(psk_id), key, sizeof(key), psk_key);
	assert_psk_failed(p.sr, p.s, "the client has another key");
	assert_psk_failed(p.cr, p.c, "refused by the server: ");
	pair_close(&p);
}
END_TEST

START_TEST(test_psk_wrong_identity)
{
	uint8_t id[sizeof(psk_id)];
	struct pair p;

	memcpy(id, psk_id, sizeof(id));
	id[0] ^= 1;
	psk_pair_open(&p, id, sizeof(id), psk_key, sizeof(psk_key), psk_key);
	assert_psk_failed(p.sr, p.s, "unknown PSK identity");
	assert_psk_failed(p.cr, p.c, "refused by the server: ");
	pair_close(&p);
	/* A prefix of the right identity is another identity. */
	psk_pair_open(&p, psk_id, sizeof(psk_id) - 1, psk_key, sizeof(psk_key), psk_key);
	assert_psk_failed(p.sr, p.s, "unknown PSK identity");
	assert_psk_failed(p.cr, p.c, "refused by the server: ");
	pair_close(&p);
}
END_TEST

START_TEST(test_psk_bad_lengths)
{
	uint8_t big[TLS_PSK_KEY_MAX + 1] = { 0 };
	struct pair p;

	psk_pair_open(&p, psk_id, sizeof(psk_id), psk_key, 0, psk_key);
	assert_psk_failed(p.cr, p.c, "key");
	pair_close(&p);
	psk_pair_open(&p, psk_id, sizeof(psk_id), big, sizeof(big), psk_key);
	assert_psk_failed(p.cr, p.c, "key");
	pair_close(&p);
	psk_pair_open(&p, big, TLS_PSK_IDENTITY_MAX + 1, psk_key, sizeof(psk_key), psk_key);
	assert_psk_failed(p.cr, p.c, "identity");
	pair_close(&p);
}
END_TEST

START_TEST(test_psk_plain_client)
{
	struct tls_client_opts o = opts_default();
	char err[256] = "";
	struct pair p;
	int sv[2];

	/* A client that would take any certificate: the PSK server has none to show. */
	o.insecure = 1;
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_ptr_nonnull(p.sctx = tls_psk_ctx_new(1, err, sizeof(err)));
	ck_assert_ptr_nonnull(p.cctx = tls_client_ctx_new(&o, err, sizeof(err)));
	p.c = transport_tls_client(p.cctx, sv[0], &o);
	p.s = transport_tls_psk(p.sctx, sv[1], 1, psk_id, sizeof(psk_id), psk_key, sizeof(psk_key));
	p.cr = p.sr = 1;
	pair_drive(&p);
	assert_psk_failed(p.sr, p.s, "the client offered no PSK");
	ck_assert_int_eq(p.cr, -1);
	pair_close(&p);
}
END_TEST

START_TEST(test_psk_certificate_server)
{
	char err[256] = "";
	struct pair p;
	int sv[2];

	/* A certificate server ignores the PSK, and a PSK client must not settle for that. */
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	ck_assert_ptr_nonnull(p.sctx = tls_server_ctx_new(srv_pem, srv_key, err, sizeof(err)));
	ck_assert_ptr_nonnull(p.cctx = tls_psk_ctx_new(0, err, sizeof(err)));
	p.c = transport_tls_psk(p.cctx, sv[0], 0, psk_id, sizeof(psk_id), psk_key, sizeof(psk_key));
	p.s = transport_tls_server(p.sctx, sv[1]);
	p.cr = p.sr = 1;
	pair_drive(&p);
	assert_psk_failed(p.cr, p.c, "certificate");
	ck_assert_int_eq(p.sr, -1);
	pair_close(&p);
}
END_TEST

static Suite *
tls_suite(void)
{
	Suite *s = suite_create("tls");
	TCase *tc = tcase_create("tls");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_fingerprint_parse);
	tcase_add_test(tc, test_handshake_and_data);
	tcase_add_test(tc, test_pending_and_peek);
	tcase_add_test(tc, test_eof);
	tcase_add_test(tc, test_alpn);
	tcase_add_test(tc, test_pin);
	tcase_add_test(tc, test_insecure);
	tcase_add_test(tc, test_unknown_ca);
	tcase_add_test(tc, test_wrong_name);
	tcase_add_test(tc, test_server_bad_peers);
	tcase_add_test(tc, test_key_update_flood);
	tcase_add_test(tc, test_ctx_errors);
	tcase_add_test(tc, test_psk_handshake_and_data);
	tcase_add_test(tc, test_psk_wrong_key);
	tcase_add_test(tc, test_psk_wrong_identity);
	tcase_add_test(tc, test_psk_bad_lengths);
	tcase_add_test(tc, test_psk_plain_client);
	tcase_add_test(tc, test_psk_certificate_server);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(tls_suite());
	int failed;

	/* Writes to a peer that has gone must fail with EPIPE, as in the daemons. */
	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
