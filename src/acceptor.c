/*
 * Acceptors: sniff, then build the transport stack the client speaks.
 *
 *   0x16 ...   -> TLS; after its handshake, sniff again inside it:
 *                   preface -> rtun over TLS ("tls"), "GET " -> WebSocket ("wss")
 *   "GET " ... -> WebSocket over TCP ("ws")
 *   preface    -> raw rtun ("tcp")
 *
 * A stack the listener's `transports` does not list is refused and logged.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "acceptor.h"
#include "config.h"
#include "frame.h"
#include "handshake.h"
#include "log.h"
#include "sniff.h"
#include "transport-tls.h"
#include "transport-ws.h"
#include "xmalloc.h"

struct acceptor {
	struct acceptor_set *set;
	struct ev_loop *loop;
	const struct acceptor_conf *conf;
	struct net_addr peer;
	char addr[NET_ADDRSTRLEN];
	int fd;                        /* while sniffing the raw socket */
	struct transport *t;           /* while sniffing inside TLS */
	struct handshake *hs;          /* while a handshake runs */
	int in_tls;
	ssize_t seen;                  /* bytes the last peek returned */
	int lowat;                     /* SO_RCVLOWAT raised above 1 on fd */
	ev_io io;
	ev_timer deadline;
	acceptor_cb cb;
	void *arg;
	LIST_ENTRY(acceptor) entry;
};

static void acceptor_sniff(struct acceptor *a);

static void
acceptor_free(struct acceptor *a)
{
	ev_io_stop(a->loop, &a->io);
	ev_timer_stop(a->loop, &a->deadline);
	if (a->hs != NULL)
		handshake_cancel(a->hs);
	if (a->t != NULL)
		transport_free(a->t);
	else if (a->fd != -1)
		close(a->fd);
	LIST_REMOVE(a, entry);
	free(a);
}

static void
acceptor_fail(struct acceptor *a, const char *why)
{
	log_info("%s: dropping connection: %s", a->addr, why);
	acceptor_free(a);
}

static double
acceptor_remaining(const struct acceptor *a)
{
	double left = ev_timer_remaining(a->loop, (ev_timer *)&a->deadline);

	return left > 0.01 ? left : 0.01;
}

static void
acceptor_done(struct acceptor *a, struct transport *t, const char *stack)
{
	acceptor_cb cb = a->cb;
	void *arg = a->arg;
	struct net_addr peer = a->peer;
	double left = acceptor_remaining(a);

	log_debug("%s: agent connection over %s", a->addr, stack);
	a->t = NULL;
	a->fd = -1;
	acceptor_free(a);
	cb(arg, t, &peer, stack, left);
}

static int
acceptor_allows(struct acceptor *a, int bit, const char *name)
{
	char why[96];

	if ((a->conf->transports & bit) != 0)
		return 1;
	snprintf(why, sizeof(why), "transport %s not accepted on this listener", name);
	acceptor_fail(a, why);
	return 0;
}

static void
acceptor_ws_done(void *arg, struct transport *t, const char *error)
{
	struct acceptor *a = arg;

	a->hs = NULL;
	if (t == NULL) {
		acceptor_fail(a, error);
		return;
	}
	acceptor_done(a, t, transport_names[a->in_tls ? TRANSPORT_WSS : TRANSPORT_WS]);
}

static void
acceptor_start_ws(struct acceptor *a, struct transport *inner)
{
	struct transport *t = transport_ws_server(inner, a->conf->ws_path);

	a->t = NULL;
	a->fd = -1;
	a->hs = handshake_start(a->loop, t, acceptor_remaining(a), acceptor_ws_done, a);
}

static void
acceptor_tls_done(void *arg, struct transport *t, const char *error)
{
	struct acceptor *a = arg;

	a->hs = NULL;
	if (t == NULL) {
		acceptor_fail(a, error);
		return;
	}
	a->t = t;
	a->in_tls = 1;
	a->seen = 0;
	acceptor_sniff(a);
}

/* A probe goes to the rendezvous as a bare socket. */
static void
acceptor_hand_probe(struct acceptor *a)
{
	acceptor_probe_cb cb = a->conf->probe;
	void *arg = a->conf->probe_arg;
	struct net_addr peer = a->peer;
	int fd = a->fd;

	a->fd = -1;
	acceptor_free(a);
	cb(arg, fd, &peer);
}

/* Act on what the first bytes said. */
static void
acceptor_dispatch(struct acceptor *a, enum sniff_result r)
{
	struct transport *t;

	if (a->lowat) {
		/* The layers above must wake for every byte again. */
		net_set_rcvlowat(a->fd, 1);
		a->lowat = 0;
	}
	switch (r) {
	case SNIFF_RTUN:
		if (!acceptor_allows(a, a->in_tls ? CONFIG_TRANSPORT_TLS : CONFIG_TRANSPORT_TCP,
		    transport_names[a->in_tls ? TRANSPORT_TLS : TRANSPORT_TCP]))
			return;
		t = a->t != NULL ? a->t : transport_tcp_new(a->fd);
		acceptor_done(a, t, transport_names[a->in_tls ? TRANSPORT_TLS : TRANSPORT_TCP]);
		return;
	case SNIFF_HTTP:
		if (!acceptor_allows(a, a->in_tls ? CONFIG_TRANSPORT_WSS : CONFIG_TRANSPORT_WS,
		    transport_names[a->in_tls ? TRANSPORT_WSS : TRANSPORT_WS]))
			return;
		acceptor_start_ws(a, a->t != NULL ? a->t : transport_tcp_new(a->fd));
		return;
	case SNIFF_PROBE:
		if (a->in_tls || a->conf->probe == NULL) {
			acceptor_fail(a, a->in_tls ? "punch probe inside TLS" : "punch probe refused");
			return;
		}
		acceptor_hand_probe(a);
		return;
	case SNIFF_TLS:
		if (a->in_tls || a->conf->tls == NULL) {
			acceptor_fail(a, a->in_tls ? "TLS inside TLS" :
			    "TLS client, but rtund has no tls_cert");
			return;
		}
		t = transport_tls_server(a->conf->tls, a->fd);
		a->fd = -1;
		a->hs = handshake_start(a->loop, t, acceptor_remaining(a), acceptor_tls_done, a);
		return;
	default:
		acceptor_fail(a, "not an rtun agent (unknown protocol)");
		return;
	}
}

/*
 * Wait for more than the n bytes a peek saw, without polling: on the raw
 * socket SO_RCVLOWAT keeps it from reporting readable until then; inside TLS
 * the record was taken off the socket, so readable means news.
 */
static void
acceptor_wait_more(struct acceptor *a, ssize_t n)
{
	if (a->t == NULL && n > 0) {
		net_set_rcvlowat(a->fd, (int)n + 1);
		a->lowat = 1;
	}
	a->seen = n;
	ev_io_set(&a->io, a->t != NULL ? a->t->fd : a->fd,
	    a->t != NULL ? transport_want(a->t) : EV_READ);
	ev_io_start(a->loop, &a->io);
}

/* Peek at the first bytes, on the raw socket or inside TLS. */
static void
acceptor_sniff(struct acceptor *a)
{
	uint8_t buf[FRAME_PREFACE_LEN];
	enum sniff_result r;
	ssize_t n;

	if (a->t != NULL)
		n = transport_peek(a->t, buf, sizeof(buf));
	else
		n = recv(a->fd, buf, sizeof(buf), MSG_PEEK);
	if (n == 0 || (n == -1 && errno != EAGAIN && errno != EINTR)) {
		acceptor_fail(a, n == 0 ? "closed before saying anything" : strerror(errno));
		return;
	}
	r = n > 0 ? sniff_classify(buf, (size_t)n) : SNIFF_NEED_MORE;
	ev_io_stop(a->loop, &a->io);
	if (r != SNIFF_NEED_MORE) {
		acceptor_dispatch(a, r);
		return;
	}
	if (n > 0 && a->t != NULL && n == a->seen) {
		/* A peek inside TLS never reaches past the first record. */
		acceptor_fail(a, "the first TLS record is too short to tell the protocol");
		return;
	}
	acceptor_wait_more(a, n);
}

static void
acceptor_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	acceptor_sniff(w->data);
}

static void
acceptor_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	acceptor_fail(w->data, "handshake timed out");
}

void
acceptor_set_init(struct acceptor_set *set)
{
	LIST_INIT(&set->list);
}

void
acceptor_set_clear(struct acceptor_set *set)
{
	while (!LIST_EMPTY(&set->list))
		acceptor_free(LIST_FIRST(&set->list));
}

void
acceptor_start(struct acceptor_set *set, struct ev_loop *loop, int fd,
    const struct net_addr *peer, const struct acceptor_conf *conf, acceptor_cb cb, void *arg)
{
	struct acceptor *a = xcalloc(1, sizeof(*a));

	a->set = set;
	a->loop = loop;
	a->conf = conf;
	a->peer = *peer;
	a->fd = fd;
	a->cb = cb;
	a->arg = arg;
	net_addr_str((const struct sockaddr *)&peer->ss, a->addr);
	ev_io_init(&a->io, acceptor_io_cb, fd, EV_READ);
	ev_timer_init(&a->deadline, acceptor_deadline_cb, conf->timeout, 0.0);
	a->io.data = a->deadline.data = a;
	LIST_INSERT_HEAD(&set->list, a, entry);
	ev_timer_start(loop, &a->deadline);
	ev_io_start(loop, &a->io);
}
