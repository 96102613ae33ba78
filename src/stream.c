/*
 * Streams: the local socket of one user connection and its two directions.
 *
 * Local -> link: the read watcher only notes that the socket is readable and
 * puts the stream on the link's ready list; the link's flush then reads at
 * most one frame's worth, within the peer's credit, straight into its output.
 * Link -> local: DATA is written to the socket at once when it takes it, and
 * buffered (at most one window) when it does not; credit goes back to the
 * peer as bytes reach the socket.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "config.h"
#include "link.h"
#include "log.h"
#include "proxyproto.h"
#include "stream.h"
#include "xmalloc.h"

enum stream_state {
	STREAM_CONNECTING,   /* agent: connecting to the local target */
	STREAM_OPENING,      /* server: OPEN sent, waiting for OPEN_OK */
	STREAM_OPEN,
};

struct stream {
	struct link *link;
	uint32_t id;
	int fd;
	enum stream_state state;
	ev_io rio, wio;
	ev_timer open_w;         /* open (server) or connect (agent) deadline */

	int in_eof;              /* local socket read EOF: CLOSE queued */
	int close_sent;
	int peer_closed;         /* CLOSE received */
	int out_shut;            /* local write side shut down after draining */
	int want_read;           /* local socket readable, waiting for the flush */
	int bulk;                /* last read filled a whole frame: schedule at the tail */

	struct buf out;          /* DATA waiting for the local socket */
	uint32_t credit;         /* bytes we may still send */
	uint32_t recv_left;      /* bytes the peer may still send */
	uint32_t recv_done;      /* bytes consumed since the last WINDOW */
	uint32_t window;         /* the receive window granted now (grows, see stream.c) */
	ev_tstamp window_at;     /* when the last WINDOW was sent */
	uint32_t uncounted;      /* leading bytes of out that are ours (PROXY header), not credit */

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

static void stream_read_cb(struct ev_loop *loop, ev_io *w, int revents);
static void stream_write_cb(struct ev_loop *loop, ev_io *w, int revents);
static void stream_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents);

static struct stream *
stream_alloc(struct link *l, uint32_t id, int fd, const char *service, const char *peer,
    const struct stream_counters *ctr)
{
	struct stream *s;

	s = xcalloc(1, sizeof(*s));
	s->ctr = *ctr;
	s->link = l;
	s->id = id;
	s->fd = fd;
	/* Until both directions end cleanly, any close (ours or the kernel's) is a reset. */
	net_set_abortive(fd, 1);
	s->credit = link_peer_window(l);
	s->recv_left = s->window = link_params(l)->stream_window;
	s->window_at = ev_now(link_loop(l));
	snprintf(s->service, sizeof(s->service), "%s", service);
	snprintf(s->peer, sizeof(s->peer), "%s", peer);
	buf_init(&s->out);
	ev_io_init(&s->rio, stream_read_cb, fd, EV_READ);
	ev_io_init(&s->wio, stream_write_cb, fd, EV_WRITE);
	ev_init(&s->open_w, stream_timeout_cb);
	s->rio.data = s->wio.data = s->open_w.data = s;
	link_add_stream(l, id, s, &s->sched);
	return s;
}

/* Derive the local socket's watchers from the stream's state, in one place. */
static void
stream_update_events(struct stream *s)
{
	struct ev_loop *loop = link_loop(s->link);
	int r, w;

	r = s->state != STREAM_CONNECTING && !s->in_eof && !s->want_read && s->credit > 0;
	w = s->state == STREAM_CONNECTING || (s->state == STREAM_OPEN && buf_len(&s->out) > 0);
	if (r && !ev_is_active(&s->rio))
		ev_io_start(loop, &s->rio);
	else if (!r && ev_is_active(&s->rio))
		ev_io_stop(loop, &s->rio);
	if (w && !ev_is_active(&s->wio))
		ev_io_start(loop, &s->wio);
	else if (!w && ev_is_active(&s->wio))
		ev_io_stop(loop, &s->wio);
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
stream_new_user(struct link *l, int fd, const char *service, const char *peer,
    const struct stream_counters *ctr, double open_timeout)
{
	struct stream *s;

	struct net_addr local;
	char dest[NET_ADDRSTRLEN];
	struct frame f;

	s = stream_alloc(l, link_next_stream_id(l), fd, service, peer, ctr);
	s->state = STREAM_OPENING;
	net_set_nodelay(fd);
	local.len = sizeof(local.ss);
	if (getsockname(fd, (struct sockaddr *)&local.ss, &local.len) == -1)
		snprintf(dest, sizeof(dest), "unknown");
	else
		net_addr_str((const struct sockaddr *)&local.ss, dest);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_OPEN;
	f.stream = s->id;
	f.text = service;
	f.text_len = strlen(service);
	f.peer = peer;
	f.peer_len = strlen(peer);
	f.dest = dest;
	f.dest_len = strlen(dest);
	link_send_frame(l, &f);
	ev_timer_set(&s->open_w, open_timeout, 0.0);
	ev_timer_start(link_loop(l), &s->open_w);
	/* The user may speak first: its bytes go out right behind OPEN. */
	stream_update_events(s);
	return s;
}

/* Queue a PROXY protocol header as the first bytes the target will read. */
static void
stream_proxy_header(struct stream *s, enum proxyproto_version v, const char *peer,
    const char *dest)
{
	struct net_addr src, dst;
	uint8_t hdr[PROXYPROTO_MAX];
	size_t n;

	if (net_parse_numeric(peer, &src) == -1 || net_parse_numeric(dest, &dst) == -1)
		src.ss.ss_family = dst.ss.ss_family = AF_UNSPEC;
	n = proxyproto_encode(v, (struct sockaddr *)&src.ss, (struct sockaddr *)&dst.ss, hdr);
	buf_append(&s->out, hdr, n);
	s->uncounted = (uint32_t)n;
}

struct stream *
stream_new_target(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const struct net_addr *target, enum proxyproto_version proxy,
    const struct stream_counters *ctr, double connect_timeout)
{
	struct stream *s;
	char addr[NET_ADDRSTRLEN], why[FRAME_TEXT_MAX];
	int fd;

	if ((fd = net_connect(target)) == -1) {
		net_addr_str((const struct sockaddr *)&target->ss, addr);
		snprintf(why, sizeof(why), "connect to %s: %s", addr, strerror(errno));
		log_warn("%s: service %s: %s", link_label(l), service, why);
		link_send_reset(l, id, FRAME_CODE_CONNECT, why);
		(*ctr->connect_failed)++;
		return NULL;
	}
	s = stream_alloc(l, id, fd, service, peer, ctr);
	s->state = STREAM_CONNECTING;
	if (proxy != PROXYPROTO_NONE)
		stream_proxy_header(s, proxy, peer, dest);
	ev_timer_set(&s->open_w, connect_timeout, 0.0);
	ev_timer_start(link_loop(l), &s->open_w);
	stream_update_events(s);
	return s;
}

const struct stream_counters *
stream_counters(const struct stream *s)
{
	return &s->ctr;
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
	struct ev_loop *loop = link_loop(s->link);

	ev_io_stop(loop, &s->rio);
	ev_io_stop(loop, &s->wio);
	ev_timer_stop(loop, &s->open_w);
	close(s->fd);
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
	stream_destroy(s);
}

/* End the stream once both directions are closed and drained; 1 if it ended. */
static int
stream_maybe_finish(struct stream *s)
{
	if (s->close_sent && s->out_shut) {
		log_debug("%s: stream %u (%s, %s): closed", link_label(s->link), s->id, s->service,
		    s->peer);
		/* Both sides' own half-closes ended it: the only close that is a FIN. */
		net_set_abortive(s->fd, 0);
		stream_destroy(s);
		return 1;
	}
	return 0;
}

/* Bytes reached the local socket (or were discarded): return credit at half a window. */
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

static void
stream_consumed(struct stream *s, size_t n)
{
	size_t ours = n < s->uncounted ? n : s->uncounted;
	uint32_t inc;

	s->uncounted -= (uint32_t)ours;
	*s->ctr.local_written += n - ours;
	s->recv_done += (uint32_t)(n - ours);
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

/* Shut the local write side once the peer closed and everything was written. */
static int
stream_maybe_shut(struct stream *s)
{
	if (!s->peer_closed || s->out_shut || buf_len(&s->out) > 0 || s->state != STREAM_OPEN)
		return 0;
	(void)shutdown(s->fd, SHUT_WR);
	s->out_shut = 1;
	return stream_maybe_finish(s);
}

/* Write buffered output; 1 if the stream was destroyed. */
static int
stream_write_out(struct stream *s)
{
	ssize_t n;
	size_t len;

	while ((len = buf_len(&s->out)) > 0) {
		n = write(s->fd, buf_ptr(&s->out), len);
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

static void
stream_on_data(struct stream *s, const struct frame *f)
{
	ssize_t n = 0;

	if (f->payload_len > s->recv_left) {
		link_protocol_error(s->link, "stream %u: DATA of %zu bytes beyond the window (%u)",
		    s->id, f->payload_len, s->recv_left);
		return;
	}
	if (s->peer_closed) {
		link_protocol_error(s->link, "stream %u: DATA after CLOSE", s->id);
		return;
	}
	s->recv_left -= (uint32_t)f->payload_len;
	if (s->state == STREAM_OPEN && buf_len(&s->out) == 0) {
		n = write(s->fd, f->payload, f->payload_len);
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
	ev_timer_stop(link_loop(s->link), &s->open_w);
	stream_write_out(s);
}

static void
stream_on_close(struct stream *s)
{
	if (s->peer_closed) {
		link_protocol_error(s->link, "stream %u: second CLOSE", s->id);
		return;
	}
	s->peer_closed = 1;
	stream_maybe_shut(s);
}

static void
stream_on_reset(struct stream *s, const struct frame *f)
{
	char reason[FRAME_TEXT_MAX * 4 + 1];

	log_safe(f->text, f->text_len, reason, sizeof(reason));
	log_debug("%s: stream %u (%s, %s): peer reset: %s", link_label(s->link), s->id, s->service,
	    s->peer, reason);
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

int
stream_produce(struct stream *s, struct buf *out, size_t room)
{
	uint8_t hdr[FRAME_ENC_MAX], *p;
	struct frame f;
	size_t want, hlen;
	ssize_t n;

	if (!s->want_read || s->credit == 0)
		return 0;
	/* Fill the flush's room, but no frame so small its header dominates. */
	want = room > STREAM_FRAME_MIN ? room : STREAM_FRAME_MIN;
	if (want > link_data_max(s->link))
		want = link_data_max(s->link);
	if (want > s->credit)
		want = s->credit;
	memset(&f, 0, sizeof(f));
	f.type = FRAME_DATA;
	f.stream = s->id;
	f.payload_len = want;
	hlen = frame_encode_header(hdr, &f);
	p = buf_reserve(out, hlen + want);
	n = read(s->fd, p + hlen, want);
	if (n > 0) {
		f.payload_len = (size_t)n;
		frame_encode_header(p, &f);
		buf_commit(out, hlen + (size_t)n);
		s->credit -= (uint32_t)n;
		*s->ctr.local_read += (uint64_t)n;
		s->bulk = (size_t)n == want;
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
	s->in_eof = 1;
	s->close_sent = 1;
	stream_send(s, FRAME_CLOSE, 0, NULL);
	if (!stream_maybe_finish(s))
		stream_update_events(s);
	return 0;
}

static void
stream_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream *s = w->data;

	s->want_read = 1;
	stream_update_events(s);
	link_stream_ready(s->link, &s->sched, s->bulk);
}

static void
stream_connected(struct stream *s)
{
	int err = net_socket_error(s->fd);
	char why[FRAME_TEXT_MAX];

	if (err != 0) {
		snprintf(why, sizeof(why), "connect failed: %s", strerror(err));
		log_warn("%s: service %s: %s", link_label(s->link), s->service, why);
		(*s->ctr.connect_failed)++;
		link_send_reset(s->link, s->id, FRAME_CODE_CONNECT, why);
		stream_destroy(s);
		return;
	}
	ev_timer_stop(link_loop(s->link), &s->open_w);
	net_set_nodelay(s->fd);
	s->state = STREAM_OPEN;
	stream_send(s, FRAME_OPEN_OK, 0, NULL);
	stream_write_out(s);
}

static void
stream_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct stream *s = w->data;

	if (s->state == STREAM_CONNECTING)
		stream_connected(s);
	else
		stream_write_out(s);
}

static void
stream_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct stream *s = w->data;
	char why[96];

	if (s->state == STREAM_CONNECTING)
		snprintf(why, sizeof(why), "connect to the target timed out");
	else
		snprintf(why, sizeof(why), "the agent did not answer OPEN within open_timeout");
	log_warn("%s: service %s: stream %u from %s: %s", link_label(s->link), s->service, s->id,
	    s->peer, why);
	(*link_params(s->link)->counters->open_timeouts)++;
	link_send_reset(s->link, s->id, FRAME_CODE_TIMEOUT, why);
	stream_destroy(s);
}
