/*
 * The client side of making a link: resolve the peer without blocking,
 * connect (from a given local port if asked), stack the transport layers
 * (TCP, then TLS and/or WebSocket) and drive their handshake, all within one
 * deadline, ending in one callback with an established transport or an
 * error. What to do with either (authenticate, retry later) is the caller's.
 */
#ifndef RTUN_DIAL_H
#define RTUN_DIAL_H

#include <stdint.h>

#include <ev.h>

#include "net.h"
#include "transport-tls.h"
#include "transport-ws.h"

struct dial;

/* Where to dial and what to stack on the connection; dial_start() copies it all. */
struct dial_params {
	const char *host;         /* a name or an address, resolved in the background */
	const char *port;
	const char *label;        /* the peer in error texts, e.g. "host:7000" */
	uint16_t local_port;      /* connect from this port (SO_REUSEADDR, SO_REUSEPORT); 0: any */
	double timeout;           /* for resolving, connecting and the handshake together */
	SSL_CTX *tls;             /* a TLS layer over TCP, when not NULL (a reference is taken) */
	const struct tls_client_opts *tls_opts;  /* its options, with tls */
	const struct ws_client_opts *ws;         /* a WebSocket layer on top, when not NULL */
};

/*
 * Called once: with the established transport (the callee owns it) and the
 * peer's address, error NULL; or with t NULL and error saying why, such as
 * "connect to host:7000 failed: Connection refused".
 */
typedef void (*dial_cb)(void *arg, struct transport *t, const struct net_addr *addr,
    const char *error);

/* Start dialling; cb runs later from the loop, never from here. */
struct dial *dial_start(struct ev_loop *loop, const struct dial_params *p, dial_cb cb,
    void *arg);
/* Abandon a dial under way: its socket is closed and cb is not called. */
void dial_cancel(struct dial *d);

#endif
