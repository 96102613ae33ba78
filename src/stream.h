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

enum stream_state {
	STREAM_CONNECTING,   /* agent: connecting to the local target */
	STREAM_OPENING,      /* server: OPEN sent, waiting for OPEN_OK */
	STREAM_OPEN,
};

struct stream {
	struct link *link;
	uint32_t id;
	int fd;
	enum stream_state state;
	ev_io rio, wio;
	ev_timer open_w;         /* open (server) or connect (agent) deadline */

	int in_eof;              /* local socket read EOF: CLOSE queued */
	int close_sent;
	int peer_closed;         /* CLOSE received */
	int out_shut;            /* local write side shut down after draining */
	int ready;               /* on link->ready */
	int want_read;           /* local socket readable, waiting for the flush */
	int bulk;                /* last read filled a whole frame: schedule at the tail */

	struct buf out;          /* DATA waiting for the local socket */
	uint32_t credit;         /* bytes we may still send */
	uint32_t recv_left;      /* bytes the peer may still send */
	uint32_t recv_done;      /* bytes consumed since the last WINDOW */
	uint32_t window;         /* the receive window granted now (grows, see stream.c) */
	ev_tstamp window_at;     /* when the last WINDOW was sent */
	uint32_t uncounted;      /* leading bytes of out that are ours (PROXY header), not credit */

	struct stream_counters ctr;
	TAILQ_ENTRY(stream) ready_entry;
	char peer[NET_ADDRSTRLEN];
	char service[65];
};

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
