/*
 * Unit tests of src/ws-http.c, src/transport-ws.c and src/sniff.c: the RFC
 * 6455 accept key, the upgrade request parser on good and refused requests
 * (whole and one byte at a time), the response parser on the answers of
 * servers and proxies, the builders read back by the parsers, real
 * client/server pairs over a socketpair (handshake, data both ways, a 1 MiB
 * write, close), a scripted server that answers with proxy
 * errors, a bad accept key or frames glued to the 101, a raw client that
 * gets refused (no Host, another version), breaks RFC 6455 (it must get the
 * right Close code) or floods PINGs without reading (bounded replies), and
 * the sniffer's table of first bytes.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "frame.h"
#include "punch-probe.h"
#include "sniff.h"
#include "transport-ws.h"

#define KEY          "dGhlIHNhbXBsZSBub25jZQ=="
#define GOOD_START   "GET /rtun HTTP/1.1\r\nHost: example.com\r\n"
#define H_UPGRADE    "Upgrade: websocket\r\n"
#define H_CONN       "Connection: Upgrade\r\n"
#define H_KEYV(k)    "Sec-WebSocket-Key: " k "\r\n"
#define H_KEY        H_KEYV(KEY)
#define H_VERSION    "Sec-WebSocket-Version: 13\r\n"
#define GOOD_HEADERS H_UPGRADE H_CONN H_KEY H_VERSION
/* Iterations a local exchange may take; far more than a socketpair needs. */
#define SPINS 200000

START_TEST(test_accept_key)
{
	char out[29];

	ck_assert_int_eq(ws_http_accept_key(KEY, out), 0);
	ck_assert_str_eq(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}
END_TEST

static const char *const good[] = {
	GOOD_START GOOD_HEADERS "\r\n",
	"GET /rtun?x=1 HTTP/1.1\r\nhost: a\r\nupgrade: WebSocket\r\nconnection: keep-alive, "
	"upgrade\r\nsec-websocket-key: " KEY "\r\nsec-websocket-version: 13\r\n\r\n",
	"GET /rtun HTTP/1.1\r\nX-Forwarded-For: 10.0.0.1\r\nHOST: a\r\nUPGRADE: websocket\r\n"
	"CONNECTION: Upgrade\r\nUser-Agent: curl\r\nSEC-WEBSOCKET-KEY:   " KEY "  \r\n"
	"SEC-WEBSOCKET-VERSION: 13\r\nX-Real-IP: 10.0.0.1\r\nCookie: a=b\r\n\r\n",
};

START_TEST(test_parse_good)
{
	const char *r = good[_i];
	size_t len = strlen(r), i;
	struct ws_request req;

	ck_assert_int_eq(ws_http_parse_request(r, len, "/rtun", &req), 0);
	ck_assert_int_eq(req.complete, 1);
	ck_assert_int_eq(req.status, 101);
	ck_assert_uint_eq(req.header_len, len);
	ck_assert_str_eq(req.key, KEY);
	for (i = 0; i < len; i++)
		ck_assert_int_eq(ws_http_parse_request(r, i, "/rtun", &req), 1);
}
END_TEST

START_TEST(test_parse_trailing)
{
	const char r[] = GOOD_START GOOD_HEADERS "\r\n\x82\x03"
	                                         "abc";
	struct ws_request req;

	ck_assert_int_eq(ws_http_parse_request(r, sizeof(r) - 1, "/rtun", &req), 0);
	ck_assert_int_eq(req.status, 101);
	ck_assert_uint_eq(req.header_len, sizeof(r) - 1 - 5);
}
END_TEST

/* A request that is good but for its Sec-WebSocket-Key. */
#define BAD_KEY(k)                                                                                 \
	{                                                                                          \
		GOOD_START H_UPGRADE H_CONN H_KEYV(k) H_VERSION "\r\n", 0, 400, "Key"              \
	}

static const struct refusal {
	const char *req;
	int ret, status;
	const char *reason;
} refusals[] = {
	{ "POST /rtun HTTP/1.1\r\n" GOOD_HEADERS "\r\n", 0, 400, "GET" },
	{ "GET /rtun HTTP/1.0\r\n" GOOD_HEADERS "\r\n", 0, 400, "HTTP/1.1" },
	{ "GET /wrong HTTP/1.1\r\nHost: a\r\n" GOOD_HEADERS "\r\n", 0, 404, "path" },
	{ "GET /rtun/ HTTP/1.1\r\nHost: a\r\n" GOOD_HEADERS "\r\n", 0, 404, "path" },
	{ GOOD_START H_CONN H_KEY H_VERSION "\r\n", 0, 400, "Upgrade: websocket" },
	{ GOOD_START "Upgrade: h2c\r\n" H_CONN H_KEY H_VERSION "\r\n", 0, 400,
	    "Upgrade: websocket" },
	{ GOOD_START H_UPGRADE "Connection: keep-alive\r\n" H_KEY H_VERSION "\r\n", 0, 400,
	    "Connection: upgrade" },
	{ GOOD_START H_UPGRADE H_KEY H_VERSION "\r\n", 0, 400, "Connection: upgrade" },
	{ GOOD_START H_UPGRADE H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n", 0, 400, "Version" },
	{ GOOD_START H_UPGRADE H_CONN H_KEY "\r\n", 0, 400, "Version" },
	{ GOOD_START H_UPGRADE H_CONN H_VERSION "\r\n", 0, 400, "Key" },
	BAD_KEY("abc"),
	BAD_KEY("dGhlIHNhbXBsZSBub25j!Q=="),
	BAD_KEY("dGhlIHNhbXBsZSBub25jZQ=A"),
	BAD_KEY("dGhlIHNhbXBsZSBub25jZQ"),
	BAD_KEY("dGhl=HNhbXBsZSBub25jZQ=="),
	BAD_KEY("dGhlIHNhbXBsZSBub25jZQ="),
	{ GOOD_START GOOD_HEADERS H_KEY "\r\n", 0, 400, "Key" },
	{ "GET /rtun HTTP/1.1\r\n" GOOD_HEADERS "\r\n", 0, 400, "Host" },
	{ GOOD_START "Host: b\r\n" GOOD_HEADERS "\r\n", 0, 400, "Host" },
	{ "GET /rtun HTTP/1.1\r\nHost\x01: x\r\n\r\n", -1, 400, "header" },
	{ "BREW /rtun HTTP/1.1\r\n\r\n", -1, 400, "method" },
	{ "\x16\x03\x01\x02\x00\x01", -1, 400, "" },
};

START_TEST(test_parse_refusal)
{
	const struct refusal *c = &refusals[_i];
	struct ws_request req;

	ck_assert_int_eq(ws_http_parse_request(c->req, strlen(c->req), "/rtun", &req), c->ret);
	ck_assert_int_eq(req.status, c->status);
	ck_assert_ptr_nonnull(req.reason);
	ck_assert_msg(strstr(req.reason, c->reason) != NULL, "case %d: reason '%s' lacks '%s'", _i,
	    req.reason, c->reason);
	ck_assert_int_eq(req.offer_version, strcmp(c->reason, "Version") == 0);
}
END_TEST

START_TEST(test_parse_oversize)
{
	char *r = malloc(WS_HTTP_MAX + 100);
	struct ws_request req;
	size_t n = strlen(GOOD_START);

	memcpy(r, GOOD_START, n);
	while (n < WS_HTTP_MAX + 100 - 16)
		n += (size_t)sprintf(r + n, "X-Pad: %06zu\r\n", n);
	ck_assert_int_eq(ws_http_parse_request(r, WS_HTTP_MAX - 1, "/rtun", &req), 1);
	ck_assert_int_eq(ws_http_parse_request(r, WS_HTTP_MAX, "/rtun", &req), -1);
	ck_assert_int_eq(ws_http_parse_request(r, n, "/rtun", &req), -1);
	ck_assert_int_eq(req.status, 400);
	ck_assert_ptr_nonnull(strstr(req.reason, "too long"));
	free(r);
}
END_TEST

#define ACCEPT "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
#define GOOD_101                                                                                   \
	"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"        \
	"Sec-WebSocket-Accept: " ACCEPT "\r\n\r\n"

/* Answers to a request whose key is KEY, and the client's verdict ("" to upgrade). */
static const struct answer {
	const char *text;
	const char *error;
} answers[] = {
	{ GOOD_101, "" },
	{ "HTTP/1.1 101 x\r\nupgrade: WebSocket\r\nsec-websocket-accept:  " ACCEPT " \r\n\r\n",
	    "" },
	{ "HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n\r\n",
	    "HTTP status 407 from server or proxy: Proxy Authentication Required" },
	{ "HTTP/1.1 200\r\n\r\n", "HTTP status 200 from server or proxy: " },
	{ "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: " ACCEPT "\r\n\r\n",
	    "upgrade refused: 101 without Upgrade: websocket" },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
	    "upgrade refused: bad Sec-WebSocket-Accept" },
	{ "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	  "Sec-WebSocket-Accept: " KEY "\r\n\r\n",
	    "upgrade refused: bad Sec-WebSocket-Accept" },
	{ "GET / HTTP/1.1\r\n\r\n",
	    "malformed HTTP response from server or proxy: invalid constant string" },
};

START_TEST(test_response)
{
	const struct answer *c = &answers[_i];
	struct ws_response res;
	size_t len = strlen(c->text), i;
	int want = c->error[0] == '\0' ? 0 : -1;

	ck_assert_int_eq(ws_http_parse_response(c->text, len, ACCEPT, &res), want);
	ck_assert_str_eq(res.error, c->error);
	if (res.complete)
		ck_assert_uint_eq(res.header_len, len);
	for (i = 0; want == 0 && i < len; i++)
		ck_assert_int_eq(ws_http_parse_response(c->text, i, ACCEPT, &res), 1);
}
END_TEST

START_TEST(test_response_trailing)
{
	const char a[] = GOOD_101 "\x82\x03"
	                          "abc";
	struct ws_response res;

	ck_assert_int_eq(ws_http_parse_response(a, sizeof(a) - 1, ACCEPT, &res), 0);
	ck_assert_int_eq(res.status, 101);
	ck_assert_uint_eq(res.header_len, sizeof(a) - 1 - 5);
}
END_TEST

START_TEST(test_response_oversize)
{
	char *a = malloc(WS_HTTP_MAX + 100);
	struct ws_response res;
	size_t n = (size_t)sprintf(a, "HTTP/1.1 101 Switching Protocols\r\n");

	while (n < WS_HTTP_MAX + 100 - 16)
		n += (size_t)sprintf(a + n, "X-Pad: %06zu\r\n", n);
	ck_assert_int_eq(ws_http_parse_response(a, WS_HTTP_MAX - 1, ACCEPT, &res), 1);
	ck_assert_int_eq(ws_http_parse_response(a, n, ACCEPT, &res), -1);
	ck_assert_str_eq(res.error, "HTTP response from server or proxy is over 8192 bytes");
	free(a);
}
END_TEST

/* The client's request, the server's 101 and its refusal, each read by the other side. */
START_TEST(test_build_round_trip)
{
	static const char *const extra[] = { "X-Test: 1" };
	const struct ws_client_opts o = { "example.com", "/rtun", extra, 1 };
	/* The RFC 6455 sample key is the base64 of these 16 bytes. */
	const unsigned char *nonce = (const unsigned char *)"the sample nonce";
	struct ws_request req;
	struct ws_response res;
	struct buf b;
	char accept[29];

	buf_init(&b);
	ck_assert_int_eq(ws_http_put_request(&b, &o, nonce, accept), 0);
	ck_assert_str_eq(accept, ACCEPT);
	ck_assert_int_eq(
	    ws_http_parse_request((const char *)buf_ptr(&b), buf_len(&b), "/rtun", &req), 0);
	ck_assert_int_eq(req.status, 101);
	ck_assert_str_eq(req.key, KEY);
	buf_consume(&b, buf_len(&b));
	ck_assert_int_eq(ws_http_put_101(&b, req.key), 0);
	ck_assert_int_eq(
	    ws_http_parse_response((const char *)buf_ptr(&b), buf_len(&b), accept, &res), 0);
	buf_consume(&b, buf_len(&b));
	req.status = 400;
	req.reason = "no Upgrade: websocket header";
	ck_assert_str_eq(ws_http_put_refusal(&b, &req), req.reason);
	ck_assert_int_eq(
	    ws_http_parse_response((const char *)buf_ptr(&b), buf_len(&b), accept, &res), -1);
	ck_assert_str_eq(res.error, "HTTP status 400 from server or proxy: Bad Request");
	buf_free(&b);
}
END_TEST

/* A connected non-blocking socketpair. */
static void
pair(int fd[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, fd), 0);
	ck_assert_int_eq(fcntl(fd[0], F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(fcntl(fd[1], F_SETFL, O_NONBLOCK), 0);
}

static struct transport *
client_new(int fd, const char *path)
{
	static const char *const headers[] = { "X-Test: 1" };
	struct ws_client_opts o = { "example.com", path, headers, 1 };

	return transport_ws_client(transport_tcp_new(fd), &o);
}

/* The poll() events for what t wants. */
static short
poll_events(const struct transport *t)
{
	int want = transport_want(t);

	return (short)(((want & EV_READ) ? POLLIN : 0) | ((want & EV_WRITE) ? POLLOUT : 0));
}

/* Wait a little for what either transport wants, so the loops do not spin. */
static void
wait_io(struct transport *a, struct transport *b)
{
	struct pollfd p[2] = { { a->fd, poll_events(a), 0 }, { b->fd, poll_events(b), 0 } };

	if (transport_pending(a) == 0 && transport_pending(b) == 0)
		(void)poll(p, 2, 100);
}

/* Drive both handshakes until each has succeeded (0) or failed (-1). */
static void
handshake_both(struct transport *c, struct transport *s, int *rc, int *rs)
{
	int i;

	*rc = *rs = 1;
	for (i = 0; i < SPINS && (*rc == 1 || *rs == 1); i++) {
		if (*rc == 1)
			*rc = transport_handshake(c);
		if (*rs == 1)
			*rs = transport_handshake(s);
		wait_io(c, s);
	}
}

static void
open_pair(struct transport **c, struct transport **s)
{
	int fd[2], rc, rs;

	pair(fd);
	*c = client_new(fd[0], "/rtun");
	*s = transport_ws_server(transport_tcp_new(fd[1]), "/rtun");
	handshake_both(*c, *s, &rc, &rs);
	ck_assert_msg(rc == 0, "client: %s", (*c)->error);
	ck_assert_msg(rs == 0, "server: %s", (*s)->error);
	ck_assert_str_eq((*c)->ops->name, "ws");
}

/* Move n patterned bytes from one end to the other, in pieces as the sockets allow. */
static void
pump(struct transport *from, struct transport *to, size_t n, size_t piece)
{
	unsigned char *out = malloc(n), *in = malloc(n);
	size_t sent = 0, got = 0, i;
	ssize_t r;

	for (i = 0; i < n; i++)
		out[i] = (unsigned char)(i * 7 + i / 251);
	for (i = 0; i < SPINS && got < n; i++) {
		if (sent < n) {
			r = transport_write(from, out + sent, n - sent < piece ? n - sent : piece);
			ck_assert_msg(r > 0 || errno == EAGAIN, "write: %s", strerror(errno));
			sent += r > 0 ? (size_t)r : 0;
		} else {
			ck_assert_int_ge(transport_flush(from), 0);
		}
		while ((r = transport_read(to, in + got, n - got)) > 0)
			got += (size_t)r;
		ck_assert_msg(r == -1 && errno == EAGAIN, "read: %zd %s", r, to->error);
		wait_io(from, to);
	}
	ck_assert_uint_eq(got, n);
	ck_assert_int_eq(memcmp(in, out, n), 0);
	ck_assert_int_eq(transport_flush(from), 0);
	free(out);
	free(in);
}

START_TEST(test_pair_data)
{
	struct transport *c, *s;
	char buf[16];
	ssize_t r;

	open_pair(&c, &s);
	pump(c, s, 5, 5);
	pump(s, c, 5, 5);
	pump(c, s, 1024 * 1024, 100 * 1000);
	pump(s, c, 1024 * 1024, 1024 * 1024);
	/* Freeing one end sends a close frame: the other reads EOF. */
	transport_free(c);
	for (r = -1; r == -1 && errno == EAGAIN; wait_io(s, s))
		r = transport_read(s, buf, sizeof(buf));
	ck_assert_int_eq(r, 0);
	transport_free(s);
}
END_TEST

START_TEST(test_pair_wrong_path)
{
	struct transport *c, *s;
	int fd[2], rc, rs;

	pair(fd);
	c = client_new(fd[0], "/wrong");
	s = transport_ws_server(transport_tcp_new(fd[1]), "/rtun");
	handshake_both(c, s, &rc, &rs);
	ck_assert_int_eq(rs, -1);
	ck_assert_msg(strstr(s->error, "404") != NULL, "server: %s", s->error);
	ck_assert_int_eq(rc, -1);
	ck_assert_str_eq(c->error, "HTTP status 404 from server or proxy: Not Found");
	transport_free(c);
	transport_free(s);
}
END_TEST

/* Scripted servers: what a proxy or a broken server may answer. */
static const struct scripted {
	const char *answer;
	size_t len;
	const char *error; /* client handshake error, or NULL when it succeeds */
} scripted[] = {
#define S(a, e)                                                                                    \
	{                                                                                          \
		a, sizeof(a) - 1, e                                                                \
	}
	S("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad",
	    "HTTP status 502 from server or proxy: Bad Gateway"),
	S("HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\n\r\n",
	    "HTTP status 400 from server or proxy: Bad Request"),
	S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	  "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
	    "upgrade refused: bad Sec-WebSocket-Accept"),
	S("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
	  "Sec-WebSocket-Accept: @\r\n\r\n",
	    "upgrade refused: 101 without Upgrade: websocket"),
	S("SSH-2.0-OpenSSH_9.2\r\n", "malformed HTTP response from server or proxy: invalid "
	                             "constant string"),
	S("", "connection closed during the WebSocket upgrade"),
	/* @ is replaced by the right accept key; a binary frame "abc" follows the 101. */
	S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	  "Sec-WebSocket-Accept: @\r\n\r\n\x82\x03"
	  "abc",
	    NULL),
	/* A text frame after a good 101 is a protocol error on the first read. */
	S("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	  "Sec-WebSocket-Accept: @\r\n\r\n\x81\x02"
	  "hi",
	    NULL),
#undef S
};

/* Read the client's request from fd and answer with a, the accept key put for '@'. */
static void
script_answer(int fd, const char *a, size_t len)
{
	char req[WS_HTTP_MAX], accept[29], out[512];
	const char *k, *at = memchr(a, '@', len);
	ssize_t n = read(fd, req, sizeof(req) - 1);
	size_t o;

	ck_assert_int_gt(n, 0);
	req[n] = '\0';
	ck_assert_ptr_nonnull(strstr(req, "User-Agent: rtun/" PACKAGE_VERSION "\r\n"));
	ck_assert_ptr_nonnull(strstr(req, "\r\nX-Test: 1\r\n\r\n"));
	ck_assert_ptr_nonnull(k = strstr(req, "Sec-WebSocket-Key: "));
	k += strlen("Sec-WebSocket-Key: ");
	ck_assert_ptr_nonnull(memchr(k, '\r', 25));
	*(char *)memchr(k, '\r', 25) = '\0';
	ck_assert_int_eq(ws_http_accept_key(k, accept), 0);
	o = at != NULL ? (size_t)(at - a) : len;
	memcpy(out, a, o);
	if (at != NULL) {
		memcpy(out + o, accept, 28);
		memcpy(out + o + 28, at + 1, len - o - 1);
		o += 28 + len - o - 1;
	}
	ck_assert_int_eq(write(fd, out, o), (ssize_t)o);
	if (len == 0)
		shutdown(fd, SHUT_WR);
}

START_TEST(test_scripted)
{
	const struct scripted *c = &scripted[_i];
	struct transport *t;
	char buf[8];
	int fd[2], r = 1, i;
	ssize_t n = -1;

	pair(fd);
	t = client_new(fd[0], "/rtun");
	ck_assert_int_eq(transport_handshake(t), 1);
	script_answer(fd[1], c->answer, c->len);
	for (i = 0; i < SPINS && r == 1; i++)
		r = transport_handshake(t);
	if (c->error != NULL) {
		ck_assert_int_eq(r, -1);
		ck_assert_str_eq(t->error, c->error);
	} else {
		ck_assert_msg(r == 0, "client: %s", t->error);
		n = transport_read(t, buf, sizeof(buf));
	}
	if (c->error == NULL && c->answer[c->len - 1] == 'c') {
		ck_assert_int_eq(n, 3);
		ck_assert_int_eq(memcmp(buf, "abc", 3), 0);
	} else if (c->error == NULL) {
		ck_assert_int_eq(n, -1);
		ck_assert_int_eq(errno, EPROTO);
		ck_assert_str_eq(
		    t->error, "WebSocket protocol error: a text message; Close 1003 sent");
		ck_assert_int_eq(t->violation, 1);
	}
	transport_free(t);
	close(fd[1]);
}
END_TEST

/* Write request on fd[0] to a new server on fd[1]; drive its handshake to 0 or -1. */
static struct transport *
raw_server(int fd[2], const char *request, int want)
{
	struct transport *s;
	int i, r = 1;

	pair(fd);
	ck_assert_int_eq(write(fd[0], request, strlen(request)), (ssize_t)strlen(request));
	s = transport_ws_server(transport_tcp_new(fd[1]), "/rtun");
	for (i = 0; i < SPINS && r == 1; i++)
		r = transport_handshake(s);
	ck_assert_msg(r == want, "server handshake %d, want %d: %s", r, want, s->error);
	return s;
}

/* Read what the server wrote to fd (one read: it is all there) as a string. */
static void
raw_read(int fd, char *out, size_t len)
{
	ssize_t n = read(fd, out, len - 1);

	ck_assert_int_gt(n, 0);
	out[n] = '\0';
}

/* The server's answer to request, which it must refuse. */
static void
refusal_of(const char *request, char *answer, size_t len)
{
	struct transport *s;
	int fd[2];

	s = raw_server(fd, request, -1);
	raw_read(fd[0], answer, len);
	transport_free(s);
	close(fd[0]);
}

START_TEST(test_refusal_answers)
{
	char a[1024];

	/* RFC 6455 4.4: the version we speak, in a header of the refusal. */
	refusal_of(
	    GOOD_START H_UPGRADE H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n", a, sizeof(a));
	ck_assert_msg(strncmp(a, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", a);
	ck_assert_msg(strstr(a, "\r\nSec-WebSocket-Version: 13\r\n") != NULL, "%s", a);
	ck_assert_ptr_nonnull(strstr(a, "\r\n\r\n"));
	ck_assert_ptr_nonnull(strstr(strstr(a, "\r\n\r\n"), "Sec-WebSocket-Version is not 13"));
	/* RFC 7230 5.4: no Host, no upgrade. */
	refusal_of("GET /rtun HTTP/1.1\r\n" GOOD_HEADERS "\r\n", a, sizeof(a));
	ck_assert_msg(strncmp(a, "HTTP/1.1 400 Bad Request\r\n", 26) == 0, "%s", a);
	ck_assert_ptr_nonnull(strstr(a, "Host header"));
	ck_assert_ptr_null(strstr(a, "Sec-WebSocket-Version"));
}
END_TEST

/* A server that has answered 101 to a raw client on fd[0]; the 101 is read. */
static struct transport *
raw_open(int fd[2])
{
	struct transport *s = raw_server(fd, GOOD_START GOOD_HEADERS "\r\n", 0);
	char a[512];

	raw_read(fd[0], a, sizeof(a));
	ck_assert_msg(strncmp(a, "HTTP/1.1 101 ", 13) == 0, "%s", a);
	return s;
}

/* Client frames that break RFC 6455, and the Close code the server must answer with. */
static const struct violation {
	const char *frame;
	size_t len;
	unsigned code;
} violations[] = {
#define V(f, c)                                                                                    \
	{                                                                                          \
		f, sizeof(f) - 1, c                                                                \
	}
	V("\x82\x01"
	  "a",
	    1002),                           /* not masked */
	V("\x83\x80\x01\x02\x03\x04", 1002), /* reserved opcode 3 */
	V("\xc2\x80\x01\x02\x03\x04", 1002), /* RSV1 without an extension */
	V("\x82\xff\0\0\0\0\0\x20\0\0\1\2\3\4"
	  "x",
	    1009), /* 2 MiB announced: over WS_MSG_MAX */
	V("\x81\x82\0\0\0\0"
	  "hi",
	    1003), /* text */
#undef V
};

START_TEST(test_violation)
{
	const struct violation *c = &violations[_i];
	unsigned char close_frame[64];
	struct transport *s;
	char want[32], buf[16];
	int fd[2];
	ssize_t n;

	s = raw_open(fd);
	ck_assert_int_eq(write(fd[0], c->frame, c->len), (ssize_t)c->len);
	n = transport_read(s, buf, sizeof(buf));
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(errno, EPROTO);
	ck_assert_int_eq(s->violation, 1);
	snprintf(want, sizeof(want), "Close %u sent", c->code);
	ck_assert_msg(strstr(s->error, want) != NULL, "error \"%s\", want \"%s\"", s->error, want);
	/* The Close is on the wire before the stream is given up. */
	n = read(fd[0], close_frame, sizeof(close_frame));
	ck_assert_int_ge(n, 4);
	ck_assert_uint_eq(close_frame[0], 0x88);
	ck_assert_uint_eq((unsigned)close_frame[2] << 8 | close_frame[3], c->code);
	transport_free(s);
	close(fd[0]);
}
END_TEST

/* Write as many copies of frame to fd as it takes, up to max bytes in all; returns the count. */
static size_t
raw_flood(int fd, const char *frame, size_t len, size_t *budget)
{
	size_t n = 0;

	while (*budget >= len && write(fd, frame, len) == (ssize_t)len) {
		*budget -= len;
		n++;
	}
	return n;
}

/* Bytes readable on fd right now, dropped. */
static size_t
raw_discard(int fd)
{
	char buf[65536];
	size_t total = 0;
	ssize_t n;

	while ((n = read(fd, buf, sizeof(buf))) > 0)
		total += (size_t)n;
	return total;
}

/* Have the server write until the client's socket takes no more; returns how much went. */
static size_t
raw_block(struct transport *s)
{
	static char data[65536];
	size_t total = 0;
	ssize_t n;
	int i;

	for (i = 0; i < SPINS; i++) {
		if ((n = transport_write(s, data, sizeof(data))) > 0) {
			total += (size_t)n;
			continue;
		}
		ck_assert_int_eq(errno, EAGAIN);
		if (transport_flush(s) == 1)
			break;
	}
	ck_assert_int_eq(transport_flush(s), 1);
	return total;
}

START_TEST(test_ping_flood_overrun)
{
	char pings[1000 * 6], buf[16];
	struct transport *s;
	int fd[2], i;

	/* Empty pings while the peer reads nothing: one read's worth of PONGs is too many. */
	for (i = 0; i < 1000; i++)
		memcpy(pings + 6 * i, "\x89\x80\1\2\3\4", 6);
	s = raw_open(fd);
	ck_assert_uint_gt(raw_block(s), 0);
	ck_assert_int_eq(write(fd[0], pings, sizeof(pings)), (ssize_t)sizeof(pings));
	ck_assert_int_eq(transport_read(s, buf, sizeof(buf)), -1);
	ck_assert_msg(errno == ENOBUFS, "read: %s (%s)", strerror(errno), s->error);
	ck_assert_msg(strstr(s->error, "peer does not read: ") != NULL, "%s", s->error);
	ck_assert_int_eq(s->violation, 0);
	transport_free(s);
	close(fd[0]);
}
END_TEST

START_TEST(test_ping_flood_held_back)
{
	char ping[6 + 125];
	size_t budget = 4 << 20, sent = 0, got = 0, n;
	struct transport *s;
	char buf[16];
	int fd[2], i;

	/* The largest pings: what one read pulls stays under the hard bound. */
	memcpy(ping, "\x89\xfd\0\0\0\0", 6);
	memset(ping + 6, 'p', sizeof(ping) - 6);
	s = raw_open(fd);
	for (i = 0; i < SPINS && budget >= sizeof(ping); i++) {
		n = raw_flood(fd[0], ping, sizeof(ping), &budget);
		sent += n;
		ck_assert_int_eq(transport_read(s, buf, sizeof(buf)), -1);
		ck_assert_msg(errno == EAGAIN, "read: %s (%s)", strerror(errno), s->error);
		if (n == 0 && transport_want(s) == EV_WRITE)
			break;
	}
	/* Held back: nothing is pulled until the peer reads its PONGs, so its sends stall. */
	ck_assert_int_eq(transport_want(s), EV_WRITE);
	ck_assert_uint_eq(transport_pending(s), 0);
	ck_assert_uint_ge(budget, 2 << 20);
	/* Once it reads them, every ping gets its PONG (2 + 125 bytes each). */
	for (i = 0; i < SPINS && got < sent * (2 + 125); i++) {
		got += raw_discard(fd[0]);
		ck_assert_int_eq(transport_read(s, buf, sizeof(buf)), -1);
		ck_assert_msg(errno == EAGAIN, "read: %s (%s)", strerror(errno), s->error);
	}
	ck_assert_uint_eq(got, sent * (2 + 125));
	ck_assert_int_eq(transport_want(s), EV_READ);
	transport_free(s);
	close(fd[0]);
}
END_TEST

static const struct sniff_case {
	const char *bytes;
	size_t len;
	enum sniff_result want;
} sniffs[] = {
	{ "", 0, SNIFF_NEED_MORE },
	{ "R", 1, SNIFF_NEED_MORE },
	{ "RTUN\r\n\x1a", 7, SNIFF_NEED_MORE },
	{ FRAME_PREFACE, 8, SNIFF_RTUN },
	{ FRAME_PREFACE "\0\0", 10, SNIFF_RTUN },
	{ "\x16", 1, SNIFF_NEED_MORE },
	{ "\x16\x03", 2, SNIFF_TLS },
	{ "\x16\x03\x01\x02\x00", 5, SNIFF_TLS },
	{ "\x16\x02", 2, SNIFF_UNKNOWN },
	{ "G", 1, SNIFF_NEED_MORE },
	{ "GET", 3, SNIFF_NEED_MORE },
	{ "GET ", 4, SNIFF_HTTP },
	{ "GET /rtun HTTP/1.1\r\n", 20, SNIFF_HTTP },
	{ "GETX", 4, SNIFF_UNKNOWN },
	{ "get ", 4, SNIFF_UNKNOWN },
	{ "POST", 4, SNIFF_UNKNOWN },
	{ "RTUN\r\n\x1a\x0b", 8, SNIFF_UNKNOWN },
	{ "SSH-2.0-", 8, SNIFF_UNKNOWN },
	{ "\0", 1, SNIFF_UNKNOWN },
	/* "RTUN" starts both the preface and the probe magic. */
	{ "RTUN", 4, SNIFF_NEED_MORE },
	{ "RTUNP", 5, SNIFF_NEED_MORE },
	{ "RTUNPNC", 7, SNIFF_NEED_MORE },
	{ PROBE_MAGIC, 8, SNIFF_PROBE },
	{ PROBE_MAGIC "\x01\x00", 10, SNIFF_PROBE },
	{ "RTUNPNCX", 8, SNIFF_UNKNOWN },
	{ "RTUNX", 5, SNIFF_UNKNOWN },
	{ "RTUN\rP", 6, SNIFF_UNKNOWN },
};

START_TEST(test_sniff)
{
	const struct sniff_case *c = &sniffs[_i];

	ck_assert_msg(sniff_classify((const uint8_t *)c->bytes, c->len) == c->want,
	    "case %d: got %s, want %s", _i,
	    sniff_name(sniff_classify((const uint8_t *)c->bytes, c->len)), sniff_name(c->want));
}
END_TEST

START_TEST(test_sniff_prefixes)
{
	size_t i;

	for (i = 0; i < FRAME_PREFACE_LEN; i++)
		ck_assert_int_eq(
		    sniff_classify((const uint8_t *)FRAME_PREFACE, i), SNIFF_NEED_MORE);
	ck_assert_str_eq(sniff_name(SNIFF_NEED_MORE), "incomplete");
	ck_assert_str_eq(sniff_name(SNIFF_RTUN), "rtun");
	ck_assert_str_eq(sniff_name(SNIFF_TLS), "tls");
	for (i = 0; i < PROBE_MAGIC_LEN; i++)
		ck_assert_int_eq(sniff_classify((const uint8_t *)PROBE_MAGIC, i), SNIFF_NEED_MORE);
	ck_assert_str_eq(sniff_name(SNIFF_HTTP), "http");
	ck_assert_str_eq(sniff_name(SNIFF_PROBE), "probe");
	ck_assert_str_eq(sniff_name(SNIFF_UNKNOWN), "unknown");
}
END_TEST

#define N(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *
ws_suite(void)
{
	Suite *s = suite_create("ws");
	TCase *tc = tcase_create("ws");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_accept_key);
	tcase_add_loop_test(tc, test_parse_good, 0, N(good));
	tcase_add_test(tc, test_parse_trailing);
	tcase_add_loop_test(tc, test_parse_refusal, 0, N(refusals));
	tcase_add_test(tc, test_parse_oversize);
	tcase_add_loop_test(tc, test_response, 0, N(answers));
	tcase_add_test(tc, test_response_trailing);
	tcase_add_test(tc, test_response_oversize);
	tcase_add_test(tc, test_build_round_trip);
	tcase_add_test(tc, test_pair_data);
	tcase_add_test(tc, test_pair_wrong_path);
	tcase_add_loop_test(tc, test_scripted, 0, N(scripted));
	tcase_add_test(tc, test_refusal_answers);
	tcase_add_loop_test(tc, test_violation, 0, N(violations));
	tcase_add_test(tc, test_ping_flood_overrun);
	tcase_add_test(tc, test_ping_flood_held_back);
	tcase_add_loop_test(tc, test_sniff, 0, N(sniffs));
	tcase_add_test(tc, test_sniff_prefixes);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(ws_suite());
	int failed;

	signal(SIGPIPE, SIG_IGN);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
