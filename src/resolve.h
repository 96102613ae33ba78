/*
 * Name resolution that does not block the loop: glibc's getaddrinfo_a()
 * resolves in its own thread and wakes the loop through an ev_async.
 */
#ifndef RTUN_RESOLVE_H
#define RTUN_RESOLVE_H

#include <stddef.h>

#include <ev.h>

#include "net.h"

struct resolve;

/* Most addresses of one answer that resolve_start_all() hands on. */
#define RESOLVE_ADDRS_MAX 16

/* Result: err is 0 and addr set, or err is a gai error code (see gai_strerror()). */
typedef void (*resolve_cb)(void *arg, int err, const struct net_addr *addr);
/* Result: err is 0 and n (>= 1) addresses in the resolver's order, or a gai error code. */
typedef void (*resolve_all_cb)(void *arg, int err, const struct net_addr *addrs, size_t n);

/* Start resolving host:port for a TCP connect; cb runs in the loop exactly once. */
struct resolve *resolve_start(struct ev_loop *loop, const char *host, const char *port,
    resolve_cb cb, void *arg);
/* The same, handing on every address of the answer (for a caller that judges them). */
struct resolve *resolve_start_all(struct ev_loop *loop, const char *host, const char *port,
    resolve_all_cb cb, void *arg);
/* Cancel: cb will not run; memory is released once the lookup thread lets go. */
void resolve_cancel(struct resolve *r);

#endif
