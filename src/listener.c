/*
 * Listening sockets with accept back-off on descriptor exhaustion.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "listener.h"
#include "log.h"
#include "xmalloc.h"

/* Bound the accepts per wake-up so one busy port cannot starve the loop. */
#define LISTENER_BATCH 64

static void
listener_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct listener *l = w->data;
	struct net_addr peer;
	int fd, i;

	for (i = 0; i < LISTENER_BATCH; i++) {
		if ((fd = net_accept(l->fd, &peer)) == -1)
			break;
		l->cb(l, fd, &peer);
	}
	if (fd != -1 || errno == EAGAIN || errno == EINTR || errno == ECONNABORTED)
		return;
	if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
		log_warn("listener %s: accept: %s; pausing accepts for %.1fs", l->addr,
		    strerror(errno), LISTENER_BACKOFF);
		ev_io_stop(loop, &l->io);
		/* An expired one-shot timer must be set again, or it fires at once. */
		ev_timer_set(&l->backoff, LISTENER_BACKOFF, 0.0);
		ev_timer_start(loop, &l->backoff);
		return;
	}
	log_warn("listener %s: accept: %s", l->addr, strerror(errno));
}

static void
listener_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct listener *l = w->data;

	ev_io_start(loop, &l->io);
}

struct listener *
listener_new(struct ev_loop *loop, const struct net_addr *addr, listener_cb cb, void *data)
{
	struct listener *l;
	int fd;

	if ((fd = net_listen(addr, 1024)) == -1)
		return NULL;
	l = xcalloc(1, sizeof(*l));
	l->loop = loop;
	l->fd = fd;
	l->cb = cb;
	l->data = data;
	net_addr_str((const struct sockaddr *)&addr->ss, l->addr);
	ev_io_init(&l->io, listener_accept_cb, fd, EV_READ);
	ev_timer_init(&l->backoff, listener_backoff_cb, LISTENER_BACKOFF, 0.0);
	l->io.data = l->backoff.data = l;
	ev_io_start(loop, &l->io);
	return l;
}

void
listener_free(struct listener *l)
{
	if (l == NULL)
		return;
	ev_io_stop(l->loop, &l->io);
	ev_timer_stop(l->loop, &l->backoff);
	close(l->fd);
	free(l);
}
