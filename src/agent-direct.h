/*
 * An agent's direct links to other agents, both ends: as a visitor it asks
 * rtund for a rendezvous with each peer its visitors name, punches, and keeps
 * the link, punching again with backoff when it dies; as a target it answers
 * the rendezvous rtund announces and serves the visitor's streams over the
 * link, checking allow_peers on every one. A direct link needs rtund only to
 * be made: once up it carries on whatever happens to the link to rtund.
 */
#ifndef RTUN_AGENT_DIRECT_H
#define RTUN_AGENT_DIRECT_H

#include <ev.h>

#include "config.h"
#include "rtun.pb-c.h"

struct agent;
struct directset;
struct link;
struct metrics;
struct status;

/* Seconds before punching a peer again after a failure; doubles up to the max. */
#define DIRECT_BACKOFF_MIN 5.0
#define DIRECT_BACKOFF_MAX 300.0

/* What the direct links tell their users (the visitors). */
struct direct_ops {
	/* The direct link to peer came up (l), or went or could not be made (l NULL, why). */
	void (*changed)(void *arg, const char *peer, struct link *l, const char *why);
};

/* No links yet; punching starts once the link to rtund is up. */
struct directset *directset_new(struct ev_loop *loop, struct agent *a,
    const struct agent_conf *conf, struct metrics *m, const struct direct_ops *ops, void *arg);
/* Switch to a reloaded config: peers no visitor wants any more are let go. */
void directset_set_conf(struct directset *ds, const struct agent_conf *conf);
/* The link to rtund is authenticated: ask for the rendezvous that are due. */
void directset_server_up(struct directset *ds);
/* The link to rtund is gone: requests waiting for an answer fail. */
void directset_server_down(struct directset *ds);
/* Offer a CONTROL message from rtund: 1 if it was a P2P one (the caller frees it). */
int directset_control(struct directset *ds, const Rtun__Control *msg);
/* The direct link to peer while it is up, else NULL. */
struct link *directset_link(const struct directset *ds, const char *peer);
/* 1 while a rendezvous or punch with peer is under way. */
int directset_trying(const struct directset *ds, const char *peer);
/* A visitor wants a direct link to peer for service: punch now unless one is up or due. */
void directset_want(struct directset *ds, const char *peer, const char *service);
/* True while a direct link has open streams. */
int directset_busy(const struct directset *ds);
/* Add the "direct" table: each direct link (or attempt) to another agent. */
void directset_report(const struct directset *ds, double now, struct status *st);
/* Close every direct link and abandon every punch. */
void directset_free(struct directset *ds);

#endif
