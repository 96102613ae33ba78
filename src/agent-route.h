/*
 * The agent's side of routes defined on rtund: a stream whose OPEN names a
 * destination is connected there only if this agent's allow_connect allows
 * it, checked before any lookup and again on the addresses a name resolves
 * to; anything else is refused with RESET code 10 and the reason, logged on
 * both sides. So a compromised rtund reaches no further into the private
 * network than the agent's owner allowed.
 */
#ifndef RTUN_AGENT_ROUTE_H
#define RTUN_AGENT_ROUTE_H

#include <stdint.h>

#include <ev.h>

#include "config.h"

struct agent_routes;
struct link;
struct metrics;
struct refusals;

/* Route streams judged by conf's allow_connect; refusals noted in refusals (NULL: not). */
struct agent_routes *agent_routes_new(struct ev_loop *loop, const struct agent_conf *conf,
    struct metrics *m, struct refusals *refusals);
/* A reloaded config: its allow_connect judges every destination from now on. */
void agent_routes_set_conf(struct agent_routes *ar, const struct agent_conf *conf);
/*
 * rtund opened stream id on l for route (its name) from user peer at public
 * address dest, to connect (as the OPEN has it): serve it or refuse it.
 */
void agent_routes_open(struct agent_routes *ar, struct link *l, uint32_t id, const char *route,
    const char *peer, const char *dest, const char *connect);
/* Free (the streams went with their link before). */
void agent_routes_free(struct agent_routes *ar);

#endif
