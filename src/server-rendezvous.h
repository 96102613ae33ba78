/*
 * rtund as the rendezvous of a P2P link (doc/PROTOCOL.md, "P2P"): a visiting
 * agent asks for another agent's service; once the directory lets it, both
 * get a one-time session id and key, each probes rtund from the port it will
 * punch so rtund sees that port's NAT mapping, and rtund tells both whom to
 * dial, timed from the links' round trips so that their SYNs cross. The
 * bytes of the direct link never pass through rtund.
 */
#ifndef RTUN_SERVER_RENDEZVOUS_H
#define RTUN_SERVER_RENDEZVOUS_H

#include <ev.h>

#include "net.h"
#include "rtun.pb-c.h"

struct link;
struct metrics;
struct p2pdir;
struct rendezvous;
struct status;

/* Rendezvous under way at once, per visiting agent link and in all. */
#define RENDEZVOUS_PER_VISITOR 16
#define RENDEZVOUS_MAX 4096
/* How long a session is kept for its probes and outcome, seconds. */
#define RENDEZVOUS_TTL 60.0
/* Probe connections read at once, and how long one may take, seconds. */
#define RENDEZVOUS_PROBES_MAX 1024
#define RENDEZVOUS_PROBE_TIMEOUT 5.0

/* Sessions over the agents in dir; enabled 0 refuses every request (p2p = no). */
struct rendezvous *rendezvous_new(struct ev_loop *loop, struct p2pdir *dir, int enabled,
    struct metrics *m);
/* Turn the rendezvous on or off (reload); sessions under way carry on. */
void rendezvous_set_enabled(struct rendezvous *r, int enabled);
/* Link l of agent visitor sent PunchRequest req. */
void rendezvous_request(struct rendezvous *r, struct link *l, const char *visitor,
    const Rtun__PunchRequest *req);
/* Link l sent PunchDone d. */
void rendezvous_done(struct rendezvous *r, struct link *l, const Rtun__PunchDone *d);
/* A connection that began with the probe magic (fd is ours now): read, answer, close. */
void rendezvous_probe(struct rendezvous *r, int fd, const struct net_addr *from);
/* Add the "visitors" table: how each visitor last reached a service, and punches under way. */
void rendezvous_report(const struct rendezvous *r, double now, struct status *st);
/* Link l is going: the sessions and paths it is part of end. */
void rendezvous_forget(struct rendezvous *r, struct link *l);
/* End every session and probe. */
void rendezvous_free(struct rendezvous *r);

#endif
