/*
 * Handshake driver: call the transport's handshake() whenever the socket is
 * ready in the way it asked for, until it succeeds, fails or runs out of time.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>

#include "handshake.h"
#include "xmalloc.h"

struct handshake {
	struct ev_loop *loop;
	struct transport *t;
	ev_io io;
	ev_timer timer;
	handshake_cb cb;
	void *arg;
};

static void
handshake_end(struct handshake *h, int ok)
{
	struct transport *t = h->t;
	handshake_cb cb = h->cb;
	void *arg = h->arg;
	char error[sizeof(t->error)];

	ev_io_stop(h->loop, &h->io);
	ev_clear_pending(h->loop, &h->io);
	ev_timer_stop(h->loop, &h->timer);
	free(h);
	if (ok) {
		cb(arg, t, NULL);
		return;
	}
	snprintf(error, sizeof(error), "%s", t->error[0] ? t->error : "handshake failed");
	transport_free(t);
	cb(arg, NULL, error);
}

/* One step; returns 1 while the handshake goes on. */
static int
handshake_step(struct handshake *h)
{
	int r = transport_handshake(h->t);

	if (r == 0 || r == -1) {
		handshake_end(h, r == 0);
		return 0;
	}
	ev_io_stop(h->loop, &h->io);
	ev_io_set(&h->io, h->t->fd, transport_want(h->t));
	ev_io_start(h->loop, &h->io);
	return 1;
}

static void
handshake_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	handshake_step(w->data);
}

static void
handshake_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct handshake *h = w->data;

	snprintf(h->t->error, sizeof(h->t->error), "%s handshake timed out",
	    h->t->ops->name);
	handshake_end(h, 0);
}

struct handshake *
handshake_start(struct ev_loop *loop, struct transport *t, double timeout, handshake_cb cb,
    void *arg)
{
	struct handshake *h = xcalloc(1, sizeof(*h));

	h->loop = loop;
	h->t = t;
	h->cb = cb;
	h->arg = arg;
	ev_init(&h->io, handshake_io_cb);
	ev_timer_init(&h->timer, handshake_timeout_cb, timeout, 0.0);
	h->io.data = h->timer.data = h;
	ev_timer_start(loop, &h->timer);
	/* Never call back before the caller has stored h. */
	ev_io_set(&h->io, t->fd, EV_READ);
	ev_feed_event(loop, &h->io, EV_CUSTOM);
	return h;
}

void
handshake_cancel(struct handshake *h)
{
	ev_io_stop(h->loop, &h->io);
	ev_clear_pending(h->loop, &h->io);
	ev_timer_stop(h->loop, &h->timer);
	transport_free(h->t);
	free(h);
}
