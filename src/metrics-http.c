/*
 * The /metrics endpoint: a small HTTP/1.1 server that answers each scraper
 * with metrics_render() of one registry. It answers one request per
 * connection (it always says "Connection: close"), bounds each connection in
 * size, time and number, and closes gracefully: after the response it shuts
 * down its side and drains the client's until EOF, so unread request bytes
 * cannot turn the close into a reset that destroys the response in flight.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <http_parser.h>

#include "buf.h"
#include "listener.h"
#include "log.h"
#include "metrics-http.h"
#include "metrics.h"
#include "status.h"
#include "xmalloc.h"

/* A connection must deliver its request and take the response within this. */
#define METRICS_TIMEOUT 10.0
/* How long a closing connection may keep sending before it is dropped. */
#define METRICS_LINGER 2.0
/* Largest request (line and headers) read; a scraper sends a few hundred bytes. */
#define METRICS_REQUEST_MAX (8U * 1024)
/* Concurrent connections; more are closed at once. */
#define METRICS_CONNS_MAX 64
/* Longest request target kept; longer ones cannot be "/metrics" anyway. */
#define METRICS_URL_MAX 256
/* Seconds after which the status page reloads itself. */
#define STATUS_PAGE_REFRESH 5

enum conn_state {
	CONN_READING,
	CONN_WRITING,
	CONN_DRAINING,
};

/* One HTTP client of the metrics endpoint. */
struct conn {
	struct metrics_http *h;
	struct conn *prev;
	struct conn *next;
	int fd;
	enum conn_state state;
	ev_io rio;
	ev_io wio;
	ev_timer timer;
	http_parser parser;
	size_t nread;
	int status;
	int page;       /* "/": the status page rather than the metrics */
	char url[METRICS_URL_MAX];
	size_t urllen;
	struct buf out; /* the response, consumed as it is sent */
	char peer[NET_ADDRSTRLEN];
};

struct metrics_http {
	struct metrics *m;
	status_fill_fn *fill;   /* makes the report of the status page; NULL: no page */
	void *fill_arg;
	char role[16];
	struct ev_loop *loop;
	struct listener *listener;
	struct conn *conns;
	unsigned int nconns;
};

static void conn_flush(struct conn *c);

static void
conn_free(struct conn *c)
{
	struct metrics_http *h = c->h;

	ev_io_stop(h->loop, &c->rio);
	ev_io_stop(h->loop, &c->wio);
	ev_timer_stop(h->loop, &c->timer);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	buf_free(&c->out);
	free(c);
}

static const char *
status_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Bad Request";
	}
}

/* Queue the response for c->status and start sending it. */
static void
conn_respond(struct conn *c)
{
	const char *type = "text/plain; charset=utf-8";
	char *body;

	if (c->status == 200 && c->page) {
		struct status *st = status_new(c->h->role);

		c->h->fill(c->h->fill_arg, st);
		body = status_render_html(st, STATUS_PAGE_REFRESH);
		status_free(st);
		type = "text/html; charset=utf-8";
	} else if (c->status == 200) {
		body = metrics_render(c->h->m);
		type = "text/plain; version=0.0.4; charset=utf-8";
	} else
		body = xasprintf("%d %s\n", c->status, status_reason(c->status));
	buf_printf(&c->out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s",
	    c->status, status_reason(c->status), type, strlen(body),
	    c->status == 405 ? "Allow: GET\r\n" : "");
	buf_printf(&c->out, "Connection: close\r\n\r\n");
	buf_append(&c->out, body, strlen(body));
	free(body);
	c->state = CONN_WRITING;
	ev_io_stop(c->h->loop, &c->rio);
	conn_flush(c);
}

/* The response is out: stop sending and read the client's side until EOF. */
static void
conn_drain(struct conn *c)
{
	struct ev_loop *loop = c->h->loop;

	c->state = CONN_DRAINING;
	shutdown(c->fd, SHUT_WR);
	ev_timer_stop(loop, &c->timer);
	ev_timer_set(&c->timer, METRICS_LINGER, 0.0);
	ev_timer_start(loop, &c->timer);
	ev_io_start(loop, &c->rio);
}

static void
conn_flush(struct conn *c)
{
	int rc = buf_send(&c->out, c->fd);

	if (rc == 1) {
		ev_io_start(c->h->loop, &c->wio);
		return;
	}
	if (rc == -1) {
		log_warn("metrics: %s: send: %s", c->peer, strerror(errno));
		conn_free(c);
		return;
	}
	ev_io_stop(c->h->loop, &c->wio);
	conn_drain(c);
}

static void
conn_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	conn_flush(w->data);
}

static int
on_url(http_parser *p, const char *at, size_t len)
{
	struct conn *c = p->data;
	size_t room = sizeof(c->url) - 1 - c->urllen;

	/* Only the start of the target decides the route; the rest of a long one is dropped. */
	if (len > room)
		len = room;
	memcpy(c->url + c->urllen, at, len);
	c->urllen += len;
	c->url[c->urllen] = '\0';
	return 0;
}

/* True if url is path, with any query or fragment. */
static int
url_is(const char *url, const char *path)
{
	size_t n = strlen(path);

	return strncmp(url, path, n) == 0 && (url[n] == '\0' || url[n] == '?' || url[n] == '#');
}

/* The status for a request: GET /metrics and, with a status page, GET /, any query. */
static int
route(const struct metrics_http *h, unsigned int method, const char *url, int *page)
{
	*page = h->fill != NULL && url_is(url, "/");
	if (method != HTTP_GET)
		return 405;
	return url_is(url, "/metrics") || *page ? 200 : 404;
}

/* Route on the request line: the body, if any, is never needed. */
static int
on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;
	char safe[METRICS_URL_MAX * 4];

	c->status = route(c->h, p->method, c->url, &c->page);
	log_debug("metrics: %s: %s %s -> %d", c->peer, http_method_str(p->method),
	    log_safe(c->url, c->urllen, safe, sizeof(safe)), c->status);
	http_parser_pause(p, 1);
	return 0;
}

static const http_parser_settings conn_parser_settings = {
	.on_url = on_url,
	.on_headers_complete = on_headers_complete,
};

/* Feed n request bytes to the parser and answer once the request is known or bad. */
static void
conn_parse(struct conn *c, const char *data, size_t n)
{
	enum http_errno err;

	c->nread += n;
	http_parser_execute(&c->parser, &conn_parser_settings, data, n);
	err = HTTP_PARSER_ERRNO(&c->parser);
	if (c->status == 0 && err != HPE_OK) {
		log_warn("metrics: %s: bad request: %s", c->peer, http_errno_name(err));
		c->status = 400;
	} else if (c->status == 0 && c->nread > METRICS_REQUEST_MAX) {
		log_warn("metrics: %s: request over %u bytes", c->peer, METRICS_REQUEST_MAX);
		c->status = 431;
	}
	if (c->status != 0)
		conn_respond(c);
}

static void
conn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct conn *c = w->data;
	char data[4096];
	ssize_t n;

	n = recv(c->fd, data, sizeof(data), 0);
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
		return;
	if (n > 0 && c->state == CONN_DRAINING)
		return;
	if (n > 0) {
		conn_parse(c, data, (size_t)n);
		return;
	}
	if (n == -1 && c->state == CONN_READING)
		log_warn("metrics: %s: recv: %s", c->peer, strerror(errno));
	else if (c->state == CONN_READING)
		log_debug("metrics: %s: closed before a full request", c->peer);
	conn_free(c);
}

static void
conn_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct conn *c = w->data;

	if (c->state != CONN_DRAINING)
		log_warn("metrics: %s: timed out after %.0fs", c->peer, METRICS_TIMEOUT);
	conn_free(c);
}

static void
metrics_accept_cb(struct listener *l, int fd, const struct net_addr *peer)
{
	struct metrics_http *h = l->data;
	struct conn *c;
	char addr[NET_ADDRSTRLEN];

	net_addr_str((const struct sockaddr *)&peer->ss, addr);
	if (h->nconns >= METRICS_CONNS_MAX) {
		log_warn("metrics: %s: refused, %d connections open", addr, METRICS_CONNS_MAX);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->h = h;
	c->fd = fd;
	memcpy(c->peer, addr, sizeof(c->peer));
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	ev_timer_init(&c->timer, conn_timeout_cb, METRICS_TIMEOUT, 0.0);
	c->rio.data = c->wio.data = c->timer.data = c;
	if ((c->next = h->conns) != NULL)
		c->next->prev = c;
	h->conns = c;
	h->nconns++;
	ev_io_start(h->loop, &c->rio);
	ev_timer_start(h->loop, &c->timer);
}

struct metrics_http *
metrics_http_new(struct ev_loop *loop, const struct net_addr *addr, struct metrics *m)
{
	struct metrics_http *h = xcalloc(1, sizeof(*h));

	h->m = m;
	h->loop = loop;
	if ((h->listener = listener_new(loop, addr, metrics_accept_cb, h)) == NULL) {
		int e = errno;

		free(h);
		errno = e;
		return NULL;
	}
	return h;
}

void
metrics_http_set_status(struct metrics_http *h, const char *role, status_fill_fn *fill,
    void *arg)
{
	if (h == NULL)
		return;
	snprintf(h->role, sizeof(h->role), "%s", role);
	h->fill = fill;
	h->fill_arg = arg;
}

void
metrics_http_free(struct metrics_http *h)
{
	if (h == NULL)
		return;
	while (h->conns != NULL)
		conn_free(h->conns);
	listener_free(h->listener);
	free(h);
}
