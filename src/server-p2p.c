/*
 * The P2P directory: one entry per authenticated agent link that declared
 * anything, holding copies of its p2p services and their allow_peers. A new
 * declaration replaces the entry's services, a closed link removes it; names
 * are looked up linearly, as declarations and rendezvous are rare next to
 * stream traffic.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "control.h"
#include "server-p2p.h"
#include "xmalloc.h"

struct p2p_service {
	char *name;
	char **allow;
	size_t nallow;
};

struct p2p_agent {
	struct link *link;
	char name[CONTROL_NAME_MAX + 1];
	struct p2p_service *svcs;
	size_t nsvcs;
	LIST_ENTRY(p2p_agent) entry;
};

struct p2pdir {
	LIST_HEAD(, p2p_agent) agents;
};

struct p2pdir *
p2pdir_new(void)
{
	struct p2pdir *d = xcalloc(1, sizeof(*d));

	LIST_INIT(&d->agents);
	return d;
}

static void
agent_clear(struct p2p_agent *a)
{
	size_t i, j;

	for (i = 0; i < a->nsvcs; i++) {
		for (j = 0; j < a->svcs[i].nallow; j++)
			free(a->svcs[i].allow[j]);
		free(a->svcs[i].allow);
		free(a->svcs[i].name);
	}
	free(a->svcs);
	a->svcs = NULL;
	a->nsvcs = 0;
}

static struct p2p_agent *
agent_of_link(const struct p2pdir *d, const struct link *l)
{
	struct p2p_agent *a;

	LIST_FOREACH(a, &d->agents, entry) {
		if (a->link == l)
			return a;
	}
	return NULL;
}

void
p2pdir_declare(struct p2pdir *d, struct link *l, const char *agent, const Rtun__Declare *decl)
{
	struct p2p_agent *a = agent_of_link(d, l);
	size_t i, j;

	if (a == NULL) {
		a = xcalloc(1, sizeof(*a));
		a->link = l;
		LIST_INSERT_HEAD(&d->agents, a, entry);
	}
	snprintf(a->name, sizeof(a->name), "%s", agent);
	agent_clear(a);
	a->svcs = xcalloc(decl->n_services + 1, sizeof(*a->svcs));
	for (i = 0; i < decl->n_services; i++) {
		const Rtun__Service *s = decl->services[i];
		struct p2p_service *p;

		/* control.c vetted allow_peers; a bad service name was refused by the caller. */
		if (!s->p2p || !control_name_valid(s->name))
			continue;
		p = &a->svcs[a->nsvcs++];
		p->name = xstrdup(s->name);
		p->allow = xcalloc(s->n_allow_peers + 1, sizeof(*p->allow));
		for (j = 0; j < s->n_allow_peers; j++)
			p->allow[p->nallow++] = xstrdup(s->allow_peers[j]);
	}
}

void
p2pdir_forget(struct p2pdir *d, struct link *l)
{
	struct p2p_agent *a = agent_of_link(d, l);

	if (a == NULL)
		return;
	LIST_REMOVE(a, entry);
	agent_clear(a);
	free(a);
}

static const struct p2p_service *
service_of(const struct p2p_agent *a, const char *service)
{
	size_t i;

	for (i = 0; i < a->nsvcs; i++) {
		if (strcmp(a->svcs[i].name, service) == 0)
			return &a->svcs[i];
	}
	return NULL;
}

struct link *
p2pdir_check(const struct p2pdir *d, const char *agent, const char *service,
    const char *visitor, char *why, size_t whylen)
{
	const struct p2p_service *s;
	struct p2p_agent *a;
	size_t i;

	LIST_FOREACH(a, &d->agents, entry) {
		if (strcmp(a->name, agent) == 0)
			break;
	}
	if (a == NULL) {
		snprintf(why, whylen, "agent %s is not connected", agent);
		return NULL;
	}
	if ((s = service_of(a, service)) == NULL) {
		snprintf(why, whylen, "agent %s offers no p2p service %s", agent, service);
		return NULL;
	}
	for (i = 0; i < s->nallow; i++) {
		if (strcmp(s->allow[i], visitor) == 0)
			return a->link;
	}
	snprintf(why, whylen, "agent %s does not allow %s to visit service %s (allow_peers)",
	    agent, visitor, service);
	return NULL;
}

void
p2pdir_free(struct p2pdir *d)
{
	struct p2p_agent *a;

	while ((a = LIST_FIRST(&d->agents)) != NULL)
		p2pdir_forget(d, a->link);
	free(d);
}
