/*
 * Relayed P2P streams: a visiting agent that has no direct link opens a
 * stream on its link to rtund naming "AGENT/SERVICE"; once the directory lets
 * it (the same rule as the rendezvous), rtund joins it to a stream on the
 * target agent's link (stream-relay.h), with flow control end to end.
 */
#ifndef RTUN_SERVER_RELAY_H
#define RTUN_SERVER_RELAY_H

#include <stdint.h>

#include <ev.h>

struct link;
struct metrics;
struct p2pdir;
struct relayset;
struct status;

/* What the relay takes from rtund's config. */
struct relay_limits {
	int enabled;                /* relay = yes */
	uint32_t max_streams;       /* per visiting agent */
	double open_timeout;        /* for the target's OPEN_OK */
};

/* Relays over the agents in dir. */
struct relayset *relayset_new(struct ev_loop *loop, struct p2pdir *dir,
    const struct relay_limits *lim, struct metrics *m);
/* New limits (reload); streams under way carry on. */
void relayset_set_limits(struct relayset *r, const struct relay_limits *lim);
/* Link l of agent visitor opened stream id for to ("AGENT/SERVICE") from user peer at dest. */
void relayset_open(struct relayset *r, struct link *l, const char *visitor, uint32_t id,
    const char *to, const char *peer, const char *dest);
/* Add the "relays" table: streams rtund relays now, by visiting agent. */
void relayset_report(const struct relayset *r, struct status *st);
/* Free (relayed streams end with their links). */
void relayset_free(struct relayset *r);

#endif
