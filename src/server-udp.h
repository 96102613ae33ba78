/*
 * One UDP port of an agent's service on rtund. It reads the port's socket and
 * keeps a flow per user source address and port: the first datagram from a
 * new source opens a datagram stream on the agent's link (stream-udp.h), and
 * every later one goes to that flow. A flow ends when its stream does: idle
 * for udp_idle_timeout on either side, reset, its link gone, or rtund
 * draining. At most max_flows flows per port, and no new ones beyond the
 * link's max_streams: a datagram that finds no flow is dropped and counted.
 */
#ifndef RTUN_SERVER_UDP_H
#define RTUN_SERVER_UDP_H

#include <stdint.h>

#include <ev.h>

struct link;
struct port;
struct stream_udp_stats;
struct udpport;

/* What rtund.conf sets for every UDP port. */
struct udp_limits {
	uint32_t max_flows;      /* udp_max_flows */
	double idle_timeout;     /* udp_idle_timeout */
	double open_timeout;     /* for the agent's OPEN_OK */
};

/*
 * Serve UDP port p (its socket is port_fd(p)) over link l. st (whose
 * reference it takes) is where its flows count.
 */
struct udpport *udpport_new(struct ev_loop *loop, struct port *p, struct link *l,
    const struct udp_limits *lim, struct stream_udp_stats *st);
/* New limits (a reload): the flow limit applies at once, the timeout to new flows. */
void udpport_set_limits(struct udpport *up, const struct udp_limits *lim);
/* Count new flows into st (its reference taken) from now on (a renamed service). */
void udpport_set_stats(struct udpport *up, struct stream_udp_stats *st);
/* Flows open now. */
size_t udpport_flows(const struct udpport *up);
/* The metric slots its flows count into. */
const struct stream_udp_stats *udpport_stats(const struct udpport *up);
/* rtund drains: read no more, and end every flow cleanly once its queue is carried. */
void udpport_drain(struct udpport *up);
/* Reset every flow (while the link lives) and free; the port's socket stays the port's. */
void udpport_free(struct udpport *up);

#endif
