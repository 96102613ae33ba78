/*
 * The layers under a link: TCP, TLS, WebSocket, and WebSocket over TLS. A
 * transport is a byte stream with non-blocking read and write and a
 * handshake; a link only ever talks to the outermost one, so link.c does not
 * know what is below it. Layers stack: a WebSocket transport runs over an
 * inner TCP or TLS transport, a TLS transport over the socket itself.
 *
 * Conventions shared by every implementation:
 *  - read() and write() return bytes moved (> 0), 0 for read EOF, or -1 with
 *    errno set; EAGAIN means "call again once want() is ready on t->fd".
 *  - handshake() returns 0 when the layer (and every layer below) is
 *    established, 1 while in progress (wait for want()), -1 on failure with a
 *    human-readable reason in t->error.
 *  - want() is the libev interest (EV_READ, EV_WRITE or both) the transport
 *    needs on t->fd to make progress with what was last asked of it.
 *  - pending() is the number of bytes already decrypted or decoded that
 *    read() returns without the socket becoming readable again.
 *  - flush() pushes bytes the transport buffered itself (a WebSocket frame
 *    the socket did not take); 0 when nothing is left, 1 while some is, -1 on
 *    error. A write() may be refused with EAGAIN while anything is buffered.
 *  - After a write() fails with EAGAIN, the next write() must offer the same
 *    bytes first and at least as many (OpenSSL's rule); writing from the head
 *    of a queue that only grows at its tail, as the link does, keeps it.
 *  - No layer queues without bound what the peer's input makes it owe the
 *    peer (WebSocket PONGs, TLS alerts and KeyUpdates): past a bound, read()
 *    says EAGAIN and want() asks for EV_WRITE until the peer has taken it.
 *  - A failure caused by the peer breaking the layer's protocol sets
 *    `violation`, so the link counts it as a protocol error.
 */
#ifndef RTUN_TRANSPORT_H
#define RTUN_TRANSPORT_H

#include <stddef.h>
#include <sys/types.h>

struct transport;

/* The kinds of stack; rtund's `transports` is a set of their bits (1 << kind). */
enum transport_kind {
	TRANSPORT_TCP,
	TRANSPORT_TLS,
	TRANSPORT_WS,
	TRANSPORT_WSS,
	TRANSPORT_KINDS,
};

/*
 * The one spelling of each kind, indexed by enum transport_kind: "tcp",
 * "tls", "ws", "wss". Configs, logs, metrics and the ops all use it; arrays
 * rather than pointers, so that an element is a constant initializer.
 */
extern const char transport_names[TRANSPORT_KINDS][4];

struct transport_ops {
	const char *name;   /* transport_names[kind]: for logs and metrics */
	int (*handshake)(struct transport *t);
	ssize_t (*read)(struct transport *t, void *buf, size_t len);
	ssize_t (*write)(struct transport *t, const void *buf, size_t len);
	int (*flush)(struct transport *t);
	int (*want)(const struct transport *t);
	size_t (*pending)(const struct transport *t);
	/* Look at up to len bytes of input without consuming them (server-side sniffing). */
	ssize_t (*peek)(struct transport *t, void *buf, size_t len);
	/* Free the layer and every layer below it; closes the socket. */
	void (*free)(struct transport *t);
};

struct transport {
	const struct transport_ops *ops;
	int fd;              /* the TCP socket at the bottom of the stack */
	char error[256];     /* why handshake() or an I/O call failed */
	int violation;       /* that failure was the peer breaking the protocol */
};

/* The kind the first len bytes of s name ("ws" of "ws, tls"); -1 if none. */
int transport_kind_parse(const char *s, size_t len);
/* Plain TCP over a connected socket; takes ownership of fd. */
struct transport *transport_tcp_new(int fd);

/* Shorthands for the ops, so callers read naturally. */
static inline int
transport_handshake(struct transport *t)
{
	return t->ops->handshake(t);
}
static inline ssize_t
transport_read(struct transport *t, void *buf, size_t len)
{
	return t->ops->read(t, buf, len);
}
static inline ssize_t
transport_write(struct transport *t, const void *buf, size_t len)
{
	return t->ops->write(t, buf, len);
}
static inline int
transport_flush(struct transport *t)
{
	return t->ops->flush(t);
}
static inline int
transport_want(const struct transport *t)
{
	return t->ops->want(t);
}
static inline size_t
transport_pending(const struct transport *t)
{
	return t->ops->pending(t);
}
static inline ssize_t
transport_peek(struct transport *t, void *buf, size_t len)
{
	return t->ops->peek(t, buf, len);
}
static inline void
transport_free(struct transport *t)
{
	t->ops->free(t);
}

#endif
