/*
 * The plain TCP transport: the bottom of every stack and the whole stack for
 * transport = tcp. Nothing to negotiate, nothing buffered. The names of all
 * the kinds of stack live here too, so there is one table of them.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "transport.h"
#include "xmalloc.h"

const char transport_names[TRANSPORT_KINDS][4] = {
	[TRANSPORT_TCP] = "tcp",
	[TRANSPORT_TLS] = "tls",
	[TRANSPORT_WS] = "ws",
	[TRANSPORT_WSS] = "wss",
};

int
transport_kind_parse(const char *s, size_t len)
{
	int kind;

	for (kind = 0; kind < TRANSPORT_KINDS; kind++) {
		if (strlen(transport_names[kind]) == len &&
		    strncmp(s, transport_names[kind], len) == 0)
			return kind;
	}
	return -1;
}

struct tcp_transport {
	struct transport t;
	int want;
};

static int
tcp_handshake(struct transport *t)
{
	return 0;
}

static ssize_t
tcp_read(struct transport *t, void *buf, size_t len)
{
	struct tcp_transport *tt = (struct tcp_transport *)t;

	tt->want = EV_READ;
	return read(t->fd, buf, len);
}

static ssize_t
tcp_write(struct transport *t, const void *buf, size_t len)
{
	struct tcp_transport *tt = (struct tcp_transport *)t;

	tt->want = EV_WRITE;
	return write(t->fd, buf, len);
}

static int
tcp_flush(struct transport *t)
{
	return 0;
}

static int
tcp_want(const struct transport *t)
{
	return ((const struct tcp_transport *)t)->want;
}

static size_t
tcp_pending(const struct transport *t)
{
	return 0;
}

static ssize_t
tcp_peek(struct transport *t, void *buf, size_t len)
{
	struct tcp_transport *tt = (struct tcp_transport *)t;

	tt->want = EV_READ;
	return recv(t->fd, buf, len, MSG_PEEK);
}

static void
tcp_free(struct transport *t)
{
	close(t->fd);
	free(t);
}

static const struct transport_ops tcp_ops = {
	.name = transport_names[TRANSPORT_TCP],
	.handshake = tcp_handshake,
	.read = tcp_read,
	.write = tcp_write,
	.flush = tcp_flush,
	.want = tcp_want,
	.pending = tcp_pending,
	.peek = tcp_peek,
	.free = tcp_free,
};

struct transport *
transport_tcp_new(int fd)
{
	struct tcp_transport *tt = xcalloc(1, sizeof(*tt));

	tt->t.ops = &tcp_ops;
	tt->t.fd = fd;
	tt->want = EV_READ;
	return &tt->t;
}
