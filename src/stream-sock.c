/*
 * The socket end of a stream: a user's connection accepted by rtund, or the
 * agent's connection to a service's local target. It owns the socket and its
 * two watchers, tells the stream when the socket is readable or writable, and
 * reports the end of a non-blocking connect.
 *
 * Every socket is abortive (SO_LINGER 0) from its creation, so that any close
 * but the clean one, the kernel's after a crash included, resets it; the clean
 * close makes it graceful first. A PROXY protocol header for the target goes
 * out first, right after the connect, before any stream byte and before a
 * shutdown.
 *
 * A user's end may come with bytes already read (the request head rtund
 * routed the connection by), which the stream reads before the socket, and
 * with answers for a stream that never opened (an HTTP 502 or 504), which
 * the user then gets with a clean close instead of a reset.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "net.h"
#include "stream-sock.h"
#include "stream.h"
#include "xmalloc.h"

struct sock_end {
	struct stream_end e;
	struct ev_loop *loop;
	int fd;
	ev_io rio, wio;
	int connecting;
	int want_read, want_write;  /* what the stream asked for */
	int shut;                   /* the stream shut down: send FIN after the header */
	uint8_t *hdr;               /* the PROXY header, only for ends that send one */
	size_t hdr_len, hdr_off;
	uint8_t *in;                /* input read before the end was made */
	size_t in_len, in_off;
	const struct sock_answers *answers;  /* for a stream that never opens, or NULL */
	int opened;                 /* OPEN_OK came */
	uint32_t reset_code;        /* why the stream was reset, 0 if it was not */
};

/* Derive the watchers from what the stream wants and what the end itself needs. */
static void
sock_update(struct sock_end *se)
{
	int r = se->want_read && !se->connecting;
	int w = se->connecting || se->want_write || se->hdr_off < se->hdr_len;

	if (r && !ev_is_active(&se->rio))
		ev_io_start(se->loop, &se->rio);
	else if (!r && ev_is_active(&se->rio))
		ev_io_stop(se->loop, &se->rio);
	if (w && !ev_is_active(&se->wio))
		ev_io_start(se->loop, &se->wio);
	else if (!w && ev_is_active(&se->wio))
		ev_io_stop(se->loop, &se->wio);
}

/* Push the PROXY header; 1 once it is all out, 0 to wait, -1 on error (errno). */
static int
sock_flush_header(struct sock_end *se)
{
	ssize_t n;

	if (se->hdr_off == se->hdr_len)
		return 1;
	while (se->hdr_off < se->hdr_len) {
		n = write(se->fd, se->hdr + se->hdr_off, se->hdr_len - se->hdr_off);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return 0;
		if (n <= 0)
			return -1;
		se->hdr_off += (size_t)n;
	}
	/* A shutdown asked for while the header was pending goes out behind it. */
	if (se->shut)
		(void)shutdown(se->fd, SHUT_WR);
	return 1;
}

static ssize_t
sock_read(struct stream_end *e, void *p, size_t len)
{
	struct sock_end *se = (struct sock_end *)e;
	size_t n = se->in_len - se->in_off;

	if (n == 0)
		return read(se->fd, p, len);
	if (n > len)
		n = len;
	memcpy(p, se->in + se->in_off, n);
	se->in_off += n;
	return (ssize_t)n;
}

static ssize_t
sock_write(struct stream_end *e, const void *p, size_t len)
{
	struct sock_end *se = (struct sock_end *)e;
	int r = sock_flush_header(se);

	if (r == 0)
		errno = EAGAIN;
	if (r != 1)
		return -1;
	return write(se->fd, p, len);
}

static void
sock_shutdown(struct stream_end *e)
{
	struct sock_end *se = (struct sock_end *)e;

	se->shut = 1;
	if (se->hdr_off == se->hdr_len)
		(void)shutdown(se->fd, SHUT_WR);
}

static void
sock_want(struct stream_end *e, int read, int write)
{
	struct sock_end *se = (struct sock_end *)e;

	se->want_read = read;
	se->want_write = write;
	sock_update(se);
	/* Bytes read before are input the socket will not signal: say so, as it would. */
	if (read && se->in_off < se->in_len)
		ev_feed_event(se->loop, &se->rio, EV_READ);
}

/*
 * Write the answer for a stream that never opened: one small write into an
 * empty socket buffer, so it does not block. 1 if it went out whole.
 */
static int
sock_answer(struct sock_end *se)
{
	const char *a = se->reset_code == FRAME_CODE_TIMEOUT ? se->answers->timeout :
	    se->answers->failed;
	size_t n = strlen(a);

	if (write(se->fd, a, n) != (ssize_t)n)
		return 0;
	(void)shutdown(se->fd, SHUT_WR);
	return 1;
}

static void
sock_close(struct stream_end *e, int clean)
{
	struct sock_end *se = (struct sock_end *)e;

	ev_io_stop(se->loop, &se->rio);
	ev_io_stop(se->loop, &se->wio);
	/* An answer is a whole reply, so it ends with a FIN like a clean end. */
	if (!clean && !se->opened && se->answers != NULL)
		clean = sock_answer(se);
	/* Both sides' own half-closes ended the stream: the only close that is a FIN. */
	if (clean)
		net_set_abortive(se->fd, 0);
	close(se->fd);
	free(se->hdr);
	free(se->in);
	free(se);
}

static void
sock_opened(struct stream_end *e)
{
	((struct sock_end *)e)->opened = 1;
}

static void
sock_reset(struct stream_end *e, uint32_t code, const char *reason, size_t len)
{
	((struct sock_end *)e)->reset_code = code;
}

static const struct stream_end_ops sock_ops = {
	.read = sock_read,
	.write = sock_write,
	.shutdown = sock_shutdown,
	.want = sock_want,
	.close = sock_close,
	.opened = sock_opened,
	.reset = sock_reset,
};

static void
sock_connected(struct sock_end *se)
{
	int err = net_socket_error(se->fd);

	se->connecting = 0;
	sock_update(se);
	if (err == 0) {
		net_set_nodelay(se->fd);
		if (sock_flush_header(se) == -1)
			err = errno;
	}
	stream_end_connected(se->e.s, err);
}

static void
sock_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	stream_end_readable(((struct sock_end *)w->data)->e.s);
}

static void
sock_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct sock_end *se = w->data;

	if (se->connecting) {
		sock_connected(se);
		return;
	}
	/* A header write error reaches the stream through its next write. */
	if (sock_flush_header(se) == 0)
		return;
	sock_update(se);
	if (se->want_write)
		stream_end_writable(se->e.s);
}

static struct sock_end *
sock_new(struct ev_loop *loop, int fd)
{
	struct sock_end *se = xcalloc(1, sizeof(*se));

	se->e.ops = &sock_ops;
	se->loop = loop;
	se->fd = fd;
	net_set_abortive(fd, 1);
	ev_io_init(&se->rio, sock_read_cb, fd, EV_READ);
	ev_io_init(&se->wio, sock_write_cb, fd, EV_WRITE);
	se->rio.data = se->wio.data = se;
	return se;
}

struct stream_end *
stream_sock_accepted(struct ev_loop *loop, int fd)
{
	net_set_nodelay(fd);
	return &sock_new(loop, fd)->e;
}

struct stream_end *
stream_sock_routed(struct ev_loop *loop, int fd, const void *in, size_t len,
    const struct sock_answers *answers)
{
	struct sock_end *se;

	net_set_nodelay(fd);
	se = sock_new(loop, fd);
	if (len > 0) {
		se->in = xmalloc(len);
		memcpy(se->in, in, len);
		se->in_len = len;
	}
	se->answers = answers;
	return &se->e;
}

/* The PROXY header naming user peer and public address dest, when both are numeric. */
static void
sock_proxy_header(struct sock_end *se, enum proxyproto_version v, const char *peer,
    const char *dest)
{
	struct net_addr src, dst;

	if (net_parse_numeric(peer, &src) == -1 || net_parse_numeric(dest, &dst) == -1)
		src.ss.ss_family = dst.ss.ss_family = AF_UNSPEC;
	se->hdr = xmalloc(PROXYPROTO_MAX);
	se->hdr_len = proxyproto_encode(v, (struct sockaddr *)&src.ss, (struct sockaddr *)&dst.ss,
	    se->hdr);
}

struct stream_end *
stream_sock_connect(struct ev_loop *loop, const struct net_addr *to, enum proxyproto_version v,
    const char *peer, const char *dest)
{
	struct sock_end *se;
	int fd;

	if ((fd = net_connect(to)) == -1)
		return NULL;
	se = sock_new(loop, fd);
	se->connecting = 1;
	if (v != PROXYPROTO_NONE)
		sock_proxy_header(se, v, peer, dest);
	return &se->e;
}
