/*
 * Unit tests of src/stream-relay.c over real links: in one process and one
 * loop, a "server" holding two server-role links, one to client link A (the
 * visitor) and one to client link B (the service's agent), joined by loopback
 * TCP connections. A's streams are opened with socketpair ends, whose far
 * sides the test drives; B's open handler serves each stream with a
 * socketpair end too (or refuses the connect, or never answers). Every stream
 * end of A and B is wrapped in a probe that records how the stream ended:
 * cleanly, or reset with which code and reason.
 * Covers bytes both ways, 200 concurrent echoes, a reader that never reads
 * stalling only its own stream within a bounded buffer, round trips that never
 * wait for an unrelated event in a blocking loop, half-close each way,
 * a refused connect's reason reaching A, either link dying, a reset from A,
 * and a timeout on either side.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "control.h"
#include "frame.h"
#include "link.h"
#include "loopback.h"
#include "net.h"
#include "stream-relay.h"
#include "stream-sock.h"
#include "stream.h"
#include "transport.h"

#define WINDOW (64 * 1024)
#define MAXS 256

/* A stream end that passes everything to a socket end and records how its stream ended. */
struct probe {
	struct stream_end e;
	struct stream_end *inner;
	struct stream *s;
	int closed, clean, reset;
	uint32_t code;
	char reason[FRAME_TEXT_MAX + 1];
};

/* How B's agent serves an OPEN. */
enum svc_mode {
	SVC_PAIR,                /* a socketpair end the test drives */
	SVC_REFUSE,              /* a connect to a closed port */
	SVC_SILENT,              /* no answer at all */
};

enum { SRV_A, CLI_A, SRV_B, CLI_B, NLINKS };

struct fixture {
	struct ev_loop *loop;
	struct link *l[NLINKS];
	int closed[NLINKS];
	enum svc_mode mode;
	struct net_addr refused;   /* where nothing listens */
	double open_timeout;       /* the relay's wait for B's OPEN_OK */
	double connect_timeout;    /* the relay's own deadline for the stream A opened */
	struct probe user[MAXS];   /* A's streams */
	int user_fd[MAXS], nuser;
	struct probe svc[MAXS];    /* B's streams */
	int svc_fd[MAXS], nsvc;
	struct stream_relay *relay[MAXS];
	int ended[MAXS], nrelay, relays_live;
	double streams_open;
	uint64_t streams_total, protocol_errors, open_timeouts;
	uint64_t bytes[4][2];      /* local read/written: user, relay from, relay to, svc */
	struct link_counters lc;
	struct stream_counters sc[4];
};

static struct fixture fx;

static struct probe *
probe_of(struct stream_end *e)
{
	return (struct probe *)e;
}

static ssize_t
probe_read(struct stream_end *e, void *p, size_t len)
{
	return probe_of(e)->inner->ops->read(probe_of(e)->inner, p, len);
}

static ssize_t
probe_write(struct stream_end *e, const void *p, size_t len)
{
	return probe_of(e)->inner->ops->write(probe_of(e)->inner, p, len);
}

static void
probe_shutdown(struct stream_end *e)
{
	probe_of(e)->inner->ops->shutdown(probe_of(e)->inner);
}

static void
probe_want(struct stream_end *e, int read, int write)
{
	probe_of(e)->inner->ops->want(probe_of(e)->inner, read, write);
}

static void
probe_close(struct stream_end *e, int clean)
{
	struct probe *p = probe_of(e);

	p->closed = 1;
	p->clean = clean;
	p->s = NULL;
	p->inner->ops->close(p->inner, clean);
}

static void
probe_reset(struct stream_end *e, uint32_t code, const char *reason, size_t len)
{
	struct probe *p = probe_of(e);

	p->reset = 1;
	p->code = code;
	snprintf(p->reason, sizeof(p->reason), "%.*s", (int)len, reason);
}

static const struct stream_end_ops probe_ops = {
	.read = probe_read,
	.write = probe_write,
	.shutdown = probe_shutdown,
	.want = probe_want,
	.close = probe_close,
	.reset = probe_reset,
};

static struct stream_end *
probe_wrap(struct probe *p, struct stream_end *inner)
{
	memset(p, 0, sizeof(*p));
	p->e.ops = &probe_ops;
	p->inner = inner;
	return &p->e;
}

/* The socket end reports to the stream the probe was given to. */
static void
probe_bind(struct probe *p, struct stream *s)
{
	p->s = s;
	p->inner->s = s;
}

static int
link_index(const struct link *l)
{
	int i;

	for (i = 0; i < NLINKS; i++)
		if (fx.l[i] == l)
			return i;
	ck_abort_msg("unknown link");
	return -1;
}

static void
on_control(struct link *l, Rtun__Control *msg)
{
	control_free(msg);
}

static void
on_closed(struct link *l, const char *reason)
{
	fx.closed[link_index(l)] = 1;
}

static void
on_relay_ended(void *arg)
{
	int i = (int)((int *)arg - fx.ended);

	ck_assert(!fx.ended[i]);
	fx.ended[i] = 1;
	fx.relay[i] = NULL;
	fx.relays_live--;
}

/* The server: a visitor's stream on link A is relayed to the service's agent on link B. */
static void
on_relay_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest)
{
	struct stream_conf cf = { service, peer, dest, &fx.sc[1], fx.connect_timeout, 0, 0 };
	struct stream_conf ct = { service, peer, dest, &fx.sc[2], fx.open_timeout, 0, 0 };
	int i = fx.nrelay++;

	ck_assert_int_lt(i, MAXS);
	fx.relays_live++;
	fx.relay[i] = stream_relay_join(l, id, &cf, fx.l[SRV_B], &ct, on_relay_ended,
	    &fx.ended[i]);
}

/* B's agent: serve the stream as the test's mode says. */
static void
on_service_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest)
{
	struct stream_conf c = { service, peer, dest, &fx.sc[3], 5.0, 0, 0 };
	struct stream_end *end;
	char why[128];
	int fds[2], i = fx.nsvc;

	ck_assert_int_lt(i, MAXS);
	switch (fx.mode) {
	case SVC_SILENT:
		return;
	case SVC_REFUSE:
		end = stream_sock_connect(fx.loop, &fx.refused, PROXYPROTO_NONE, peer, dest);
		if (end == NULL) {
			/* Loopback may refuse at once; the agent then says the same. */
			snprintf(why, sizeof(why), "connect failed: %s", strerror(errno));
			link_send_reset(l, id, FRAME_CODE_CONNECT, why);
			return;
		}
		fx.svc_fd[i] = -1;
		fx.nsvc++;
		probe_bind(&fx.svc[i], stream_accept(l, id, probe_wrap(&fx.svc[i], end), 1, &c));
		return;
	case SVC_PAIR:
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		    fds), 0);
		fx.svc_fd[i] = fds[1];
		fx.nsvc++;
		end = probe_wrap(&fx.svc[i], stream_sock_accepted(fx.loop, fds[0]));
		probe_bind(&fx.svc[i], stream_accept(l, id, end, 0, &c));
		return;
	}
}

static const struct link_ops srv_a_ops = {
	.control = on_control, .open = on_relay_open, .closed = on_closed
};
static const struct link_ops srv_b_ops = { .control = on_control, .closed = on_closed };
static const struct link_ops cli_a_ops = { .control = on_control, .closed = on_closed };
static const struct link_ops cli_b_ops = {
	.control = on_control, .open = on_service_open, .closed = on_closed
};

static struct link *
make_link(int fd, int server, const struct link_ops *ops)
{
	struct link_params p = {
		.heartbeat_interval = 10,
		.heartbeat_timeout = 30,
		.stream_window = WINDOW,
		.max_streams = 512,
		.role = server ? LINK_SERVER : LINK_CLIENT,
		.counters = &fx.lc,
	};
	struct net_addr peer = { .len = 0 };
	struct link *l;

	peer.ss.ss_family = AF_INET;
	l = link_new(fx.loop, transport_tcp_new(fd), &peer, &p, ops, NULL);
	link_set_authed(l, WINDOW);
	return l;
}

static void
setup(void)
{
	int a[2], b[2], i, lfd;

	signal(SIGPIPE, SIG_IGN);
	memset(&fx, 0, sizeof(fx));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.lc.streams_open = &fx.streams_open;
	fx.lc.streams_total = &fx.streams_total;
	fx.lc.protocol_errors = &fx.protocol_errors;
	fx.lc.open_timeouts = &fx.open_timeouts;
	for (i = 0; i < 4; i++) {
		fx.sc[i].local_read = &fx.bytes[i][0];
		fx.sc[i].local_written = &fx.bytes[i][1];
	}
	fx.open_timeout = fx.connect_timeout = 5.0;
	/* A port nothing listens on: bound once, then closed. */
	lfd = loopback_listen(&fx.refused);
	close(lfd);
	loopback_pair(a);
	loopback_pair(b);
	fx.l[SRV_A] = make_link(a[0], 1, &srv_a_ops);
	fx.l[CLI_A] = make_link(a[1], 0, &cli_a_ops);
	fx.l[SRV_B] = make_link(b[0], 1, &srv_b_ops);
	fx.l[CLI_B] = make_link(b[1], 0, &cli_b_ops);
	/* The client ends open with the preface, as after a hello. */
	link_send_raw(fx.l[CLI_A], FRAME_PREFACE, FRAME_PREFACE_LEN);
	link_send_raw(fx.l[CLI_B], FRAME_PREFACE, FRAME_PREFACE_LEN);
}

/* Run the loop once without waiting long. */
static void
turn(void)
{
	ev_run(fx.loop, EVRUN_NOWAIT);
	usleep(50);
}

/* Turn the loop until *flag is set or secs pass; returns whether it was. */
static int
turn_until(const int *flag, double secs)
{
	double end = loopback_now() + secs;

	while (!*flag && loopback_now() < end)
		turn();
	return *flag;
}

static void
teardown(void)
{
	double end;
	int i;

	for (i = 0; i < NLINKS; i++)
		if (!fx.closed[i])
			link_close(fx.l[i], FRAME_CODE_NONE, "test over");
	/* Every relay ends once its streams are gone, from the loop. */
	for (end = loopback_now() + 2; fx.relays_live > 0 && loopback_now() < end;)
		turn();
	ev_run(fx.loop, EVRUN_NOWAIT);
	ck_assert_int_eq(fx.relays_live, 0);
	for (i = 0; i < fx.nuser; i++)
		close(fx.user_fd[i]);
	for (i = 0; i < fx.nsvc; i++)
		if (fx.svc_fd[i] != -1)
			close(fx.svc_fd[i]);
	ev_loop_destroy(fx.loop);
}

/* A's visitor opens a stream on link A; returns its index. */
static int
user_open(void)
{
	struct stream_conf c = { "svc", "192.0.2.1:4000", "192.0.2.2:22", &fx.sc[0], 5.0, 0, 0 };
	struct stream_end *end;
	int fds[2], i = fx.nuser++;

	ck_assert_int_lt(i, MAXS);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds),
	    0);
	fx.user_fd[i] = fds[1];
	end = probe_wrap(&fx.user[i], stream_sock_accepted(fx.loop, fds[0]));
	probe_bind(&fx.user[i], stream_open(fx.l[CLI_A], end, &c));
	return i;
}

/* Open n relayed streams and wait until B serves them all. */
static void
users_open(int n)
{
	double end = loopback_now() + 10;
	int i, want = fx.nsvc + n;

	for (i = 0; i < n; i++)
		user_open();
	while (fx.nsvc < want && loopback_now() < end)
		turn();
	ck_assert_int_eq(fx.nsvc, want);
}

/* The byte at offset i of the test pattern of seed. */
static uint8_t
pattern(size_t i, unsigned seed)
{
	return (uint8_t)((i * 131 + seed * 7 + (i >> 12) + (seed >> 3)) & 0xff);
}

/* A non-blocking pump: sends its pattern, then optionally shuts down; checks what it reads. */
struct pump {
	int fd;
	size_t to_send, sent, got;
	unsigned seed_out, seed_in;
	int hold;                /* do not shut down yet */
	int shut, eof, err, bad;
};

static void
pump_init(struct pump *p, int fd, size_t to_send, unsigned so, unsigned si)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->to_send = to_send;
	p->seed_out = so;
	p->seed_in = si;
}

static void
pump_step(struct pump *p, int reading)
{
	uint8_t b[16384];
	size_t i, n;
	ssize_t r;

	while (p->sent < p->to_send && !p->err) {
		n = p->to_send - p->sent < sizeof(b) ? p->to_send - p->sent : sizeof(b);
		for (i = 0; i < n; i++)
			b[i] = pattern(p->sent + i, p->seed_out);
		if ((r = write(p->fd, b, n)) <= 0) {
			p->err |= r == -1 && errno != EAGAIN;
			break;
		}
		p->sent += (size_t)r;
	}
	if (p->sent == p->to_send && !p->shut && !p->hold) {
		shutdown(p->fd, SHUT_WR);
		p->shut = 1;
	}
	while (reading && !p->eof && !p->err) {
		r = read(p->fd, b, sizeof(b));
		if (r == 0)
			p->eof = 1;
		else if (r == -1 && errno != EAGAIN)
			p->err = 1;
		if (r <= 0)
			break;
		for (i = 0; i < (size_t)r; i++)
			p->bad |= b[i] != pattern(p->got + i, p->seed_in);
		p->got += (size_t)r;
	}
}

static int
pump_done(const struct pump *p)
{
	return (p->shut || p->hold) && (p->eof || p->err);
}

/* Run two pumps until both are done or secs pass. */
static void
pump_pair(struct pump *a, struct pump *b, double secs)
{
	double end = loopback_now() + secs;

	while (!(pump_done(a) && pump_done(b)) && loopback_now() < end) {
		pump_step(a, 1);
		pump_step(b, 1);
		turn();
	}
}

/* Wait until every probe of A and B has closed (or secs pass). */
static int
wait_all_closed(double secs)
{
	double end = loopback_now() + secs;
	int i, open = 1;

	while (open && loopback_now() < end) {
		open = fx.relays_live > 0;
		for (i = 0; i < fx.nuser; i++)
			open |= !fx.user[i].closed;
		for (i = 0; i < fx.nsvc; i++)
			open |= !fx.svc[i].closed;
		if (open)
			turn();
	}
	return !open;
}

static void
assert_no_streams(void)
{
	int i;

	for (i = 0; i < NLINKS; i++)
		if (!fx.closed[i])
			ck_assert_uint_eq(link_nstreams(fx.l[i]), 0);
}

START_TEST(test_bytes_both_ways)
{
	struct pump user, svc;

	users_open(1);
	pump_init(&user, fx.user_fd[0], 5 << 20, 1, 2);
	pump_init(&svc, fx.svc_fd[0], 3 << 20, 2, 1);
	pump_pair(&user, &svc, 30);
	ck_assert(pump_done(&user) && pump_done(&svc));
	ck_assert_uint_eq(user.got, 3 << 20);
	ck_assert_uint_eq(svc.got, 5 << 20);
	ck_assert(!user.bad && !svc.bad && user.eof && svc.eof);
	ck_assert(wait_all_closed(5));
	/* Both sides' half-closes carried it: a clean end at A and at B. */
	ck_assert(fx.user[0].clean && !fx.user[0].reset);
	ck_assert(fx.svc[0].clean && !fx.svc[0].reset);
	ck_assert(fx.ended[0]);
	assert_no_streams();
	/* Both relayed streams counted their bytes: from A's stream to B's, and back. */
	ck_assert_uint_eq(fx.bytes[1][1], 5 << 20);
	ck_assert_uint_eq(fx.bytes[2][0], 5 << 20);
	ck_assert_uint_eq(fx.bytes[2][1], 3 << 20);
	ck_assert_uint_eq(fx.bytes[1][0], 3 << 20);
	ck_assert_uint_eq(fx.protocol_errors, 0);
}
END_TEST

/* An echo on B's side of one stream: what it reads it writes back, then its EOF. */
struct echo {
	int fd;
	uint8_t b[8192];
	size_t len, off;
	int eof, shut;
};

static void
echo_step(struct echo *e)
{
	ssize_t r;

	for (;;) {
		if (e->off == e->len && !e->eof) {
			e->off = e->len = 0;
			r = read(e->fd, e->b, sizeof(e->b));
			if (r == 0)
				e->eof = 1;
			if (r <= 0)
				break;
			e->len = (size_t)r;
		}
		if (e->off == e->len)
			break;
		if ((r = write(e->fd, e->b + e->off, e->len - e->off)) <= 0)
			break;
		e->off += (size_t)r;
	}
	if (e->eof && e->off == e->len && !e->shut) {
		shutdown(e->fd, SHUT_WR);
		e->shut = 1;
	}
}

START_TEST(test_200_concurrent_echoes)
{
	static struct pump user[200];
	static struct echo echo[200];
	size_t each = 48 * 1024;
	double end;
	int i, n = 200, done = 0;

	users_open(n);
	for (i = 0; i < n; i++) {
		pump_init(&user[i], fx.user_fd[i], each, 1000 + (unsigned)i, 1000 + (unsigned)i);
		memset(&echo[i], 0, sizeof(echo[i]));
		echo[i].fd = fx.svc_fd[i];
	}
	for (end = loopback_now() + 60; done < n && loopback_now() < end;) {
		for (i = 0, done = 0; i < n; i++) {
			pump_step(&user[i], 1);
			echo_step(&echo[i]);
			done += pump_done(&user[i]);
		}
		turn();
	}
	ck_assert_int_eq(done, n);
	for (i = 0; i < n; i++) {
		ck_assert_msg(user[i].got == each && !user[i].bad && user[i].eof,
		    "stream %d: got %zu of %zu, bad %d", i, user[i].got, each, user[i].bad);
	}
	ck_assert(wait_all_closed(10));
	for (i = 0; i < n; i++) {
		ck_assert(fx.user[i].clean && fx.svc[i].clean);
		ck_assert(fx.ended[i]);
	}
	assert_no_streams();
}
END_TEST

/*
 * Small request/response rounds driven entirely by the loop, which blocks in
 * poll between events as a daemon's does: a notification that waited for an
 * unrelated event (a flush started where libev runs it only after the next
 * poll) would hold a round until the next heartbeat, 10 s away.
 */
#define PP_MSG 64

struct pingpong {
	ev_io user_w, svc_w;
	ev_timer deadline_w;
	int rounds, done;
	size_t got;
};

static void
pp_send(int fd, unsigned round)
{
	uint8_t b[PP_MSG];
	size_t i;

	for (i = 0; i < sizeof(b); i++)
		b[i] = pattern(i, round);
	ck_assert_int_eq(write(fd, b, sizeof(b)), sizeof(b));
}

static void
pp_user_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct pingpong *pp = w->data;
	uint8_t b[PP_MSG];
	ssize_t n = read(w->fd, b, sizeof(b) - pp->got);
	size_t i;

	if (n <= 0)
		return;
	for (i = 0; i < (size_t)n; i++)
		ck_assert_uint_eq(b[i], pattern(pp->got + i, (unsigned)pp->done));
	pp->got += (size_t)n;
	if (pp->got < PP_MSG)
		return;
	pp->got = 0;
	if (++pp->done == pp->rounds) {
		ev_break(loop, EVBREAK_ONE);
		return;
	}
	pp_send(w->fd, (unsigned)pp->done);
}

static void
pp_svc_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	uint8_t b[PP_MSG];
	ssize_t n = read(w->fd, b, sizeof(b));

	if (n > 0)
		ck_assert_int_eq(write(w->fd, b, (size_t)n), n);
}

static void
pp_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ONE);
}

START_TEST(test_round_trips_never_wait_for_the_loop)
{
	struct pingpong pp;
	double t0;

	users_open(1);
	memset(&pp, 0, sizeof(pp));
	pp.rounds = 200;
	ev_io_init(&pp.user_w, pp_user_cb, fx.user_fd[0], EV_READ);
	ev_io_init(&pp.svc_w, pp_svc_cb, fx.svc_fd[0], EV_READ);
	ev_timer_init(&pp.deadline_w, pp_deadline_cb, 8.0, 0.0);
	pp.user_w.data = pp.svc_w.data = &pp;
	ev_io_start(fx.loop, &pp.user_w);
	ev_io_start(fx.loop, &pp.svc_w);
	ev_timer_start(fx.loop, &pp.deadline_w);
	t0 = loopback_now();
	pp_send(fx.user_fd[0], 0);
	ev_run(fx.loop, 0);
	ev_io_stop(fx.loop, &pp.user_w);
	ev_io_stop(fx.loop, &pp.svc_w);
	ev_timer_stop(fx.loop, &pp.deadline_w);
	ck_assert_int_eq(pp.done, pp.rounds);
	ck_assert_double_lt(loopback_now() - t0, 2.0);
}
END_TEST

START_TEST(test_slow_reader_stalls_only_its_stream)
{
	struct pump stuck, fast_user, fast_svc;
	struct stream *sa;
	size_t total = 8 << 20;
	double t0, end;
	int k;

	users_open(2);
	/* Stream 0: A sends without end, B's reader never reads. */
	pump_init(&stuck, fx.user_fd[0], 256 << 20, 3, 0);
	/* Stream 1, on the same links: a multi-MiB transfer that B reads. */
	pump_init(&fast_user, fx.user_fd[1], total, 4, 0);
	fast_user.hold = 1;
	pump_init(&fast_svc, fx.svc_fd[1], 0, 0, 4);
	fast_svc.hold = 1;
	t0 = loopback_now();
	for (end = t0 + 20; !fast_svc.eof && loopback_now() < end;) {
		pump_step(&stuck, 0);
		pump_step(&fast_user, 0);
		pump_step(&fast_svc, 1);
		if (fast_user.sent == total && !fast_user.shut) {
			shutdown(fast_user.fd, SHUT_WR);
			fast_user.shut = 1;
		}
		for (k = 0; k < 2; k++) {
			ck_assert_ptr_nonnull(fx.relay[k]);
			ck_assert_uint_le(stream_relay_queued(fx.relay[k], 1), STREAM_RELAY_BUF);
			ck_assert_uint_le(stream_relay_peak(fx.relay[k]), STREAM_RELAY_BUF);
		}
		/* What waits in the relayed stream itself stays within the window it grants. */
		sa = link_stream(fx.l[SRV_A], 1);
		ck_assert_ptr_nonnull(sa);
		ck_assert_uint_le(stream_queued(sa), stream_window(sa));
		turn();
	}
	ck_assert_msg(fast_svc.eof, "the fast stream got %zu of %zu bytes", fast_svc.got, total);
	ck_assert_uint_eq(fast_svc.got, total);
	ck_assert(!fast_svc.bad);
	ck_assert_double_lt(loopback_now() - t0, 10);
	/* The stuck stream stopped taking bytes: its pipe is full, nothing more. */
	ck_assert_uint_eq(stream_relay_queued(fx.relay[0], 1), STREAM_RELAY_BUF);
	ck_assert_uint_lt(stuck.sent, 8 << 20);
	ck_assert(!fx.user[0].closed && !fx.svc[0].closed);
}
END_TEST

START_TEST(test_halfclose_visitor_first)
{
	struct pump user, svc;

	users_open(1);
	/* A sends a little and shuts down; B reads it to EOF, then sends a lot, then closes. */
	pump_init(&user, fx.user_fd[0], 1000, 5, 6);
	pump_init(&svc, fx.svc_fd[0], 0, 0, 5);
	svc.hold = 1;
	for (double end = loopback_now() + 5; !svc.eof && loopback_now() < end;) {
		pump_step(&user, 1);
		pump_step(&svc, 1);
		turn();
	}
	ck_assert(svc.eof && svc.got == 1000 && !svc.bad);
	ck_assert(!user.eof && !fx.user[0].closed && !fx.svc[0].closed);
	svc.hold = 0;
	svc.to_send = 2 << 20;
	svc.seed_out = 6;
	pump_pair(&user, &svc, 20);
	ck_assert_uint_eq(user.got, 2 << 20);
	ck_assert(user.eof && !user.bad);
	ck_assert(wait_all_closed(5));
	ck_assert(fx.user[0].clean && fx.svc[0].clean && fx.ended[0]);
	assert_no_streams();
}
END_TEST

START_TEST(test_halfclose_service_first)
{
	struct pump user, svc;

	users_open(1);
	pump_init(&svc, fx.svc_fd[0], 1000, 7, 8);
	pump_init(&user, fx.user_fd[0], 0, 0, 7);
	user.hold = 1;
	for (double end = loopback_now() + 5; !user.eof && loopback_now() < end;) {
		pump_step(&user, 1);
		pump_step(&svc, 1);
		turn();
	}
	ck_assert(user.eof && user.got == 1000 && !user.bad);
	ck_assert(!svc.eof && !fx.user[0].closed && !fx.svc[0].closed);
	user.hold = 0;
	user.to_send = 2 << 20;
	user.seed_out = 8;
	pump_pair(&user, &svc, 20);
	ck_assert_uint_eq(svc.got, 2 << 20);
	ck_assert(svc.eof && !svc.bad);
	ck_assert(wait_all_closed(5));
	ck_assert(fx.user[0].clean && fx.svc[0].clean && fx.ended[0]);
	assert_no_streams();
}
END_TEST

START_TEST(test_refused_connect_reaches_visitor)
{
	fx.mode = SVC_REFUSE;
	user_open();
	ck_assert(turn_until(&fx.user[0].closed, 5));
	ck_assert(!fx.user[0].clean && fx.user[0].reset);
	ck_assert_uint_eq(fx.user[0].code, FRAME_CODE_CONNECT);
	ck_assert_str_eq(fx.user[0].reason, "connect failed: Connection refused");
	ck_assert(turn_until(&fx.ended[0], 2));
	assert_no_streams();
}
END_TEST

/* One stream under way in both directions, so that both relayed streams are open. */
static void
stream_under_way(struct pump *user, struct pump *svc)
{
	double end;

	users_open(1);
	pump_init(user, fx.user_fd[0], 64 << 20, 9, 10);
	pump_init(svc, fx.svc_fd[0], 64 << 20, 10, 9);
	for (end = loopback_now() + 0.3; loopback_now() < end;) {
		pump_step(user, 1);
		pump_step(svc, 1);
		turn();
	}
	ck_assert(user->got > 0 && svc->got > 0);
}

START_TEST(test_visitor_link_dies)
{
	struct pump user, svc;

	stream_under_way(&user, &svc);
	link_close(fx.l[CLI_A], FRAME_CODE_NONE, "cut by the test");
	ck_assert(turn_until(&fx.svc[0].closed, 5));
	ck_assert(!fx.svc[0].clean && fx.svc[0].reset);
	ck_assert_uint_eq(fx.svc[0].code, FRAME_CODE_ABORTED);
	ck_assert_msg(strstr(fx.svc[0].reason, "link") != NULL, "reason: %s", fx.svc[0].reason);
	ck_assert(turn_until(&fx.ended[0], 2));
	ck_assert(fx.closed[SRV_A] && !fx.closed[SRV_B]);
	assert_no_streams();
}
END_TEST

START_TEST(test_service_link_dies)
{
	struct pump user, svc;

	stream_under_way(&user, &svc);
	link_close(fx.l[CLI_B], FRAME_CODE_NONE, "cut by the test");
	ck_assert(turn_until(&fx.user[0].closed, 5));
	ck_assert(!fx.user[0].clean && fx.user[0].reset);
	ck_assert_uint_eq(fx.user[0].code, FRAME_CODE_ABORTED);
	ck_assert(turn_until(&fx.ended[0], 2));
	ck_assert(fx.closed[SRV_B] && !fx.closed[SRV_A]);
	assert_no_streams();
}
END_TEST

START_TEST(test_visitor_reset_reaches_service)
{
	struct pump user, svc;

	stream_under_way(&user, &svc);
	stream_reset(fx.user[0].s, FRAME_CODE_ABORTED, "the visitor went away");
	ck_assert(turn_until(&fx.svc[0].closed, 5));
	ck_assert(!fx.svc[0].clean && fx.svc[0].reset);
	ck_assert_uint_eq(fx.svc[0].code, FRAME_CODE_ABORTED);
	ck_assert_str_eq(fx.svc[0].reason, "the visitor went away");
	ck_assert(turn_until(&fx.ended[0], 2));
	assert_no_streams();
}
END_TEST

START_TEST(test_open_timeout)
{
	double t0 = loopback_now();

	fx.mode = SVC_SILENT;
	fx.open_timeout = 0.3;
	user_open();
	ck_assert(turn_until(&fx.user[0].closed, 3));
	ck_assert_double_ge(loopback_now() - t0, 0.29);
	ck_assert(!fx.user[0].clean && fx.user[0].reset);
	ck_assert_uint_eq(fx.user[0].code, FRAME_CODE_TIMEOUT);
	ck_assert_str_eq(fx.user[0].reason, "the agent did not answer OPEN within open_timeout");
	ck_assert_uint_eq(fx.open_timeouts, 1);
	ck_assert(turn_until(&fx.ended[0], 2));
	assert_no_streams();
}
END_TEST

START_TEST(test_connect_timeout_of_the_visitor_stream)
{
	fx.mode = SVC_SILENT;
	fx.connect_timeout = 0.3;
	user_open();
	ck_assert(turn_until(&fx.user[0].closed, 3));
	ck_assert(!fx.user[0].clean && fx.user[0].reset);
	ck_assert_uint_eq(fx.user[0].code, FRAME_CODE_TIMEOUT);
	ck_assert_str_eq(fx.user[0].reason, "connect to the target timed out");
	/* The stream opened on B's link is reset with it. */
	ck_assert(turn_until(&fx.ended[0], 2));
	assert_no_streams();
}
END_TEST

static Suite *
relay_suite(void)
{
	Suite *s = suite_create("relay");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_bytes_both_ways);
	tcase_add_test(tc, test_200_concurrent_echoes);
	tcase_add_test(tc, test_round_trips_never_wait_for_the_loop);
	tcase_add_test(tc, test_slow_reader_stalls_only_its_stream);
	tcase_add_test(tc, test_halfclose_visitor_first);
	tcase_add_test(tc, test_halfclose_service_first);
	tcase_add_test(tc, test_refused_connect_reaches_visitor);
	tcase_add_test(tc, test_visitor_link_dies);
	tcase_add_test(tc, test_service_link_dies);
	tcase_add_test(tc, test_visitor_reset_reaches_service);
	tcase_add_test(tc, test_open_timeout);
	tcase_add_test(tc, test_connect_timeout_of_the_visitor_stream);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(relay_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
