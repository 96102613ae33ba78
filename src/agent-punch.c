/*
 * The hole punch itself.
 *
 *   listen on port P (shared)     probe: connect from P to rtund, send the
 *                                 probe, read rtund's one-byte verdict
 *   punch_go(addrs)               connect from P to each address; accept on P
 *   each TCP connection           TLS 1.3 PSK handshake, as client (visitor)
 *                                 or server (target)
 *   the first TLS to complete     wins: everything else is closed
 *
 * A connect that fails (a NAT that answers with a reset, an address that is
 * not reachable) is tried again every PUNCH_REDIAL seconds until the
 * deadline; one that hangs is left to the kernel's SYN retransmissions,
 * which keep re-opening our NAT's mapping. A connection that fails the TLS
 * handshake (a wrong key: someone else's SYN raced into the port) is closed
 * and never yields a link.
 */
#include "rtun-build.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "agent-punch.h"
#include "handshake.h"
#include "log.h"
#include "punch-probe.h"
#include "transport-tls.h"
#include "xmalloc.h"

/* Seconds between attempts of an endpoint whose connect failed. */
#define PUNCH_REDIAL 0.25
/* Accepted connections in their TLS handshake at once: strangers cannot pile up more. */
#define PUNCH_ACCEPTED_MAX 16

enum probe_state { PROBE_CONNECTING, PROBE_SENT, PROBE_DONE };

/* One TCP connection to or from the peer, or one endpoint waiting to be dialled again. */
struct cand {
	struct punch *p;
	struct net_addr addr;
	char name[NET_ADDRSTRLEN];
	int fd;                     /* while connecting */
	int dialled;                /* ours (an endpoint to retry), else accepted */
	struct handshake *hs;       /* while TLS runs */
	ev_io io;
	ev_timer redial_w;
	LIST_ENTRY(cand) entry;
};

struct punch {
	struct ev_loop *loop;
	struct net_addr server;
	uint8_t session[PROBE_SESSION_LEN];
	uint8_t key[PROBE_KEY_LEN];
	int visitor;
	SSL_CTX *psk;
	char label[128];
	uint16_t port;
	int lfd;
	ev_io listen_w;
	int probe_fd;
	enum probe_state probe;
	ev_io probe_w;
	ev_timer deadline;
	LIST_HEAD(, cand) cands;
	size_t naccepted;               /* cands that came in on the listener */
	char last_error[256];
	punch_cb cb;
	void *arg;
};

static void cand_dial(struct cand *c);

static void
cand_free(struct cand *c)
{
	if (!c->dialled)
		c->p->naccepted--;
	ev_io_stop(c->p->loop, &c->io);
	ev_timer_stop(c->p->loop, &c->redial_w);
	if (c->hs != NULL)
		handshake_cancel(c->hs);
	if (c->fd != -1)
		close(c->fd);
	LIST_REMOVE(c, entry);
	free(c);
}

static void
punch_probe_close(struct punch *p)
{
	ev_io_stop(p->loop, &p->probe_w);
	if (p->probe_fd != -1)
		close(p->probe_fd);
	p->probe_fd = -1;
}

/* Free everything; the callback is the caller's business. */
static void
punch_free(struct punch *p)
{
	while (!LIST_EMPTY(&p->cands))
		cand_free(LIST_FIRST(&p->cands));
	punch_probe_close(p);
	ev_io_stop(p->loop, &p->listen_w);
	ev_timer_stop(p->loop, &p->deadline);
	if (p->lfd != -1)
		close(p->lfd);
	SSL_CTX_free(p->psk);
	OPENSSL_cleanse(p->key, sizeof(p->key));
	free(p);
}

static void
punch_end(struct punch *p, struct transport *t, const struct net_addr *peer, const char *error)
{
	punch_cb cb = p->cb;
	void *arg = p->arg;
	struct net_addr addr;
	char why[320];

	if (peer != NULL)
		addr = *peer;
	snprintf(why, sizeof(why), "%s", error ? error : "");
	punch_free(p);
	cb(arg, t, peer ? &addr : NULL, error ? why : NULL);
}

static void
punch_fail(struct punch *p, const char *fmt, const char *detail)
{
	char why[320];

	snprintf(why, sizeof(why), fmt, detail);
	punch_end(p, NULL, NULL, why);
}

static void
cand_tls_done(void *arg, struct transport *t, const char *error)
{
	struct cand *c = arg;
	struct punch *p = c->p;
	struct net_addr addr = c->addr;

	c->hs = NULL;
	if (t != NULL) {
		log_debug("%s: authenticated connection with %s", p->label, c->name);
		cand_free(c);
		punch_end(p, t, &addr, NULL);
		return;
	}
	/* Not our peer, or not with our key: it never becomes a link. */
	log_info("%s: connection with %s failed authentication: %s", p->label, c->name, error);
	snprintf(p->last_error, sizeof(p->last_error), "%s: %s", c->name, error);
	if (!c->dialled) {
		cand_free(c);
		return;
	}
	ev_timer_set(&c->redial_w, PUNCH_REDIAL, 0.0);
	ev_timer_start(p->loop, &c->redial_w);
}

/* A TCP connection with (we hope) the peer: prove the key both ways over it. */
static void
cand_secure(struct cand *c, int fd)
{
	struct punch *p = c->p;
	struct transport *t;
	double left = ev_timer_remaining(p->loop, &p->deadline);

	net_set_nodelay(fd);
	t = transport_tls_psk(p->psk, fd, !p->visitor, p->session, sizeof(p->session), p->key,
	    sizeof(p->key));
	c->hs = handshake_start(p->loop, t, left > 0.01 ? left : 0.01, cand_tls_done, c);
}

static void
cand_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct cand *c = w->data;
	int err = net_socket_error(c->fd), fd = c->fd;

	ev_io_stop(loop, &c->io);
	if (err != 0) {
		log_debug("%s: connect to %s: %s", c->p->label, c->name, strerror(err));
		snprintf(c->p->last_error, sizeof(c->p->last_error), "connect to %s: %s", c->name,
		    strerror(err));
		close(c->fd);
		c->fd = -1;
		ev_timer_set(&c->redial_w, PUNCH_REDIAL, 0.0);
		ev_timer_start(loop, &c->redial_w);
		return;
	}
	log_debug("%s: TCP connection to %s", c->p->label, c->name);
	c->fd = -1;
	cand_secure(c, fd);
}

static void
cand_redial_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	cand_dial(w->data);
}

static void
cand_dial(struct cand *c)
{
	struct punch *p = c->p;

	if ((c->fd = net_connect_from(&c->addr, p->port)) == -1) {
		/* EADDRINUSE: the peer's SYN reached our listener first; that one wins. */
		snprintf(p->last_error, sizeof(p->last_error), "connect to %s: %s", c->name,
		    strerror(errno));
		ev_timer_set(&c->redial_w, PUNCH_REDIAL, 0.0);
		ev_timer_start(p->loop, &c->redial_w);
		return;
	}
	ev_io_set(&c->io, c->fd, EV_WRITE);
	ev_io_start(p->loop, &c->io);
}

static struct cand *
cand_new(struct punch *p, const struct net_addr *addr, int dialled)
{
	struct cand *c = xcalloc(1, sizeof(*c));

	c->p = p;
	c->addr = *addr;
	c->fd = -1;
	c->dialled = dialled;
	net_addr_str((const struct sockaddr *)&addr->ss, c->name);
	ev_init(&c->io, cand_io_cb);
	ev_init(&c->redial_w, cand_redial_cb);
	c->io.data = c->redial_w.data = c;
	LIST_INSERT_HEAD(&p->cands, c, entry);
	return c;
}

void
punch_go(struct punch *p, char *const *addrs, size_t n)
{
	struct net_addr a;
	size_t i;

	for (i = 0; i < n; i++) {
		if (net_parse_numeric(addrs[i], &a) == -1 || a.ss.ss_family != p->server.ss.ss_family)
			continue;
		log_debug("%s: dialling %s from port %u", p->label, addrs[i], p->port);
		cand_dial(cand_new(p, &a, 1));
	}
}

static void
punch_listen_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct punch *p = w->data;
	struct net_addr from;
	struct cand *c;
	int fd;

	if ((fd = net_accept(p->lfd, &from)) == -1)
		return;
	if (p->naccepted >= PUNCH_ACCEPTED_MAX) {
		close(fd);
		return;
	}
	c = cand_new(p, &from, 0);
	p->naccepted++;
	log_debug("%s: TCP connection from %s", p->label, c->name);
	cand_secure(c, fd);
}

/* Up to PROBE_LOCAL_MAX addresses of our interfaces in the server's family, with port. */
static size_t
punch_locals(const struct punch *p, struct sockaddr_storage *out)
{
	struct ifaddrs *ifa, *i;
	size_t n = 0;

	if (getifaddrs(&ifa) == -1)
		return 0;
	for (i = ifa; i != NULL && n < PROBE_LOCAL_MAX; i = i->ifa_next) {
		if (i->ifa_addr == NULL || (i->ifa_flags & IFF_UP) == 0 ||
		    (i->ifa_flags & IFF_LOOPBACK) != 0 || i->ifa_addr->sa_family != p->server.ss.ss_family)
			continue;
		if (i->ifa_addr->sa_family == AF_INET6 &&
		    IN6_IS_ADDR_LINKLOCAL(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr))
			continue;
		memset(&out[n], 0, sizeof(out[n]));
		memcpy(&out[n], i->ifa_addr, i->ifa_addr->sa_family == AF_INET6 ?
		    sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in));
		if (i->ifa_addr->sa_family == AF_INET6)
			((struct sockaddr_in6 *)&out[n])->sin6_port = htons(p->port);
		else
			((struct sockaddr_in *)&out[n])->sin_port = htons(p->port);
		n++;
	}
	freeifaddrs(ifa);
	return n;
}

static void
punch_send_probe(struct punch *p)
{
	uint8_t buf[PROBE_MAX_LEN];
	struct probe pr;
	size_t len;
	int err;

	if ((err = net_socket_error(p->probe_fd)) != 0) {
		punch_fail(p, "probe to rtund: %s", strerror(err));
		return;
	}
	memset(&pr, 0, sizeof(pr));
	pr.side = p->visitor ? PROBE_VISITOR : PROBE_TARGET;
	memcpy(pr.session, p->session, sizeof(pr.session));
	pr.nlocal = punch_locals(p, pr.local);
	len = probe_encode(&pr, p->key, buf);
	/* A fresh connection's send buffer takes the whole probe at once. */
	if (write(p->probe_fd, buf, len) != (ssize_t)len) {
		punch_fail(p, "probe to rtund: %s", strerror(errno));
		return;
	}
	p->probe = PROBE_SENT;
	ev_io_stop(p->loop, &p->probe_w);
	ev_io_set(&p->probe_w, p->probe_fd, EV_READ);
	ev_io_start(p->loop, &p->probe_w);
}

static void
punch_read_verdict(struct punch *p)
{
	uint8_t b;
	ssize_t n = read(p->probe_fd, &b, 1);

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n != 1) {
		punch_fail(p, "probe to rtund: %s", n == 0 ? "closed without a verdict" :
		    strerror(errno));
		return;
	}
	punch_probe_close(p);
	if (b != PROBE_ACCEPTED) {
		punch_fail(p, "rtund rejected the probe: %s", probe_reply_str(b));
		return;
	}
	p->probe = PROBE_DONE;
	log_debug("%s: probe accepted; punching from port %u", p->label, p->port);
}

static void
punch_probe_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct punch *p = w->data;

	if (p->probe == PROBE_CONNECTING)
		punch_send_probe(p);
	else
		punch_read_verdict(p);
}

static void
punch_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct punch *p = w->data;
	char why[320];

	if (p->probe != PROBE_DONE)
		snprintf(why, sizeof(why), "rtund did not take our probe");
	else if (LIST_EMPTY(&p->cands))
		snprintf(why, sizeof(why), "rtund did not say whom to dial");
	else
		snprintf(why, sizeof(why), "%s", p->last_error[0] ? p->last_error :
		    "no answer from the peer (its NAT drops our SYNs)");
	punch_fail(p, "no direct connection: %s", why);
}

/* The probe's callback runs from the loop: a failure to start is reported the same way. */
static void
punch_start_failed_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct punch *p = w->data;

	punch_fail(p, "%s", p->last_error);
}

struct punch *
punch_start(struct ev_loop *loop, const struct punch_params *pp, punch_cb cb, void *arg)
{
	struct punch *p = xcalloc(1, sizeof(*p));

	p->loop = loop;
	p->server = *pp->server;
	memcpy(p->session, pp->session, sizeof(p->session));
	memcpy(p->key, pp->key, sizeof(p->key));
	p->visitor = pp->visitor;
	SSL_CTX_up_ref(pp->psk);
	p->psk = pp->psk;
	snprintf(p->label, sizeof(p->label), "%s", pp->label);
	p->cb = cb;
	p->arg = arg;
	p->probe_fd = -1;
	LIST_INIT(&p->cands);
	ev_init(&p->listen_w, punch_listen_cb);
	ev_init(&p->probe_w, punch_probe_cb);
	ev_timer_init(&p->deadline, punch_deadline_cb, pp->timeout, 0.0);
	p->listen_w.data = p->probe_w.data = p->deadline.data = p;
	if ((p->lfd = net_listen_shared(&p->server, &p->port)) == -1 ||
	    (p->probe_fd = net_connect_from(&p->server, p->port)) == -1) {
		snprintf(p->last_error, sizeof(p->last_error), "punch socket: %s", strerror(errno));
		ev_set_cb(&p->deadline, punch_start_failed_cb);
		ev_timer_set(&p->deadline, 0.0, 0.0);
		ev_timer_start(loop, &p->deadline);
		return p;
	}
	ev_io_set(&p->listen_w, p->lfd, EV_READ);
	ev_io_start(loop, &p->listen_w);
	ev_io_set(&p->probe_w, p->probe_fd, EV_WRITE);
	ev_io_start(loop, &p->probe_w);
	ev_timer_start(loop, &p->deadline);
	return p;
}

int
punch_probed(const struct punch *p)
{
	return p->probe == PROBE_DONE;
}

void
punch_cancel(struct punch *p)
{
	punch_free(p);
}
