/*
 * Visitors ([visitor NAME]): local ports where this agent accepts user
 * connections for another agent's service and carries each as a stream,
 * over the direct link to that agent when it is up (modes auto and direct)
 * or relayed through rtund (auto without a direct link, and relay). In mode
 * direct a connection that arrives while a punch is under way waits for it,
 * and is reset, with the reason logged, if the punch fails.
 */
#ifndef RTUN_AGENT_VISITOR_H
#define RTUN_AGENT_VISITOR_H

#include <ev.h>

#include "config.h"

struct agent;
struct directset;
struct link;
struct metrics;
struct status;
struct visitorset;

/* Connections one direct-mode visitor holds while its punch runs. */
#define VISITOR_HOLD_MAX 64

/* Listen on every visitor of conf; NULL (logged) if a port cannot be had. */
struct visitorset *visitorset_new(struct ev_loop *loop, struct agent *a,
    const struct agent_conf *conf, struct directset *ds, struct metrics *m);
/* Switch to a reloaded config; -1 (logged, nothing changed) if a new port cannot be had. */
int visitorset_set_conf(struct visitorset *vs, const struct agent_conf *conf);
/* The direct link to peer came up (l) or is not to be had now (l NULL, why). */
void visitorset_direct_changed(struct visitorset *vs, const char *peer, struct link *l,
    const char *why);
/* Stop accepting (drain); held connections are reset. */
void visitorset_stop(struct visitorset *vs);
/* Add the "visitors" table: each visitor, the path its next user takes, its streams. */
void visitorset_report(const struct visitorset *vs, struct status *st);
/* Close the listeners, reset held connections and free. */
void visitorset_free(struct visitorset *vs);

#endif
