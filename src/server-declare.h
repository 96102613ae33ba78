/*
 * What rtund does with agents' declarations: each declared service is
 * checked, then bound to a public port (server-ports.h), claimed as host
 * names (server-web.h) or offered to visitors (server-p2p.h), and the agent
 * gets a DeclareResult; a later declaration adds, renames and withdraws. A
 * reload revokes what the new allow_ports or allow_hosts no longer allow.
 * server.c makes one decl_agent per authenticated link.
 */
#ifndef RTUN_SERVER_DECLARE_H
#define RTUN_SERVER_DECLARE_H

#include <stddef.h>

#include <ev.h>

#include "config.h"
#include "rtun.pb-c.h"

struct declare;
struct decl_agent;
struct link;
struct metrics;
struct p2pdir;
struct ports;
struct refusals;
struct status;
struct web;

/* Declarations into these registries, refusals noted in refusals; conf until declare_reload(). */
struct declare *declare_new(struct ev_loop *loop, const struct server_conf *conf,
    struct metrics *m, struct ports *ports, struct web *web, struct p2pdir *p2p,
    struct refusals *refusals);
/* A reloaded config: revoke the ports and names it no longer allows, apply its UDP limits. */
void declare_reload(struct declare *dc, const struct server_conf *conf);
/* The drain: UDP flows end now (they have no end of their own). */
void declare_drain(struct declare *dc);
/* Add the "services" table: every agent's ports and host names. */
void declare_report(struct declare *dc, struct status *st);
/* Free; every decl_agent must be gone (NULL is ignored). */
void declare_free(struct declare *dc);
/* Metric labels `agent="A"`, plus `,service="S"` when service is given, escaped; returns out. */
const char *declare_labels(const char *agent, const char *service, char *out, size_t outlen);

/* The services of agent name on authenticated link l: none until it declares. */
struct decl_agent *decl_agent_new(struct declare *dc, struct link *l, const char *name);
/* The agent declared d: bind, claim, withdraw, and answer with a DeclareResult. */
void decl_agent_declare(struct decl_agent *da, const Rtun__Declare *d);
/* True if its last Declare said it serves route streams. */
int decl_agent_routes(const struct decl_agent *da);
/* The link is gone: release its ports, names and counters, free (NULL is ignored). */
void decl_agent_free(struct decl_agent *da);

#endif
