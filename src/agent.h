/*
 * rtun's state: one link to the server at a time, dialled again with
 * exponential backoff and jitter for as long as the agent runs, and the
 * services it declares on every new link.
 */
#ifndef RTUN_AGENT_H
#define RTUN_AGENT_H

#include <ev.h>
#include <stdint.h>

#include "config.h"

struct agent;
struct link;
struct metrics;
struct status;

/* Start connecting to the server; runs until agent_free(). */
struct agent *agent_new(struct ev_loop *loop, const struct agent_conf *conf,
    struct metrics *metrics);
/* Stop reconnecting and withdraw every service; open streams carry on. */
void agent_drain(struct agent *a);
/* True while the link still has open streams. */
int agent_busy(const struct agent *a);
/*
 * Switch to a reloaded config (the caller frees the old one afterwards). A new
 * server, name or token means a new link; otherwise the services are declared
 * again and the server adds, moves and withdraws ports to match, leaving the
 * link and the streams of unchanged services alone. -1 (logged, nothing
 * changed) if the new TLS settings cannot be used.
 */
int agent_reload(struct agent *a, const struct agent_conf *conf);
/* The link to rtund while it is authenticated, else NULL. */
struct link *agent_server_link(const struct agent *a);
/*
 * Serve stream id that the peer of l opened for service: connect it to the
 * service's local target. visitor is the visiting agent's name on a direct
 * link (the service must be p2p and allow it), NULL on the link to rtund.
 */
void agent_serve_open(struct agent *a, struct link *l, uint32_t id, const char *service,
    const char *peer, const char *dest, const char *visitor);
/* Fill st with the agent's status: its link, services, visitors, direct links, refusals. */
void agent_report(struct agent *a, struct status *st);
/* Close the link and free. */
void agent_free(struct agent *a);

#endif
