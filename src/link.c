/*
 * The link: frame I/O, dispatch, output scheduling and heartbeats.
 *
 * Output: control-class frames are appended to `out` as soon as they are
 * queued; DATA is produced only when the link flushes, by reading each ready
 * stream's socket straight into `out` behind its frame header, one bounded
 * frame per stream per turn. Nothing piles up in user space, control frames
 * never wait behind more than the current flush, and TCP_NOTSENT_LOWAT keeps
 * the kernel's unsent backlog small, so a ping overtakes a bulk transfer.
 */
#include "rtun-build.h"

#include <errno.h>
#include <linux/sockios.h>
#include <linux/tcp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "link.h"
#include "log.h"
#include "stream.h"
#include "xmalloc.h"

struct link {
	struct ev_loop *loop;
	struct transport *t;     /* the layers below: TCP, TLS, WebSocket */
	char peer[NET_ADDRSTRLEN];
	char label[NET_ADDRSTRLEN + 80];  /* "agent NAME (ADDR)" for logs */
	const struct link_ops *ops;
	void *owner;
	struct link_params params;
	int expect_preface;      /* LINK_SERVER: the peer's first bytes must be the preface */
	int authed;              /* streams and DATA allowed */
	int dead;
	int close_after_flush;
	int write_blocked;       /* waiting for EV_WRITE */
	uint32_t goaway_code;    /* code of the peer's GOAWAY, if one came */
	double *rtt;             /* heartbeat round-trip gauge, set by the owner, or NULL */
	double rtt_last;         /* the last heartbeat's round trip, seconds; 0 before one */
	size_t notsent_target;   /* bytes of unsent backlog the kernel may hold */
	size_t data_max;         /* DATA payload per frame, from LINK_DATA_MAX up to 64 KiB */
	ev_tstamp notsent_at;    /* when the target was last derived */

	ev_io io;
	int read_events;         /* what reading waits for (EV_READ, or what TLS asks) */
	int write_events;        /* what a blocked write waits for */
	ev_prepare flush_w;
	ev_timer hb_w;           /* sends PINGs */
	ev_timer silence_w;      /* fires heartbeat_timeout after the last byte received */
	ev_check free_w;
	ev_tstamp last_rx;

	uint8_t *in;
	size_t in_len;
	struct frame_decoder dec;

	struct buf out;          /* whole frames for the socket; control is appended at once, DATA at flush */
	TAILQ_HEAD(, link_node) ready;  /* streams with data, EOF or credit to act on */

	struct idmap streams;
	uint32_t nstreams;
	uint32_t next_id;        /* next id we open */
	uint32_t peer_max_id;    /* highest id the peer opened */
	uint32_t peer_window;    /* initial credit the peer grants per stream */

	uint64_t rx_bytes, tx_bytes;
};

static void link_io_cb(struct ev_loop *loop, ev_io *w, int revents);
static void link_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents);
static void link_heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void link_silence_cb(struct ev_loop *loop, ev_timer *w, int revents);
static void link_free_cb(struct ev_loop *loop, ev_check *w, int revents);

struct link *
link_new(struct ev_loop *loop, struct transport *t, const struct net_addr *peer,
    const struct link_params *params, const struct link_ops *ops, void *owner)
{
	struct link *l;

	l = xcalloc(1, sizeof(*l));
	l->loop = loop;
	l->t = t;
	l->ops = ops;
	l->owner = owner;
	l->params = *params;
	net_addr_str((const struct sockaddr *)&peer->ss, l->peer);
	snprintf(l->label, sizeof(l->label), "%s", l->peer);
	l->in = xmalloc(LINK_IN_SIZE);
	frame_decoder_init(&l->dec);
	buf_init(&l->out);
	TAILQ_INIT(&l->ready);
	idmap_init(&l->streams);
	l->next_id = params->role == LINK_SERVER ? 2 : 1;
	l->expect_preface = params->role == LINK_SERVER;
	l->last_rx = ev_now(loop);
	net_set_nodelay(t->fd);
	l->notsent_target = 4 * LINK_NOTSENT_MIN;
	l->data_max = LINK_DATA_MAX;
	net_set_notsent_lowat(t->fd, (int)l->notsent_target / 2);

	ev_io_init(&l->io, link_io_cb, t->fd, EV_READ);
	l->read_events = EV_READ;
	ev_prepare_init(&l->flush_w, link_flush_cb);
	ev_timer_init(&l->hb_w, link_heartbeat_cb, params->heartbeat_interval,
	    params->heartbeat_interval);
	ev_init(&l->silence_w, link_silence_cb);
	l->silence_w.repeat = params->heartbeat_timeout;
	ev_check_init(&l->free_w, link_free_cb);
	l->io.data = l->flush_w.data = l->hb_w.data = l->silence_w.data = l->free_w.data = l;
	ev_io_start(loop, &l->io);
	ev_timer_start(loop, &l->hb_w);
	ev_timer_again(loop, &l->silence_w);
	/* Sniffing may have pulled the first bytes into TLS or WebSocket buffers already. */
	if (transport_pending(t) > 0)
		ev_feed_event(loop, &l->io, EV_READ);
	return l;
}

struct ev_loop *
link_loop(const struct link *l)
{
	return l->loop;
}

const char *
link_label(const struct link *l)
{
	return l->label;
}

const char *
link_peer(const struct link *l)
{
	return l->peer;
}

const char *
link_transport(const struct link *l)
{
	return l->t->ops->name;
}

void *
link_owner(const struct link *l)
{
	return l->owner;
}

const struct link_params *
link_params(const struct link *l)
{
	return &l->params;
}

uint32_t
link_nstreams(const struct link *l)
{
	return l->nstreams;
}

struct stream *
link_stream(const struct link *l, uint32_t id)
{
	return idmap_get(&l->streams, id);
}

struct each_stream {
	void (*fn)(struct stream *s, void *arg);
	void *arg;
};

static void
each_stream_cb(void *ptr, void *arg)
{
	struct each_stream *e = arg;

	e->fn(ptr, e->arg);
}

void
link_each_stream(const struct link *l, void (*fn)(struct stream *s, void *arg), void *arg)
{
	struct each_stream e = { fn, arg };

	idmap_each(&l->streams, each_stream_cb, &e);
}

uint32_t
link_peer_window(const struct link *l)
{
	return l->peer_window;
}

size_t
link_data_max(const struct link *l)
{
	return l->data_max;
}

uint32_t
link_goaway_code(const struct link *l)
{
	return l->goaway_code;
}

double *
link_set_rtt_gauge(struct link *l, double *gauge)
{
	double *old = l->rtt;

	l->rtt = gauge;
	return old;
}

void
link_set_label(struct link *l, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->label, sizeof(l->label), fmt, ap);
	va_end(ap);
}

void
link_set_authed(struct link *l, uint32_t peer_window)
{
	l->authed = 1;
	l->peer_window = peer_window;
}

/* True while the link stops reading because the peer does not take what it is sent. */
static int
link_backlogged(const struct link *l)
{
	return buf_len(&l->out) >= LINK_CTL_HIGH;
}

/* Derive which watchers run from the link's state, in one place. */
static void
link_update_events(struct link *l)
{
	int reading = !l->close_after_flush && !link_backlogged(l);
	int events = (reading ? l->read_events : 0) | (l->write_blocked ? l->write_events : 0);

	if (l->dead)
		return;
	if (events != (ev_is_active(&l->io) ? (l->io.events & (EV_READ | EV_WRITE)) : 0)) {
		ev_io_stop(l->loop, &l->io);
		ev_io_set(&l->io, l->t->fd, events);
		if (events != 0)
			ev_io_start(l->loop, &l->io);
	}
	/*
	 * Input already decoded by TLS or WebSocket will not make the socket
	 * readable. It can be read now, whatever the last read waited for: a
	 * WebSocket that was held back for writability may have drained since.
	 */
	if (reading && transport_pending(l->t) > 0) {
		l->read_events = EV_READ;
		ev_feed_event(l->loop, &l->io, EV_READ);
	}
}

void
link_kick(struct link *l)
{
	if (l->dead || l->write_blocked || ev_is_active(&l->flush_w))
		return;
	ev_prepare_start(l->loop, &l->flush_w);
}

void
link_send_raw(struct link *l, const void *p, size_t n)
{
	buf_append(&l->out, p, n);
	link_kick(l);
}

void
link_send_frame(struct link *l, const struct frame *f)
{
	if (l->dead)
		return;
	frame_append(&l->out, f);
	link_kick(l);
}

/* Fill f as a frame of type that carries a code and a reason (RESET, GOAWAY). */
static void
coded_frame(struct frame *f, enum frame_type type, uint32_t id, enum frame_code code,
    const char *reason)
{
	memset(f, 0, sizeof(*f));
	f->type = type;
	f->stream = id;
	f->value = code;
	f->text = reason;
	f->text_len = strlen(reason);
}

void
link_send_reset(struct link *l, uint32_t id, enum frame_code code, const char *reason)
{
	struct frame f;

	coded_frame(&f, FRAME_RESET, id, code, reason);
	link_send_frame(l, &f);
}

void
link_send_goaway(struct link *l, enum frame_code code, const char *reason)
{
	struct frame f;

	coded_frame(&f, FRAME_GOAWAY, 0, code, reason);
	link_send_frame(l, &f);
}

void
link_send_control(struct link *l, const Rtun__Control *msg)
{
	if (l->dead)
		return;
	control_append(&l->out, msg);
	link_kick(l);
}

uint32_t
link_next_stream_id(struct link *l)
{
	uint32_t id = l->next_id;

	l->next_id += 2;
	return id;
}

void
link_add_stream(struct link *l, uint32_t id, struct stream *s, struct link_node *node)
{
	node->s = s;
	node->queued = 0;
	idmap_put(&l->streams, id, s);
	l->nstreams++;
	(*l->params.counters->streams_open)++;
	(*l->params.counters->streams_total)++;
}

void
link_remove_stream(struct link *l, uint32_t id, struct link_node *node)
{
	if (node->queued) {
		TAILQ_REMOVE(&l->ready, node, entry);
		node->queued = 0;
	}
	idmap_del(&l->streams, id);
	l->nstreams--;
	(*l->params.counters->streams_open)--;
}

void
link_stream_ready(struct link *l, struct link_node *node, int bulk)
{
	if (!node->queued) {
		/*
		 * Like fq_codel's new flows: a stream that drained its socket last time
		 * (interactive) goes first; a bulk stream waits its turn at the tail.
		 */
		if (bulk)
			TAILQ_INSERT_TAIL(&l->ready, node, entry);
		else
			TAILQ_INSERT_HEAD(&l->ready, node, entry);
		node->queued = 1;
	}
	link_kick(l);
}

/* Follow the link's delivery rate: about LINK_NOTSENT_MS of it may wait in the kernel. */
static void
link_retarget(struct link *l)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);
	double want;
	size_t target;

	l->notsent_at = ev_now(l->loop);
	memset(&ti, 0, sizeof(ti));
	if (getsockopt(l->t->fd, IPPROTO_TCP, TCP_INFO, &ti, &len) == -1 ||
	    len < offsetof(struct tcp_info, tcpi_delivery_rate) + sizeof(ti.tcpi_delivery_rate) ||
	    ti.tcpi_delivery_rate == 0)
		return;
	want = (double)ti.tcpi_delivery_rate * LINK_NOTSENT_MS / 1000.0;
	target = want < LINK_NOTSENT_MIN ? LINK_NOTSENT_MIN :
	    want > LINK_NOTSENT_MAX ? LINK_NOTSENT_MAX : (size_t)want;
	/* Ignore jitter: only changes of a quarter or more reach the socket. */
	if (target * 4 > l->notsent_target * 3 && target * 4 < l->notsent_target * 5)
		return;
	l->notsent_target = target;
	l->data_max = target / 4 < LINK_DATA_MAX ? LINK_DATA_MAX :
	    target / 4 > FRAME_PAYLOAD_MAX ? FRAME_PAYLOAD_MAX : target / 4;
	net_set_notsent_lowat(l->t->fd, (int)target / 2);
}

/* Bytes this flush may add: what tops the kernel's unsent backlog up to the target. */
static size_t
link_flush_budget(struct link *l)
{
	int notsent = 0;

	if (ev_now(l->loop) - l->notsent_at >= LINK_NOTSENT_EVERY)
		link_retarget(l);
	if (ioctl(l->t->fd, SIOCOUTQNSD, &notsent) == -1 || notsent < 0)
		notsent = 0;
	if ((size_t)notsent >= l->notsent_target)
		return 0;
	return l->notsent_target - (size_t)notsent;
}

/* Fail the link for an I/O error, with the transport's own reason when it has one. */
static void
link_io_failed(struct link *l, const char *what)
{
	char why[sizeof(l->t->error) + 64];

	snprintf(why, sizeof(why), "%s: %s", what, l->t->error[0] ? l->t->error : strerror(errno));
	/* A transport that caught the peer breaking its protocol counts like a bad frame. */
	if (l->t->violation) {
		log_warn("%s: protocol error: %s; dropping link", l->label, why);
		(*l->params.counters->protocol_errors)++;
	}
	link_close(l, FRAME_CODE_NONE, why);
}

/*
 * Write what `out` holds, after whatever the transport still buffers; returns
 * 1 if the transport would block, 0 if not, -1 if the link died.
 */
static int
link_write(struct link *l)
{
	ssize_t n = 0;
	int r, i;

	if ((r = transport_flush(l->t)) == -1) {
		link_io_failed(l, "write");
		return -1;
	}
	if (r == 1 || buf_len(&l->out) == 0) {
		l->write_events = r == 1 ? transport_want(l->t) : EV_WRITE;
		return r;
	}
	/* TLS takes one record per call: keep writing until the socket says stop. */
	for (i = 0; i < LINK_WRITES_PER_FLUSH && buf_len(&l->out) > 0; i++) {
		if ((n = transport_write(l->t, buf_ptr(&l->out), buf_len(&l->out))) <= 0)
			break;
		buf_consume(&l->out, (size_t)n);
		l->tx_bytes += (uint64_t)n;
	}
	if (buf_len(&l->out) == 0 || n > 0) {
		l->write_events = EV_WRITE;
		return 0;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		l->write_events = transport_want(l->t);
		return 1;
	}
	link_io_failed(l, "write");
	return -1;
}

/* Produce DATA round-robin until the budget is used, then write. */
static void
link_flush(struct link *l)
{
	struct link_node *n;
	size_t budget = link_flush_budget(l);
	int r;

	while (buf_len(&l->out) < budget && (n = TAILQ_FIRST(&l->ready)) != NULL) {
		TAILQ_REMOVE(&l->ready, n, entry);
		n->queued = 0;
		/* stream_produce() may destroy the stream; it returns 1 only if it lives and has more. */
		if (stream_produce(n->s, &l->out, budget - buf_len(&l->out))) {
			TAILQ_INSERT_TAIL(&l->ready, n, entry);
			n->queued = 1;
		}
		if (l->dead)
			return;
	}
	if ((r = link_write(l)) == -1)
		return;
	l->write_blocked = r == 1 || buf_len(&l->out) > 0 || !TAILQ_EMPTY(&l->ready);
	if (!l->write_blocked && l->close_after_flush) {
		link_close(l, FRAME_CODE_NONE, "closed after flush");
		return;
	}
	link_update_events(l);
}

static void
link_flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct link *l = w->data;

	ev_prepare_stop(loop, w);
	if (!l->write_blocked)
		link_flush(l);
}


void
link_protocol_error(struct link *l, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	log_warn("%s: protocol error: %s; dropping link", l->label, why);
	(*l->params.counters->protocol_errors)++;
	link_close(l, FRAME_CODE_PROTOCOL, why);
}

/* True if id names a stream that existed on this link and has ended. */
static int
link_stream_past(const struct link *l, uint32_t id)
{
	int ours = (id % 2 == 0) == (l->params.role == LINK_SERVER);

	return ours ? id < l->next_id : id <= l->peer_max_id;
}

static void
link_on_open(struct link *l, const struct frame *f)
{
	char service[FRAME_TEXT_MAX + 1], peer[FRAME_TEXT_MAX + 1], dest[FRAME_TEXT_MAX + 1];
	char connect[FRAME_TEXT_MAX + 1];

	if ((f->stream % 2 == 0) != (l->params.role == LINK_CLIENT) || l->ops->open == NULL) {
		link_protocol_error(l, "OPEN for stream %u from the wrong side", f->stream);
		return;
	}
	/*
	 * Only rtund names destinations (routes): an agent that does, to rtund or
	 * over a direct link to another agent, is trying to reach into a network
	 * that is not its own. A NUL would cut the destination short unseen.
	 */
	if (f->connect_len > 0 && (l->params.role == LINK_SERVER ||
	    memchr(f->connect, '\0', f->connect_len) != NULL)) {
		link_protocol_error(l, "OPEN for stream %u names a destination it may not", f->stream);
		return;
	}
	if (f->stream <= l->peer_max_id) {
		link_protocol_error(l, "OPEN reuses stream id %u", f->stream);
		return;
	}
	l->peer_max_id = f->stream;
	if (l->nstreams >= l->params.max_streams) {
		link_send_reset(l, f->stream, FRAME_CODE_REFUSED, "too many streams");
		log_warn("%s: refusing stream %u: max_streams (%u) reached", l->label, f->stream,
		    l->params.max_streams);
		return;
	}
	memcpy(service, f->text, f->text_len);
	service[f->text_len] = '\0';
	memcpy(peer, f->peer, f->peer_len);
	peer[f->peer_len] = '\0';
	memcpy(dest, f->dest, f->dest_len);
	dest[f->dest_len] = '\0';
	if (f->connect_len > 0) {
		memcpy(connect, f->connect, f->connect_len);
		connect[f->connect_len] = '\0';
	}
	l->ops->open(l, f->stream, service, peer, dest, f->connect_len > 0 ? connect : NULL);
}

static void
link_on_stream_frame(struct link *l, const struct frame *f)
{
	struct stream *s;

	if ((s = idmap_get(&l->streams, f->stream)) != NULL) {
		stream_input(s, f);
		return;
	}
	if (!link_stream_past(l, f->stream))
		link_protocol_error(l, "%s for unknown stream %u", frame_type_name(f->type),
		    f->stream);
	/* Otherwise it was in flight when the stream ended: discard it. */
}

static void
link_on_control(struct link *l, const struct frame *f)
{
	Rtun__Control *msg;
	const char *why;

	if ((msg = control_decode(f->payload, f->payload_len, &why)) == NULL) {
		link_protocol_error(l, "bad CONTROL message: %s", why);
		return;
	}
	l->ops->control(l, msg);
}

static void
link_on_goaway(struct link *l, const struct frame *f)
{
	char reason[FRAME_TEXT_MAX * 4 + 1];

	log_safe(f->text, f->text_len, reason, sizeof(reason));
	l->goaway_code = (uint32_t)f->value;
	link_close(l, FRAME_CODE_NONE,
	    f->value == FRAME_CODE_SUPERSEDED ? "superseded by a newer link (peer GOAWAY)" :
	    f->value == FRAME_CODE_AUTH ? "authentication failed (peer GOAWAY)" :
	    *reason ? reason : "peer sent GOAWAY");
}

static uint64_t now_ns(void);

static void
link_on_pong(struct link *l, const struct frame *f)
{
	uint64_t now = now_ns();

	if (f->value > now)
		return;
	l->rtt_last = (double)(now - f->value) / 1e9;
	if (l->rtt != NULL)
		*l->rtt = l->rtt_last;
}

static void
link_dispatch(struct link *l, const struct frame *f)
{
	struct frame pong;

	switch (f->type) {
	case FRAME_PING:
		memset(&pong, 0, sizeof(pong));
		pong.type = FRAME_PONG;
		pong.value = f->value;
		link_send_frame(l, &pong);
		return;
	case FRAME_PONG:
		link_on_pong(l, f);
		return;
	case FRAME_GOAWAY:
		link_on_goaway(l, f);
		return;
	case FRAME_CONTROL:
		link_on_control(l, f);
		return;
	default:
		break;
	}
	if (!l->authed) {
		link_protocol_error(l, "%s before authentication", frame_type_name(f->type));
		return;
	}
	if (f->type == FRAME_OPEN)
		link_on_open(l, f);
	else
		link_on_stream_frame(l, f);
}

/* Check the preface, then decode and dispatch every complete frame in `in`. */
static void
link_parse(struct link *l)
{
	struct frame f;
	enum frame_result r;
	size_t off = 0, used;

	if (l->expect_preface) {
		if (l->in_len < FRAME_PREFACE_LEN)
			return;
		if (memcmp(l->in, FRAME_PREFACE, FRAME_PREFACE_LEN) != 0) {
			link_protocol_error(l, "bad preface (not an rtun agent?)");
			return;
		}
		l->expect_preface = 0;
		off = FRAME_PREFACE_LEN;
	}
	while (!l->dead && !l->close_after_flush) {
		r = frame_decode(&l->dec, l->in + off, l->in_len - off, &f, &used);
		if (r == FRAME_NEED_MORE)
			break;
		if (r != FRAME_OK) {
			link_protocol_error(l, "%s", frame_strerror(r));
			return;
		}
		link_dispatch(l, &f);
		off += used;
	}
	if (l->dead)
		return;
	memmove(l->in, l->in + off, l->in_len - off);
	l->in_len -= off;
}

/*
 * Read once and parse; returns 1 if reading again may find more right away
 * (TLS hands out one record per call, so a readable socket can hold several).
 */
static int
link_read(struct link *l)
{
	ssize_t n;

	n = transport_read(l->t, l->in + l->in_len, LINK_IN_SIZE - l->in_len);
	if (n == 0) {
		link_close(l, FRAME_CODE_NONE, "connection closed by peer");
		return 0;
	}
	if (n == -1) {
		if (errno == EAGAIN || errno == EINTR)
			l->read_events = transport_want(l->t);
		else
			link_io_failed(l, "read");
		return 0;
	}
	l->read_events = EV_READ;
	l->in_len += (size_t)n;
	l->rx_bytes += (uint64_t)n;
	l->last_rx = ev_now(l->loop);
	if (!l->authed && l->rx_bytes > LINK_PREAUTH_MAX) {
		link_protocol_error(l, "more than %d bytes before authentication",
		    LINK_PREAUTH_MAX);
		return 0;
	}
	link_parse(l);
	return !l->dead && !l->close_after_flush && !link_backlogged(l);
}

static void
link_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct link *l = w->data;
	int i;

	if ((revents & l->read_events) != 0) {
		/* TLS and WebSocket may hold decoded input the socket no longer signals. */
		for (i = 0; i < 64 && link_read(l); i++)
			;
		if (l->dead)
			return;
	}
	if (l->write_blocked && (revents & l->write_events) != 0)
		link_flush(l);
	else
		link_update_events(l);
}

static uint64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void
link_ping(struct link *l)
{
	struct frame ping;

	memset(&ping, 0, sizeof(ping));
	ping.type = FRAME_PING;
	ping.value = now_ns();
	link_send_frame(l, &ping);
}

double
link_rtt(const struct link *l)
{
	return l->rtt_last;
}

static void
link_heartbeat_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct link *l = w->data;

	if (l->close_after_flush) {
		link_close(l, FRAME_CODE_NONE, "peer did not read the last frames");
		return;
	}
	link_ping(l);
}

/*
 * The peer is dead once nothing arrived for heartbeat_timeout: this timer is
 * re-armed for exactly what is left of that, so the verdict never waits for
 * the next heartbeat tick. A peer that stopped reading our output made us
 * stop reading its: that, held as long, is the same verdict.
 */
static void
link_silence_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct link *l = w->data;
	double silent = ev_now(loop) - l->last_rx;
	char why[128];

	if (silent < l->params.heartbeat_timeout) {
		w->repeat = l->params.heartbeat_timeout - silent;
		ev_timer_again(loop, w);
		return;
	}
	if (link_backlogged(l))
		snprintf(why, sizeof(why), "peer does not read: %zu bytes queued for it for %.1fs",
		    buf_len(&l->out), silent);
	else
		snprintf(why, sizeof(why), "heartbeat timeout: nothing received for %.1fs", silent);
	log_warn("%s: %s", l->label, why);
	link_close(l, FRAME_CODE_NONE, why);
}

void
link_close_after_flush(struct link *l, const char *reason)
{
	if (l->dead || l->close_after_flush)
		return;
	log_debug("%s: closing after flush: %s", l->label, reason);
	l->close_after_flush = 1;
	/* A peer that stops reading must not keep us waiting for ever. */
	ev_timer_stop(l->loop, &l->hb_w);
	ev_timer_set(&l->hb_w, 5.0, 0.0);
	ev_timer_start(l->loop, &l->hb_w);
	link_update_events(l);
	link_kick(l);
}

static void
collect_stream(void *ptr, void *arg)
{
	struct stream ***pp = arg;

	*(*pp)++ = ptr;
}

/* Destroy every stream: their local sockets are reset at once, never closed as if complete. */
static void
link_destroy_streams(struct link *l)
{
	struct stream **all, **p;
	uint32_t i, n = l->nstreams;

	if (n == 0)
		return;
	log_info("%s: resetting %u open stream%s", l->label, n, n == 1 ? "" : "s");
	all = p = xcalloc(n, sizeof(*all));
	idmap_each(&l->streams, collect_stream, &p);
	for (i = 0; i < n; i++)
		stream_destroy(all[i]);
	free(all);
}

void
link_close(struct link *l, enum frame_code code, const char *reason)
{
	struct frame f;

	if (l->dead)
		return;
	if (code != FRAME_CODE_NONE) {
		/* Best effort: one non-blocking write of what is queued plus GOAWAY. */
		coded_frame(&f, FRAME_GOAWAY, 0, code, reason);
		frame_append(&l->out, &f);
		(void)transport_write(l->t, buf_ptr(&l->out), buf_len(&l->out));
	}
	l->dead = 1;
	link_destroy_streams(l);
	ev_io_stop(l->loop, &l->io);
	ev_prepare_stop(l->loop, &l->flush_w);
	ev_timer_stop(l->loop, &l->hb_w);
	ev_timer_stop(l->loop, &l->silence_w);
	transport_free(l->t);
	l->t = NULL;
	l->ops->closed(l, reason);
	/* Free after the current callback chain has unwound. */
	ev_check_start(l->loop, &l->free_w);
}

static void
link_free_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	struct link *l = w->data;

	ev_check_stop(loop, w);
	frame_decoder_free(&l->dec);
	buf_free(&l->out);
	idmap_free(&l->streams);
	free(l->in);
	free(l);
}
