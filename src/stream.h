/*
 * One stream: a user's TCP connection on one end of a link and the service's
 * on the other. Bytes from the local socket become DATA frames (read only when
 * the link is ready to send them and the peer granted credit); DATA from the
 * link is written to the local socket, and credit is returned as it is.
 * Half-close is tracked per direction; a stream ends when both directions are
 * closed and drained (the local socket then sees a FIN), or on RESET or the
 * link's end (the local socket then sees a reset, so a cut copy never looks
 * complete).
 */
#ifndef RTUN_STREAM_H
#define RTUN_STREAM_H

#include <stdint.h>
#include <sys/queue.h>

#include <ev.h>

#include "buf.h"
#include "frame.h"
#include "net.h"
#include "proxyproto.h"

struct link;

/* Byte counter slots of the stream's service (see metrics.h). */
struct stream_counters {
	uint64_t *local_read;     /* bytes read from the local socket */
	uint64_t *local_written;  /* bytes written to the local socket */
	uint64_t *connect_failed; /* agent: connects to the local target that failed, or NULL */
};


/* The byte counters the stream counts into. */
const struct stream_counters *stream_counters(const struct stream *s);
/* Bytes we may still send before the peer returns credit. */
uint32_t stream_credit(const struct stream *s);
/* The receive window granted now (it grows for a fast reader). */
uint32_t stream_window(const struct stream *s);
/* Bytes from the peer waiting for the local socket. */
size_t stream_queued(const struct stream *s);

/* Server: a user connected to service's port; send OPEN and start the open timer. */
struct stream *stream_new_user(struct link *l, int fd, const char *service, const char *peer,
    const struct stream_counters *ctr, double open_timeout);
/*
 * Agent: the server opened id for service (user peer, public address dest);
 * connect to target without blocking, and if proxy is set, send the target a
 * PROXY protocol header first. NULL (RESET sent) if the connect fails at once.
 */
struct stream *stream_new_target(struct link *l, uint32_t id, const char *service,
    const char *peer, const char *dest, const struct net_addr *target,
    enum proxyproto_version proxy, const struct stream_counters *ctr, double connect_timeout);
/* Dispatch a frame for this stream (DATA, WINDOW, OPEN_OK, CLOSE, RESET). */
void stream_input(struct stream *s, const struct frame *f);
/*
 * Called by the link's flush: append at most one DATA frame (or the CLOSE) to
 * out, read straight from the local socket, of about room bytes at most.
 * Returns 1 if the stream still has something to send, 0 if it should leave
 * the ready list.
 */
int stream_produce(struct stream *s, struct buf *out, size_t room);
/* Abort the stream: send RESET (unless the link is gone) and destroy it. */
void stream_reset(struct stream *s, enum frame_code code, const char *reason);
/*
 * Destroy without telling the peer (the link is closing, or the peer reset
 * it). The local socket is reset unless both directions had ended cleanly.
 */
void stream_destroy(struct stream *s);

#endif
