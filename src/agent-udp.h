/*
 * The agent's UDP services: their metric slots, per service of one config,
 * and serving the flows rtund opens for them. Each flow is a datagram stream
 * whose end is a UDP socket connected to the service's local address
 * (stream-udp.h); a service holds at most udp_max_flows flows, and an OPEN
 * beyond that is refused (RESET code 4) and counted.
 *
 * An OPEN does not say whether it is a connection or a flow: the agent knows
 * from its config, and from the DeclareResult, what rtund bound each port as.
 * An OPEN for a service whose port rtund did not bind as the type the config
 * has now (an rtund that does not know UDP, or OPENs from the old port still
 * in flight while a reload changes a service's type) is refused.
 */
#ifndef RTUN_AGENT_UDP_H
#define RTUN_AGENT_UDP_H

#include <stdint.h>

#include <ev.h>

#include "config.h"

struct agent_udp;
struct link;
struct metrics;

/*
 * The slots of conf's UDP services (rtun_udp_*{service}), and what rtund
 * bound each service as, carried over by name from prev (NULL: nothing yet).
 */
struct agent_udp *agent_udp_new(struct ev_loop *loop, struct metrics *m,
    const struct agent_conf *conf, const struct agent_udp *prev);
/* A DeclareResult said service (ok) or not: rtund bound it as type (a Service.type). */
void agent_udp_bound(struct agent_udp *u, const char *service, int ok, uint32_t type);
/* The link to rtund is gone: nothing is bound until the next DeclareResult. */
void agent_udp_unbind(struct agent_udp *u);
/* True when rtund bound svc's port as the type svc has in the config. */
int agent_udp_type_ok(const struct agent_udp *u, const struct service_conf *svc);
/* Release the slots; flows that still count into them keep them until they end. */
void agent_udp_free(struct agent_udp *u);
/*
 * Serve stream id that the peer of l opened for svc, a UDP service of the
 * conf u was made for: a flow from user peer to the public address dest.
 */
void agent_udp_serve(struct agent_udp *u, struct link *l, uint32_t id,
    const struct service_conf *svc, const char *peer, const char *dest);

#endif
