/*
 * rtund's public ports: the registry of ports bound on bind_addr, each held by
 * one owner, with one listener each. An owner is anything that turns a user
 * connection into something: today an agent link's service, tomorrow a route
 * defined on rtund. The registry decides who may hold a port (a pure policy,
 * port_claim_check()), binds and closes the listeners, and hands accepted
 * connections to the owner; what a port is for stays with its owner.
 *
 * A port is a protocol and a number: TCP 53 and UDP 53 are two ports, which
 * may have two owners. A UDP port has no listener: its bound socket is the
 * owner's to read (port_fd()) while the port lives, and closed with it.
 */
#ifndef RTUN_SERVER_PORTS_H
#define RTUN_SERVER_PORTS_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "net.h"
#include "stream.h"

struct port;
struct ports;

/* The transport protocol of a port. */
enum port_proto {
	PORT_TCP,
	PORT_UDP,
};

/* What kind of thing holds a port (for logs and for the owner's callbacks). */
enum port_owner_kind {
	PORT_OWNER_AGENT,        /* a service an agent declared */
};

/* The answer to "may this owner hold this port?" */
enum port_claim {
	PORT_CLAIM_FREE,         /* nobody holds it: bind it */
	PORT_CLAIM_OURS,         /* the claimant holds it already: keep its socket */
	PORT_CLAIM_IN_USE,       /* another owner holds it */
	PORT_CLAIM_NOT_ALLOWED,  /* outside the ports owners may claim */
	PORT_CLAIM_CLOSED,       /* rtund is shutting down: no new ports */
};

/* Who holds a port, and what it is told. */
struct port_owner {
	enum port_owner_kind kind;
	void *arg;
	/* TCP: a user connected to p from `from`; the callee owns fd. */
	void (*accept)(struct port *p, int fd, const struct net_addr *from);
	/* p is about to be freed (released, withdrawn or revoked). */
	void (*released)(struct port *p);
};

/* The pure policy: holder is the current owner's arg (NULL if none). */
enum port_claim port_claim_check(const void *holder, const void *claimant, int allowed, int open);

/* An empty registry whose listeners run on loop. */
struct ports *ports_new(struct ev_loop *loop);
/* Close every port (owners are told) and free the registry. */
void ports_free(struct ports *ps);
/* The port of this protocol and number, or NULL. */
struct port *ports_find(const struct ports *ps, enum port_proto proto, uint16_t number);
/* May owner arg claim proto port number (allowed: number is in the claimable set)? */
enum port_claim ports_claim(const struct ports *ps, enum port_proto proto, uint16_t number,
    const void *arg, int allowed);
/*
 * Bind proto port number on bind (an address whose port is ignored) for
 * owner, named service; NULL with errno when the socket cannot be made.
 */
struct port *ports_open(struct ports *ps, const struct net_addr *bind, enum port_proto proto,
    uint16_t number, const char *service, const struct port_owner *owner);
/* Close a port: its owner's released() runs, then it is freed. */
void port_close(struct port *p);
/* Call fn for every port owner arg holds (fn may close the port). */
void ports_each_of(struct ports *ps, const void *arg, void (*fn)(struct port *p, void *x),
    void *x);
/* Call fn for every port (fn may close the port). */
void ports_each(struct ports *ps, void (*fn)(struct port *p, void *x), void *x);
/* Stop listening everywhere and accept no new port (the drain). */
void ports_stop(struct ports *ps);

/* The port's number. */
uint16_t port_number(const struct port *p);
/* The port's protocol. */
enum port_proto port_proto(const struct port *p);
/* "tcp" or "udp". */
const char *port_proto_name(enum port_proto proto);
/* UDP: the bound socket, the owner's to read until the port is released; TCP: -1. */
int port_fd(const struct port *p);
/* What the owner keeps for this port (NULL until set). */
void *port_data(const struct port *p);
/* Set that. */
void port_set_data(struct port *p, void *data);
/* The name of what the port serves. */
const char *port_service(const struct port *p);
/* Rename what the port serves (a re-declaration). */
void port_set_service(struct port *p, const char *service);
/* What kind of owner holds the port. */
enum port_owner_kind port_owner_kind(const struct port *p);
/* The owner's arg. */
void *port_owner_arg(const struct port *p);
/* The counter slots streams of this port count into (the owner fills them). */
struct stream_counters *port_counters(struct port *p);
/* A flag the owner may keep on the port (e.g. "not in the latest declaration"). */
int port_marked(const struct port *p);
/* Set or clear that flag. */
void port_set_marked(struct port *p, int marked);

#endif
