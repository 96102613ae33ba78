/*
 * WebSocket transport: an HTTP/1.1 Upgrade handshake, then wslay framing, on
 * top of an inner transport (TCP for ws, TLS for wss). It only ever calls the
 * inner transport's operations, never the socket, so the same code runs over
 * both.
 *
 * The handshake is a small state machine driven by handshake(): the inner
 * handshake, then the request (client) or the request and its answer
 * (server). Header blocks are parsed with http-parser, always from the start
 * of what has arrived so far, so the parser keeps no state between reads and
 * every parse is a pure function of the bytes (the fuzz target's view).
 * Bytes that arrive after the header block already belong to the WebSocket
 * stream and are fed to wslay before anything read later.
 *
 * Data: each write() becomes binary messages of at most WS_MSG_SEND bytes,
 * queued only while nothing else is, so at most one of ours waits in wslay;
 * received binary messages are appended to `in`, which read() drains.
 *
 * Nothing the peer sends may grow a queue without bound. Input is pulled from
 * below only while `in` is short (received messages are at most WS_MSG_MAX),
 * and at most WS_FILL_MAX bytes per read(), so a busy peer cannot hold the
 * loop. wslay answers every PING with a PONG of its own (it offers no way to
 * coalesce them, though RFC 6455 allows answering only the latest), so a peer
 * that pings and never reads would make it queue PONGs without end: past
 * WS_CTL_SOFT of queued replies nothing more is pulled until they drain
 * (read() says EAGAIN, want() EV_WRITE), and if what was already pulled takes
 * them past WS_CTL_HARD while the peer still does not read, the transport
 * fails ("peer does not read"). A peer that breaks RFC 6455 gets the Close
 * frame wslay queued for it (1002, 1007 or 1009; 1003 for a text message),
 * sent before the stream is given up, and the failure is marked a violation.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ev.h>
#include <http_parser.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "buf.h"
#include "log.h"
#include "transport-ws.h"
#include "xmalloc.h"

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
/* Largest message accepted from the peer. */
#define WS_MSG_MAX (1024 * 1024)
/* Largest message sent: small, so a receiver can hand a frame on without a long wait. */
#define WS_MSG_SEND (16 * 1024)
/* Stop pulling frames from below while this much payload waits to be read. */
#define WS_IN_HIGH (256 * 1024)
/* Most bytes one read() pulls from below before it lets other peers run. */
#define WS_FILL_MAX (256 * 1024)
/*
 * Bounds on the replies the peer made us owe it (PONGs, a Close), in bytes as
 * ws_ctl_queued() counts them. wslay pulls input 4 KiB at a time; full of
 * empty PINGs that is some 44 KiB of PONGs, so a flooder none of whose PONGs
 * go out is dropped at once. One that stalls between the bounds is held back
 * at little cost until handshake_timeout or heartbeat_timeout ends its link.
 */
#define WS_CTL_SOFT (16 * 1024)
#define WS_CTL_HARD (32 * 1024)
/* What wslay spends on a queued message besides its payload (our estimate). */
#define WS_MSG_COST 64
/* base64 of the 16-byte Sec-WebSocket-Key. */
#define WS_KEY_LEN 24

/* A run of bytes inside the buffer being parsed. */
struct span {
	const char *p;
	size_t n;
};

/* What rtun needs from one HTTP header block. */
struct http_scan {
	struct span url, reason, field, value;
	struct span key, accept, version;
	int nkey;         /* Sec-WebSocket-Key headers seen */
	int nhost;        /* Host headers seen */
	int upgrade_ws;   /* an Upgrade header lists "websocket" */
	int conn_upgrade; /* a Connection header lists "upgrade" */
	int done;         /* the blank line ending the block was seen */
};

enum ws_state {
	WS_INNER,         /* the layer below is still handshaking */
	WS_SEND_REQUEST,  /* client: writing the upgrade request */
	WS_READ_RESPONSE, /* client: waiting for 101 */
	WS_READ_REQUEST,  /* server: reading the upgrade request */
	WS_SEND_101,      /* server: writing 101 Switching Protocols */
	WS_SEND_REFUSAL,  /* server: writing 400 or 404, then failing */
	WS_OPEN,
	WS_FAILED,
};

struct ws_transport {
	struct transport t;
	struct transport *inner;
	enum ws_state state;
	int server;
	char *path;        /* server: the one endpoint served */
	char accept[29];   /* client: the Sec-WebSocket-Accept expected */
	struct buf hs_out; /* handshake bytes not yet written */
	struct buf hs_in;  /* peer bytes read during the handshake, then its leftover */
	int rwant, wwant;  /* inner want() when a read or write last said EAGAIN */
	int writing;       /* the last data call was write() or flush(), not read() */
	wslay_event_context_ptr ctx;
	struct buf in; /* received payload not yet read */
	size_t pulled; /* bytes the current fill took from below */
	int eof;       /* close frame or end of the inner stream */
	int err;       /* errno of a fatal error, 0 if none */
	int broken;    /* the inner stream failed: nothing more goes down */
};

static int
is_ows(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Extend s to cover at..at+n; http-parser may hand over a value in pieces. */
static void
span_add(struct span *s, const char *at, size_t n)
{
	if (s->p == NULL)
		s->p = at;
	s->n = (size_t)(at + n - s->p);
}

static struct span
span_trim(struct span s)
{
	while (s.n > 0 && is_ows(s.p[0])) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && is_ows(s.p[s.n - 1]))
		s.n--;
	return s;
}

static int
span_ieq(struct span s, const char *str)
{
	return s.n == strlen(str) && strncasecmp(s.p, str, s.n) == 0;
}

/* True if the comma-separated list s holds token, compared without case. */
static int
span_has_token(struct span s, const char *token)
{
	struct span item;
	size_t i = 0;

	while (i < s.n) {
		item.p = s.p + i;
		while (i < s.n && s.p[i] != ',')
			i++;
		item.n = (size_t)(s.p + i - item.p);
		if (span_ieq(span_trim(item), token))
			return 1;
		i++;
	}
	return 0;
}

/* A header is complete: keep what matters of it. */
static void
scan_commit(struct http_scan *s)
{
	struct span v = span_trim(s->value);

	if (span_ieq(s->field, "upgrade"))
		s->upgrade_ws |= span_has_token(v, "websocket");
	else if (span_ieq(s->field, "connection"))
		s->conn_upgrade |= span_has_token(v, "upgrade");
	else if (span_ieq(s->field, "sec-websocket-version"))
		s->version = v;
	else if (span_ieq(s->field, "sec-websocket-accept"))
		s->accept = v;
	else if (span_ieq(s->field, "host"))
		s->nhost++;
	else if (span_ieq(s->field, "sec-websocket-key")) {
		s->key = v;
		s->nkey++;
	}
	memset(&s->field, 0, sizeof(s->field));
	memset(&s->value, 0, sizeof(s->value));
}

static int
scan_url(http_parser *p, const char *at, size_t n)
{
	span_add(&((struct http_scan *)p->data)->url, at, n);
	return 0;
}

static int
scan_status(http_parser *p, const char *at, size_t n)
{
	span_add(&((struct http_scan *)p->data)->reason, at, n);
	return 0;
}

static int
scan_field(http_parser *p, const char *at, size_t n)
{
	struct http_scan *s = p->data;

	/* The whole block is parsed in one call, so a name never arrives in pieces. */
	if (s->field.p != NULL)
		scan_commit(s);
	s->field.p = at;
	s->field.n = n;
	return 0;
}

static int
scan_value(http_parser *p, const char *at, size_t n)
{
	span_add(&((struct http_scan *)p->data)->value, at, n);
	return 0;
}

static int
scan_headers_complete(http_parser *p)
{
	struct http_scan *s = p->data;

	if (s->field.p != NULL)
		scan_commit(s);
	s->done = 1;
	/* 2: no body and no further message; execute() returns the header block's length. */
	return 2;
}

/*
 * Parse the header block at the start of buf: 0 when complete (*used is its
 * length), 1 when more bytes are needed, -1 when it is not HTTP.
 */
static int
http_scan(const char *buf, size_t len, enum http_parser_type type, http_parser *p,
    struct http_scan *s, size_t *used)
{
	static const http_parser_settings settings = {
		.on_url = scan_url,
		.on_status = scan_status,
		.on_header_field = scan_field,
		.on_header_value = scan_value,
		.on_headers_complete = scan_headers_complete,
	};
	size_t n;

	memset(s, 0, sizeof(*s));
	http_parser_init(p, type);
	p->data = s;
	/* Zero bytes would tell http-parser the stream ended. */
	if (len == 0)
		return 1;
	n = http_parser_execute(p, &settings, buf, len);
	if (s->done) {
		*used = n;
		return 0;
	}
	return HTTP_PARSER_ERRNO(p) == HPE_OK ? 1 : -1;
}

int
ws_accept_key(const char *key, char out[29])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen;
	EVP_MD_CTX *c;
	int ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1 &&
	     EVP_DigestUpdate(c, key, strlen(key)) == 1 &&
	     EVP_DigestUpdate(c, WS_GUID, strlen(WS_GUID)) == 1 &&
	     EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen == 20;
	EVP_MD_CTX_free(c);
	if (!ok)
		return -1;
	EVP_EncodeBlock((unsigned char *)out, md, 20);
	return 0;
}

/* True if k is base64 of exactly 16 bytes: 22 digits (the last carrying 2 bits) and "==". */
static int
key_valid(struct span k)
{
	static const char digits[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i;

	if (k.n != WS_KEY_LEN || k.p[22] != '=' || k.p[23] != '=')
		return 0;
	for (i = 0; i < WS_KEY_LEN - 2; i++)
		if (k.p[i] == '\0' || strchr(digits, k.p[i]) == NULL)
			return 0;
	return 1;
}

static int
path_matches(struct span url, const char *path)
{
	const char *q = memchr(url.p, '?', url.n);

	if (q != NULL)
		url.n = (size_t)(q - url.p);
	return url.n == strlen(path) && memcmp(url.p, path, url.n) == 0;
}

/* Decide on a complete request: 101, or the status and reason of a refusal. */
static void
request_judge(
    const http_parser *p, const struct http_scan *s, const char *path, struct ws_request *req)
{
	req->status = 400;
	if (p->method != HTTP_GET)
		req->reason = "method is not GET";
	else if (p->http_major != 1 || p->http_minor < 1)
		req->reason = "WebSocket needs HTTP/1.1";
	else if (s->nhost != 1) /* RFC 7230 5.4: exactly one Host, or 400 */
		req->reason = "missing or repeated Host header";
	else if (s->url.p == NULL || !path_matches(s->url, path)) {
		req->status = 404;
		req->reason = "no WebSocket endpoint at this path";
	} else if (!s->upgrade_ws)
		req->reason = "no Upgrade: websocket header";
	else if (!s->conn_upgrade)
		req->reason = "no Connection: upgrade header";
	else if (!span_ieq(s->version, "13")) {
		req->reason = "Sec-WebSocket-Version is not 13";
		req->offer_version = 1;
	} else if (s->nkey != 1 || !key_valid(s->key))
		req->reason = "missing or invalid Sec-WebSocket-Key";
	else {
		req->status = 101;
		memcpy(req->key, s->key.p, s->key.n);
		req->key[s->key.n] = '\0';
	}
}

int
ws_parse_request(const char *buf, size_t len, const char *path, struct ws_request *req)
{
	struct http_scan s;
	http_parser p;
	int r;

	memset(req, 0, sizeof(*req));
	req->status = 400;
	r = http_scan(
	    buf, len < WS_HTTP_MAX ? len : WS_HTTP_MAX, HTTP_REQUEST, &p, &s, &req->header_len);
	if (r == 1 && len < WS_HTTP_MAX)
		return 1;
	if (r == 1) {
		req->reason = "request header block too long";
		return -1;
	}
	if (r == -1) {
		req->reason = http_errno_description(HTTP_PARSER_ERRNO(&p));
		return -1;
	}
	req->complete = 1;
	request_judge(&p, &s, path, req);
	return 0;
}

static int ws_fail(struct ws_transport *ws, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Record why the transport failed; returns -1 for handshake(). */
static int
ws_fail(struct ws_transport *ws, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ws->t.error, sizeof(ws->t.error), fmt, ap);
	va_end(ap);
	ws->state = WS_FAILED;
	return -1;
}

/* An inner read or write returned n <= 0 during the handshake: 1 to wait, or fail. */
static int
ws_hs_io_fail(struct ws_transport *ws, ssize_t n, int *want)
{
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
		*want = transport_want(ws->inner);
		return 1;
	}
	if (n == 0)
		return ws_fail(ws, "connection closed during the WebSocket upgrade");
	return ws_fail(ws, "WebSocket upgrade: %s",
	    ws->inner->error[0] != '\0' ? ws->inner->error : strerror(errno));
}

/* Read more of the peer's header block: 0 got bytes, 1 wait, -1 failed. */
static int
ws_hs_read(struct ws_transport *ws)
{
	size_t room = WS_HTTP_MAX - buf_len(&ws->hs_in);
	ssize_t n;

	n = transport_read(ws->inner, buf_reserve(&ws->hs_in, room), room);
	if (n <= 0)
		return ws_hs_io_fail(ws, n, &ws->rwant);
	buf_commit(&ws->hs_in, (size_t)n);
	ws->rwant = 0;
	return 0;
}

static void ws_error(struct ws_transport *ws, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Record the first fatal error of the open stream: errno for read() and write(), and why. */
static void
ws_error(struct ws_transport *ws, int err, const char *fmt, ...)
{
	va_list ap;

	if (ws->err)
		return;
	ws->err = err;
	va_start(ap, fmt);
	vsnprintf(ws->t.error, sizeof(ws->t.error), fmt, ap);
	va_end(ap);
}

static ssize_t
ws_io_result(struct ws_transport *ws, ssize_t n, int *want)
{
	int e = n == 0 ? EPIPE : errno;

	if (n > 0) {
		*want = 0;
		return n;
	}
	if (n == -1 && (e == EAGAIN || e == EWOULDBLOCK || e == EINTR)) {
		*want = transport_want(ws->inner);
		wslay_event_set_error(ws->ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n == 0 && want == &ws->rwant) {
		ws->eof = 1;
	} else {
		ws->broken = 1;
		ws->t.violation |= ws->inner->violation;
		ws_error(ws, e, "%s", ws->inner->error[0] != '\0' ? ws->inner->error : strerror(e));
	}
	wslay_event_set_error(ws->ctx, WSLAY_ERR_CALLBACK_FAILURE);
	return -1;
}

/*
 * Bytes wslay holds for replies the peer asked for (PONGs, a Close): what it
 * has queued, each message costed WS_MSG_COST more, less the one data message
 * write() may have queued. wslay does not say which messages are which.
 */
static size_t
ws_ctl_queued(const struct ws_transport *ws)
{
	size_t n = wslay_event_get_queued_msg_count(ws->ctx);
	size_t bytes = wslay_event_get_queued_msg_length(ws->ctx) + n * WS_MSG_COST;
	size_t ours = WS_MSG_SEND + WS_MSG_COST;

	return bytes > ours ? bytes - ours : 0;
}

/* Past the soft bound: read nothing more until the peer has taken its replies. */
static int
ws_held_back(struct ws_transport *ws)
{
	if (ws_ctl_queued(ws) < WS_CTL_SOFT)
		return 0;
	ws->rwant = ws->wwant ? ws->wwant : EV_WRITE;
	return 1;
}

static ssize_t
ws_recv_cb(wslay_event_context_ptr ctx, uint8_t *p, size_t len, int flags, void *user)
{
	struct ws_transport *ws = user;
	size_t n = buf_len(&ws->hs_in);
	ssize_t r;

	/* Enough for now: payload waits to be read, replies pile up, or this fill had its share. */
	if (buf_len(&ws->in) >= WS_IN_HIGH || ws_ctl_queued(ws) >= WS_CTL_SOFT ||
	    ws->pulled >= WS_FILL_MAX) {
		ws->rwant = EV_READ;
		wslay_event_set_error(ctx, WSLAY_ERR_WOULDBLOCK);
		return -1;
	}
	if (n > 0) {
		n = n < len ? n : len;
		memcpy(p, buf_ptr(&ws->hs_in), n);
		buf_consume(&ws->hs_in, n);
		ws->pulled += n;
		return (ssize_t)n;
	}
	r = ws_io_result(ws, transport_read(ws->inner, p, len), &ws->rwant);
	if (r > 0)
		ws->pulled += (size_t)r;
	return r;
}

static ssize_t
ws_send_cb(wslay_event_context_ptr ctx, const uint8_t *p, size_t len, int flags, void *user)
{
	struct ws_transport *ws = user;

	return ws_io_result(ws, transport_write(ws->inner, p, len), &ws->wwant);
}

static int
ws_genmask_cb(wslay_event_context_ptr ctx, uint8_t *buf, size_t len, void *user)
{
	return RAND_bytes(buf, (int)len) == 1 ? 0 : -1;
}

static void
ws_msg_cb(wslay_event_context_ptr ctx, const struct wslay_event_on_msg_recv_arg *a, void *user)
{
	static const char why[] = "rtun sends binary messages only";
	struct ws_transport *ws = user;

	if (a->opcode == WSLAY_BINARY_FRAME) {
		buf_append(&ws->in, a->msg, a->msg_length);
		return;
	}
	if (a->opcode != WSLAY_TEXT_FRAME)
		return;
	/* ws_fill() reports it with the other violations, by the code this queues. */
	wslay_event_queue_close(
	    ctx, WSLAY_CODE_UNSUPPORTED_DATA, (const uint8_t *)why, sizeof(why) - 1);
	wslay_event_shutdown_read(ctx);
}

/* The handshake is done: frames from here on. */
static int
ws_open(struct ws_transport *ws)
{
	static const struct wslay_event_callbacks cbs = {
		.recv_callback = ws_recv_cb,
		.send_callback = ws_send_cb,
		.genmask_callback = ws_genmask_cb,
		.on_msg_recv_callback = ws_msg_cb,
	};
	int r;

	if (ws->server)
		r = wslay_event_context_server_init(&ws->ctx, &cbs, ws);
	else
		r = wslay_event_context_client_init(&ws->ctx, &cbs, ws);
	if (r != 0)
		return ws_fail(ws, "wslay: cannot create a context (error %d)", r);
	wslay_event_config_set_max_recv_msg_length(ws->ctx, WS_MSG_MAX);
	buf_free(&ws->hs_out);
	ws->state = WS_OPEN;
	return 0;
}

static int
ws_inner_handshake(struct ws_transport *ws)
{
	int r = transport_handshake(ws->inner);

	if (r == -1)
		return ws_fail(ws, "%s", ws->inner->error);
	if (r == 1)
		return 1;
	ws->state = ws->server ? WS_READ_REQUEST : WS_SEND_REQUEST;
	return 0;
}

/* Write hs_out, then move to the next state. */
static int
ws_send_handshake(struct ws_transport *ws)
{
	while (buf_len(&ws->hs_out) > 0) {
		ssize_t n = transport_write(ws->inner, buf_ptr(&ws->hs_out), buf_len(&ws->hs_out));

		if (n <= 0)
			return ws_hs_io_fail(ws, n, &ws->wwant);
		buf_consume(&ws->hs_out, (size_t)n);
		ws->wwant = 0;
	}
	if (ws->state == WS_SEND_REQUEST) {
		ws->state = WS_READ_RESPONSE;
		return 0;
	}
	if (ws->state == WS_SEND_101)
		return ws_open(ws);
	ws->state = WS_FAILED; /* the refusal is out; t->error says why */
	return -1;
}

/* Client: wait for the 101 and check it. */
static int
ws_read_response(struct ws_transport *ws)
{
	struct http_scan s;
	http_parser p;
	size_t used = 0;
	int r;

	do {
		if ((r = ws_hs_read(ws)) != 0)
			return r;
		r = http_scan((const char *)buf_ptr(&ws->hs_in), buf_len(&ws->hs_in), HTTP_RESPONSE,
		    &p, &s, &used);
		if (r == 1 && buf_len(&ws->hs_in) >= WS_HTTP_MAX)
			return ws_fail(
			    ws, "HTTP response from server or proxy is over %d bytes", WS_HTTP_MAX);
	} while (r == 1);
	if (r == -1)
		return ws_fail(ws, "malformed HTTP response from server or proxy: %s",
		    http_errno_description(HTTP_PARSER_ERRNO(&p)));
	if (p.status_code != 101) {
		char reason[128];

		log_safe(s.reason.p, s.reason.n, reason, sizeof(reason));
		return ws_fail(
		    ws, "HTTP status %d from server or proxy: %s", p.status_code, reason);
	}
	if (!s.upgrade_ws)
		return ws_fail(ws, "upgrade refused: 101 without Upgrade: websocket");
	if (s.accept.n != strlen(ws->accept) || memcmp(s.accept.p, ws->accept, s.accept.n) != 0)
		return ws_fail(ws, "upgrade refused: bad Sec-WebSocket-Accept");
	buf_consume(&ws->hs_in, used);
	return ws_open(ws);
}

/* Server: queue 101 for a good request, or the refusal for a bad one. */
static int
ws_answer(struct ws_transport *ws, const struct ws_request *req)
{
	const char *reason = req->reason != NULL ? req->reason : "bad request";
	char accept[29];

	if (req->status == 101 && ws_accept_key(req->key, accept) == 0) {
		buf_consume(&ws->hs_in, req->header_len);
		buf_printf(&ws->hs_out,
		    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		    accept);
		ws->state = WS_SEND_101;
		return 0;
	}
	/* RFC 6455 4.4: a client of another version learns which one we speak. */
	buf_printf(&ws->hs_out,
	    "HTTP/1.1 %d %s\r\n%sContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
	    req->status, http_status_str((enum http_status)req->status),
	    req->offer_version ? "Sec-WebSocket-Version: 13\r\n" : "", strlen(reason) + 1, reason);
	snprintf(ws->t.error, sizeof(ws->t.error), "WebSocket upgrade refused with %d: %s",
	    req->status, reason);
	ws->state = WS_SEND_REFUSAL;
	return 0;
}

/* Server: read the upgrade request until it is complete or hopeless. */
static int
ws_read_request(struct ws_transport *ws)
{
	struct ws_request req;
	int r;

	do {
		if ((r = ws_hs_read(ws)) != 0)
			return r;
		r = ws_parse_request(
		    (const char *)buf_ptr(&ws->hs_in), buf_len(&ws->hs_in), ws->path, &req);
	} while (r == 1);
	return ws_answer(ws, &req);
}

static int
ws_handshake(struct transport *t)
{
	struct ws_transport *ws = (struct ws_transport *)t;
	int r;

	for (;;) {
		switch (ws->state) {
		case WS_INNER:
			r = ws_inner_handshake(ws);
			break;
		case WS_SEND_REQUEST:
		case WS_SEND_101:
		case WS_SEND_REFUSAL:
			r = ws_send_handshake(ws);
			break;
		case WS_READ_RESPONSE:
			r = ws_read_response(ws);
			break;
		case WS_READ_REQUEST:
			r = ws_read_request(ws);
			break;
		case WS_OPEN:
			return 0;
		default:
			return -1;
		}
		if (r != 0)
			return r;
	}
}

/* Push queued frames down while the inner stream works; -1 once it is broken. */
static int
ws_drain(struct ws_transport *ws)
{
	if (!ws->broken && wslay_event_want_write(ws->ctx) && wslay_event_send(ws->ctx) != 0 &&
	    !ws->broken) {
		ws->broken = 1;
		ws_error(ws, EPIPE, "WebSocket send failed");
	}
	return ws->broken ? -1 : 0;
}

/* Push queued frames down; -1 with errno once the stream has failed. */
static int
ws_send(struct ws_transport *ws)
{
	if (ws_drain(ws) == -1 || ws->err) {
		errno = ws->err;
		return -1;
	}
	return 0;
}

/* What the Close code wslay sent says about the peer. */
static const char *
ws_close_cause(unsigned code)
{
	switch (code) {
	case WSLAY_CODE_PROTOCOL_ERROR:
		return "bad frame";
	case WSLAY_CODE_UNSUPPORTED_DATA:
		return "a text message";
	case WSLAY_CODE_INVALID_FRAME_PAYLOAD_DATA:
		return "invalid UTF-8";
	case WSLAY_CODE_MESSAGE_TOO_BIG:
		return "message too big";
	default:
		return "close code";
	}
}

/* The peer broke RFC 6455 and wslay queued the Close it deserves: send it now. */
static void
ws_violation(struct ws_transport *ws)
{
	unsigned code;

	ws->t.violation = 1;
	if (ws_drain(ws) == -1)
		return;
	if (!wslay_event_get_close_sent(ws->ctx)) {
		ws_error(
		    ws, EPROTO, "WebSocket protocol error; Close not sent, peer does not read");
		return;
	}
	code = wslay_event_get_status_code_sent(ws->ctx);
	/* wslay answers a malformed frame header with a Close that carries no code. */
	if (code == WSLAY_CODE_NO_STATUS_RCVD)
		ws_error(ws, EPROTO, "WebSocket protocol error: malformed frame; Close sent");
	else
		ws_error(ws, EPROTO, "WebSocket protocol error: %s; Close %u sent",
		    ws_close_cause(code), code);
}

/* The peer asked for more replies than it reads; what it still owes us no longer matters. */
static void
ws_overrun(struct ws_transport *ws)
{
	static const char why[] = "peer does not read";

	ws_error(ws, ENOBUFS, "peer does not read: %zu bytes of WebSocket control replies queued",
	    ws_ctl_queued(ws));
	/* A queued Close makes wslay drop the PONGs before it. */
	wslay_event_queue_close(
	    ws->ctx, WSLAY_CODE_POLICY_VIOLATION, (const uint8_t *)why, sizeof(why) - 1);
	wslay_event_shutdown_read(ws->ctx);
}

/* Pull frames from below into `in`, once the peer has taken what it asked for. */
static void
ws_fill(struct ws_transport *ws)
{
	int r;

	if (ws->eof || ws->err || ws_drain(ws) == -1 || ws_held_back(ws))
		return;
	ws->pulled = 0;
	r = wslay_event_recv(ws->ctx);
	if (ws->eof || ws->err)
		return;
	/* With our callbacks fine, a callback failure is wslay's word for a malformed frame. */
	if (r != 0 && r != WSLAY_ERR_CALLBACK_FAILURE) {
		ws_error(ws, EIO, "WebSocket receive failed (wslay error %d)", r);
		return;
	}
	if (r == 0 && wslay_event_get_close_received(ws->ctx)) {
		ws->eof = 1;
		(void)ws_drain(ws);
		return;
	}
	if (r != 0 || !wslay_event_get_read_enabled(ws->ctx)) {
		ws_violation(ws);
		return;
	}
	/* Answer pings now rather than at the next write. */
	if (ws_drain(ws) == 0 && ws_ctl_queued(ws) >= WS_CTL_HARD)
		ws_overrun(ws);
	else
		(void)ws_held_back(ws);
}

/* read() and peek(): serve `in`, pulling more from below when it is empty. */
static ssize_t
ws_take(struct ws_transport *ws, void *p, size_t len, int consume)
{
	size_t n;

	if (ws->state != WS_OPEN) {
		errno = ENOTCONN;
		return -1;
	}
	ws->writing = 0;
	if (buf_len(&ws->in) == 0)
		ws_fill(ws);
	if ((n = buf_len(&ws->in)) > 0) {
		n = n < len ? n : len;
		memcpy(p, buf_ptr(&ws->in), n);
		if (consume)
			buf_consume(&ws->in, n);
		return (ssize_t)n;
	}
	if (ws->eof)
		return 0;
	errno = ws->err ? ws->err : EAGAIN;
	return -1;
}

static ssize_t
ws_read(struct transport *t, void *buf, size_t len)
{
	return ws_take((struct ws_transport *)t, buf, len, 1);
}

static ssize_t
ws_peek(struct transport *t, void *buf, size_t len)
{
	struct ws_transport *ws = (struct ws_transport *)t;

	/* Before the upgrade, peeking is for sniffing what lies below. */
	if (ws->state != WS_OPEN)
		return transport_peek(ws->inner, buf, len);
	return ws_take(ws, buf, len, 0);
}

static ssize_t
ws_write(struct transport *t, const void *buf, size_t len)
{
	struct ws_transport *ws = (struct ws_transport *)t;
	struct wslay_event_msg m = { .opcode = WSLAY_BINARY_FRAME };
	size_t done = 0;

	if (ws->state != WS_OPEN) {
		errno = ENOTCONN;
		return -1;
	}
	ws->writing = 1;
	if (ws_send(ws) == -1)
		return -1;
	/* Queue only while everything before went out: the socket sets the pace. */
	while (done < len && !wslay_event_want_write(ws->ctx)) {
		m.msg = (const uint8_t *)buf + done;
		m.msg_length = len - done < WS_MSG_SEND ? len - done : WS_MSG_SEND;
		if (wslay_event_queue_msg(ws->ctx, &m) != 0) {
			ws_error(ws, EPIPE, "WebSocket is closed for sending");
			errno = ws->err;
			return -1;
		}
		done += m.msg_length;
		if (ws_send(ws) == -1)
			return -1;
	}
	if (done == 0) {
		errno = EAGAIN;
		return -1;
	}
	return (ssize_t)done;
}

static int
ws_flush(struct transport *t)
{
	struct ws_transport *ws = (struct ws_transport *)t;

	if (ws->state != WS_OPEN)
		return 0;
	ws->writing = 1;
	if (ws_send(ws) == -1)
		return -1;
	return wslay_event_want_write(ws->ctx) ? 1 : 0;
}

static int
ws_want(const struct transport *t)
{
	const struct ws_transport *ws = (const struct ws_transport *)t;

	switch (ws->state) {
	case WS_INNER:
		return transport_want(ws->inner);
	case WS_SEND_REQUEST:
	case WS_SEND_101:
	case WS_SEND_REFUSAL:
		return ws->wwant ? ws->wwant : EV_WRITE;
	case WS_READ_RESPONSE:
	case WS_READ_REQUEST:
		return ws->rwant ? ws->rwant : EV_READ;
	case WS_OPEN:
		/* Like TCP's: what the last data call needs, so a link can wait per direction. */
		if (ws->writing)
			return ws->wwant ? ws->wwant : EV_WRITE;
		return ws->rwant ? ws->rwant : EV_READ;
	default:
		return EV_READ;
	}
}

static size_t
ws_pending(const struct transport *t)
{
	const struct ws_transport *ws = (const struct ws_transport *)t;

	if (ws->state != WS_OPEN)
		return transport_pending(ws->inner);
	/* Held back, only `in` can be read without the socket turning writable first. */
	if (ws_ctl_queued(ws) >= WS_CTL_SOFT)
		return buf_len(&ws->in);
	return buf_len(&ws->in) + buf_len(&ws->hs_in) + transport_pending(ws->inner);
}

static void
ws_free(struct transport *t)
{
	struct ws_transport *ws = (struct ws_transport *)t;

	if (ws->ctx != NULL) {
		/*
		 * Best effort, one non-blocking push: a peer that is still there
		 * learns this was deliberate, or gets the Close its error earned.
		 */
		if (!ws->err)
			(void)wslay_event_queue_close(ws->ctx, WSLAY_CODE_NORMAL_CLOSURE, NULL, 0);
		(void)ws_drain(ws);
		wslay_event_context_free(ws->ctx);
	}
	buf_free(&ws->hs_out);
	buf_free(&ws->hs_in);
	buf_free(&ws->in);
	free(ws->path);
	transport_free(ws->inner);
	free(ws);
}

#define WS_OPS(n)                                                                                  \
	{                                                                                          \
		.name = n, .handshake = ws_handshake, .read = ws_read, .write = ws_write,          \
		.flush = ws_flush, .want = ws_want, .pending = ws_pending, .peek = ws_peek,        \
		.free = ws_free,                                                                   \
	}
static const struct transport_ops ws_ops = WS_OPS(transport_names[TRANSPORT_WS]);
static const struct transport_ops wss_ops = WS_OPS(transport_names[TRANSPORT_WSS]);

static struct ws_transport *
ws_new(struct transport *inner, int server)
{
	struct ws_transport *ws = xcalloc(1, sizeof(*ws));

	ws->t.ops = inner->ops->name == transport_names[TRANSPORT_TLS] ? &wss_ops : &ws_ops;
	ws->t.fd = inner->fd;
	ws->inner = inner;
	ws->server = server;
	ws->state = WS_INNER;
	buf_init(&ws->hs_out);
	buf_init(&ws->hs_in);
	buf_init(&ws->in);
	return ws;
}

struct transport *
transport_ws_client(struct transport *inner, const struct ws_client_opts *o)
{
	struct ws_transport *ws = ws_new(inner, 0);
	unsigned char nonce[16];
	char key[WS_KEY_LEN + 1];
	size_t i;

	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		ws_fail(ws, "no randomness for Sec-WebSocket-Key");
		return &ws->t;
	}
	EVP_EncodeBlock((unsigned char *)key, nonce, sizeof(nonce));
	if (ws_accept_key(key, ws->accept) == -1) {
		ws_fail(ws, "SHA-1 unavailable for Sec-WebSocket-Accept");
		return &ws->t;
	}
	buf_printf(&ws->hs_out,
	    "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	    "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
	    "User-Agent: rtun/%s\r\n",
	    o->path, o->host, key, PACKAGE_VERSION);
	for (i = 0; i < o->nheaders; i++)
		buf_printf(&ws->hs_out, "%s\r\n", o->headers[i]);
	buf_printf(&ws->hs_out, "\r\n");
	return &ws->t;
}

struct transport *
transport_ws_server(struct transport *inner, const char *path)
{
	struct ws_transport *ws = ws_new(inner, 1);

	ws->path = xstrdup(path);
	return &ws->t;
}
