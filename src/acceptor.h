/*
 * rtund's one listening port serves raw rtun, TLS, WebSocket and WebSocket
 * over TLS. An acceptor takes a freshly accepted socket, tells the layers
 * apart from the first bytes (sniff.h), runs the TLS and WebSocket handshakes
 * within handshake_timeout, and hands the established transport to rtund.
 */
#ifndef RTUN_ACCEPTOR_H
#define RTUN_ACCEPTOR_H

#include <sys/queue.h>

#include <ev.h>
#include <openssl/ssl.h>

#include "net.h"
#include "transport.h"

struct acceptor;

/*
 * Called with an established transport (owned by the callee), its stack's
 * name and what is left of the handshake budget, in seconds: the budget runs
 * from accept() to authentication, whatever the peer sends meanwhile.
 */
typedef void (*acceptor_cb)(void *arg, struct transport *t, const struct net_addr *peer,
    const char *stack, double left);

/* A connection that began with a punch probe: the callee owns fd, nothing was read. */
typedef void (*acceptor_probe_cb)(void *arg, int fd, const struct net_addr *peer);

/* What the port accepts; the caller keeps it alive while acceptors run. */
struct acceptor_conf {
	SSL_CTX *tls;            /* NULL: no TLS */
	const char *ws_path;
	int transports;          /* enum config_transport bits */
	double timeout;          /* for sniffing and every handshake together */
	acceptor_probe_cb probe; /* punch probes (raw TCP only); NULL: refused */
	void *probe_arg;
};

/* The acceptors under way, so shutdown can cancel them. */
struct acceptor_set {
	LIST_HEAD(, acceptor) list;
};

/* An empty set. */
void acceptor_set_init(struct acceptor_set *set);
/* Cancel every acceptor under way (their sockets are closed). */
void acceptor_set_clear(struct acceptor_set *set);
/* Start on an accepted socket (owned from now on); cb runs once it is established. */
void acceptor_start(struct acceptor_set *set, struct ev_loop *loop, int fd,
    const struct net_addr *peer, const struct acceptor_conf *conf, acceptor_cb cb, void *arg);

#endif
