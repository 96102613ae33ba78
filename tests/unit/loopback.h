/*
 * What the unit tests that run real sockets share: listening and connected
 * TCP sockets on 127.0.0.1 and a monotonic clock.
 */
#ifndef RTUN_TEST_LOOPBACK_H
#define RTUN_TEST_LOOPBACK_H

#include "net.h"

/* A non-blocking listening socket on 127.0.0.1 with a kernel-chosen port, in *addr. */
int loopback_listen(struct net_addr *addr);
/* Two connected non-blocking TCP sockets on 127.0.0.1. */
void loopback_pair(int fds[2]);
/* Seconds on the monotonic clock. */
double loopback_now(void);

#endif
