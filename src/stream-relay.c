/*
 * The relay (stream-relay.h): two stream ends, one in each joined stream,
 * over two pipes. pipe[i] holds what end i took from its stream (the bytes
 * its peer sent) until the other end's stream reads them for its own peer.
 * An end's write takes only what fits, so a full pipe leaves the bytes in the
 * writing stream, which then returns no credit to its peer; an end's read
 * takes from the other pipe. A shutdown marks the pipe's end of input, which
 * the reader sees as EOF once the pipe is empty.
 *
 * The streams call their ends from anywhere: from link input (io callbacks),
 * and, for read, from inside the link's flush, which runs in an ev_prepare
 * watcher. Telling the other stream there at once would be wrong twice over:
 * that stream may be mid-call or being destroyed (a link closing destroys
 * its streams one by one), and it would kick the other link's flush, starting
 * an ev_prepare during the prepare phase, which libev runs only after the next
 * poll: that flush would wait for some unrelated event. Writes from link input
 * could tell the other stream at once, but a dying link's io callback destroys
 * streams too, and one deferred path for every change is simpler to prove
 * right than a safe subset of direct calls. So an end never calls
 * into the other stream: it records what changed and arms the relay's
 * ev_check. The ev_idle started with it keeps that poll from blocking (libev
 * polls with a zero timeout while an idle watcher is active), so the check
 * runs right after it in the same loop turn, or in the next turn when armed
 * from an io callback; it stops both and tells the streams from a point where
 * nothing of theirs is on the stack. Everything a link does from there (a
 * kick, a WINDOW, an OPEN_OK) is flushed by the next prepare phase. The cost
 * is at most one non-blocking turn of the loop per notification. The relay
 * never touches a link, only streams whose ends it still has, so the links'
 * own deferred frees may run before or after its check.
 *
 * Readiness is level-triggered, like a socket's: the check tells a stream its
 * end is readable or writable whenever it wants that and the pipe allows it,
 * and an end re-arms the check whenever the stream asks for what is already
 * possible, so nothing depends on catching an edge.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "frame.h"
#include "link.h"
#include "stream-relay.h"
#include "stream.h"
#include "xmalloc.h"

enum {
	RELAY_FROM,              /* the end in the stream the peer of `from` opened */
	RELAY_TO,                /* the end in the stream opened on `to` */
};

struct stream_relay;

struct relay_end {
	struct stream_end e;     /* first: what the stream holds */
	struct stream_relay *r;
	int want_read, want_write;
	int opened;              /* its stream got OPEN_OK; the other is not yet told */
	int gone;                /* its stream is destroyed */
};

/* A bounded ring of bytes, allocated only while it holds some. */
struct relay_pipe {
	uint8_t *data;
	size_t head, len;
	int eof;                 /* the writer's stream shut down: no more bytes */
};

struct stream_relay {
	struct ev_loop *loop;
	struct relay_end end[2];
	struct relay_pipe pipe[2];  /* pipe[i]: taken by end i, read by end !i */
	size_t peak;

	int cut;                 /* a stream ended uncleanly: the other is to be reset */
	int cut_from;            /* which end's stream it was */
	int have_reason;
	uint32_t code;
	char reason[FRAME_TEXT_MAX + 1];

	ev_check notify_w;       /* tells the streams what changed; see the top */
	ev_idle wake_w;          /* keeps the poll before notify_w from blocking */
	void (*ended)(void *arg);
	void *arg;
};

/* Schedule the check (see the top of the file for why never a direct call). */
static void
relay_arm(struct stream_relay *r)
{
	if (ev_is_active(&r->notify_w))
		return;
	ev_check_start(r->loop, &r->notify_w);
	ev_idle_start(r->loop, &r->wake_w);
}

static struct relay_end *
end_of(struct stream_end *e)
{
	return (struct relay_end *)e;
}

static int
end_index(const struct relay_end *re)
{
	return re == &re->r->end[RELAY_TO];
}

/* The end can read: bytes, or the end of input, wait in the other's pipe. */
static int
can_read(const struct stream_relay *r, int i)
{
	const struct relay_pipe *p = &r->pipe[!i];

	return !r->cut && (p->len > 0 || p->eof);
}

/* The end can write: its own pipe has room. */
static int
can_write(const struct stream_relay *r, int i)
{
	return !r->cut && r->pipe[i].len < STREAM_RELAY_BUF;
}

/* Arm the check if end i's stream wants what is possible now. */
static void
relay_poke(struct stream_relay *r, int i)
{
	const struct relay_end *re = &r->end[i];

	if (re->gone)
		return;
	if ((re->want_read && can_read(r, i)) || (re->want_write && can_write(r, i)))
		relay_arm(r);
}

static ssize_t
relay_write(struct stream_end *e, const void *p, size_t len)
{
	struct relay_end *re = end_of(e);
	struct stream_relay *r = re->r;
	struct relay_pipe *q = &r->pipe[end_index(re)];
	size_t n, tail, first;

	if (!can_write(r, end_index(re))) {
		errno = EAGAIN;
		return -1;
	}
	n = STREAM_RELAY_BUF - q->len < len ? STREAM_RELAY_BUF - q->len : len;
	if (q->data == NULL)
		q->data = xmalloc(STREAM_RELAY_BUF);
	tail = (q->head + q->len) % STREAM_RELAY_BUF;
	first = STREAM_RELAY_BUF - tail < n ? STREAM_RELAY_BUF - tail : n;
	memcpy(q->data + tail, p, first);
	memcpy(q->data, (const uint8_t *)p + first, n - first);
	q->len += n;
	if (q->len > r->peak)
		r->peak = q->len;
	relay_poke(r, !end_index(re));
	return (ssize_t)n;
}

static ssize_t
relay_read(struct stream_end *e, void *p, size_t len)
{
	struct relay_end *re = end_of(e);
	struct stream_relay *r = re->r;
	struct relay_pipe *q = &r->pipe[!end_index(re)];
	size_t n, first;

	if (r->cut || (q->len == 0 && !q->eof)) {
		errno = EAGAIN;
		return -1;
	}
	if (q->len == 0)
		return 0;
	n = q->len < len ? q->len : len;
	first = STREAM_RELAY_BUF - q->head < n ? STREAM_RELAY_BUF - q->head : n;
	memcpy(p, q->data + q->head, first);
	memcpy((uint8_t *)p + first, q->data, n - first);
	q->head = (q->head + n) % STREAM_RELAY_BUF;
	q->len -= n;
	/* Memory follows data in flight: a drained pipe costs nothing. */
	if (q->len == 0) {
		free(q->data);
		q->data = NULL;
		q->head = 0;
	}
	relay_poke(r, !end_index(re));
	return (ssize_t)n;
}

static void
relay_shutdown(struct stream_end *e)
{
	struct relay_end *re = end_of(e);

	re->r->pipe[end_index(re)].eof = 1;
	relay_poke(re->r, !end_index(re));
}

static void
relay_want(struct stream_end *e, int read, int write)
{
	struct relay_end *re = end_of(e);

	re->want_read = read;
	re->want_write = write;
	relay_poke(re->r, end_index(re));
}

static void
relay_opened(struct stream_end *e)
{
	struct relay_end *re = end_of(e);

	re->opened = 1;
	relay_arm(re->r);
}

/* The first reset's code and reason are what the other stream is reset with. */
static void
relay_reset(struct stream_end *e, uint32_t code, const char *reason, size_t len)
{
	struct stream_relay *r = end_of(e)->r;

	if (r->cut || r->have_reason)
		return;
	/* Sent on as a string: it ends at a NUL, as any reason we send does. */
	if (len > FRAME_TEXT_MAX)
		len = FRAME_TEXT_MAX;
	memcpy(r->reason, reason, len);
	r->reason[len] = '\0';
	r->code = code;
	r->have_reason = 1;
}

static void
relay_close(struct stream_end *e, int clean)
{
	struct relay_end *re = end_of(e);
	struct stream_relay *r = re->r;

	re->gone = 1;
	re->want_read = re->want_write = 0;
	if (!clean && !r->cut) {
		r->cut = 1;
		r->cut_from = end_index(re);
		/* No reset came first: the stream's link went away under it. */
		if (!r->have_reason) {
			r->code = FRAME_CODE_ABORTED;
			snprintf(r->reason, sizeof(r->reason), "%s",
			    "relayed stream lost: the link to its peer closed");
		}
	}
	/* The other stream is told, or the relay ends, from the check. */
	relay_arm(r);
}

static const struct stream_end_ops relay_ops = {
	.read = relay_read,
	.write = relay_write,
	.shutdown = relay_shutdown,
	.want = relay_want,
	.close = relay_close,
	.opened = relay_opened,
	.reset = relay_reset,
};

/* Tell end i's stream what it waits for and the pipes now allow. */
static void
relay_tell(struct stream_relay *r, int i)
{
	struct relay_end *re = &r->end[i], *other = &r->end[!i];

	if (re->gone)
		return;
	/* The far side accepted: now the stream that waited for it is connected. */
	if (other->opened) {
		other->opened = 0;
		stream_end_connected(re->e.s, 0);
		if (re->gone || r->cut)
			return;
	}
	if (re->want_read && can_read(r, i))
		stream_end_readable(re->e.s);
	/* stream_end_readable() never destroys; stream_end_writable() may (a clean end). */
	if (!re->gone && re->want_write && can_write(r, i))
		stream_end_writable(re->e.s);
}

static void
relay_free(struct stream_relay *r)
{
	void (*ended)(void *) = r->ended;
	void *arg = r->arg;

	ev_check_stop(r->loop, &r->notify_w);
	ev_idle_stop(r->loop, &r->wake_w);
	free(r->pipe[0].data);
	free(r->pipe[1].data);
	free(r);
	ended(arg);
}

static void
relay_notify_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	struct stream_relay *r = w->data;
	struct relay_end *other;
	int i;

	ev_check_stop(loop, w);
	ev_idle_stop(loop, &r->wake_w);
	if (r->cut) {
		/* Never a clean end for a cut stream: the other is reset, what it held dropped. */
		other = &r->end[!r->cut_from];
		if (!other->gone)
			stream_reset(other->e.s, (enum frame_code)r->code, r->reason);
	} else {
		for (i = 0; i < 2 && !r->cut; i++)
			relay_tell(r, i);
	}
	if (r->end[0].gone && r->end[1].gone)
		relay_free(r);
}

/* Nothing to do: while active it only keeps the loop from blocking before notify_w. */
static void
relay_wake_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
}

struct stream_relay *
stream_relay_join(struct link *from, uint32_t id, const struct stream_conf *cfrom,
    struct link *to, const struct stream_conf *cto, void (*ended)(void *arg), void *arg)
{
	struct stream_relay *r = xcalloc(1, sizeof(*r));
	int i;

	r->loop = link_loop(from);
	r->ended = ended;
	r->arg = arg;
	for (i = 0; i < 2; i++) {
		r->end[i].e.ops = &relay_ops;
		r->end[i].r = r;
	}
	ev_check_init(&r->notify_w, relay_notify_cb);
	ev_idle_init(&r->wake_w, relay_wake_cb);
	r->notify_w.data = r->wake_w.data = r;
	/* Accept first: the peer's next frames for id must find the stream. */
	stream_accept(from, id, &r->end[RELAY_FROM].e, 1, cfrom);
	stream_open(to, &r->end[RELAY_TO].e, cto);
	return r;
}

size_t
stream_relay_queued(const struct stream_relay *r, int towards_to)
{
	return r->pipe[towards_to ? RELAY_FROM : RELAY_TO].len;
}

size_t
stream_relay_peak(const struct stream_relay *r)
{
	return r->peak;
}
