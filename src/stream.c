/*
 * Streams: the machine between a link and a local end (stream.h).
 *
 * End -> link: the end only says it is readable; the stream goes on the
 * link's ready list, and the link's flush then reads at most one frame's
 * worth, within the peer's credit, straight into its output.
 * Link -> end: DATA is written to the end at once when it takes it, and
 * buffered (at most one window) when it does not; credit goes back to the
 * peer as bytes reach the end.
 *
 * Each direction has its own half-close state, changed only through
 * stream_set_half(), which logs every transition:
 *   tx (end -> link): open -> closed when the end's input ended (CLOSE sent);
 *   rx (link -> end): open -> draining when the peer's CLOSE came, -> closed
 *   once everything was written and the end shut down.
 * Both closed is the only clean end; anything else aborts the end.
 *
 * Datagram streams (stream.h) differ in three places only: stream_produce()
 * reads one whole datagram within the credit whatever the flush's room,
 * stream_on_datagram() hands each datagram to the end or drops it but never
 * buffers it, and the peer's CLOSE is answered at once, since a flow has no
 * half-close. Its end's idle op makes silence a clean end (the input ends,
 * CLOSE goes out) where any other stream is reset.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "buf.h"
#include "config.h"
#include "link.h"
#include "log.h"
#include "net.h"
#include "stream.h"
#include "xmalloc.h"

enum stream_state {
	STREAM_CONNECTING,   /* stream_accept: the end connects to the local target */
	STREAM_OPENING,      /* stream_open: OPEN sent, waiting for OPEN_OK */
	STREAM_OPEN,
};

enum stream_dir {
	STREAM_TX,           /* end -> link */
	STREAM_RX,           /* link -> end */
};

enum stream_half {
	HALF_OPEN,
	HALF_DRAINING,       /* rx only: CLOSE came, buffered bytes still going to the end */
	HALF_CLOSED,
};

struct stream {
	struct link *link;
	uint32_t id;
	struct stream_end *end;
	enum stream_state state;
	enum stream_half half[2];
	ev_timer open_w;         /* OPEN_OK or connect deadline; once open, the idle check */
	double idle_timeout;     /* 0: never idle */
	ev_tstamp active_at;     /* when the last byte moved, either way */
	int datagram;            /* one DATA per datagram, nothing queued (stream.h) */

	int want_read;           /* the end is readable, waiting for the flush */
	int bulk;                /* last read filled a whole frame: schedule at the tail */

	struct buf out;          /* DATA waiting for the end */
	uint32_t credit;         /* bytes we may still send */
	uint32_t recv_left;      /* bytes the peer may still send */
	uint32_t recv_done;      /* bytes consumed since the last WINDOW */
	uint32_t window;         /* the receive window granted now (grows, see below) */
	ev_tstamp window_at;     /* when the last WINDOW was sent */

	struct stream_counters ctr;
	struct link_node sched;  /* place in the link's ready list */
	char peer[NET_ADDRSTRLEN];
	char service[65];
};

/* Smallest DATA payload a flush asks for when its room is nearly used up. */
#define STREAM_FRAME_MIN 4096
/*
 * Window auto-tuning: a stream whose reader keeps up and which used half its
 * window within STREAM_GROW_WITHIN seconds gets its window doubled, up to
 * STREAM_GROW_FACTOR times stream_window (and CONFIG_WINDOW_MAX). Only streams
 * that are fast and drained get more memory; a slow reader never does.
 */
#define STREAM_GROW_WITHIN 0.01
#define STREAM_GROW_FACTOR 16

static void stream_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);

static const char *const half_names[] = { "open", "draining", "closed" };

/* The one place a direction changes state. */
static void
stream_set_half(struct stream *s, enum stream_dir d, enum stream_half h)
{
	log_debug("%s: stream %u (%s, %s): %s %s -> %s", link_label(s->link), s->id, s->service,
	    s->peer, d == STREAM_TX ? "local->link" : "link->local", half_names[s->half[d]],
	    half_names[h]);
	s->half[d] = h;
}

static struct stream *
stream_alloc(struct link *l, uint32_t id, struct stream_end *end, const struct stream_conf *c)
{
	struct stream *s;

	s = xcalloc(1, sizeof(*s));
	s->ctr = *c->ctr;
	s->link = l;
	s->id = id;
	s->end = end;
	end->s = s;
	s->credit = link_peer_window(l);
	s->recv_left = s->window = link_params(l)->stream_window;
	s->window_at = s->active_at = ev_now(link_loop(l));
	s->idle_timeout = c->idle_timeout;
	snprintf(s->service, sizeof(s->service), "%s", c->service);
	snprintf(s->peer, sizeof(s->peer), "%s", c->peer);
	buf_init(&s->out);
	ev_timer_init(&s->open_w, stream_timeout_cb, c->timeout, 0.0);
	s->open_w.data = s;
	ev_timer_start(link_loop(l), &s->open_w);
	s->datagram = c->datagram;
	link_add_stream(l, id, s, &s->sched);
	return s;
}

/* Derive what the end should report from the stream's state, in one place. */
static void
stream_update_events(struct stream *s)
{
	int r, w;

	r = s->state != STREAM_CONNECTING && s->half[STREAM_TX] == HALF_OPEN && !s->want_read &&
	    s->credit > 0;
	w = s->state == STREAM_OPEN && buf_len(&s->out) > 0;
	s->end->ops->want(s->end, r, w);
}

/*
 * The stream is open: its deadline timer now watches for silence. It fires
 * at most once per idle_timeout and re-arms itself for what is left, so
 * traffic costs a timestamp per frame, not a timer update.
 */
static void
stream_idle_start(struct stream *s)
{
	struct ev_loop *loop = link_loop(s->link);

	ev_timer_stop(loop, &s->open_w);
	if (s->idle_timeout <= 0)
		return;
	s->active_at = ev_now(loop);
	ev_timer_set(&s->open_w, s->idle_timeout, 0.0);
	ev_timer_start(loop, &s->open_w);
}

static void
stream_send(struct stream *s, enum frame_type type, uint64_t value, const char *text)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = type;
	f.stream = s->id;
	f.value = value;
	f.text = text;
	f.text_len = text ? strlen(text) : 0;
	link_send_frame(s->link, &f);
}

struct stream *
stream_open(struct link *l, struct stream_end *end, const struct stream_conf *c)
{
	struct stream *s = stream_alloc(l, link_next_stream_id(l), end, c);
	struct frame f;

	s->state = STREAM_OPENING;
	memset(&f, 0, sizeof(f));
	f.type = FRAME_OPEN;
	f.stream = s->id;
	f.text = c->service;
	f.text_len = strlen(c->service);
	f.peer = c->peer;
	f.peer_len = strlen(c->peer);
	f.dest = c->dest;
	f.dest_len = strlen(c->dest);
	f.connect = c->connect;
	f.connect_len = c->connect != NULL ? strlen(c->connect) : 0;
	link_send_frame(l, &f);
	/* The user may speak first: its bytes go out right behind OPEN. */
	stream_update_events(s);
	return s;
}

struct stream *
stream_accept(struct link *l, uint32_t id, struct stream_end *end, int connecting,
    const struct stream_conf *c)
{
	struct stream *s = stream_alloc(l, id, end, c);

	s->state = STREAM_CONNECTING;
	if (!connecting)
		stream_end_connected(s, 0);
	else
		stream_update_events(s);
	return s;
}

const struct stream_counters *
stream_counters(const struct stream *s)
{
	return &s->ctr;
}

struct count {
	const struct stream_counters *ctr;
	uint32_t n;
};

static void
count_one(struct stream *s, void *arg)
{
	struct count *c = arg;

	if (s->ctr.local_read != NULL && s->ctr.local_read == c->ctr->local_read)
		c->n++;
}

uint32_t
stream_count_with(const struct link *l, const struct stream_counters *ctr)
{
	struct count c = { ctr, 0 };

	if (l != NULL && ctr != NULL && ctr->local_read != NULL)
		link_each_stream(l, count_one, &c);
	return c.n;
}

uint32_t
stream_credit(const struct stream *s)
{
	return s->credit;
}

uint32_t
stream_window(const struct stream *s)
{
	return s->window;
}

size_t
stream_queued(const struct stream *s)
{
	return buf_len(&s->out);
}

void
stream_destroy(struct stream *s)
{
	int clean = s->half[STREAM_TX] == HALF_CLOSED && s->half[STREAM_RX] == HALF_CLOSED;

	ev_timer_stop(link_loop(s->link), &s->open_w);
	s->end->ops->close(s->end, clean);
	buf_free(&s->out);
	link_remove_stream(s->link, s->id, &s->sched);
	free(s);
}

void
stream_reset(struct stream *s, enum frame_code code, const char *reason)
{
	log_debug("%s: stream %u (%s, %s): reset: %s", link_label(s->link), s->id, s->service,
	    s->peer, reason);
	link_send_reset(s->link, s->id, code, reason);
	if (s->end->ops->reset != NULL)
		s->end->ops->reset(s->end, code, reason, strlen(reason));
	stream_destroy(s);
}

/* End the stream once both directions are closed and drained; 1 if it ended. */
static int
stream_maybe_finish(struct stream *s)
{
	if (s->half[STREAM_TX] != HALF_CLOSED || s->half[STREAM_RX] != HALF_CLOSED)
		return 0;
	log_debug("%s: stream %u (%s, %s): closed", link_label(s->link), s->id, s->service,
	    s->peer);
	stream_destroy(s);
	return 1;
}

/* Grow the window when it, not the reader, is what limits the stream. */
static int
stream_should_grow(const struct stream *s)
{
	uint64_t cap = (uint64_t)link_params(s->link)->stream_window * STREAM_GROW_FACTOR;

	if (cap > CONFIG_WINDOW_MAX)
		cap = CONFIG_WINDOW_MAX;
	return buf_len(&s->out) == 0 && (uint64_t)s->window * 2 <= cap &&
	    ev_now(link_loop(s->link)) - s->window_at < STREAM_GROW_WITHIN;
}

/* Bytes of the peer's left us (to the end, or dropped): return credit at half a window. */
static void
stream_credit_back(struct stream *s, size_t n)
{
	uint32_t inc;

	s->recv_done += (uint32_t)n;
	if (s->recv_done < s->window / 2)
		return;
	inc = s->recv_done;
	if (stream_should_grow(s)) {
		inc += s->window;
		s->window *= 2;
	}
	stream_send(s, FRAME_WINDOW, inc, NULL);
	s->recv_left += inc;
	s->recv_done = 0;
	s->window_at = ev_now(link_loop(s->link));
}

/* Bytes reached the end. */
static void
stream_consumed(struct stream *s, size_t n)
{
	*s->ctr.local_written += n;
	stream_credit_back(s, n);
}

/* Shut the end's write side once the peer closed and everything was written. */
static int
stream_maybe_shut(struct stream *s)
{
	if (s->half[STREAM_RX] != HALF_DRAINING || buf_len(&s->out) > 0 ||
	    s->state != STREAM_OPEN)
		return 0;
	s->end->ops->shutdown(s->end);
	stream_set_half(s, STREAM_RX, HALF_CLOSED);
	return stream_maybe_finish(s);
}

/* Write buffered output; 1 if the stream was destroyed. */
static int
stream_write_out(struct stream *s)
{
	ssize_t n;
	size_t len;

	while ((len = buf_len(&s->out)) > 0) {
		n = s->end->ops->write(s->end, buf_ptr(&s->out), len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			break;
		if (n <= 0) {
			stream_reset(s, FRAME_CODE_ABORTED, strerror(errno));
			return 1;
		}
		buf_consume(&s->out, (size_t)n);
		stream_consumed(s, (size_t)n);
	}
	if (stream_maybe_shut(s))
		return 1;
	stream_update_events(s);
	return 0;
}

void
stream_end_writable(struct stream *s)
{
	stream_write_out(s);
}

/* One datagram: to the end at once or dropped by it, and its credit goes back either way. */
static void
stream_on_datagram(struct stream *s, const struct frame *f)
{
	ssize_t n = -1;

	if (f->payload_len > STREAM_DATAGRAM_MAX) {
		link_protocol_error(s->link, "stream %u: a datagram of %zu bytes (at most %d)",
		    s->id, f->payload_len, STREAM_DATAGRAM_MAX);
		return;
	}
	if (s->state == STREAM_OPEN)
		n = s->end->ops->write(s->end, f->payload, f->payload_len);
	if (n > 0)
		*s->ctr.local_written += (uint64_t)n;
	stream_credit_back(s, f->payload_len);
}

static void
stream_on_data(struct stream *s, const struct frame *f)
{
	ssize_t n = 0;

	if (f->payload_len > s->recv_left) {
		link_protocol_error(s->link, "stream %u: DATA of %zu bytes beyond the window (%u)",
		    s->id, f->payload_len, s->recv_left);
		return;
	}
	if (s->half[STREAM_RX] != HALF_OPEN) {
		link_protocol_error(s->link, "stream %u: DATA after CLOSE", s->id);
		return;
	}
	s->recv_left -= (uint32_t)f->payload_len;
	s->active_at = ev_now(link_loop(s->link));
	if (s->datagram) {
		stream_on_datagram(s, f);
		return;
	}
	if (s->state == STREAM_OPEN && buf_len(&s->out) == 0) {
		n = s->end->ops->write(s->end, f->payload, f->payload_len);
		if (n == -1 && errno != EAGAIN && errno != EINTR) {
			stream_reset(s, FRAME_CODE_ABORTED, strerror(errno));
			return;
		}
		if (n < 0)
			n = 0;
		stream_consumed(s, (size_t)n);
	}
	if ((size_t)n < f->payload_len) {
		buf_append(&s->out, f->payload + n, f->payload_len - (size_t)n);
		stream_update_events(s);
	}
}

static void
stream_on_window(struct stream *s, const struct frame *f)
{
	if (f->value > (uint64_t)INT32_MAX - s->credit) {
		link_protocol_error(s->link, "stream %u: WINDOW overflows the credit", s->id);
		return;
	}
	s->credit += (uint32_t)f->value;
	if (s->want_read)
		link_stream_ready(s->link, &s->sched, s->bulk);
	stream_update_events(s);
}

static void
stream_on_open_ok(struct stream *s)
{
	if (s->state != STREAM_OPENING) {
		link_protocol_error(s->link, "stream %u: unexpected OPEN_OK", s->id);
		return;
	}
	s->state = STREAM_OPEN;
	stream_idle_start(s);
	if (s->end->ops->opened != NULL)
		s->end->ops->opened(s->end);
	stream_write_out(s);
}

static void stream_on_eof(struct stream *s);

static void
stream_on_close(struct stream *s)
{
	if (s->half[STREAM_RX] != HALF_OPEN) {
		link_protocol_error(s->link, "stream %u: second CLOSE", s->id);
		return;
	}
	stream_set_half(s, STREAM_RX, HALF_DRAINING);
	if (stream_maybe_shut(s))
		return;
	/* A flow has no half-close: the peer ending it ends it for us too. */
	if (s->datagram && s->half[STREAM_TX] == HALF_OPEN)
		stream_on_eof(s);
}

static void
stream_on_reset(struct stream *s, const struct frame *f)
{
	char reason[FRAME_TEXT_MAX + 1];

	log_safe(f->text, f->text_len, reason, sizeof(reason));
	log_debug("%s: stream %u (%s, %s): peer reset: %s", link_label(s->link), s->id,
	    s->service, s->peer, reason);
	if (s->end->ops->reset != NULL)
		s->end->ops->reset(s->end, (uint32_t)f->value, f->text, f->text_len);
	stream_destroy(s);
}

void
stream_input(struct stream *s, const struct frame *f)
{
	switch (f->type) {
	case FRAME_DATA:
		stream_on_data(s, f);
		break;
	case FRAME_WINDOW:
		stream_on_window(s, f);
		break;
	case FRAME_OPEN_OK:
		stream_on_open_ok(s);
		break;
	case FRAME_CLOSE:
		stream_on_close(s);
		break;
	case FRAME_RESET:
		stream_on_reset(s, f);
		break;
	default:
		link_protocol_error(s->link, "unexpected %s on stream %u",
		    frame_type_name(f->type), s->id);
		break;
	}
}

/* The end's input ended: CLOSE goes out, and the stream may be done. */
static void
stream_on_eof(struct stream *s)
{
	stream_set_half(s, STREAM_TX, HALF_CLOSED);
	stream_send(s, FRAME_CLOSE, 0, NULL);
	if (!stream_maybe_finish(s))
		stream_update_events(s);
}

/* How many bytes the next DATA may carry, within the credit. */
static size_t
stream_want(const struct stream *s, size_t room)
{
	size_t want;

	/* A datagram goes whole or not at all, whatever the room. */
	if (s->datagram)
		return s->credit < STREAM_DATAGRAM_MAX ? s->credit : STREAM_DATAGRAM_MAX;
	/* Fill the flush's room, but no frame so small its header dominates. */
	want = room > STREAM_FRAME_MIN ? room : STREAM_FRAME_MIN;
	if (want > link_data_max(s->link))
		want = link_data_max(s->link);
	return want > s->credit ? s->credit : want;
}

int
stream_produce(struct stream *s, struct buf *out, size_t room)
{
	uint8_t hdr[FRAME_ENC_MAX], *p;
	struct frame f;
	size_t want, hlen;
	ssize_t n;

	if (!s->want_read || s->credit == 0)
		return 0;
	want = stream_want(s, room);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_DATA;
	f.stream = s->id;
	f.payload_len = want;
	hlen = frame_encode_header(hdr, &f);
	p = buf_reserve(out, hlen + want);
	n = s->end->ops->read(s->end, p + hlen, want);
	if (n > 0) {
		f.payload_len = (size_t)n;
		frame_encode_header(p, &f);
		buf_commit(out, hlen + (size_t)n);
		s->credit -= (uint32_t)n;
		s->active_at = ev_now(link_loop(s->link));
		*s->ctr.local_read += (uint64_t)n;
		/* A flow may hold more datagrams: it keeps its turn until a read finds none. */
		s->bulk = s->datagram || (size_t)n == want;
		if (s->bulk && s->credit > 0)
			return 1;
		s->want_read = 0;
		stream_update_events(s);
		return 0;
	}
	s->want_read = 0;
	if (n == -1 && (errno == EAGAIN || errno == EINTR)) {
		stream_update_events(s);
		return 0;
	}
	if (n == -1) {
		stream_reset(s, FRAME_CODE_ABORTED, strerror(errno));
		return 0;
	}
	stream_on_eof(s);
	return 0;
}

void
stream_end_readable(struct stream *s)
{
	s->want_read = 1;
	stream_update_events(s);
	link_stream_ready(s->link, &s->sched, s->bulk);
}

void
stream_end_connected(struct stream *s, int err)
{
	char why[FRAME_TEXT_MAX];

	if (err != 0) {
		snprintf(why, sizeof(why), "connect failed: %s", strerror(err));
		log_warn("%s: service %s: %s", link_label(s->link), s->service, why);
		if (s->ctr.connect_failed != NULL)
			(*s->ctr.connect_failed)++;
		stream_reset(s, FRAME_CODE_CONNECT, why);
		return;
	}
	s->state = STREAM_OPEN;
	stream_idle_start(s);
	stream_send(s, FRAME_OPEN_OK, 0, NULL);
	stream_write_out(s);
}

/* The idle check: re-arm for the rest of the timeout, or end the silent stream. */
static void
stream_idle_cb(struct stream *s)
{
	struct ev_loop *loop = link_loop(s->link);
	const struct link_counters *lc = link_params(s->link)->counters;
	double left = s->active_at + s->idle_timeout - ev_now(loop);
	char why[64];

	if (left > 0) {
		ev_timer_set(&s->open_w, left, 0.0);
		ev_timer_start(loop, &s->open_w);
		return;
	}
	/* A UDP flow's silence is its normal end, not a timeout that reset anything. */
	if (s->end->ops->idle != NULL && s->end->ops->idle(s->end)) {
		log_debug("%s: service %s: stream %u from %s: idle for %gs, ending", link_label(s->link),
		    s->service, s->id, s->peer, s->idle_timeout);
		return;
	}
	if (lc->idle_timeouts != NULL)
		(*lc->idle_timeouts)++;
	snprintf(why, sizeof(why), "idle for %gs (idle_timeout)", s->idle_timeout);
	log_info("%s: service %s: stream %u from %s: %s; reset", link_label(s->link), s->service,
	    s->id, s->peer, why);
	stream_reset(s, FRAME_CODE_TIMEOUT, why);
}

static void
stream_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stream *s = w->data;
	const char *why = s->state == STREAM_CONNECTING ? "connect to the target timed out" :
	    "the agent did not answer OPEN within open_timeout";

	if (s->state == STREAM_OPEN) {
		stream_idle_cb(s);
		return;
	}
	log_warn("%s: service %s: stream %u from %s: %s", link_label(s->link), s->service, s->id,
	    s->peer, why);
	(*link_params(s->link)->counters->open_timeouts)++;
	stream_reset(s, FRAME_CODE_TIMEOUT, why);
}
