/*
 * A listening socket in the loop. Accepts until the backlog is empty; when
 * the process runs out of file descriptors it stops accepting and retries
 * from a timer instead of spinning on a readable socket it cannot serve.
 */
#ifndef RTUN_LISTENER_H
#define RTUN_LISTENER_H

#include <ev.h>

#include "net.h"

struct listener;

/* Called with each accepted, non-blocking connection; the callee owns fd. */
typedef void (*listener_cb)(struct listener *l, int fd, const struct net_addr *peer);

struct listener {
	struct ev_loop *loop;
	int fd;
	ev_io io;
	ev_timer backoff;
	listener_cb cb;
	void *data;
	char addr[NET_ADDRSTRLEN];
};

/* Seconds a listener pauses after EMFILE/ENFILE before it tries again. */
#define LISTENER_BACKOFF 0.5

/* Listen on addr; NULL with errno set on failure. */
struct listener *listener_new(struct ev_loop *loop, const struct net_addr *addr, listener_cb cb,
    void *data);
/* Stop listening and free. */
void listener_free(struct listener *l);

#endif
