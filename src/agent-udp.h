/*
 * The agent's UDP services: their metric slots, per service of one config,
 * and serving the flows rtund opens for them. Each flow is a datagram stream
 * whose end is a UDP socket connected to the service's local address
 * (stream-udp.h); a service holds at most udp_max_flows flows, and an OPEN
 * beyond that is refused (RESET code 4) and counted.
 * Whether an OPEN is a flow at all is decided before (agent-declared.h).
 */
#ifndef RTUN_AGENT_UDP_H
#define RTUN_AGENT_UDP_H

#include <stdint.h>

#include <ev.h>

#include "config.h"

struct agent_udp;
struct link;
struct metrics;

/* The slots of conf's UDP services (rtun_udp_*{service}). */
struct agent_udp *agent_udp_new(struct ev_loop *loop, struct metrics *m,
    const struct agent_conf *conf);
/* The slots of svc, a service of the conf u was made for; NULL if it is not UDP. */
const struct stream_udp_stats *agent_udp_stats(const struct agent_udp *u,
    const struct service_conf *svc);
/* Release the slots; flows that still count into them keep them until they end. */
void agent_udp_free(struct agent_udp *u);
/*
 * Serve stream id that the peer of l opened for svc, a UDP service of the
 * conf u was made for: a flow from user peer to the public address dest.
 */
void agent_udp_serve(struct agent_udp *u, struct link *l, uint32_t id,
    const struct service_conf *svc, const char *peer, const char *dest);

#endif
