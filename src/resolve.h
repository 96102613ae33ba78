/*
 * Name resolution that does not block the loop: glibc's getaddrinfo_a()
 * resolves in its own thread and wakes the loop through an ev_async.
 */
#ifndef RTUN_RESOLVE_H
#define RTUN_RESOLVE_H

#include <ev.h>

#include "net.h"

struct resolve;

/* Result: err is 0 and addr set, or err is a gai error code (see gai_strerror()). */
typedef void (*resolve_cb)(void *arg, int err, const struct net_addr *addr);

/* Start resolving host:port for a TCP connect; cb runs in the loop exactly once. */
struct resolve *resolve_start(struct ev_loop *loop, const char *host, const char *port,
    resolve_cb cb, void *arg);
/* Cancel: cb will not run; memory is released once the lookup thread lets go. */
void resolve_cancel(struct resolve *r);

#endif
