/*
 * The UDP end of a datagram stream (stream.h): one flow, that is one user
 * source address and port, of a UDP service. On the agent the end owns a UDP
 * socket connected to the service's local address, so that the service's
 * replies come back to the flow they answer; on rtund it shares the public
 * port's socket, is fed the flow's datagrams by the port (server-udp.c) and
 * sends replies to the user's address.
 *
 * Datagrams from the local side wait in a small bounded queue per flow for
 * the stream's credit and the link's turn; what does not fit is dropped and
 * counted, as is a datagram larger than the credit when its turn comes. The
 * other direction is never queued: a datagram the socket does not take at
 * once is dropped. Every drop is counted by reason in the service's
 * stream_udp_stats.
 */
#ifndef RTUN_STREAM_UDP_H
#define RTUN_STREAM_UDP_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "net.h"
#include "stream.h"

struct metrics;

/*
 * Bytes of datagrams (2 bytes of length each included) one flow may hold
 * waiting for credit and its turn; a datagram that does not fit is dropped,
 * but an empty queue takes any one.
 */
#define STREAM_UDP_QUEUE_MAX (64 * 1024)
/* Datagrams one socket read callback takes at most, so other events get their turn. */
#define STREAM_UDP_READ_BATCH 64

/* Why a datagram was dropped: the reason label of the *_udp_dropped_total metrics. */
enum udp_drop {
	UDP_DROP_CREDIT,         /* larger than the flow's credit when its turn came */
	UDP_DROP_QUEUE,          /* the flow's queue was full, or the flow ended */
	UDP_DROP_FLOWS,          /* no flow for it: the flow limit or max_streams was reached */
	UDP_DROP_SOCKET,         /* the socket refused it (buffer full, unreachable) */
	UDP_DROP_EMPTY,          /* zero bytes: a DATA frame cannot carry it */
	UDP_DROP_REASONS,
};

/* The metric slots of one UDP service, shared by its flows. */
struct stream_udp_stats {
	unsigned int refs;
	struct metrics *m;
	double *flows_open;
	uint64_t *flows_total;
	uint64_t *dgrams_read;       /* datagrams from the local side carried to the link */
	uint64_t *dgrams_written;    /* datagrams from the link sent on the local side */
	struct stream_counters bytes;  /* the flows' streams count bytes into these */
	uint64_t *dropped[UDP_DROP_REASONS];
};

/*
 * The slots of prog's ("rtund" or "rtun") metrics for labels (`service="dns"`
 * ...), with one reference for the caller. user_side: the local side of the
 * flows is the user (rtund), so what they read goes in, towards the service.
 */
struct stream_udp_stats *stream_udp_stats_new(struct metrics *m, const char *prog,
    const char *labels, int user_side);
/* Take one more reference. */
struct stream_udp_stats *stream_udp_stats_ref(struct stream_udp_stats *st);
/* Drop one reference; the last releases the slots and frees. NULL is ignored. */
void stream_udp_stats_unref(struct stream_udp_stats *st);
/* Count one datagram dropped for why. */
void stream_udp_drop(struct stream_udp_stats *st, enum udp_drop why);

/*
 * The agent's end of a flow: a UDP socket connected to to, read as soon as
 * datagrams arrive. NULL with errno if the socket cannot be made.
 */
struct stream_end *stream_udp_connect(struct ev_loop *loop, const struct net_addr *to,
    struct stream_udp_stats *st);
/*
 * rtund's end of the flow of user from on the port socket fd (not owned):
 * datagrams come through stream_udp_input(), replies go to from.
 * closed(arg) runs when the stream lets go of the end.
 */
struct stream_end *stream_udp_flow(struct ev_loop *loop, int fd, const struct net_addr *from,
    struct stream_udp_stats *st, void (*closed)(void *arg), void *arg);
/* A datagram of len bytes from the user of a stream_udp_flow() end. */
void stream_udp_input(struct stream_end *e, const void *p, size_t len);
/* The flow ends cleanly once what it holds is carried: its input ends (rtund's drain). */
void stream_udp_finish(struct stream_end *e);

#endif
