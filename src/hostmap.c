/*
 * The web-name registry (hostmap.h). A list: claims are few (one per name an
 * operator lets agents serve) and a lookup runs once per user connection.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "config.h"
#include "hostmap.h"
#include "hostname.h"
#include "xmalloc.h"

struct hostclaim {
	enum vhost_scheme scheme;
	char pattern[HOSTNAME_MAX + 1];
	char agent[CONFIG_NAME_MAX + 1];
	char service[CONFIG_NAME_MAX + 1];
	void *arg;               /* NULL: offline */
	struct stream_counters ctr;
	uint64_t *routed;
	int flags;
	int marked;
	TAILQ_ENTRY(hostclaim) entry;
};

TAILQ_HEAD(claimlist, hostclaim);

struct hostmap {
	struct claimlist claims;
	size_t noffline;
	void (*released)(struct hostclaim *c, void *arg);
	void *arg;
};

struct hostmap *
hostmap_new(void (*released)(struct hostclaim *c, void *arg), void *arg)
{
	struct hostmap *m = xcalloc(1, sizeof(*m));

	m->released = released;
	m->arg = arg;
	TAILQ_INIT(&m->claims);
	return m;
}

static void
claim_free(struct hostmap *m, struct hostclaim *c)
{
	TAILQ_REMOVE(&m->claims, c, entry);
	if (c->arg == NULL)
		m->noffline--;
	free(c);
}

void
hostmap_free(struct hostmap *m)
{
	struct hostclaim *c;

	if (m == NULL)
		return;
	while ((c = TAILQ_FIRST(&m->claims)) != NULL)
		claim_free(m, c);
	free(m);
}

/* The owner lets go of a live claim: it is told, then the claim is gone. */
static void
claim_drop(struct hostmap *m, struct hostclaim *c)
{
	if (c->arg != NULL && m->released != NULL)
		m->released(c, m->arg);
	claim_free(m, c);
}

struct hostclaim *
hostmap_find(const struct hostmap *m, enum vhost_scheme scheme, const char *pattern)
{
	struct hostclaim *c;

	TAILQ_FOREACH(c, &m->claims, entry) {
		if (c->scheme == scheme && strcmp(c->pattern, pattern) == 0)
			return c;
	}
	return NULL;
}

enum host_claim_result
hostmap_claim(struct hostmap *m, enum vhost_scheme scheme, const char *pattern, void *arg,
    const char *agent, const char *service, struct hostclaim **out, const char **holder)
{
	struct hostclaim *c = hostmap_find(m, scheme, pattern);

	*out = NULL;
	if (c != NULL && c->arg == arg) {
		c->marked = 0;
		snprintf(c->service, sizeof(c->service), "%s", service);
		*out = c;
		return HOST_CLAIM_OURS;
	}
	if (c != NULL && c->arg != NULL) {
		*holder = c->agent;
		return HOST_CLAIM_IN_USE;
	}
	if (c != NULL)
		claim_free(m, c);   /* an offline claim yields to a connected claimant */
	c = xcalloc(1, sizeof(*c));
	c->scheme = scheme;
	snprintf(c->pattern, sizeof(c->pattern), "%s", pattern);
	snprintf(c->agent, sizeof(c->agent), "%s", agent);
	snprintf(c->service, sizeof(c->service), "%s", service);
	c->arg = arg;
	TAILQ_INSERT_TAIL(&m->claims, c, entry);
	*out = c;
	return HOST_CLAIM_NEW;
}

struct hostclaim *
hostmap_lookup(const struct hostmap *m, enum vhost_scheme scheme, const char *name)
{
	struct hostclaim *c, *wild = NULL;

	TAILQ_FOREACH(c, &m->claims, entry) {
		if (c->scheme != scheme || !hostname_match(c->pattern, name))
			continue;
		if (c->pattern[0] != '*')
			return c;
		if (wild == NULL)
			wild = c;
	}
	return wild;
}

void
hostmap_mark(struct hostmap *m, const void *arg)
{
	struct hostclaim *c;

	TAILQ_FOREACH(c, &m->claims, entry) {
		if (c->arg == arg)
			c->marked = 1;
	}
}

void
hostmap_sweep(struct hostmap *m, const void *arg, const char *agent)
{
	struct hostclaim *c, *next;

	for (c = TAILQ_FIRST(&m->claims); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if ((c->arg == arg && c->marked) ||
		    (c->arg == NULL && strcmp(c->agent, agent) == 0))
			claim_drop(m, c);
	}
}

void
hostmap_drop_service(struct hostmap *m, const void *arg, const char *service)
{
	struct hostclaim *c, *next;

	for (c = TAILQ_FIRST(&m->claims); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->arg == arg && strcmp(c->service, service) == 0)
			claim_drop(m, c);
	}
}

struct hostclaim *
hostmap_first_disallowed(const struct hostmap *m, char *const *allow, size_t n)
{
	struct hostclaim *c;

	TAILQ_FOREACH(c, &m->claims, entry) {
		if (c->arg != NULL && !hostname_allowed(allow, n, c->pattern))
			return c;
	}
	return NULL;
}

void
hostmap_offline(struct hostmap *m, const void *arg)
{
	struct hostclaim *c, *next;

	for (c = TAILQ_FIRST(&m->claims); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->arg != arg)
			continue;
		if (m->released != NULL)
			m->released(c, m->arg);
		c->arg = NULL;
		c->marked = 0;
		memset(&c->ctr, 0, sizeof(c->ctr));
		c->routed = NULL;
		/* Newest offline claims last, so the oldest are the first to go. */
		TAILQ_REMOVE(&m->claims, c, entry);
		TAILQ_INSERT_TAIL(&m->claims, c, entry);
		m->noffline++;
	}
	for (c = TAILQ_FIRST(&m->claims); c != NULL && m->noffline > HOSTMAP_OFFLINE_MAX;
	    c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->arg == NULL)
			claim_free(m, c);
	}
}

void
hostmap_each_of(struct hostmap *m, const void *arg, void (*fn)(struct hostclaim *c, void *x),
    void *x)
{
	struct hostclaim *c;

	TAILQ_FOREACH(c, &m->claims, entry) {
		if (c->arg == arg)
			fn(c, x);
	}
}

void
hostmap_each(struct hostmap *m, void (*fn)(struct hostclaim *c, void *x), void *x)
{
	struct hostclaim *c;

	TAILQ_FOREACH(c, &m->claims, entry)
		fn(c, x);
}

void *
hostclaim_arg(const struct hostclaim *c)
{
	return c->arg;
}

const char *
hostclaim_pattern(const struct hostclaim *c)
{
	return c->pattern;
}

const char *
hostclaim_agent(const struct hostclaim *c)
{
	return c->agent;
}

const char *
hostclaim_service(const struct hostclaim *c)
{
	return c->service;
}

enum vhost_scheme
hostclaim_scheme(const struct hostclaim *c)
{
	return c->scheme;
}

struct stream_counters *
hostclaim_counters(struct hostclaim *c)
{
	return &c->ctr;
}

uint64_t **
hostclaim_routed(struct hostclaim *c)
{
	return &c->routed;
}

int
hostclaim_marked(const struct hostclaim *c)
{
	return c->marked;
}

int
hostclaim_flags(const struct hostclaim *c)
{
	return c->flags;
}

void
hostclaim_set_flags(struct hostclaim *c, int flags)
{
	c->flags = flags;
}
