/*
 * rtund's public ports (server-ports.h): a list of ports, each with its owner
 * and its listener (TCP) or socket (UDP). Lists are short (a few hundred
 * ports at most), so lookups walk them.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "config.h"
#include "listener.h"
#include "server-ports.h"
#include "xmalloc.h"

struct port {
	struct ports *ps;
	enum port_proto proto;
	uint16_t number;
	char service[CONFIG_NAME_MAX + 1];
	struct port_owner owner;
	struct listener *listener;   /* TCP; NULL once the drain stopped listening */
	int fd;                      /* UDP: the bound socket; -1 for TCP */
	void *data;                  /* the owner's */
	struct stream_counters ctr;
	int marked;
	LIST_ENTRY(port) entry;
};

struct ports {
	struct ev_loop *loop;
	int open;                    /* new ports may be bound */
	LIST_HEAD(, port) list;
};

enum port_claim
port_claim_check(const void *holder, const void *claimant, int allowed, int open)
{
	if (!open)
		return PORT_CLAIM_CLOSED;
	/* A port held by someone else is theirs whatever the config says now. */
	if (holder != NULL && holder != claimant)
		return PORT_CLAIM_IN_USE;
	if (!allowed)
		return PORT_CLAIM_NOT_ALLOWED;
	return holder != NULL ? PORT_CLAIM_OURS : PORT_CLAIM_FREE;
}

struct ports *
ports_new(struct ev_loop *loop)
{
	struct ports *ps = xcalloc(1, sizeof(*ps));

	ps->loop = loop;
	ps->open = 1;
	LIST_INIT(&ps->list);
	return ps;
}

void
ports_free(struct ports *ps)
{
	while (!LIST_EMPTY(&ps->list))
		port_close(LIST_FIRST(&ps->list));
	free(ps);
}

struct port *
ports_find(const struct ports *ps, enum port_proto proto, uint16_t number)
{
	struct port *p;

	LIST_FOREACH(p, &ps->list, entry) {
		if (p->number == number && p->proto == proto)
			return p;
	}
	return NULL;
}

enum port_claim
ports_claim(const struct ports *ps, enum port_proto proto, uint16_t number, const void *arg,
    int allowed)
{
	const struct port *p = ports_find(ps, proto, number);

	return port_claim_check(p != NULL ? p->owner.arg : NULL, arg, allowed, ps->open);
}

static void
port_accept_cb(struct listener *li, int fd, const struct net_addr *from)
{
	struct port *p = li->data;

	p->owner.accept(p, fd, from);
}

/* A TCP port gets a listener, a UDP port its socket; -1 with errno if not. */
static int
port_bind(struct port *p, const struct net_addr *addr)
{
	if (p->proto == PORT_UDP)
		return (p->fd = net_udp_bind(addr)) == -1 ? -1 : 0;
	p->listener = listener_new(p->ps->loop, addr, port_accept_cb, p);
	return p->listener == NULL ? -1 : 0;
}

struct port *
ports_open(struct ports *ps, const struct net_addr *bind, enum port_proto proto,
    uint16_t number, const char *service, const struct port_owner *owner)
{
	struct net_addr addr;
	struct port *p;

	addr = *bind;
	net_addr_set_port(&addr, number);
	p = xcalloc(1, sizeof(*p));
	p->ps = ps;
	p->proto = proto;
	p->number = number;
	p->owner = *owner;
	p->fd = -1;
	snprintf(p->service, sizeof(p->service), "%s", service);
	if (port_bind(p, &addr) == -1) {
		free(p);
		return NULL;
	}
	LIST_INSERT_HEAD(&ps->list, p, entry);
	return p;
}

void
port_close(struct port *p)
{
	p->owner.released(p);
	LIST_REMOVE(p, entry);
	listener_free(p->listener);
	if (p->fd != -1)
		close(p->fd);
	free(p);
}

void
ports_each_of(struct ports *ps, const void *arg, void (*fn)(struct port *p, void *x), void *x)
{
	struct port *p, *next;

	for (p = LIST_FIRST(&ps->list); p != NULL; p = next) {
		next = LIST_NEXT(p, entry);
		if (arg == NULL || p->owner.arg == arg)
			fn(p, x);
	}
}

void
ports_each(struct ports *ps, void (*fn)(struct port *p, void *x), void *x)
{
	ports_each_of(ps, NULL, fn, x);
}

void
ports_stop(struct ports *ps)
{
	struct port *p;

	ps->open = 0;
	LIST_FOREACH(p, &ps->list, entry) {
		listener_free(p->listener);
		p->listener = NULL;
	}
}

uint16_t
port_number(const struct port *p)
{
	return p->number;
}

enum port_proto
port_proto(const struct port *p)
{
	return p->proto;
}

const char *
port_proto_name(enum port_proto proto)
{
	return proto == PORT_UDP ? "udp" : "tcp";
}

int
port_fd(const struct port *p)
{
	return p->fd;
}

void *
port_data(const struct port *p)
{
	return p->data;
}

void
port_set_data(struct port *p, void *data)
{
	p->data = data;
}

const char *
port_service(const struct port *p)
{
	return p->service;
}

void
port_set_service(struct port *p, const char *service)
{
	snprintf(p->service, sizeof(p->service), "%s", service);
}

enum port_owner_kind
port_owner_kind(const struct port *p)
{
	return p->owner.kind;
}

void *
port_owner_arg(const struct port *p)
{
	return p->owner.arg;
}

struct stream_counters *
port_counters(struct port *p)
{
	return &p->ctr;
}

int
port_marked(const struct port *p)
{
	return p->marked;
}

void
port_set_marked(struct port *p, int marked)
{
	p->marked = marked;
}
