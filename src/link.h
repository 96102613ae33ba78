/*
 * One link: the single connection between an agent and a server that carries
 * every stream. It owns the socket, decodes frames and dispatches them,
 * schedules output (control frames first, then DATA round-robin over ready
 * streams, read just in time from their sockets), sends heartbeats and
 * declares the peer dead when it falls silent. The handshake lives in
 * session.c, the services in server.c and agent.c, behind link_ops.
 */
#ifndef RTUN_LINK_H
#define RTUN_LINK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <ev.h>

#include "buf.h"
#include "frame.h"
#include "idmap.h"
#include "net.h"
#include "rtun.pb-c.h"
#include "transport.h"

struct link;
struct stream;

/*
 * Most DATA payload per frame: bounds how long a ping waits behind a bulk
 * stream. 16 KiB (1.3 ms at 100 Mbit/s); on a link fast enough to want more
 * than 64 KiB unsent, up to a quarter of that target, at most 64 KiB, so a fast
 * link spends fewer system calls per byte.
 */
#define LINK_DATA_MAX 16384
/*
 * The kernel's unsent backlog on the link socket is kept near a target of
 * about LINK_NOTSENT_MS of the link's delivery rate (from TCP_INFO), within
 * [LINK_NOTSENT_MIN, LINK_NOTSENT_MAX]: a flush tops it up to the target, and
 * TCP_NOTSENT_LOWAT wakes us when it falls below half. Everything beyond waits
 * in user space, where the scheduler can still put a ping first. So a ping
 * waits about a millisecond behind bulk data on a slow link, while a fast one
 * moves a quarter megabyte per wake-up.
 */
#define LINK_NOTSENT_MIN 8192
#define LINK_NOTSENT_MAX (256 * 1024)
#define LINK_NOTSENT_MS 1.0
/* How often the target follows the delivery rate, seconds. */
#define LINK_NOTSENT_EVERY 0.1
/* Unsent control bytes above which the link stops reading its peer. */
#define LINK_CTL_HIGH (1024 * 1024)
/*
 * Input a peer may send before it has authenticated: a hello and an auth are
 * a few hundred bytes, so this bounds what an anonymous peer costs.
 */
#define LINK_PREAUTH_MAX (64 * 1024)
/* Writes one flush may make (TLS takes a 16 KiB record per write). */
#define LINK_WRITES_PER_FLUSH 64
/* Size of the receive buffer; a whole frame always fits. */
#define LINK_IN_SIZE (256 * 1024)

/* What the owner of a link (server or agent) is told. */
struct link_ops {
	/* A CONTROL message arrived; the callee frees it with control_free(). */
	void (*control)(struct link *l, Rtun__Control *msg);
	/*
	 * The peer opened stream id for service from user peer to public address
	 * dest; connect is the destination a route names ("host:port", unchecked
	 * network text), NULL for a service. Only the server side of a link may
	 * name one: link.c drops a link whose client side tries.
	 */
	void (*open)(struct link *l, uint32_t id, const char *service, const char *peer,
	    const char *dest, const char *connect);
	/* The link is gone (reason says why); the owner forgets it. Freed afterwards. */
	void (*closed)(struct link *l, const char *reason);
};

/* Metric slots every link of a daemon updates (see metrics.h); all valid for its life. */
struct link_counters {
	double *streams_open;
	uint64_t *streams_total;
	uint64_t *protocol_errors;
	uint64_t *open_timeouts;
	uint64_t *idle_timeouts;   /* streams ended by their idle_timeout */
};

/*
 * Which end of the hello a link is: the client sends the preface and the
 * hello and opens odd stream ids; the server expects the preface and opens
 * even ones. A daemon's role does not decide it: an agent dials rtund as a
 * client, and may be either end of a link to another agent.
 */
enum link_role {
	LINK_CLIENT,
	LINK_SERVER,
};

/* Settings a link takes from the config. */
struct link_params {
	double heartbeat_interval;
	double heartbeat_timeout;
	uint32_t stream_window;  /* what we grant the peer per stream */
	uint32_t max_streams;
	enum link_role role;
	const struct link_counters *counters;
};

/*
 * A stream's place in its link's ready list, embedded in the stream: only
 * link.c touches its fields.
 */
struct link_node {
	TAILQ_ENTRY(link_node) entry;
	struct stream *s;
	int queued;
};


/* Run a link over an established transport (which it now owns); it starts reading at once. */
struct link *link_new(struct ev_loop *loop, struct transport *t, const struct net_addr *peer,
    const struct link_params *params, const struct link_ops *ops, void *owner);
/* The loop the link runs on. */
struct ev_loop *link_loop(const struct link *l);
/* The "agent NAME (ADDR)" prefix of the link's log lines. */
const char *link_label(const struct link *l);
/* The peer's address, "1.2.3.4:5". */
const char *link_peer(const struct link *l);
/* The transport it runs over, as configs spell it: "tcp", "tls", "ws" or "wss". */
const char *link_transport(const struct link *l);
/* The owner given to link_new(). */
void *link_owner(const struct link *l);
/* The settings the link was made with. */
const struct link_params *link_params(const struct link *l);
/* Streams open on the link. */
uint32_t link_nstreams(const struct link *l);
/* The stream with this id, or NULL. */
struct stream *link_stream(const struct link *l, uint32_t id);
/* Call fn for every stream of the link. */
void link_each_stream(const struct link *l, void (*fn)(struct stream *s, void *arg), void *arg);
/* Initial credit the peer grants each stream (0 before authentication). */
uint32_t link_peer_window(const struct link *l);
/* Most DATA payload per frame now. */
size_t link_data_max(const struct link *l);
/* The code of the peer's GOAWAY, 0 if none came. */
uint32_t link_goaway_code(const struct link *l);
/* Point the heartbeat round-trip gauge at a metric slot (or NULL); returns the old one. */
double *link_set_rtt_gauge(struct link *l, double *gauge);
/* The last heartbeat's round-trip time in seconds, 0 before the first PONG. */
double link_rtt(const struct link *l);
/* Send a PING now (a fresh round-trip measurement), besides the heartbeats. */
void link_ping(struct link *l);
/* Set the "agent NAME (ADDR)" prefix used in log lines. */
void link_set_label(struct link *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Allow streams: called once authentication succeeded; peer_window from the peer. */
void link_set_authed(struct link *l, uint32_t peer_window);
/* Queue raw bytes (the preface) before any frame. */
void link_send_raw(struct link *l, const void *p, size_t n);
/* Queue a CONTROL message. */
void link_send_control(struct link *l, const Rtun__Control *msg);
/* Queue a frame without payload (control-class: WINDOW, OPEN, RESET, ...). */
void link_send_frame(struct link *l, const struct frame *f);
/* Queue RESET for stream id: code and reason as in doc/PROTOCOL.md. */
void link_send_reset(struct link *l, uint32_t id, enum frame_code code, const char *reason);
/* Queue GOAWAY with code and reason; the caller then ends the link. */
void link_send_goaway(struct link *l, enum frame_code code, const char *reason);
/* Close the link after queued output is written (or at once if it cannot be). */
void link_close_after_flush(struct link *l, const char *reason);
/* Drop the link now: reset streams, send GOAWAY best-effort, tell the owner. */
void link_close(struct link *l, enum frame_code code, const char *reason);
/* The peer broke the protocol: log why and drop the link. */
void link_protocol_error(struct link *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Allocate the next stream id we open. */
uint32_t link_next_stream_id(struct link *l);
/* Register stream s under id; node is its place in the ready list. */
void link_add_stream(struct link *l, uint32_t id, struct stream *s, struct link_node *node);
/* Forget stream id (it is being destroyed). */
void link_remove_stream(struct link *l, uint32_t id, struct link_node *node);
/*
 * Put a stream on the ready list and schedule a flush: at the head if it
 * drained its socket last time (interactive), at the tail if not (bulk).
 */
void link_stream_ready(struct link *l, struct link_node *node, int bulk);
/* Schedule a flush before the loop next polls. */
void link_kick(struct link *l);

#endif
