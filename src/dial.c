/*
 * Dialling: resolve (resolve.c), connect (net.c), then the layers the
 * caller asked for and their handshake (handshake.c). One timer bounds the
 * whole attempt, so a slow resolver, a silent network and a peer that stalls
 * its TLS or WebSocket handshake all end the same way. The parameters are
 * copied because a caller's config may be replaced while a dial runs.
 */
#include "rtun-build.h"

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dial.h"
#include "handshake.h"
#include "log.h"
#include "resolve.h"
#include "xmalloc.h"

struct dial {
	struct ev_loop *loop;
	struct dial_params p;     /* its strings are copies, listed in owned */
	struct tls_client_opts tls_opts;
	uint8_t fingerprint[TLS_FINGERPRINT_LEN];
	struct ws_client_opts ws;
	const char **headers;
	char **owned;
	size_t nowned;
	struct resolve *resolve;
	struct net_addr addr;
	int fd;                   /* while connecting */
	struct handshake *hs;     /* while the layers' handshake runs */
	ev_io connect_w;
	ev_timer timeout_w;
	dial_cb cb;
	void *arg;
};

/* A copy of s (or NULL) that lives as long as d. */
static const char *
keep(struct dial *d, const char *s)
{
	if (s == NULL)
		return NULL;
	d->owned = xreallocarray(d->owned, d->nowned + 1, sizeof(*d->owned));
	d->owned[d->nowned] = xstrdup(s);
	return d->owned[d->nowned++];
}

static void
dial_copy_tls(struct dial *d, const struct tls_client_opts *o)
{
	d->tls_opts.server_name = keep(d, o->server_name);
	d->tls_opts.ca_file = keep(d, o->ca_file);
	if (o->fingerprint != NULL) {
		memcpy(d->fingerprint, o->fingerprint, sizeof(d->fingerprint));
		d->tls_opts.fingerprint = d->fingerprint;
	}
	d->tls_opts.insecure = o->insecure;
	d->tls_opts.alpn = keep(d, o->alpn);
	d->p.tls_opts = &d->tls_opts;
	SSL_CTX_up_ref(d->p.tls);
}

static void
dial_copy_ws(struct dial *d, const struct ws_client_opts *o)
{
	size_t i;

	d->ws.host = keep(d, o->host);
	d->ws.path = keep(d, o->path);
	d->headers = xcalloc(o->nheaders + 1, sizeof(*d->headers));
	for (i = 0; i < o->nheaders; i++)
		d->headers[i] = keep(d, o->headers[i]);
	d->ws.headers = d->headers;
	d->ws.nheaders = o->nheaders;
	d->p.ws = &d->ws;
}

/* "tcp", "tls", "ws" or "wss": the stack, as the config names it. */
static const char *
dial_stack_name(const struct dial *d)
{
	if (d->p.tls != NULL)
		return d->p.ws != NULL ? "wss" : "tls";
	return d->p.ws != NULL ? "ws" : "tcp";
}

/* Stop whatever runs and free d; the callback is the caller's to make. */
static void
dial_free(struct dial *d)
{
	size_t i;

	if (d->resolve != NULL)
		resolve_cancel(d->resolve);
	if (d->hs != NULL)
		handshake_cancel(d->hs);
	if (d->fd != -1) {
		ev_io_stop(d->loop, &d->connect_w);
		close(d->fd);
	}
	ev_timer_stop(d->loop, &d->timeout_w);
	if (d->p.tls != NULL)
		SSL_CTX_free(d->p.tls);
	for (i = 0; i < d->nowned; i++)
		free(d->owned[i]);
	free(d->owned);
	free(d->headers);
	free(d);
}

static void
dial_done(struct dial *d, struct transport *t)
{
	struct net_addr addr = d->addr;
	dial_cb cb = d->cb;
	void *arg = d->arg;

	dial_free(d);
	cb(arg, t, &addr, NULL);
}

static void dial_fail(struct dial *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
dial_fail(struct dial *d, const char *fmt, ...)
{
	dial_cb cb = d->cb;
	void *arg = d->arg;
	char why[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	dial_free(d);
	cb(arg, NULL, NULL, why);
}

static void
dial_handshake_cb(void *arg, struct transport *t, const char *error)
{
	struct dial *d = arg;

	d->hs = NULL;
	if (t == NULL) {
		dial_fail(d, "%s handshake with %s failed: %s", dial_stack_name(d), d->p.label,
		    error);
		return;
	}
	dial_done(d, t);
}

/* The layers asked for, over the connected socket fd. */
static struct transport *
dial_stack(struct dial *d, int fd)
{
	struct transport *t;

	if (d->p.tls == NULL)
		t = transport_tcp_new(fd);
	else {
		if (d->p.tls_opts->insecure)
			log_warn("insecure = yes: the server's certificate is NOT verified; anyone "
			    "on the path can impersonate %s", d->p.label);
		t = transport_tls_client(d->p.tls, fd, d->p.tls_opts);
	}
	return d->p.ws != NULL ? transport_ws_client(t, d->p.ws) : t;
}

/* TCP is connected: establish the layers over it. */
static void
dial_connected(struct dial *d)
{
	struct transport *t;
	int fd = d->fd;

	ev_io_stop(d->loop, &d->connect_w);
	d->fd = -1;
	t = dial_stack(d, fd);
	if (d->p.tls == NULL && d->p.ws == NULL) {
		dial_done(d, t);
		return;
	}
	d->hs = handshake_start(d->loop, t, d->p.timeout, dial_handshake_cb, d);
}

static void
dial_connect_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct dial *d = w->data;
	int err;

	if ((err = net_socket_error(d->fd)) == 0) {
		dial_connected(d);
		return;
	}
	dial_fail(d, "connect to %s failed: %s", d->p.label, strerror(err));
}

static void
dial_resolved(void *arg, int err, const struct net_addr *addr)
{
	struct dial *d = arg;

	d->resolve = NULL;
	if (err != 0) {
		dial_fail(d, "cannot resolve %s: %s", d->p.host, gai_strerror(err));
		return;
	}
	d->addr = *addr;
	if ((d->fd = net_connect_from(addr, d->p.local_port)) == -1) {
		dial_fail(d, "connect to %s failed: %s", d->p.label, strerror(errno));
		return;
	}
	ev_io_set(&d->connect_w, d->fd, EV_WRITE);
	ev_io_start(d->loop, &d->connect_w);
}

static void
dial_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct dial *d = w->data;

	dial_fail(d, "connect to %s timed out after %.1fs", d->p.label, d->p.timeout);
}

struct dial *
dial_start(struct ev_loop *loop, const struct dial_params *p, dial_cb cb, void *arg)
{
	struct dial *d = xcalloc(1, sizeof(*d));

	d->loop = loop;
	d->p = *p;
	d->p.host = keep(d, p->host);
	d->p.port = keep(d, p->port);
	d->p.label = keep(d, p->label);
	if (p->tls != NULL)
		dial_copy_tls(d, p->tls_opts);
	if (p->ws != NULL)
		dial_copy_ws(d, p->ws);
	d->fd = -1;
	d->cb = cb;
	d->arg = arg;
	ev_init(&d->connect_w, dial_connect_cb);
	ev_timer_init(&d->timeout_w, dial_timeout_cb, p->timeout, 0.0);
	d->connect_w.data = d->timeout_w.data = d;
	ev_timer_start(loop, &d->timeout_w);
	d->resolve = resolve_start(loop, d->p.host, d->p.port, dial_resolved, d);
	return d;
}

void
dial_cancel(struct dial *d)
{
	dial_free(d);
}
