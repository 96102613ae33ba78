/*
 * WebSocket transport: an HTTP/1.1 Upgrade handshake, then wslay framing, on
 * top of an inner transport (TCP for ws, TLS for wss). It only ever calls the
 * inner transport's operations, never the socket, so the same code runs over
 * both.
 *
 * The handshake is a small state machine driven by handshake(): the inner
 * handshake, then the request and its answer. What the HTTP says is
 * ws-http.c's to build and judge; this file only moves the bytes, and hands
 * ws-http.c everything that has arrived so far at each read. Bytes that
 * arrive after the header block already belong to the WebSocket stream and
 * are fed to wslay before anything read later.
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

#include <ev.h>
#include <openssl/rand.h>
#include <wslay/wslay.h>

#include "buf.h"
#include "transport-ws.h"
#include "ws-http.h"
#include "xmalloc.h"

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
	struct ws_response res;
	int r;

	do {
		if ((r = ws_hs_read(ws)) != 0)
			return r;
		r = ws_http_parse_response(
		    (const char *)buf_ptr(&ws->hs_in), buf_len(&ws->hs_in), ws->accept, &res);
	} while (r == 1);
	if (r == -1)
		return ws_fail(ws, "%s", res.error);
	buf_consume(&ws->hs_in, res.header_len);
	return ws_open(ws);
}

/* Server: queue 101 for a good request, or the refusal for a bad one. */
static int
ws_answer(struct ws_transport *ws, const struct ws_request *req)
{
	const char *reason;

	if (req->status == 101 && ws_http_put_101(&ws->hs_out, req->key) == 0) {
		buf_consume(&ws->hs_in, req->header_len);
		ws->state = WS_SEND_101;
		return 0;
	}
	reason = ws_http_put_refusal(&ws->hs_out, req);
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
		r = ws_http_parse_request(
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
	unsigned char nonce[WS_HTTP_NONCE_LEN];

	if (RAND_bytes(nonce, sizeof(nonce)) != 1) {
		ws_fail(ws, "no randomness for Sec-WebSocket-Key");
		return &ws->t;
	}
	if (ws_http_put_request(&ws->hs_out, o, nonce, ws->accept) == -1)
		ws_fail(ws, "SHA-1 unavailable for Sec-WebSocket-Accept");
	return &ws->t;
}

struct transport *
transport_ws_server(struct transport *inner, const char *path)
{
	struct ws_transport *ws = ws_new(inner, 1);

	ws->path = xstrdup(path);
	return &ws->t;
}
