/*
 * The metrics registry and the small HTTP server that exposes it to
 * Prometheus. The registry is a list of metrics in registration order, each
 * with a list of label-set slots; every slot is its own allocation, so the
 * pointers handed to hot paths stay valid while their holders keep a
 * reference. Series of departed agents and removed services must not pile up
 * (agents come and go under ever new names), so a slot nobody references goes:
 * a gauge at once, a counter after METRICS_IDLE_MAX younger idle counters,
 * so that an agent that reconnects finds its byte counts where it left them.
 * The server
 * answers one request per connection (it always says "Connection: close"),
 * bounds each connection in size, time and number, and closes gracefully:
 * after the response it shuts down its side and drains the client's until
 * EOF, so unread request bytes cannot turn the close into a reset that
 * destroys the response in flight.
 */
#include "rtun-build.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <http_parser.h>

#include "buf.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
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

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
};

/* One label set of a metric. */
struct slot {
	struct slot *next;
	char *labels;
	uint64_t count;
	double value;
	unsigned int refs;
	uint64_t idle_since;     /* 0 while referenced; else when it went idle (a sequence) */
};

struct metric {
	struct metric *next;
	char *name;
	char *help;
	enum metric_type type;
	struct slot *slots;
	struct slot **slots_tail;
};

enum conn_state {
	CONN_READING,
	CONN_WRITING,
	CONN_DRAINING,
};

/* One HTTP client of the metrics endpoint. */
struct conn {
	struct metrics *m;
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
	char url[METRICS_URL_MAX];
	size_t urllen;
	struct buf out;          /* the response, consumed as it is sent */
	char peer[NET_ADDRSTRLEN];
};

struct metrics {
	struct metric *metrics;
	struct metric **metrics_tail;
	struct ev_loop *loop;
	struct listener *listener;
	struct conn *conns;
	unsigned int nconns;
	uint64_t idle_seq;       /* last idle_since handed out */
	size_t nidle;            /* counters with no reference */
};

static void conn_flush(struct conn *c);

/* The escape for c in label values (quote too) or HELP text (no quote); NULL if none. */
static const char *
escape_of(char c, int quote)
{
	if (c == '\\')
		return "\\\\";
	if (c == '\n')
		return "\\n";
	if (c == '"' && quote)
		return "\\\"";
	return NULL;
}

/* Append s with HELP escaping. */
static void
sb_help(struct buf *sb, const char *s)
{
	const char *e;

	for (; *s != '\0'; s++) {
		if ((e = escape_of(*s, 0)) != NULL)
			buf_append(sb, e, strlen(e));
		else
			buf_append(sb, s, 1);
	}
}

const char *
metrics_label_value(const char *value, char *out, size_t outlen)
{
	const char *e;
	size_t n = 0, k;
	char one[2] = { 0, 0 };

	if (outlen == 0)
		return out;
	/* Truncate rather than overflow, and never in the middle of an escape. */
	for (; *value != '\0'; value++) {
		if ((e = escape_of(*value, 1)) == NULL) {
			one[0] = *value;
			e = one;
		}
		k = strlen(e);
		if (n + k >= outlen)
			break;
		memcpy(out + n, e, k);
		n += k;
	}
	out[n] = '\0';
	return out;
}

/* A gauge as Prometheus reads it: the shortest decimal that reads back exactly. */
static void
sb_double(struct buf *sb, double v)
{
	char tmp[32];
	int prec;

	if (isnan(v)) {
		buf_printf(sb, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_printf(sb, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	buf_printf(sb, "%.*g", prec, v);
}

static void
render_metric(struct buf *sb, const struct metric *mt)
{
	const struct slot *s;

	buf_printf(sb, "# HELP %s ", mt->name);
	sb_help(sb, mt->help);
	buf_printf(sb, "\n# TYPE %s %s\n", mt->name,
	    mt->type == METRIC_COUNTER ? "counter" : "gauge");
	for (s = mt->slots; s != NULL; s = s->next) {
		if (s->labels[0] == '\0')
			buf_printf(sb, "%s ", mt->name);
		else
			buf_printf(sb, "%s{%s} ", mt->name, s->labels);
		if (mt->type == METRIC_COUNTER)
			buf_printf(sb, "%" PRIu64 "\n", s->count);
		else {
			sb_double(sb, s->value);
			buf_printf(sb, "\n");
		}
	}
}

char *
metrics_render(const struct metrics *m)
{
	struct buf b;
	const struct metric *mt;
	char *text;

	buf_init(&b);
	for (mt = m->metrics; mt != NULL; mt = mt->next)
		render_metric(&b, mt);
	text = buf_len(&b) > 0 ? xstrndup((char *)buf_ptr(&b), buf_len(&b)) : xstrdup("");
	buf_free(&b);
	return text;
}

/* The slot for name and labels, creating the metric and the slot as needed. */
static struct slot *
metrics_slot(struct metrics *m, const char *name, const char *help, const char *labels,
    enum metric_type type)
{
	struct metric *mt;
	struct slot *s;

	if (labels == NULL)
		labels = "";
	for (mt = m->metrics; mt != NULL && strcmp(mt->name, name) != 0; mt = mt->next)
		;
	if (mt == NULL) {
		mt = xcalloc(1, sizeof(*mt));
		mt->name = xstrdup(name);
		mt->help = xstrdup(help != NULL ? help : "");
		mt->type = type;
		mt->slots_tail = &mt->slots;
		*m->metrics_tail = mt;
		m->metrics_tail = &mt->next;
	} else if (mt->type != type) {
		/* A bug in the caller, and one every test run would hit. */
		log_error("metrics: %s registered both as a counter and as a gauge", name);
		abort();
	}
	for (s = mt->slots; s != NULL; s = s->next) {
		if (strcmp(s->labels, labels) == 0)
			break;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->labels = xstrdup(labels);
		*mt->slots_tail = s;
		mt->slots_tail = &s->next;
	} else if (s->refs == 0) {
		s->idle_since = 0;
		m->nidle--;
	}
	s->refs++;
	return s;
}

/* Unlink s from mt and free it. */
static void
slot_free(struct metric *mt, struct slot *s)
{
	struct slot **pp;

	for (pp = &mt->slots; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	if (mt->slots_tail == &s->next)
		mt->slots_tail = pp;
	free(s->labels);
	free(s);
}

/* Free the counter that has been idle longest. */
static void
evict_oldest_idle(struct metrics *m)
{
	struct metric *mt, *in = NULL;
	struct slot *s, *old = NULL;

	for (mt = m->metrics; mt != NULL; mt = mt->next) {
		for (s = mt->slots; s != NULL; s = s->next) {
			if (s->idle_since != 0 && (old == NULL || s->idle_since < old->idle_since)) {
				old = s;
				in = mt;
			}
		}
	}
	if (old == NULL)
		return;
	slot_free(in, old);
	m->nidle--;
}

/* The slot whose count or value is at p, and its metric in *mtp; NULL if none. */
static struct slot *
slot_of(const struct metrics *m, const void *p, struct metric **mtp)
{
	struct metric *mt;
	struct slot *s;

	for (mt = m->metrics; mt != NULL; mt = mt->next) {
		for (s = mt->slots; s != NULL; s = s->next) {
			if ((const void *)&s->count == p || (const void *)&s->value == p) {
				*mtp = mt;
				return s;
			}
		}
	}
	return NULL;
}

void
metrics_release(struct metrics *m, const void *slot)
{
	struct metric *mt = NULL;
	struct slot *s;

	if (slot == NULL)
		return;
	if ((s = slot_of(m, slot, &mt)) == NULL || s->refs == 0) {
		/* A bug in the caller: releasing what it does not hold. */
		log_error("metrics: release of a slot that is not held");
		abort();
	}
	if (--s->refs > 0)
		return;
	if (mt->type == METRIC_GAUGE) {
		slot_free(mt, s);
		return;
	}
	s->idle_since = ++m->idle_seq;
	if (++m->nidle > METRICS_IDLE_MAX)
		evict_oldest_idle(m);
}

uint64_t *
metrics_counter(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return &metrics_slot(m, name, help, labels, METRIC_COUNTER)->count;
}

double *
metrics_gauge(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return &metrics_slot(m, name, help, labels, METRIC_GAUGE)->value;
}

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->metrics_tail = &m->metrics;
	return m;
}

static void
conn_free(struct conn *c)
{
	struct metrics *m = c->m;

	ev_io_stop(m->loop, &c->rio);
	ev_io_stop(m->loop, &c->wio);
	ev_timer_stop(m->loop, &c->timer);
	close(c->fd);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		m->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	m->nconns--;
	buf_free(&c->out);
	free(c);
}

void
metrics_free(struct metrics *m)
{
	struct metric *mt;
	struct slot *s;

	if (m == NULL)
		return;
	while (m->conns != NULL)
		conn_free(m->conns);
	listener_free(m->listener);
	while ((mt = m->metrics) != NULL) {
		m->metrics = mt->next;
		while ((s = mt->slots) != NULL) {
			mt->slots = s->next;
			free(s->labels);
			free(s);
		}
		free(mt->name);
		free(mt->help);
		free(mt);
	}
	free(m);
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

	if (c->status == 200) {
		body = metrics_render(c->m);
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
	ev_io_stop(c->m->loop, &c->rio);
	conn_flush(c);
}

/* The response is out: stop sending and read the client's side until EOF. */
static void
conn_drain(struct conn *c)
{
	struct ev_loop *loop = c->m->loop;

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
	ssize_t n;

	while (buf_len(&c->out) > 0) {
		n = send(c->fd, buf_ptr(&c->out), buf_len(&c->out), MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			ev_io_start(c->m->loop, &c->wio);
			return;
		}
		if (n == -1) {
			log_warn("metrics: %s: send: %s", c->peer, strerror(errno));
			conn_free(c);
			return;
		}
		buf_consume(&c->out, (size_t)n);
	}
	ev_io_stop(c->m->loop, &c->wio);
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

/* The status for a request: only GET /metrics, with any query, is served. */
static int
route(unsigned int method, const char *url)
{
	size_t n = strlen("/metrics");

	if (method != HTTP_GET)
		return 405;
	if (strncmp(url, "/metrics", n) != 0)
		return 404;
	return url[n] == '\0' || url[n] == '?' || url[n] == '#' ? 200 : 404;
}

/* Route on the request line: the body, if any, is never needed. */
static int
on_headers_complete(http_parser *p)
{
	struct conn *c = p->data;
	char safe[METRICS_URL_MAX * 4];

	c->status = route(p->method, c->url);
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
	struct metrics *m = l->data;
	struct conn *c;
	char addr[NET_ADDRSTRLEN];

	net_addr_str((const struct sockaddr *)&peer->ss, addr);
	if (m->nconns >= METRICS_CONNS_MAX) {
		log_warn("metrics: %s: refused, %d connections open", addr, METRICS_CONNS_MAX);
		close(fd);
		return;
	}
	c = xcalloc(1, sizeof(*c));
	c->m = m;
	c->fd = fd;
	memcpy(c->peer, addr, sizeof(c->peer));
	http_parser_init(&c->parser, HTTP_REQUEST);
	c->parser.data = c;
	ev_io_init(&c->rio, conn_read_cb, fd, EV_READ);
	ev_io_init(&c->wio, conn_write_cb, fd, EV_WRITE);
	ev_timer_init(&c->timer, conn_timeout_cb, METRICS_TIMEOUT, 0.0);
	c->rio.data = c->wio.data = c->timer.data = c;
	if ((c->next = m->conns) != NULL)
		c->next->prev = c;
	m->conns = c;
	m->nconns++;
	ev_io_start(m->loop, &c->rio);
	ev_timer_start(m->loop, &c->timer);
}

int
metrics_listen(struct metrics *m, struct ev_loop *loop, const struct net_addr *addr)
{
	if (m->listener != NULL) {
		errno = EALREADY;
		return -1;
	}
	m->loop = loop;
	if ((m->listener = listener_new(loop, addr, metrics_accept_cb, m)) == NULL)
		return -1;
	return 0;
}
