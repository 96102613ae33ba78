/*
 * Spliced connections (splice.h). Socket 0 is the user's, socket 1 the
 * destination's; direction d carries bytes from socket d to socket !d. A
 * direction reads only while what it holds is written, so it holds at most
 * one read's worth. It starts with a buffer of SPLICE_CHUNK bytes that is
 * freed whenever it drains; once it has moved SPLICE_BULK bytes it is a bulk
 * transfer and moves them through a pipe with splice(2) instead, so the
 * bytes stay in the kernel (a third of the CPU per byte, measured), while
 * the many short connections never pay for a pipe's two descriptors. The
 * watchers follow from that state in one place, splice_update(). Both
 * sockets are abortive (SO_LINGER 0) from the start; only a connection
 * whose two directions both ended with their own FIN closes gracefully.
 */
#include "rtun-build.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "net.h"
#include "resolve.h"
#include "splice.h"
#include "xmalloc.h"

/* Reads (each followed by its write) one wake-up may do per direction. */
#define SPLICE_ROUNDS 16
/* Bytes a direction moves through its buffer before it switches to a pipe. */
#define SPLICE_BULK (1024 * 1024)

enum splice_state {
	SPLICE_RESOLVING,
	SPLICE_CONNECTING,
	SPLICE_OPEN,
};

struct splice_dir {
	uint8_t *buf;            /* read from socket d, not yet written; NULL when empty */
	size_t off, len;         /* len: bytes held, in buf or in the pipe */
	int pipe[2];             /* a bulk direction's pipe, else -1 */
	uint64_t moved;
	int eof;                 /* socket d gave its EOF */
	int shut;                /* ... and socket !d was shut down behind the last byte */
	uint64_t *bytes;
};

struct splice {
	struct splices *set;
	enum splice_state state;
	int fd[2];               /* fd[1] is -1 until the connect starts */
	ev_io rio[2], wio[2];
	struct splice_dir dir[2];
	struct resolve *res;
	ev_timer timer;          /* the connect's deadline, then the idle check */
	ev_tstamp active;        /* when a byte last moved */
	double idle_timeout;
	void (*done)(void *arg, enum splice_end how);
	void *arg;
	char route[CONFIG_NAME_MAX + 1];
	char user[NET_ADDRSTRLEN];
	char to[DEST_TEXT_MAX + 1];
	LIST_ENTRY(splice) entry;
};

struct splices {
	struct ev_loop *loop;
	size_t n;
	LIST_HEAD(, splice) list;
};

static void splice_io_cb(struct ev_loop *loop, ev_io *w, int revents);

static void
watch(struct ev_loop *loop, ev_io *w, int on)
{
	if (on && !ev_is_active(w))
		ev_io_start(loop, w);
	else if (!on && ev_is_active(w))
		ev_io_stop(loop, w);
}

/* The watchers, derived from the state: the one place they change. */
static void
splice_update(struct splice *sp)
{
	struct ev_loop *loop = sp->set->loop;
	int x, open = sp->state == SPLICE_OPEN;

	for (x = 0; x < 2; x++) {
		if (sp->fd[x] == -1)
			continue;
		watch(loop, &sp->rio[x], open && !sp->dir[x].eof && sp->dir[x].len == 0);
		watch(loop, &sp->wio[x], open ? sp->dir[!x].len > 0 :
		    x == 1 && sp->state == SPLICE_CONNECTING);
	}
}

/* End the connection: gracefully only when both directions ended cleanly. */
static void
splice_end(struct splice *sp, enum splice_end how)
{
	struct ev_loop *loop = sp->set->loop;
	int x;

	if (sp->res != NULL)
		resolve_cancel(sp->res);
	ev_timer_stop(loop, &sp->timer);
	for (x = 0; x < 2; x++) {
		if (sp->fd[x] == -1)
			continue;
		ev_io_stop(loop, &sp->rio[x]);
		ev_io_stop(loop, &sp->wio[x]);
		if (how == SPLICE_CLEAN)
			net_set_abortive(sp->fd[x], 0);
		close(sp->fd[x]);
	}
	for (x = 0; x < 2; x++) {
		free(sp->dir[x].buf);
		if (sp->dir[x].pipe[0] != -1) {
			close(sp->dir[x].pipe[0]);
			close(sp->dir[x].pipe[1]);
		}
	}
	LIST_REMOVE(sp, entry);
	sp->set->n--;
	sp->done(sp->arg, how);
	free(sp);
}

/* A socket failed: say which and how, reset both. */
static void
splice_fail(struct splice *sp, int x, int err)
{
	log_info("route %s: user %s: %s %s: %s; resetting both ends", sp->route, sp->user,
	    x == 0 ? "user connection" : "connection to", x == 0 ? "" : sp->to, strerror(err));
	splice_end(sp, SPLICE_RESET);
}

/* Write what direction d holds; -1 with errno if its sink failed. */
static int
splice_flush(struct splice *sp, int d)
{
	struct splice_dir *dr = &sp->dir[d];
	ssize_t n;

	while (dr->len > 0) {
		if (dr->pipe[0] != -1)
			n = splice(dr->pipe[0], NULL, sp->fd[!d], NULL, dr->len,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		else
			n = send(sp->fd[!d], dr->buf + dr->off, dr->len, MSG_NOSIGNAL);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
		dr->off += (size_t)n;
		dr->len -= (size_t)n;
		dr->moved += (uint64_t)n;
		*dr->bytes += (uint64_t)n;
	}
	return 0;
}

/* A direction that moved SPLICE_BULK bytes takes a pipe (if it can have one) for the rest. */
static void
splice_bulk(struct splice_dir *dr)
{
	if (dr->moved < SPLICE_BULK || dr->pipe[0] != -1 ||
	    pipe2(dr->pipe, O_NONBLOCK | O_CLOEXEC) == -1)
		return;
	/* A larger pipe means fewer wake-ups; the default one (64 KiB) works too. */
	(void)fcntl(dr->pipe[1], F_SETPIPE_SZ, SPLICE_PIPE);
	free(dr->buf);
	dr->buf = NULL;
}

/* Read from socket d into what direction d holds bytes in (empty now), as read(2). */
static ssize_t
splice_read(struct splice *sp, int d)
{
	struct splice_dir *dr = &sp->dir[d];

	splice_bulk(dr);
	dr->off = 0;
	if (dr->pipe[0] != -1)
		return splice(sp->fd[d], NULL, dr->pipe[1], NULL, SPLICE_PIPE,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
	if (dr->buf == NULL)
		dr->buf = xmalloc(SPLICE_CHUNK);
	return read(sp->fd[d], dr->buf, SPLICE_CHUNK);
}

/*
 * Move bytes in direction d while both sockets are ready; -1 with *x and
 * errno naming the socket that failed.
 */
static int
splice_pump(struct splice *sp, int d, int *x)
{
	struct splice_dir *dr = &sp->dir[d];
	ssize_t n;
	int i;

	for (i = 0; i < SPLICE_ROUNDS && dr->len == 0 && !dr->eof; i++) {
		if ((n = splice_read(sp, d)) == 0)
			dr->eof = 1;
		else if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		else if (n == -1) {
			*x = d;
			return -1;
		} else {
			sp->active = ev_now(sp->set->loop);
			dr->len = (size_t)n;
			if (splice_flush(sp, d) == -1) {
				*x = !d;
				return -1;
			}
		}
	}
	if (dr->len == 0) {
		free(dr->buf);
		dr->buf = NULL;
	}
	if (dr->eof && dr->len == 0 && !dr->shut) {
		(void)shutdown(sp->fd[!d], SHUT_WR);
		dr->shut = 1;
	}
	return 0;
}

/* Socket x is readable (its direction moves) or writable (the other direction drains). */
static void
splice_ready(struct splice *sp, int x, int revents)
{
	int bad = x;

	if ((revents & EV_WRITE) && splice_flush(sp, !x) == -1) {
		splice_fail(sp, x, errno);
		return;
	}
	if (((revents & EV_WRITE) && splice_pump(sp, !x, &bad) == -1) ||
	    ((revents & EV_READ) && splice_pump(sp, x, &bad) == -1)) {
		splice_fail(sp, bad, errno);
		return;
	}
	if (sp->dir[0].shut && sp->dir[1].shut) {
		log_debug("route %s: user %s: closed", sp->route, sp->user);
		splice_end(sp, SPLICE_CLEAN);
		return;
	}
	splice_update(sp);
}

static void
splice_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct splice *sp = w->data;
	ev_tstamp left = sp->active + sp->idle_timeout - ev_now(loop);

	if (left > 0) {
		w->repeat = left;
		ev_timer_again(loop, w);
		return;
	}
	log_info("route %s: user %s: idle for %gs (idle_timeout); resetting both ends",
	    sp->route, sp->user, sp->idle_timeout);
	splice_end(sp, SPLICE_IDLE);
}

/* The connect finished: copy from now on, or give up. */
static void
splice_connected(struct splice *sp)
{
	struct ev_loop *loop = sp->set->loop;
	int err = net_socket_error(sp->fd[1]);

	if (err != 0) {
		log_warn("route %s: user %s: connect to %s: %s", sp->route, sp->user, sp->to,
		    strerror(err));
		splice_end(sp, SPLICE_CONNECT);
		return;
	}
	net_set_nodelay(sp->fd[1]);
	sp->state = SPLICE_OPEN;
	sp->active = ev_now(loop);
	ev_timer_stop(loop, &sp->timer);
	if (sp->idle_timeout > 0) {
		ev_set_cb(&sp->timer, splice_idle_cb);
		sp->timer.repeat = sp->idle_timeout;
		ev_timer_again(loop, &sp->timer);
	}
	log_debug("route %s: user %s: connected to %s", sp->route, sp->user, sp->to);
	splice_update(sp);
}

static void
splice_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct splice *sp = w->data;
	int x = w == &sp->rio[1] || w == &sp->wio[1];

	if (sp->state == SPLICE_CONNECTING)
		splice_connected(sp);
	else
		splice_ready(sp, x, revents);
}

/* Start connecting to addr. */
static void
splice_connect(struct splice *sp, const struct net_addr *addr)
{
	int x;

	if ((sp->fd[1] = net_connect(addr)) == -1) {
		log_warn("route %s: user %s: connect to %s: %s", sp->route, sp->user, sp->to,
		    strerror(errno));
		splice_end(sp, SPLICE_CONNECT);
		return;
	}
	net_set_abortive(sp->fd[1], 1);
	for (x = 0; x < 2; x++) {
		ev_io_init(&sp->rio[x], splice_io_cb, sp->fd[x], EV_READ);
		ev_io_init(&sp->wio[x], splice_io_cb, sp->fd[x], EV_WRITE);
		sp->rio[x].data = sp->wio[x].data = sp;
	}
	sp->state = SPLICE_CONNECTING;
	splice_update(sp);
}

static void
splice_resolved(void *arg, int err, const struct net_addr *addr)
{
	struct splice *sp = arg;

	sp->res = NULL;
	if (err != 0) {
		log_warn("route %s: user %s: cannot resolve %s: %s", sp->route, sp->user, sp->to,
		    gai_strerror(err));
		splice_end(sp, SPLICE_RESOLVE);
		return;
	}
	splice_connect(sp, addr);
}

static void
splice_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct splice *sp = w->data;

	log_warn("route %s: user %s: no connection to %s within %gs; resetting the user",
	    sp->route, sp->user, sp->to, w->repeat);
	splice_end(sp, SPLICE_TIMEOUT);
}

void
splice_start(struct splices *set, int fd, const char *user, const struct splice_conf *c)
{
	struct splice *sp = xcalloc(1, sizeof(*sp));

	sp->set = set;
	sp->fd[0] = fd;
	sp->fd[1] = -1;
	sp->dir[0].pipe[0] = sp->dir[0].pipe[1] = sp->dir[1].pipe[0] = sp->dir[1].pipe[1] = -1;
	sp->idle_timeout = c->idle_timeout;
	sp->dir[0].bytes = c->bytes_in;
	sp->dir[1].bytes = c->bytes_out;
	sp->done = c->done;
	sp->arg = c->arg;
	snprintf(sp->route, sizeof(sp->route), "%s", c->route);
	snprintf(sp->user, sizeof(sp->user), "%s", user);
	snprintf(sp->to, sizeof(sp->to), c->to->kind == DEST_ADDR && strchr(c->to->host, ':') ?
	    "[%s]:%s" : "%s:%s", c->to->host, c->to->port);
	net_set_abortive(fd, 1);
	net_set_nodelay(fd);
	LIST_INSERT_HEAD(&set->list, sp, entry);
	set->n++;
	ev_timer_init(&sp->timer, splice_timeout_cb, c->connect_timeout, c->connect_timeout);
	sp->timer.data = sp;
	ev_timer_start(set->loop, &sp->timer);
	if (c->to->kind == DEST_ADDR) {
		splice_connect(sp, &c->to->addr);
		return;
	}
	sp->state = SPLICE_RESOLVING;
	sp->res = resolve_start(set->loop, c->to->host, c->to->port, splice_resolved, sp);
}

struct splices *
splices_new(struct ev_loop *loop)
{
	struct splices *set = xcalloc(1, sizeof(*set));

	set->loop = loop;
	LIST_INIT(&set->list);
	return set;
}

size_t
splices_count(const struct splices *set)
{
	return set->n;
}

void
splices_free(struct splices *set)
{
	while (!LIST_EMPTY(&set->list))
		splice_end(LIST_FIRST(&set->list), SPLICE_RESET);
	free(set);
}
