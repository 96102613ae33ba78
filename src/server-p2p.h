/*
 * rtund's directory of P2P services: which connected agent offers which
 * service to which visiting agents (the p2p services of its last
 * declaration). The rendezvous and the relay ask it the same question, so a
 * visitor is let through by one rule whichever path its bytes take.
 */
#ifndef RTUN_SERVER_P2P_H
#define RTUN_SERVER_P2P_H

#include <stddef.h>

#include "rtun.pb-c.h"

struct link;
struct p2pdir;

/* An empty directory. */
struct p2pdir *p2pdir_new(void);
/* Free the directory (the links are not touched). */
void p2pdir_free(struct p2pdir *d);
/* Link l of agent declared d: its p2p services replace what it offered before. */
void p2pdir_declare(struct p2pdir *d, struct link *l, const char *agent, const Rtun__Declare *decl);
/* Link l is gone: it offers nothing any more. */
void p2pdir_forget(struct p2pdir *d, struct link *l);
/*
 * May visitor reach agent's service? The target's link when it may; NULL
 * with why (a sentence for both sides' logs) when not.
 */
struct link *p2pdir_check(const struct p2pdir *d, const char *agent, const char *service,
    const char *visitor, char *why, size_t whylen);

#endif
