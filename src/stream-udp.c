/*
 * UDP flow ends (stream-udp.h). Both kinds share one structure and one set
 * of ops; they differ in where datagrams come from (the agent's own connected
 * socket, read eagerly by the end; rtund's port, which calls
 * stream_udp_input()) and where replies go (send() on the connected socket,
 * sendto() the user on the port's).
 *
 * The queue is a buf of [length:u16be | datagram] entries: a datagram is at
 * most STREAM_DATAGRAM_MAX bytes, so two bytes of length always do. The end
 * tells its stream at once when a datagram arrives and the stream wants
 * input; when the stream asks for input while some waits (its credit came
 * back), the end must not call into the stream from inside the stream, so it
 * feeds an event to a watcher it never starts: libev runs it in the same loop
 * iteration, once the current callback returned.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "metrics.h"
#include "net.h"
#include "stream-udp.h"
#include "stream.h"
#include "xmalloc.h"

#define LEN_SIZE 2

struct udp_end {
	struct stream_end e;     /* first: what the stream holds */
	struct ev_loop *loop;
	struct stream_udp_stats *st;
	struct buf q;            /* datagrams waiting for the stream */
	int want_read;           /* the stream wants to be told of input */
	int eof;                 /* stream_udp_finish(): no input after the queue */
	ev_idle notify_w;        /* never started: fed to tell the stream from the loop */
	int fd;
	int own;                 /* fd is ours (agent, connected), else the port's (rtund) */
	ev_io rio;               /* own sockets only */
	struct net_addr to;      /* rtund: the user, whom replies go to */
	void (*closed)(void *arg);
	void *arg;
};

static const char *const drop_names[UDP_DROP_REASONS] = {
	[UDP_DROP_CREDIT] = "credit",
	[UDP_DROP_QUEUE] = "queue",
	[UDP_DROP_FLOWS] = "flows",
	[UDP_DROP_SOCKET] = "socket",
	[UDP_DROP_EMPTY] = "empty",
};

/* name is "%s_udp_<what>", prog first. */
static uint64_t *
stats_counter(struct metrics *m, const char *prog, const char *what, const char *help,
    const char *labels)
{
	char name[64];

	snprintf(name, sizeof(name), "%s_udp_%s", prog, what);
	return metrics_counter(m, name, help, labels);
}

struct stream_udp_stats *
stream_udp_stats_new(struct metrics *m, const char *prog, const char *labels, int user_side)
{
	struct stream_udp_stats *st = xcalloc(1, sizeof(*st));
	char name[64], with[1024];
	uint64_t *in[2], *out[2];
	size_t i;

	st->refs = 1;
	st->m = m;
	snprintf(name, sizeof(name), "%s_udp_flows_open", prog);
	st->flows_open = metrics_gauge(m, name, "Open UDP flows.", labels);
	st->flows_total = stats_counter(m, prog, "flows_total", "UDP flows opened since start.",
	    labels);
	in[0] = stats_counter(m, prog, "datagrams_in_total",
	    "UDP datagrams from users carried to the service.", labels);
	out[0] = stats_counter(m, prog, "datagrams_out_total",
	    "UDP datagrams from the service carried to users.", labels);
	in[1] = stats_counter(m, prog, "bytes_in_total", "UDP payload bytes from users to the service.",
	    labels);
	out[1] = stats_counter(m, prog, "bytes_out_total",
	    "UDP payload bytes from the service to users.", labels);
	st->dgrams_read = user_side ? in[0] : out[0];
	st->dgrams_written = user_side ? out[0] : in[0];
	st->bytes.local_read = user_side ? in[1] : out[1];
	st->bytes.local_written = user_side ? out[1] : in[1];
	for (i = 0; i < UDP_DROP_REASONS; i++) {
		snprintf(with, sizeof(with), "%s%sreason=\"%s\"", labels, *labels ? "," : "",
		    drop_names[i]);
		st->dropped[i] = stats_counter(m, prog, "dropped_total",
		    "UDP datagrams dropped, by reason.", with);
	}
	return st;
}

struct stream_udp_stats *
stream_udp_stats_ref(struct stream_udp_stats *st)
{
	st->refs++;
	return st;
}

void
stream_udp_stats_unref(struct stream_udp_stats *st)
{
	size_t i;

	if (st == NULL || --st->refs > 0)
		return;
	metrics_release(st->m, st->flows_open);
	metrics_release(st->m, st->flows_total);
	metrics_release(st->m, st->dgrams_read);
	metrics_release(st->m, st->dgrams_written);
	metrics_release(st->m, st->bytes.local_read);
	metrics_release(st->m, st->bytes.local_written);
	for (i = 0; i < UDP_DROP_REASONS; i++)
		metrics_release(st->m, st->dropped[i]);
	free(st);
}

void
stream_udp_drop(struct stream_udp_stats *st, enum udp_drop why)
{
	(*st->dropped[why])++;
}

static struct udp_end *
udp_of(struct stream_end *e)
{
	return (struct udp_end *)e;
}

/* The next queued datagram's length; the queue is not empty. */
static size_t
queue_head(const struct udp_end *u)
{
	const uint8_t *p = buf_ptr(&u->q);

	return (size_t)p[0] << 8 | p[1];
}

/* One datagram of at most len bytes from the queue; larger ones are dropped first. */
static ssize_t
udp_read(struct stream_end *e, void *p, size_t len)
{
	struct udp_end *u = udp_of(e);
	size_t n;

	while (buf_len(&u->q) > 0) {
		n = queue_head(u);
		if (n > len) {
			stream_udp_drop(u->st, UDP_DROP_CREDIT);
			buf_consume(&u->q, LEN_SIZE + n);
			continue;
		}
		memcpy(p, buf_ptr(&u->q) + LEN_SIZE, n);
		buf_consume(&u->q, LEN_SIZE + n);
		(*u->st->dgrams_read)++;
		return (ssize_t)n;
	}
	if (u->eof)
		return 0;
	errno = EAGAIN;
	return -1;
}

/* Send one datagram now or drop it: the socket's buffer is the only queue this way. */
static ssize_t
udp_write(struct stream_end *e, const void *p, size_t len)
{
	struct udp_end *u = udp_of(e);
	ssize_t n;

	if (u->own)
		n = send(u->fd, p, len, MSG_DONTWAIT);
	else
		n = sendto(u->fd, p, len, MSG_DONTWAIT, (const struct sockaddr *)&u->to.ss,
		    u->to.len);
	if (n != (ssize_t)len) {
		stream_udp_drop(u->st, UDP_DROP_SOCKET);
		if (n >= 0)
			errno = EMSGSIZE;
		return -1;
	}
	(*u->st->dgrams_written)++;
	return n;
}

/* A datagram has no FIN: the stream ends the flow, and the socket goes at close. */
static void
udp_shutdown(struct stream_end *e)
{
}

/* Input (a datagram, or its end) waits for the stream. */
static int
udp_has_input(const struct udp_end *u)
{
	return buf_len(&u->q) > 0 || u->eof;
}

static void
udp_want(struct stream_end *e, int read, int write)
{
	struct udp_end *u = udp_of(e);

	u->want_read = read;
	if (read && udp_has_input(u) && !ev_is_pending(&u->notify_w))
		ev_feed_event(u->loop, &u->notify_w, EV_CUSTOM);
}

static void
udp_close(struct stream_end *e, int clean)
{
	struct udp_end *u = udp_of(e);

	while (buf_len(&u->q) > 0) {
		stream_udp_drop(u->st, UDP_DROP_QUEUE);
		buf_consume(&u->q, LEN_SIZE + queue_head(u));
	}
	ev_clear_pending(u->loop, &u->notify_w);
	if (u->own) {
		ev_io_stop(u->loop, &u->rio);
		close(u->fd);
	}
	if (u->closed != NULL)
		u->closed(u->arg);
	(*u->st->flows_open)--;
	stream_udp_stats_unref(u->st);
	buf_free(&u->q);
	free(u);
}


static int udp_idle(struct stream_end *e);

static const struct stream_end_ops udp_ops = {
	.read = udp_read,
	.write = udp_write,
	.shutdown = udp_shutdown,
	.want = udp_want,
	.close = udp_close,
	.idle = udp_idle,
};

static void
udp_notify_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct udp_end *u = w->data;

	if (u->want_read && udp_has_input(u))
		stream_end_readable(u->e.s);
}

/* A datagram from the local side: queued for the stream, or dropped. */
static void
udp_take(struct udp_end *u, const void *p, size_t len)
{
	uint8_t *d;

	if (len == 0 || len > STREAM_DATAGRAM_MAX) {
		stream_udp_drop(u->st, len == 0 ? UDP_DROP_EMPTY : UDP_DROP_CREDIT);
		return;
	}
	if (buf_len(&u->q) > 0 && buf_len(&u->q) + LEN_SIZE + len > STREAM_UDP_QUEUE_MAX) {
		stream_udp_drop(u->st, UDP_DROP_QUEUE);
		return;
	}
	d = buf_reserve(&u->q, LEN_SIZE + len);
	d[0] = (uint8_t)(len >> 8);
	d[1] = (uint8_t)len;
	memcpy(d + LEN_SIZE, p, len);
	buf_commit(&u->q, LEN_SIZE + len);
	if (u->want_read && u->e.s != NULL)
		stream_end_readable(u->e.s);
}

void
stream_udp_input(struct stream_end *e, const void *p, size_t len)
{
	udp_take(udp_of(e), p, len);
}

void
stream_udp_finish(struct stream_end *e)
{
	struct udp_end *u = udp_of(e);

	u->eof = 1;
	if (u->want_read && u->e.s != NULL)
		stream_end_readable(u->e.s);
}

/* A flow that fell silent has ended: its input ends, a clean end the peer answers. */
static int
udp_idle(struct stream_end *e)
{
	stream_udp_finish(e);
	return 1;
}

/* The connected socket's datagrams, a batch at a time; errors are ICMP news of earlier sends. */
static void
udp_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udp_end *u = w->data;
	uint8_t d[STREAM_DATAGRAM_MAX + 1];
	ssize_t n;
	int i;

	for (i = 0; i < STREAM_UDP_READ_BATCH; i++) {
		n = recv(u->fd, d, sizeof(d), MSG_DONTWAIT | MSG_TRUNC);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n >= 0)
			udp_take(u, d, (size_t)n);
	}
}

static struct udp_end *
udp_new(struct ev_loop *loop, int fd, struct stream_udp_stats *st)
{
	struct udp_end *u = xcalloc(1, sizeof(*u));

	u->e.ops = &udp_ops;
	u->loop = loop;
	u->fd = fd;
	u->st = stream_udp_stats_ref(st);
	buf_init(&u->q);
	ev_idle_init(&u->notify_w, udp_notify_cb);
	u->notify_w.data = u;
	(*st->flows_open)++;
	(*st->flows_total)++;
	return u;
}

struct stream_end *
stream_udp_connect(struct ev_loop *loop, const struct net_addr *to, struct stream_udp_stats *st)
{
	struct udp_end *u;
	int fd;

	if ((fd = net_udp_connect(to)) == -1)
		return NULL;
	u = udp_new(loop, fd, st);
	u->own = 1;
	ev_io_init(&u->rio, udp_read_cb, fd, EV_READ);
	u->rio.data = u;
	ev_io_start(loop, &u->rio);
	return &u->e;
}

struct stream_end *
stream_udp_flow(struct ev_loop *loop, int fd, const struct net_addr *from,
    struct stream_udp_stats *st, void (*closed)(void *arg), void *arg)
{
	struct udp_end *u = udp_new(loop, fd, st);

	u->to = *from;
	u->closed = closed;
	u->arg = arg;
	return &u->e;
}
