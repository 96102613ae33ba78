/*
 * What the unit tests that run real sockets share: listening and connected
 * TCP sockets on 127.0.0.1, a pair of links over one, and a monotonic clock.
 */
#ifndef RTUN_TEST_LOOPBACK_H
#define RTUN_TEST_LOOPBACK_H

#include <stdint.h>

#include <ev.h>

#include "frame.h"
#include "link.h"
#include "net.h"

/* A non-blocking listening socket on 127.0.0.1 with a kernel-chosen port, in *addr. */
int loopback_listen(struct net_addr *addr);
/* Two connected non-blocking TCP sockets on 127.0.0.1. */
void loopback_pair(int fds[2]);
/* Seconds on the monotonic clock. */
double loopback_now(void);
/*
 * A server-role and a client-role link joined by a loopback connection, both
 * authenticated with window and heartbeats every 10 s (dead after 30 s), at
 * most 64 streams, counting into lc; the client has sent the preface.
 */
void loopback_links(struct ev_loop *loop, uint32_t window, const struct link_counters *lc,
    const struct link_ops *srv_ops, const struct link_ops *agt_ops, struct link **srv,
    struct link **agt);
/* Accept the connections waiting on lfd into fds, *n of max taken so far. */
void loopback_accept(int lfd, int *fds, int *n, int max);
/*
 * Write frame f on fd whole, as a peer that breaks the rules would; while the
 * socket is full, wait() runs (the test's loop turn, so the reader drains it).
 */
void loopback_send_frame(int fd, const struct frame *f, void (*wait)(void));

#endif
