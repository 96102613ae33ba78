/*
 * One TCP hole punch (doc/PROTOCOL.md, "P2P"): listen on a fresh port, probe
 * rtund from it so rtund sees its NAT mapping, then, on PunchGo, connect from
 * that same port to every endpoint of the peer while accepting on it, so that
 * each NAT sees an outgoing connection and lets the other's SYN in (TCP
 * simultaneous open). Every connection that appears runs TLS 1.3 with the
 * one-time key as external PSK; the first to complete wins. Non-blocking,
 * within one deadline, ending in one callback.
 */
#ifndef RTUN_AGENT_PUNCH_H
#define RTUN_AGENT_PUNCH_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "net.h"
#include "transport.h"

struct punch;

/* What one punch needs; punch_start() copies it all. */
struct punch_params {
	const struct net_addr *server;   /* rtund's agent port, as the link reached it */
	const uint8_t *session;          /* PROBE_SESSION_LEN bytes */
	const uint8_t *key;              /* PROBE_KEY_LEN bytes */
	int visitor;                     /* the visiting side: TLS client */
	double timeout;                  /* for everything, from now */
	SSL_CTX *psk;                    /* tls_psk_ctx_new() of our role */
	const char *label;               /* "punch to office-nas", for logs */
};

/*
 * Called once: with the authenticated, encrypted transport (the callee owns
 * it) and the peer's address, error NULL; or with t NULL and error saying why.
 */
typedef void (*punch_cb)(void *arg, struct transport *t, const struct net_addr *peer,
    const char *error);

/* Start: listen, probe rtund. cb runs from the loop, never from here. */
struct punch *punch_start(struct ev_loop *loop, const struct punch_params *p, punch_cb cb,
    void *arg);
/* PunchGo arrived: dial these n numeric "ip:port" endpoints, in this order of preference. */
void punch_go(struct punch *p, char *const *addrs, size_t n);
/* True once the probe was accepted by rtund. */
int punch_probed(const struct punch *p);
/* Abandon a punch under way: every socket is closed and cb is not called. */
void punch_cancel(struct punch *p);

#endif
