/*
 * Unit tests of src/link.c and src/stream.c: a server-role and an agent-role
 * link joined by a loopback TCP connection, in one process and one loop, with
 * a real user socket in front and a real service socket behind. Covers bytes
 * both ways, credit exhaustion and return, window growth, half-close each
 * way, a peer that sends beyond its window, a dead link resetting both local
 * sockets, the exact heartbeat verdict, and two bulk streams sharing the link.
 * The handshake is skipped (links are marked authenticated): it belongs to
 * the roles, not to the link.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "control.h"
#include "frame.h"
#include "link.h"
#include "loopback.h"
#include "net.h"
#include "stream-sock.h"
#include "stream.h"
#include "transport.h"

#define WINDOW (64 * 1024)
#define RAW_WINDOW (16 * 1024)

/* One side of the link and what its owner was told. */
struct end {
	struct link *l;
	int closed;
	char reason[256];
};

struct fixture {
	struct ev_loop *loop;
	struct end srv, agt;
	int svc_lfd;               /* the private service's listening socket */
	struct net_addr svc_addr;
	int svc[4];                /* accepted service connections */
	int nsvc;
	enum proxyproto_version proxy;  /* what the agent's streams send the service first */
	double streams_open;
	uint64_t streams_total, protocol_errors, open_timeouts, idle_timeouts, bytes[3];
	double idle;               /* idle_timeout of the streams the server opens */
	struct link_counters lc;
	struct stream_counters sc;
};

static struct fixture fx;

static void
on_control(struct link *l, Rtun__Control *msg)
{
	control_free(msg);
}

static void
on_closed(struct link *l, const char *reason)
{
	struct end *e = l == fx.srv.l ? &fx.srv : &fx.agt;

	e->closed = 1;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static void
on_open(struct link *l, uint32_t id, const char *service, const char *peer, const char *dest)
{
	struct stream_conf c = { service, peer, dest, &fx.sc, 5.0, 0, 0 };

	stream_accept(l, id,
	    stream_sock_connect(link_loop(l), &fx.svc_addr, fx.proxy, peer, dest), 1, &c);
}

static const struct link_ops srv_ops = { .control = on_control, .closed = on_closed };
static const struct link_ops agt_ops = {
	.control = on_control, .open = on_open, .closed = on_closed
};

static struct link *
make_link_window(int fd, int server, double hb_interval, double hb_timeout, uint32_t window)
{
	struct link_params p = {
		.heartbeat_interval = hb_interval,
		.heartbeat_timeout = hb_timeout,
		.stream_window = window,
		.max_streams = 64,
		.role = server ? LINK_SERVER : LINK_CLIENT,
		.counters = &fx.lc,
	};
	struct net_addr peer = { .len = 0 };
	struct link *l;

	peer.ss.ss_family = AF_INET;
	l = link_new(fx.loop, transport_tcp_new(fd), &peer, &p,
	    server ? &srv_ops : &agt_ops, NULL);
	return l;
}

static struct link *
make_link(int fd, int server, double hb_interval, double hb_timeout)
{
	return make_link_window(fd, server, hb_interval, hb_timeout, WINDOW);
}

static void
setup(void)
{
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	memset(&fx, 0, sizeof(fx));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.lc.streams_open = &fx.streams_open;
	fx.lc.streams_total = &fx.streams_total;
	fx.lc.protocol_errors = &fx.protocol_errors;
	fx.lc.open_timeouts = &fx.open_timeouts;
	fx.lc.idle_timeouts = &fx.idle_timeouts;
	fx.sc.local_read = &fx.bytes[0];
	fx.sc.local_written = &fx.bytes[1];
	fx.sc.connect_failed = &fx.bytes[2];
	fx.svc_lfd = loopback_listen(&fx.svc_addr);
	loopback_pair(fds);
	fx.srv.l = make_link(fds[0], 1, 10, 30);
	fx.agt.l = make_link(fds[1], 0, 10, 30);
	link_set_authed(fx.srv.l, WINDOW);
	link_set_authed(fx.agt.l, WINDOW);
	/* The client end opens with the preface, as after a hello. */
	link_send_raw(fx.agt.l, FRAME_PREFACE, FRAME_PREFACE_LEN);
}

static void
teardown(void)
{
	int i;

	if (!fx.srv.closed)
		link_close(fx.srv.l, FRAME_CODE_NONE, "test over");
	if (!fx.agt.closed && fx.agt.l != NULL)
		link_close(fx.agt.l, FRAME_CODE_NONE, "test over");
	ev_run(fx.loop, EVRUN_NOWAIT);
	for (i = 0; i < fx.nsvc; i++)
		close(fx.svc[i]);
	close(fx.svc_lfd);
	ev_loop_destroy(fx.loop);
}

/* Run the loop once without waiting long, and accept service connections. */
static void
turn(void)
{
	struct net_addr peer;
	int fd;

	ev_run(fx.loop, EVRUN_NOWAIT);
	while (fx.nsvc < 4 && (fd = net_accept(fx.svc_lfd, &peer)) != -1)
		fx.svc[fx.nsvc++] = fd;
	usleep(200);
}

/* The server side of a user connection on fd: a stream that sends OPEN. */
static void
open_user(int fd)
{
	struct stream_conf c = { "svc", "192.0.2.1:4000", "192.0.2.2:22", &fx.sc, 5.0, fx.idle, 0 };

	stream_open(fx.srv.l, stream_sock_accepted(fx.loop, fd), &c);
}

/* A user connected to a public port: the server opens a stream; returns the user's end. */
static int
user_connect(void)
{
	int fds[2], n = fx.nsvc, i;

	loopback_pair(fds);
	open_user(fds[1]);
	for (i = 0; i < 5000 && fx.nsvc == n; i++)
		turn();
	ck_assert_int_eq(fx.nsvc, n + 1);
	return fds[0];
}

/* The byte at offset i of the test pattern of seed. */
static uint8_t
pattern(size_t i, unsigned seed)
{
	return (uint8_t)((i * 131 + seed * 7 + (i >> 12)) & 0xff);
}

/* A non-blocking pump: sends its pattern, then optionally shuts down; checks what it reads. */
struct pump {
	int fd;
	size_t to_send, sent, got, expect;
	unsigned seed_out, seed_in;
	int shut, eof, reset, bad;
};

static void
pump_init(struct pump *p, int fd, size_t to_send, size_t expect, unsigned so, unsigned si)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	p->to_send = to_send;
	p->expect = expect;
	p->seed_out = so;
	p->seed_in = si;
}

static void
pump_step(struct pump *p, int reading)
{
	uint8_t b[16384];
	size_t i, n;
	ssize_t r;

	while (p->sent < p->to_send) {
		n = p->to_send - p->sent < sizeof(b) ? p->to_send - p->sent : sizeof(b);
		for (i = 0; i < n; i++)
			b[i] = pattern(p->sent + i, p->seed_out);
		if ((r = write(p->fd, b, n)) <= 0) {
			/* Only the first call after an RST says so; later reads say EOF. */
			if (r == -1 && (errno == ECONNRESET || errno == EPIPE))
				p->reset = 1;
			break;
		}
		p->sent += (size_t)r;
	}
	if (p->sent == p->to_send && !p->shut) {
		shutdown(p->fd, SHUT_WR);
		p->shut = 1;
	}
	while (reading && !p->eof && !p->reset) {
		r = read(p->fd, b, sizeof(b));
		if (r == 0)
			p->eof = 1;
		else if (r == -1 && errno == ECONNRESET)
			p->reset = 1;
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
	return p->shut && (p->eof || p->reset);
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

/* Run two pumps until *flag is set or secs pass. */
static void
pump_until(struct pump *a, struct pump *b, const int *flag, double secs)
{
	double end = loopback_now() + secs;

	while (!*flag && loopback_now() < end) {
		pump_step(a, 1);
		pump_step(b, 1);
		turn();
	}
}

static struct stream *
stream_of(struct link *l, uint32_t id)
{
	return link_stream(l, id);
}

START_TEST(test_bytes_both_ways)
{
	struct pump user, svc;
	int ufd = user_connect();

	pump_init(&user, ufd, 3 << 20, 2 << 20, 1, 2);
	pump_init(&svc, fx.svc[0], 2 << 20, 3 << 20, 2, 1);
	pump_pair(&user, &svc, 20);
	ck_assert(pump_done(&user) && pump_done(&svc));
	ck_assert_uint_eq(user.got, 2 << 20);
	ck_assert_uint_eq(svc.got, 3 << 20);
	ck_assert(!user.bad && !svc.bad);
	/* Both sides' half-closes ended it: FIN at both ends, never a reset. */
	ck_assert(user.eof && !user.reset && svc.eof && !svc.reset);
	ck_assert_uint_eq(link_nstreams(fx.srv.l), 0);
	ck_assert_uint_eq(link_nstreams(fx.agt.l), 0);
	ck_assert(!fx.srv.closed && !fx.agt.closed);
	close(ufd);
}
END_TEST

START_TEST(test_credit_exhausted_and_returned)
{
	struct pump user, svc;
	struct stream *s;
	double end;
	int ufd = user_connect();

	/* The service reads nothing: the server's credit runs out and the agent buffers a window at most. */
	pump_init(&user, ufd, 64 << 20, 0, 3, 0);
	s = stream_of(fx.srv.l, 2);
	ck_assert_ptr_nonnull(s);
	for (end = loopback_now() + 3; loopback_now() < end && stream_credit(s) > 0;) {
		pump_step(&user, 0);
		turn();
	}
	ck_assert_uint_eq(stream_credit(s), 0);
	for (end = loopback_now() + 0.3; loopback_now() < end;) {
		pump_step(&user, 0);
		turn();
	}
	ck_assert_uint_eq(stream_credit(s), 0);
	/* What waits at the agent is within the window it granted (auto-tuned, capped). */
	ck_assert_uint_le(stream_queued(stream_of(fx.agt.l, 2)), stream_window(stream_of(fx.agt.l, 2)));
	ck_assert_uint_le(stream_window(stream_of(fx.agt.l, 2)), 16 * WINDOW);
	/* The service reads: credit comes back and every byte arrives in order. */
	pump_init(&svc, fx.svc[0], 0, 64 << 20, 0, 3);
	pump_pair(&user, &svc, 60);
	ck_assert_uint_eq(svc.got, 64 << 20);
	ck_assert(!svc.bad && svc.eof);
	close(ufd);
}
END_TEST

START_TEST(test_window_grows_for_a_fast_reader)
{
	struct pump user, svc;
	struct stream *s;
	uint32_t most = 0;
	double end = loopback_now() + 30;
	int ufd = user_connect();

	pump_init(&user, ufd, 32 << 20, 0, 4, 0);
	pump_init(&svc, fx.svc[0], 0, 32 << 20, 0, 4);
	while (!pump_done(&svc) && loopback_now() < end) {
		pump_step(&user, 1);
		pump_step(&svc, 1);
		if ((s = stream_of(fx.agt.l, 2)) != NULL && stream_window(s) > most)
			most = stream_window(s);
		turn();
	}
	ck_assert_uint_eq(svc.got, 32 << 20);
	ck_assert_uint_gt(most, WINDOW);
	ck_assert_uint_le(most, 16 * WINDOW);
	close(ufd);
}
END_TEST

START_TEST(test_halfclose_user_first)
{
	struct pump user, svc;
	int ufd = user_connect();

	/* The user sends a little and shuts down; the service then sends a lot, then closes. */
	pump_init(&user, ufd, 1000, 1 << 20, 5, 6);
	pump_init(&svc, fx.svc[0], 0, 1000, 0, 5);
	svc.shut = 1; /* not yet: the service sends after it saw the user's EOF */
	pump_until(&user, &svc, &svc.eof, 5);
	ck_assert(svc.eof && svc.got == 1000);
	ck_assert(!user.eof);
	svc.shut = 0;
	svc.to_send = 1 << 20;
	svc.seed_out = 6;
	pump_pair(&user, &svc, 20);
	ck_assert_uint_eq(user.got, 1 << 20);
	ck_assert(user.eof && !user.reset && !user.bad);
	close(ufd);
}
END_TEST

START_TEST(test_halfclose_service_first)
{
	struct pump user, svc;
	int ufd = user_connect();

	pump_init(&svc, fx.svc[0], 1000, 1 << 20, 7, 8);
	pump_init(&user, ufd, 0, 1000, 0, 7);
	user.shut = 1; /* not yet: the user sends after it saw the service's EOF */
	pump_until(&user, &svc, &user.eof, 5);
	ck_assert(user.eof && user.got == 1000);
	user.shut = 0;
	user.to_send = 1 << 20;
	user.seed_out = 8;
	pump_pair(&user, &svc, 20);
	ck_assert_uint_eq(svc.got, 1 << 20);
	ck_assert(svc.eof && !svc.reset && !svc.bad);
	close(ufd);
}
END_TEST

START_TEST(test_dead_link_resets_both_ends)
{
	struct pump up_user, up_svc, down_user, down_svc;
	double end;
	int ufd_up = user_connect(), ufd_down = user_connect();

	/*
	 * One upload and one download, so that neither end whose verdict is checked
	 * holds unread bytes (a close would then reset on its own): the upload's
	 * service and the download's user must be reset because the stream was cut.
	 */
	pump_init(&up_user, ufd_up, 64 << 20, 0, 9, 0);
	up_user.shut = 1;
	pump_init(&up_svc, fx.svc[0], 0, 64 << 20, 0, 9);
	up_svc.shut = 1;
	pump_init(&down_user, ufd_down, 0, 64 << 20, 0, 10);
	down_user.shut = 1;
	pump_init(&down_svc, fx.svc[1], 64 << 20, 0, 10, 0);
	for (end = loopback_now() + 0.3; loopback_now() < end;) {
		pump_step(&up_user, 1);
		pump_step(&up_svc, 1);
		pump_step(&down_user, 1);
		pump_step(&down_svc, 1);
		turn();
	}
	ck_assert(up_svc.got > 0 && down_user.got > 0);
	/* The agent's side of the link goes away mid-transfer. */
	link_close(fx.agt.l, FRAME_CODE_NONE, "cut by the test");
	for (end = loopback_now() + 5; loopback_now() < end && !(up_svc.eof || up_svc.reset) ;) {
		pump_step(&up_svc, 1);
		turn();
	}
	for (end = loopback_now() + 5; loopback_now() < end && !(down_user.eof || down_user.reset);) {
		pump_step(&down_user, 1);
		turn();
	}
	ck_assert_msg(up_svc.reset && !up_svc.eof, "the service saw a clean end of a cut upload");
	ck_assert_msg(down_user.reset && !down_user.eof, "the user saw a clean end of a cut download");
	ck_assert(fx.srv.closed);
	close(ufd_up);
	close(ufd_down);
}
END_TEST

/* Read what fd has without blocking: bytes read, 0 for EOF, -1 for a reset, -2 for nothing. */
static ssize_t
drain(int fd)
{
	uint8_t b[4096];
	ssize_t r, total = 0;

	while ((r = recv(fd, b, sizeof(b), MSG_DONTWAIT)) > 0)
		total += r;
	if (r == 0)
		return 0;
	if (errno == ECONNRESET)
		return -1;
	return total > 0 ? total : -2;
}

START_TEST(test_idle_stream_is_reset_active_one_is_not)
{
	ssize_t u = -2, v = -2;
	double end;
	int ufd, i;

	fx.idle = 0.3;
	ufd = user_connect();
	/* A byte every 0.1 s for three times the timeout: traffic keeps it open. */
	for (i = 0; i < 9; i++) {
		ck_assert_int_eq(write(ufd, "x", 1), 1);
		for (end = loopback_now() + 0.1; loopback_now() < end;)
			turn();
		ck_assert_int_eq(drain(fx.svc[0]), 1);
	}
	ck_assert_uint_eq(link_nstreams(fx.srv.l), 1);
	ck_assert_uint_eq(fx.idle_timeouts, 0);
	/* Then silence: both sockets are reset, not closed as if complete. */
	for (end = loopback_now() + 2; loopback_now() < end && (u == -2 || v == -2);) {
		turn();
		if (u == -2)
			u = drain(ufd);
		if (v == -2)
			v = drain(fx.svc[0]);
	}
	ck_assert_int_eq(u, -1);
	ck_assert_int_eq(v, -1);
	ck_assert_uint_eq(fx.idle_timeouts, 1);
	ck_assert_uint_eq(link_nstreams(fx.srv.l), 0);
	ck_assert_uint_eq(link_nstreams(fx.agt.l), 0);
	ck_assert(!fx.srv.closed && !fx.agt.closed);
	close(ufd);
}
END_TEST

/* Frames the test writes by hand, as a peer that breaks the rules would. */
static void
raw_send(int fd, const struct frame *f)
{
	loopback_send_frame(fd, f, turn);
}

/* Replace the agent link with a raw socket the test writes frames on. */
static int
raw_agent(void)
{
	int fds[2];

	link_close(fx.agt.l, FRAME_CODE_NONE, "replaced");
	link_close(fx.srv.l, FRAME_CODE_NONE, "replaced");
	ev_run(fx.loop, EVRUN_NOWAIT);
	fx.srv.closed = fx.agt.closed = 0;
	fx.agt.l = NULL;
	loopback_pair(fds);
	/* The smallest window, so one frame can overrun it before any credit comes back. */
	fx.srv.l = make_link_window(fds[0], 1, 0.25, 0.3, RAW_WINDOW);
	link_set_authed(fx.srv.l, WINDOW);
	fx.agt.closed = 1;
	ck_assert_int_eq(write(fds[1], FRAME_PREFACE, FRAME_PREFACE_LEN), FRAME_PREFACE_LEN);
	return fds[1];
}

START_TEST(test_peer_beyond_window)
{
	static uint8_t payload[RAW_WINDOW + 1];
	struct frame f;
	uint8_t b[4096];
	int raw = raw_agent(), ufd[2];
	double end;

	loopback_pair(ufd);
	open_user(ufd[1]);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_OPEN_OK;
	f.stream = 2;
	raw_send(raw, &f);
	f.type = FRAME_DATA;
	f.payload = payload;
	f.payload_len = sizeof(payload);
	/* The server granted RAW_WINDOW bytes: one frame one byte longer breaks the protocol. */
	raw_send(raw, &f);
	for (end = loopback_now() + 2; loopback_now() < end && !fx.srv.closed;)
		turn();
	ck_assert(fx.srv.closed);
	ck_assert_msg(strstr(fx.srv.reason, "beyond the window") != NULL, "reason: %s",
	    fx.srv.reason);
	ck_assert_uint_eq(fx.protocol_errors, 1);
	/* The user's connection is reset after what arrived within the window. */
	while (read(ufd[0], b, sizeof(b)) > 0)
		;
	ck_assert_int_eq(errno, ECONNRESET);
	close(ufd[0]);
	close(raw);
}
END_TEST

START_TEST(test_heartbeat_verdict_is_exact)
{
	int raw = raw_agent();
	double t0 = loopback_now();

	/*
	 * The raw peer never says anything: dead 0.3 s after the link started, not
	 * at the heartbeat tick after that (0.5 s).
	 */
	while (!fx.srv.closed && loopback_now() < t0 + 2)
		turn();
	ck_assert(fx.srv.closed);
	ck_assert_msg(strstr(fx.srv.reason, "heartbeat timeout") != NULL, "reason: %s",
	    fx.srv.reason);
	ck_assert_double_ge(loopback_now() - t0, 0.29);
	ck_assert_double_le(loopback_now() - t0, 0.3 + 0.1);
	close(raw);
}
END_TEST

START_TEST(test_two_bulk_streams_share_the_link)
{
	struct pump u[2], s[2];
	double end = loopback_now() + 30;
	size_t total = 16 << 20;
	int ufd[2], i, checked = 0;

	for (i = 0; i < 2; i++) {
		ufd[i] = user_connect();
		pump_init(&u[i], ufd[i], 0, total, 0, 11 + (unsigned)i);
		u[i].shut = 1;
		pump_init(&s[i], fx.svc[i], total, 0, 11 + (unsigned)i, 0);
	}
	while (!(u[0].eof && u[1].eof) && loopback_now() < end) {
		for (i = 0; i < 2; i++) {
			pump_step(&u[i], 1);
			pump_step(&s[i], 1);
		}
		/* Round-robin: when one has half, the other is well under way too. */
		if (!checked && (u[0].got >= total / 2 || u[1].got >= total / 2)) {
			checked = 1;
			ck_assert_uint_ge(u[0].got, total / 8);
			ck_assert_uint_ge(u[1].got, total / 8);
		}
		turn();
	}
	ck_assert(checked);
	for (i = 0; i < 2; i++) {
		ck_assert_uint_eq(u[i].got, total);
		ck_assert(!u[i].bad);
		close(ufd[i]);
	}
}
END_TEST

START_TEST(test_proxy_header_before_everything)
{
	static const char want[] = "PROXY TCP4 192.0.2.1 192.0.2.2 4000 22\r\n";
	char got[256];
	size_t n = 0;
	ssize_t r;
	double end;
	int ufd;

	fx.proxy = PROXYPROTO_V1;
	/* The user says nothing and leaves: the service still reads the header, then EOF. */
	ufd = user_connect();
	shutdown(ufd, SHUT_WR);
	for (end = loopback_now() + 5; loopback_now() < end;) {
		turn();
		r = read(fx.svc[0], got + n, sizeof(got) - 1 - n);
		if (r == 0)
			break;
		if (r > 0)
			n += (size_t)r;
	}
	got[n] = '\0';
	ck_assert_str_eq(got, want);
	close(ufd);
}
END_TEST

static Suite *
link_suite(void)
{
	Suite *s = suite_create("link");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, test_bytes_both_ways);
	tcase_add_test(tc, test_credit_exhausted_and_returned);
	tcase_add_test(tc, test_window_grows_for_a_fast_reader);
	tcase_add_test(tc, test_halfclose_user_first);
	tcase_add_test(tc, test_halfclose_service_first);
	tcase_add_test(tc, test_dead_link_resets_both_ends);
	tcase_add_test(tc, test_peer_beyond_window);
	tcase_add_test(tc, test_heartbeat_verdict_is_exact);
	tcase_add_test(tc, test_two_bulk_streams_share_the_link);
	tcase_add_test(tc, test_proxy_header_before_everything);
	tcase_add_test(tc, test_idle_stream_is_reset_active_one_is_not);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(link_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
