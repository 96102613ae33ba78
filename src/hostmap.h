/*
 * rtund's web names: which agent's service serves which host name on the
 * shared HTTP or HTTPS listener, as the ports registry is for ports. A name is
 * exact ("app.example.com") or a wildcard of one label ("*.dev.example.com");
 * a lookup prefers the exact claim. A claim whose agent's link went away stays
 * as an offline claim, so users of that name get "agent not connected"
 * rather than "unknown host", until someone claims the name again or the
 * agent's next declaration leaves it out. Offline claims are bounded.
 */
#ifndef RTUN_HOSTMAP_H
#define RTUN_HOSTMAP_H

#include <stddef.h>
#include <stdint.h>

#include "stream.h"

/* Offline claims kept at most; the oldest go first. */
#define HOSTMAP_OFFLINE_MAX 1024

/* Which listener a name is claimed on. */
enum vhost_scheme {
	VHOST_HTTP,
	VHOST_HTTPS,
};

enum host_claim_result {
	HOST_CLAIM_NEW,      /* the name is the claimant's now */
	HOST_CLAIM_OURS,     /* the claimant held it already (re-declared) */
	HOST_CLAIM_IN_USE,   /* another connected agent holds it */
};

struct hostclaim;
struct hostmap;

/* An empty map; released(c, arg) runs when a live claim is dropped or goes offline. */
struct hostmap *hostmap_new(void (*released)(struct hostclaim *c, void *arg), void *arg);
/* Free the map and every claim (released() is not called). */
void hostmap_free(struct hostmap *m);
/*
 * Claim pattern on scheme for agent (owner arg, the service's name). With
 * IN_USE, *holder is the holding agent's name.
 */
enum host_claim_result hostmap_claim(struct hostmap *m, enum vhost_scheme scheme,
    const char *pattern, void *arg, const char *agent, const char *service,
    struct hostclaim **out, const char **holder);
/* The claim of exactly this pattern on scheme, or NULL. */
struct hostclaim *hostmap_find(const struct hostmap *m, enum vhost_scheme scheme,
    const char *pattern);
/* The claim serving name on scheme: exact first, then a wildcard; NULL if none. */
struct hostclaim *hostmap_lookup(const struct hostmap *m, enum vhost_scheme scheme,
    const char *name);
/* Mark every claim of arg (before a re-declaration re-claims what it keeps). */
void hostmap_mark(struct hostmap *m, const void *arg);
/*
 * After a declaration of agent: drop arg's claims still marked, and the
 * agent's offline claims from an earlier link.
 */
void hostmap_sweep(struct hostmap *m, const void *arg, const char *agent);
/* Drop every claim of arg for service (revoked). */
void hostmap_drop_service(struct hostmap *m, const void *arg, const char *service);
/* The first live claim allow (n patterns, see hostname_allowed()) does not allow, or NULL. */
struct hostclaim *hostmap_first_disallowed(const struct hostmap *m, char *const *allow, size_t n);
/* arg's link is gone: its claims go offline. */
void hostmap_offline(struct hostmap *m, const void *arg);
/* Call fn for every claim of arg (fn may not drop claims). */
void hostmap_each_of(struct hostmap *m, const void *arg, void (*fn)(struct hostclaim *c, void *x),
    void *x);

/* Call fn for every claim, offline ones too, in lookup order. */
void hostmap_each(struct hostmap *m, void (*fn)(struct hostclaim *c, void *x), void *x);
/* The owner's arg; NULL for an offline claim. */
void *hostclaim_arg(const struct hostclaim *c);
/* The claimed pattern. */
const char *hostclaim_pattern(const struct hostclaim *c);
/* The holding agent's name. */
const char *hostclaim_agent(const struct hostclaim *c);
/* The service the name is served by. */
const char *hostclaim_service(const struct hostclaim *c);
/* The scheme it is claimed on. */
enum vhost_scheme hostclaim_scheme(const struct hostclaim *c);
/* Counter slots of the claim's streams (the owner fills them). */
struct stream_counters *hostclaim_counters(struct hostclaim *c);
/* The owner's slot counting connections routed to the claim (the owner fills it). */
uint64_t **hostclaim_routed(struct hostclaim *c);
/* True while the current declaration has not claimed it again (see hostmap_mark()). */
int hostclaim_marked(const struct hostclaim *c);
/* Claim flags: add X-Forwarded-For and X-Forwarded-Proto to the first request head. */
#define HOSTCLAIM_FORWARDED 1

/* The claim's flags. */
int hostclaim_flags(const struct hostclaim *c);
/* Set them. */
void hostclaim_set_flags(struct hostclaim *c, int flags);

#endif
