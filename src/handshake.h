/*
 * Drives a transport's handshake (TLS, WebSocket upgrade) inside the loop
 * with a deadline, then hands the established transport to a callback. Both
 * the agent (dialling) and rtund (accepting) use it.
 */
#ifndef RTUN_HANDSHAKE_H
#define RTUN_HANDSHAKE_H

#include <ev.h>

#include "transport.h"

struct handshake;

/*
 * Called once: with the established transport (the callee owns it) and
 * error NULL, or with t NULL and error saying why (the transport is freed).
 */
typedef void (*handshake_cb)(void *arg, struct transport *t, const char *error);

/* Start driving t's handshake; the first step runs on the next loop turn, cb later. */
struct handshake *handshake_start(struct ev_loop *loop, struct transport *t, double timeout,
    handshake_cb cb, void *arg);
/* Abandon a handshake under way: frees the transport; cb is not called. */
void handshake_cancel(struct handshake *h);

#endif
