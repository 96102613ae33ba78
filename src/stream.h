/*
 * One stream: the machine that carries one user connection over a link, with
 * per-stream credit, window growth and a half-close state per direction. Its
 * local side is a stream end (struct stream_end): a socket (stream-sock.c),
 * the user's on rtund and the service's on the agent, or a relay end
 * (stream-relay.c), which joins the stream to one on another link. Bytes from
 * the end become DATA frames (read only when the link is ready to send them
 * and the peer granted credit); DATA from the link is written to the end, and
 * credit is returned as it takes it. A stream ends cleanly when both
 * directions were closed by their own side and drained (the end is closed
 * cleanly: a socket sees a FIN), or is aborted by RESET or the link's end (a
 * socket sees a reset, so a cut copy never looks complete).
 *
 * A datagram stream (stream_conf.datagram: a UDP flow, stream-udp.h) keeps
 * each datagram whole: one DATA frame per datagram, whatever the flush's room,
 * and nothing is ever queued on the receiving side: a datagram the end cannot
 * send is dropped and its credit returned at once. Its end follows a stricter
 * contract, given with each op below. Half-closes mean nothing to a datagram:
 * its end's idle op ends the input when the flow was silent for idle_timeout
 * (CLOSE goes out), and the stream answers the peer's CLOSE with its own, so
 * that either side's expiry is a clean end at both.
 */
#ifndef RTUN_STREAM_H
#define RTUN_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frame.h"

struct buf;
struct link;
struct stream;
struct stream_end;

/* What a stream asks of its local end; every call is non-blocking. */
struct stream_end_ops {
	/*
	 * Read up to len bytes: > 0 bytes, 0 at the end of input, -1 with errno (EAGAIN: wait).
	 * Datagram streams: exactly one whole datagram of at most len bytes; a larger
	 * one is dropped (and counted) by the end, never split.
	 */
	ssize_t (*read)(struct stream_end *e, void *p, size_t len);
	/*
	 * Write up to len bytes: bytes taken, or -1 with errno (EAGAIN: wait).
	 * Datagram streams: p is one whole datagram; len once it is sent, or -1 once
	 * the end dropped (and counted) it. Never partial, never to be retried.
	 */
	ssize_t (*write)(struct stream_end *e, const void *p, size_t len);
	/* Nothing more will be written (a socket sends its FIN once what it holds is out). */
	void (*shutdown)(struct stream_end *e);
	/* Which readiness the stream wants to be told of (stream_end_readable/_writable). */
	void (*want)(struct stream_end *e, int read, int write);
	/* Free the end: clean when both directions ended by their own half-closes, else abort. */
	void (*close)(struct stream_end *e, int clean);
	/*
	 * Optional, NULL for a socket: the OPEN of a stream_open() stream got its
	 * OPEN_OK. A relay end uses it to accept the stream it is joined to only
	 * once the far side accepted. Must not call into the stream.
	 */
	void (*opened)(struct stream_end *e);
	/*
	 * Optional: the stream is being reset, by the peer's RESET or by
	 * stream_reset(), with this code and reason (len bytes, not NUL-terminated;
	 * the peer's are unchecked network bytes); close(e, 0) follows at once. A
	 * stream destroyed without a reset (its link went away) gets close(e, 0)
	 * alone. A relay end passes both on to the stream it is joined to. Must
	 * not call into the stream.
	 */
	void (*reset)(struct stream_end *e, uint32_t code, const char *reason, size_t len);
	/*
	 * Optional: no byte moved either way for the stream's idle_timeout. NULL
	 * resets the stream (code 5, both sockets see a reset); an end whose
	 * silence is a normal end (a UDP flow) ends its input instead and returns
	 * 1, or returns 0 to have it reset. May call stream_end_readable().
	 */
	int (*idle)(struct stream_end *e);
};

/* The local side of a stream; implementations embed it first. */
struct stream_end {
	const struct stream_end_ops *ops;
	struct stream *s;        /* set by the stream that takes the end */
};

/* Byte counter slots of the stream's service (see metrics.h). */
struct stream_counters {
	uint64_t *local_read;     /* bytes read from the local end */
	uint64_t *local_written;  /* bytes written to the local end */
	uint64_t *connect_failed; /* agent: connects to the local target that failed, or NULL */
};

/* Largest datagram a datagram stream carries (doc/PROTOCOL.md, "UDP flows"). */
#define STREAM_DATAGRAM_MAX 65535

/* What a new stream is for. */
struct stream_conf {
	const char *service;
	const char *peer;         /* the user's address, "1.2.3.4:5" */
	const char *dest;         /* the public address the user connected to */
	const struct stream_counters *ctr;
	double timeout;           /* for OPEN_OK (stream_open) or the end's connect (stream_accept) */
	double idle_timeout;      /* once open: end a stream silent this long; 0: never */
	int datagram;             /* a datagram stream (see the top) */
	const char *connect;      /* stream_open of a route: the destination to name, or NULL */
};

/* A local connection arrived on end: send OPEN for it and wait for OPEN_OK. */
struct stream *stream_open(struct link *l, struct stream_end *end, const struct stream_conf *c);
/*
 * The peer sent OPEN id: serve it with end, which is still connecting if
 * connecting is set (it then calls stream_end_connected()).
 */
struct stream *stream_accept(struct link *l, uint32_t id, struct stream_end *end, int connecting,
    const struct stream_conf *c);

/* The end has input (or its end) to offer. */
void stream_end_readable(struct stream *s);
/* The end can take more output. */
void stream_end_writable(struct stream *s);
/* The end's connect finished: err is 0 or an errno value. */
void stream_end_connected(struct stream *s, int err);

/* Dispatch a frame for this stream (DATA, WINDOW, OPEN_OK, CLOSE, RESET). */
void stream_input(struct stream *s, const struct frame *f);
/*
 * Called by the link's flush: append at most one DATA frame (or the CLOSE) to
 * out, read straight from the end, of about room bytes at most.
 * Returns 1 if the stream still has something to send, 0 if it should leave
 * the ready list.
 */
int stream_produce(struct stream *s, struct buf *out, size_t room);
/* Abort the stream: send RESET (unless the link is gone) and destroy it. */
void stream_reset(struct stream *s, enum frame_code code, const char *reason);
/*
 * Destroy without telling the peer (the link is closing, or the peer reset
 * it). The end is aborted unless both directions had ended cleanly.
 */
void stream_destroy(struct stream *s);

/* The byte counters the stream counts into. */
const struct stream_counters *stream_counters(const struct stream *s);
/* Streams of l (NULL: none) counting bytes into ctr's slots: the streams of one service. */
uint32_t stream_count_with(const struct link *l, const struct stream_counters *ctr);
/* Bytes we may still send before the peer returns credit. */
uint32_t stream_credit(const struct stream *s);
/* The receive window granted now (it grows for a fast reader). */
uint32_t stream_window(const struct stream *s);
/* Bytes from the peer waiting for the end. */
size_t stream_queued(const struct stream *s);

#endif
