/*
 * One link: the single connection between an agent and a server that carries
 * every stream. It owns the socket, decodes frames and dispatches them,
 * schedules output (control frames first, then DATA round-robin over ready
 * streams, read just in time from their sockets), sends heartbeats and
 * declares the peer dead when it falls silent. Role-specific behaviour
 * (handshake, services) lives in server.c and agent.c behind link_ops.
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
	/* The peer opened stream id for service from user peer to public address dest. */
	void (*open)(struct link *l, uint32_t id, const char *service, const char *peer,
	    const char *dest);
	/* The link is gone (reason says why); the owner forgets it. Freed afterwards. */
	void (*closed)(struct link *l, const char *reason);
};

/* Metric slots every link of a daemon updates (see metrics.h); all valid for its life. */
struct link_counters {
	double *streams_open;
	uint64_t *streams_total;
	uint64_t *protocol_errors;
	uint64_t *open_timeouts;
};

/* Settings a link takes from the config. */
struct link_params {
	double heartbeat_interval;
	double heartbeat_timeout;
	uint32_t stream_window;  /* what we grant the peer per stream */
	uint32_t max_streams;
	int server;              /* 1 on rtund: opens even stream ids */
	const struct link_counters *counters;
};

struct link {
	struct ev_loop *loop;
	struct transport *t;     /* the layers below: TCP, TLS, WebSocket */
	char peer[NET_ADDRSTRLEN];
	char label[NET_ADDRSTRLEN + 80];  /* "agent NAME (ADDR)" for logs */
	const struct link_ops *ops;
	void *owner;
	struct link_params params;
	int expect_preface;      /* server side: the peer's first bytes must be the preface */
	int authed;              /* streams and DATA allowed */
	int dead;
	int close_after_flush;
	int write_blocked;       /* waiting for EV_WRITE */
	uint32_t goaway_code;    /* code of the peer's GOAWAY, if one came */
	double *rtt;             /* heartbeat round-trip gauge, set by the owner, or NULL */
	size_t notsent_target;   /* bytes of unsent backlog the kernel may hold */
	size_t data_max;         /* DATA payload per frame, from LINK_DATA_MAX up to 64 KiB */
	ev_tstamp notsent_at;    /* when the target was last derived */

	ev_io io;
	int read_events;         /* what reading waits for (EV_READ, or what TLS asks) */
	int write_events;        /* what a blocked write waits for */
	ev_prepare flush_w;
	ev_timer hb_w;           /* sends PINGs */
	ev_timer silence_w;      /* fires heartbeat_timeout after the last byte received */
	ev_check free_w;
	ev_tstamp last_rx;

	uint8_t *in;
	size_t in_len;
	struct frame_decoder dec;

	struct buf out;          /* whole frames for the socket; control is appended at once, DATA at flush */
	TAILQ_HEAD(, stream) ready;  /* streams with data, EOF or credit to act on */

	struct idmap streams;
	uint32_t nstreams;
	uint32_t next_id;        /* next id we open */
	uint32_t peer_max_id;    /* highest id the peer opened */
	uint32_t peer_window;    /* initial credit the peer grants per stream */

	uint64_t rx_bytes, tx_bytes;
};

/* Run a link over an established transport (which it now owns); it starts reading at once. */
struct link *link_new(struct ev_loop *loop, struct transport *t, const struct net_addr *peer,
    const struct link_params *params, const struct link_ops *ops, void *owner);
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
/* Close the link after queued output is written (or at once if it cannot be). */
void link_close_after_flush(struct link *l, const char *reason);
/* Drop the link now: reset streams, send GOAWAY best-effort, tell the owner. */
void link_close(struct link *l, enum frame_code code, const char *reason);
/* The peer broke the protocol: log why and drop the link. */
void link_protocol_error(struct link *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Allocate the next stream id we open. */
uint32_t link_next_stream_id(struct link *l);
/* Register a stream under its id. */
void link_add_stream(struct link *l, struct stream *s);
/* Forget a stream (it is being destroyed). */
void link_remove_stream(struct link *l, struct stream *s);
/* Put a stream on the ready list and schedule a flush. */
void link_stream_ready(struct link *l, struct stream *s);
/* Schedule a flush before the loop next polls. */
void link_kick(struct link *l);

#endif
