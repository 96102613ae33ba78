/*
 * The shared web listeners (server-vhost.h). Each accepted connection is a
 * small reader: it keeps what arrives in a bounded buffer and re-parses it
 * from the start (the parsers are pure) until the name is known, the input is
 * refused, or its time is up. A refused connection gets its answer and is
 * drained for a moment before the close, so that unread input does not turn
 * the close into a reset that would destroy the answer on its way.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http-host.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "server-vhost.h"
#include "tls-sni.h"
#include "xmalloc.h"

/* Why a connection was not routed, as the rtund_vhost_refused_total label. */
enum vhost_refusal {
	REFUSE_BAD_REQUEST,   /* 400: no or bad Host; not TLS, malformed hello */
	REFUSE_TOO_LARGE,     /* 431, or a hello past the bound */
	REFUSE_TIMEOUT,       /* 408: no whole head or hello in time */
	REFUSE_UNKNOWN,       /* 404: a name nobody claimed; no server name */
	REFUSE_OFFLINE,       /* 502: the claiming agent is not connected */
	REFUSE_BUSY,          /* too many connections being read */
	REFUSE_CLOSED,        /* the user left before deciding */
	REFUSE_COUNT
};

static const char *const refusal_names[REFUSE_COUNT] = {
	"bad_request", "too_large", "timeout", "unknown_host", "offline", "busy", "closed",
};

struct vconn {
	struct vhost *vh;
	int fd;
	struct net_addr from;
	ev_io io;
	ev_timer timer;
	int lingering;           /* answered: draining until EOF or the timer */
	size_t len;
	uint8_t buf[VHOST_READ_MAX];
	LIST_ENTRY(vconn) entry;
};

struct vhost {
	struct ev_loop *loop;
	enum vhost_scheme scheme;
	struct listener *listener;
	struct hostmap *map;
	double timeout;
	vhost_open_fn open;
	void *arg;
	size_t npending;
	LIST_HEAD(, vconn) conns;
	struct sock_answers answers;
	char timeout_answer[256], failed_answer[256];
	uint64_t *refused[REFUSE_COUNT];
	uint64_t *routed;
};

static const char *
scheme_name(enum vhost_scheme s)
{
	return s == VHOST_HTTP ? "http" : "https";
}

static void
vconn_free(struct vconn *vc)
{
	ev_io_stop(vc->vh->loop, &vc->io);
	ev_timer_stop(vc->vh->loop, &vc->timer);
	LIST_REMOVE(vc, entry);
	vc->vh->npending--;
	if (vc->fd != -1)
		close(vc->fd);
	free(vc);
}

/* The whole reply for status, with reason as its text body. */
static int
http_answer(char *out, size_t outlen, int status, const char *title, const char *reason)
{
	return snprintf(out, outlen, "HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n", status, title,
	    strlen(reason) + 1, reason);
}

static const char *
status_title(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 404:
		return "Not Found";
	case 408:
		return "Request Timeout";
	case 431:
		return "Request Header Fields Too Large";
	case 502:
		return "Bad Gateway";
	case 504:
		return "Gateway Timeout";
	}
	return "Error";
}

/*
 * Log and count a refusal, then answer and drain: on http_listen the HTTP
 * status (0: none), on https_listen an alert when status is not 0.
 */
/* The answer to a refused connection is one write, made before the connection is
 * shut down: a short or failed one is only noted, as nothing waits on it. */
static void
vconn_answer(struct vconn *vc, const void *data, size_t len)
{
	ssize_t n = write(vc->fd, data, len);

	if (n != (ssize_t)len)
		log_debug("refusal answer: %zd of %zu bytes written", n, len);
}

static void
vconn_refuse(struct vconn *vc, enum vhost_refusal why, int status, const char *reason,
    const char *name)
{
	/* A fatal unrecognized_name alert (RFC 6066 3), in a TLS 1.0 record as clients accept. */
	static const uint8_t alert[] = { 0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x70 };
	char host[NET_ADDRSTRLEN], text[512], safe[4 * HOSTNAME_MAX + 1];
	int n = 0;

	net_addr_str((const struct sockaddr *)&vc->from.ss, host);
	log_safe(name != NULL ? name : "", name != NULL ? strlen(name) : 0, safe, sizeof(safe));
	log_msg(why == REFUSE_CLOSED ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO, "%s listener: %s%s%s: %s",
	    scheme_name(vc->vh->scheme), host, name != NULL ? " for " : "",
	    name != NULL ? safe : "", reason);
	(*vc->vh->refused[why])++;
	if (why == REFUSE_CLOSED) {
		vconn_free(vc);
		return;
	}
	if (vc->vh->scheme == VHOST_HTTP && status != 0)
		n = http_answer(text, sizeof(text), status, status_title(status), reason);
	if (n > 0)
		vconn_answer(vc, text, (size_t)n);
	else if (vc->vh->scheme == VHOST_HTTPS && status != 0)
		vconn_answer(vc, alert, sizeof(alert));
	(void)shutdown(vc->fd, SHUT_WR);
	vc->lingering = 1;
	ev_timer_stop(vc->vh->loop, &vc->timer);
	ev_timer_set(&vc->timer, VHOST_LINGER, 0.0);
	ev_timer_start(vc->vh->loop, &vc->timer);
}

/*
 * The head with X-Forwarded-For and X-Forwarded-Proto added as its last
 * fields, so that they follow any the client sent (the nearest proxy is the
 * last in such a list). NULL if the head does not end as expected.
 */
static uint8_t *
vconn_forwarded(struct vconn *vc, size_t head_len, size_t *outlen)
{
	char host[NET_ADDRSTRLEN], fields[NET_ADDRSTRLEN + 64];
	size_t at, n;
	uint8_t *out;

	if (head_len >= 4 && memcmp(vc->buf + head_len - 4, "\r\n\r\n", 4) == 0)
		at = head_len - 2;
	else if (head_len >= 2 && memcmp(vc->buf + head_len - 2, "\n\n", 2) == 0)
		at = head_len - 1;
	else
		return NULL;
	net_host_str((const struct sockaddr *)&vc->from.ss, host);
	n = (size_t)snprintf(fields, sizeof(fields),
	    "X-Forwarded-For: %s\r\nX-Forwarded-Proto: http\r\n", host);
	out = xmalloc(vc->len + n);
	memcpy(out, vc->buf, at);
	memcpy(out + at, fields, n);
	memcpy(out + at + n, vc->buf + at, vc->len - at);
	*outlen = vc->len + n;
	return out;
}

/* The name is known: route to its claim, or refuse. */
static void
vconn_route(struct vconn *vc, const char *name, size_t head_len)
{
	uint8_t *head = vc->buf, *fwd = NULL;
	size_t len = vc->len;
	struct vhost *vh = vc->vh;
	struct hostclaim *c = hostmap_lookup(vh->map, vh->scheme, name);
	int fd;

	if (c == NULL) {
		vconn_refuse(vc, REFUSE_UNKNOWN, 404, "no service for this host name", name);
		return;
	}
	if (hostclaim_arg(c) == NULL) {
		/* The answer is public: it names no agent; the log line does. */
		log_debug("%s listener: %s is claimed by agent %s, which is not connected",
		    scheme_name(vh->scheme), name, hostclaim_agent(c));
		vconn_refuse(vc, REFUSE_OFFLINE, 502, "the agent serving this host name is not "
		    "connected", name);
		return;
	}
	if (vh->scheme == VHOST_HTTP && (hostclaim_flags(c) & HOSTCLAIM_FORWARDED) &&
	    (fwd = vconn_forwarded(vc, head_len, &len)) != NULL)
		head = fwd;
	(*vh->routed)++;
	fd = vc->fd;
	vc->fd = -1;
	vh->open(vh->arg, c, fd, &vc->from, head, len, vh->scheme == VHOST_HTTP ?
	    &vh->answers : NULL);
	free(fwd);
	vconn_free(vc);
}

/* HTTP: decide on the head read so far; 1 when decided. */
static int
vconn_http(struct vconn *vc)
{
	struct http_host h;

	if (http_host_parse((const char *)vc->buf, vc->len, &h) == 1)
		return 0;
	if (h.status != 0)
		vconn_refuse(vc, h.status == 431 ? REFUSE_TOO_LARGE : REFUSE_BAD_REQUEST, h.status,
		    h.reason, NULL);
	else
		vconn_route(vc, h.host, h.head_len);
	return 1;
}

/* HTTPS: decide on the hello read so far; 1 when decided. */
static int
vconn_https(struct vconn *vc)
{
	char name[SNI_NAME_MAX + 1];
	enum sni_result r = sni_parse(vc->buf, vc->len, name);

	switch (r) {
	case SNI_NEED_MORE:
		if (vc->len < sizeof(vc->buf))
			return 0;
		vconn_refuse(vc, REFUSE_TOO_LARGE, 0, "ClientHello longer than we read", NULL);
		return 1;
	case SNI_FOUND:
		vconn_route(vc, name, vc->len);
		return 1;
	case SNI_ABSENT:
		vconn_refuse(vc, REFUSE_UNKNOWN, 1, sni_strerror(r), NULL);
		return 1;
	case SNI_TOO_LONG:
		vconn_refuse(vc, REFUSE_TOO_LARGE, 0, sni_strerror(r), NULL);
		return 1;
	case SNI_NOT_TLS:
	case SNI_MALFORMED:
		break;
	}
	vconn_refuse(vc, REFUSE_BAD_REQUEST, 0, sni_strerror(r), NULL);
	return 1;
}

static void
vconn_drain(struct vconn *vc)
{
	uint8_t sink[4096];
	ssize_t n;

	while ((n = read(vc->fd, sink, sizeof(sink))) > 0)
		;
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		vconn_free(vc);
}

static void
vconn_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct vconn *vc = w->data;
	ssize_t n;

	if (vc->lingering) {
		vconn_drain(vc);
		return;
	}
	n = read(vc->fd, vc->buf + vc->len, sizeof(vc->buf) - vc->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		vconn_refuse(vc, REFUSE_CLOSED, 0, n == 0 ? "closed before a whole request" :
		    strerror(errno), NULL);
		return;
	}
	vc->len += (size_t)n;
	if (vc->vh->scheme == VHOST_HTTP)
		vconn_http(vc);
	else
		vconn_https(vc);
}

static void
vconn_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct vconn *vc = w->data;

	if (vc->lingering) {
		vconn_free(vc);
		return;
	}
	vconn_refuse(vc, REFUSE_TIMEOUT, vc->vh->scheme == VHOST_HTTP ? 408 : 0,
	    vc->vh->scheme == VHOST_HTTP ? "no whole request head in time" :
	    "no whole ClientHello in time", NULL);
}

static void
vhost_accept_cb(struct listener *li, int fd, const struct net_addr *from)
{
	struct vhost *vh = li->data;
	struct vconn *vc;

	if (vh->npending >= VHOST_PENDING_MAX) {
		(*vh->refused[REFUSE_BUSY])++;
		close(fd);
		return;
	}
	vc = xcalloc(1, sizeof(*vc));
	vc->vh = vh;
	vc->fd = fd;
	vc->from = *from;
	ev_io_init(&vc->io, vconn_read_cb, fd, EV_READ);
	vc->io.data = vc;
	ev_io_start(vh->loop, &vc->io);
	ev_timer_init(&vc->timer, vconn_timer_cb, vh->timeout, 0.0);
	vc->timer.data = vc;
	ev_timer_start(vh->loop, &vc->timer);
	LIST_INSERT_HEAD(&vh->conns, vc, entry);
	vh->npending++;
}

static void
vhost_metrics(struct vhost *vh, struct metrics *m)
{
	char labels[96];
	size_t i;

	for (i = 0; i < REFUSE_COUNT; i++) {
		snprintf(labels, sizeof(labels), "listener=\"%s\",reason=\"%s\"",
		    scheme_name(vh->scheme), refusal_names[i]);
		vh->refused[i] = metrics_counter(m, "rtund_vhost_refused_total",
		    "Connections on http_listen or https_listen not routed to a service, by reason.",
		    labels);
	}
	snprintf(labels, sizeof(labels), "listener=\"%s\"", scheme_name(vh->scheme));
	vh->routed = metrics_counter(m, "rtund_vhost_routed_total",
	    "Connections on http_listen or https_listen routed to a service by name.", labels);
}

struct vhost *
vhost_new(struct ev_loop *loop, enum vhost_scheme scheme, const struct net_addr *addr,
    struct hostmap *m, struct metrics *metrics, double timeout, vhost_open_fn open, void *arg)
{
	struct vhost *vh = xcalloc(1, sizeof(*vh));

	vh->loop = loop;
	vh->scheme = scheme;
	vh->map = m;
	vh->timeout = timeout;
	vh->open = open;
	vh->arg = arg;
	LIST_INIT(&vh->conns);
	if ((vh->listener = listener_new(loop, addr, vhost_accept_cb, vh)) == NULL) {
		free(vh);
		return NULL;
	}
	http_answer(vh->timeout_answer, sizeof(vh->timeout_answer), 504, status_title(504),
	    "the service did not answer in time");
	http_answer(vh->failed_answer, sizeof(vh->failed_answer), 502, status_title(502),
	    "the service cannot be reached");
	vh->answers.timeout = vh->timeout_answer;
	vh->answers.failed = vh->failed_answer;
	vhost_metrics(vh, metrics);
	return vh;
}

void
vhost_set_timeout(struct vhost *vh, double timeout)
{
	vh->timeout = timeout;
}

void
vhost_stop(struct vhost *vh)
{
	struct vconn *vc;

	listener_free(vh->listener);
	vh->listener = NULL;
	while ((vc = LIST_FIRST(&vh->conns)) != NULL)
		vconn_free(vc);
}

void
vhost_free(struct vhost *vh)
{
	if (vh == NULL)
		return;
	vhost_stop(vh);
	free(vh);
}
