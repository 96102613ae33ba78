/*
 * What the unit tests that run real sockets share: listening and connected
 * TCP sockets on 127.0.0.1 and a monotonic clock.
 */
#ifndef RTUN_TEST_LOOPBACK_H
#define RTUN_TEST_LOOPBACK_H

#include "frame.h"
#include "net.h"

/* A non-blocking listening socket on 127.0.0.1 with a kernel-chosen port, in *addr. */
int loopback_listen(struct net_addr *addr);
/* Two connected non-blocking TCP sockets on 127.0.0.1. */
void loopback_pair(int fds[2]);
/* Seconds on the monotonic clock. */
double loopback_now(void);
/*
 * Write frame f on fd whole, as a peer that breaks the rules would; while the
 * socket is full, wait() runs (the test's loop turn, so the reader drains it).
 */
void loopback_send_frame(int fd, const struct frame *f, void (*wait)(void));

#endif
