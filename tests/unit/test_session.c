/*
 * Unit tests of src/session.c: a client and a server session on two links
 * joined by a loopback TCP connection, in one process and one loop. Covers
 * success both ways (names and windows), a client with the wrong secret, a
 * server that cannot prove the secret and versions nobody speaks (each
 * played by the test on a raw socket), and a stream_window out of range.
 */
#include "rtun-build.h"

#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "auth.h"
#include "buf.h"
#include "control.h"
#include "frame.h"
#include "link.h"
#include "loopback.h"
#include "net.h"
#include "session.h"
#include "transport.h"

/* One side: its link, its session and what their callbacks said. */
struct end {
	struct link *l;
	struct session *s;
	int up, failed, closed;
	char peer_name[80];
	uint32_t peer_window;
	struct session_failure f;
	char message[256];
	char reason[256];
};

static struct ev_loop *loop;
static struct end cli, srv;
static double streams_open;
static uint64_t streams_total, protocol_errors, open_timeouts, idle_timeouts;
static const struct link_counters counters = {
	&streams_open, &streams_total, &protocol_errors, &open_timeouts, &idle_timeouts,
};

static struct end *
end_of(struct link *l)
{
	return l == srv.l ? &srv : &cli;
}

static void
on_control(struct link *l, Rtun__Control *msg)
{
	struct end *e = end_of(l);

	if (!session_control(e->s, msg))
		link_protocol_error(l, "unexpected %s", control_name(msg));
	control_free(msg);
}

static void
on_closed(struct link *l, const char *reason)
{
	struct end *e = end_of(l);

	e->closed = 1;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	session_free(e->s);
	e->s = NULL;
}

static const struct link_ops ops = { .control = on_control, .closed = on_closed };

static void
on_up(void *arg, const char *peer_name, uint32_t peer_window)
{
	struct end *e = arg;

	e->up++;
	snprintf(e->peer_name, sizeof(e->peer_name), "%s", peer_name ? peer_name : "(none)");
	e->peer_window = peer_window;
}

static void
on_failed(void *arg, const struct session_failure *f)
{
	struct end *e = arg;

	e->failed++;
	e->f = *f;
	snprintf(e->message, sizeof(e->message), "%s", f->message ? f->message : "");
	e->f.message = e->message;
}

static const struct session_ops session_ops = { .up = on_up, .failed = on_failed };

/* A link of role over fd whose session proves secret; window is what it grants. */
static void
start(struct end *e, int fd, enum link_role role, const char *secret, uint32_t window)
{
	struct link_params p = {
		.heartbeat_interval = 10,
		.heartbeat_timeout = 30,
		.stream_window = window,
		.max_streams = 8,
		.role = role,
		.counters = &counters,
	};
	struct net_addr peer = { .len = 0 };

	peer.ss.ss_family = AF_INET;
	e->l = link_new(loop, transport_tcp_new(fd), &peer, &p, &ops, e);
	e->s = session_new(e->l, secret, role == LINK_CLIENT ? "edge-1" : NULL, &session_ops, e);
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	loop = ev_loop_new(EVFLAG_AUTO);
	memset(&cli, 0, sizeof(cli));
	memset(&srv, 0, sizeof(srv));
	protocol_errors = 0;
}

static void
teardown(void)
{
	if (srv.l != NULL && !srv.closed)
		link_close(srv.l, FRAME_CODE_NONE, "test over");
	if (cli.l != NULL && !cli.closed)
		link_close(cli.l, FRAME_CODE_NONE, "test over");
	ev_run(loop, EVRUN_NOWAIT);
	ev_loop_destroy(loop);
}

/* Run the loop until *flag is set or two seconds pass. */
static void
run_until(const int *flag)
{
	double end = loopback_now() + 2;

	while (!*flag && loopback_now() < end) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(200);
	}
}

/* Both real sessions over one connection. */
static void
start_pair(const char *cli_secret, const char *srv_secret, uint32_t cli_window)
{
	int fds[2];

	loopback_pair(fds);
	start(&srv, fds[0], LINK_SERVER, srv_secret, 64 * 1024);
	start(&cli, fds[1], LINK_CLIENT, cli_secret, cli_window);
}

/* What the test writes as a peer: the preface (when it plays the client), then msg. */
static void
raw_send(int fd, const Rtun__Control *msg, int preface)
{
	struct buf b;

	buf_init(&b);
	if (preface)
		buf_append(&b, FRAME_PREFACE, FRAME_PREFACE_LEN);
	control_append(&b, msg);
	ck_assert_int_eq(write(fd, buf_ptr(&b), buf_len(&b)), (ssize_t)buf_len(&b));
	buf_free(&b);
}

static uint8_t zeros[AUTH_NONCE_LEN];

/* The test plays a server: a ServerHello choosing version. */
static void
raw_server_hello(int fd, uint32_t version)
{
	Rtun__Control msg = RTUN__CONTROL__INIT;
	Rtun__ServerHello sh = RTUN__SERVER_HELLO__INIT;

	sh.version = version;
	sh.nonce.data = zeros;
	sh.nonce.len = AUTH_NONCE_LEN;
	sh.software = "test";
	msg.msg_case = RTUN__CONTROL__MSG_SERVER_HELLO;
	msg.server_hello = &sh;
	raw_send(fd, &msg, 0);
}

START_TEST(test_success)
{
	start_pair("s3cret", "s3cret", 128 * 1024);
	run_until(&cli.up);
	ck_assert_int_eq(srv.up, 1);
	ck_assert_int_eq(cli.up, 1);
	ck_assert_int_eq(srv.failed + cli.failed, 0);
	ck_assert_str_eq(srv.peer_name, "edge-1");
	ck_assert_str_eq(cli.peer_name, "(none)");
	ck_assert_uint_eq(srv.peer_window, 128 * 1024);
	ck_assert_uint_eq(cli.peer_window, 64 * 1024);
	ck_assert_uint_eq(link_peer_window(srv.l), 128 * 1024);
	ck_assert_uint_eq(link_peer_window(cli.l), 64 * 1024);
	ck_assert(!srv.closed && !cli.closed);
}
END_TEST

START_TEST(test_client_wrong_secret)
{
	start_pair("guess", "s3cret", 128 * 1024);
	run_until(&cli.closed);
	ck_assert_int_eq(srv.failed, 1);
	ck_assert_int_eq(srv.f.code, SESSION_ERR_PROOF);
	ck_assert_int_eq(cli.failed, 1);
	ck_assert_int_eq(cli.f.code, SESSION_ERR_REFUSED);
	ck_assert_str_eq(cli.message, "authentication failed");
	ck_assert(cli.closed);
	ck_assert_str_eq(cli.reason, "authentication failed");
	ck_assert_int_eq(srv.up + cli.up, 0);
}
END_TEST

START_TEST(test_server_wrong_proof)
{
	Rtun__Control msg = RTUN__CONTROL__INIT;
	Rtun__AuthResult ar = RTUN__AUTH_RESULT__INIT;
	int fds[2];

	/* The test plays a server that lets anyone in but cannot prove the secret. */
	loopback_pair(fds);
	start(&cli, fds[1], LINK_CLIENT, "s3cret", 64 * 1024);
	raw_server_hello(fds[0], CONTROL_VERSION_MAX);
	ar.ok = 1;
	ar.message = "";
	ar.server_mac.data = zeros;
	ar.server_mac.len = AUTH_MAC_LEN;
	ar.stream_window = 64 * 1024;
	msg.msg_case = RTUN__CONTROL__MSG_AUTH_RESULT;
	msg.auth_result = &ar;
	raw_send(fds[0], &msg, 0);
	run_until(&cli.closed);
	ck_assert_int_eq(cli.failed, 1);
	ck_assert_int_eq(cli.f.code, SESSION_ERR_PROOF);
	ck_assert_str_eq(cli.reason, "server proof failed");
	ck_assert_int_eq(cli.up, 0);
	close(fds[0]);
}
END_TEST

START_TEST(test_server_bad_version)
{
	int fds[2];

	loopback_pair(fds);
	start(&cli, fds[1], LINK_CLIENT, "s3cret", 64 * 1024);
	raw_server_hello(fds[0], CONTROL_VERSION_MAX + 1);
	run_until(&cli.closed);
	ck_assert_int_eq(cli.failed, 1);
	ck_assert_int_eq(cli.f.code, SESSION_ERR_VERSION);
	ck_assert_uint_eq(cli.f.version_min, CONTROL_VERSION_MAX + 1);
	ck_assert_msg(strstr(cli.reason, "unsupported version") != NULL, "%s", cli.reason);
	ck_assert_uint_eq(protocol_errors, 1);
	close(fds[0]);
}
END_TEST

START_TEST(test_client_bad_version)
{
	Rtun__Control msg = RTUN__CONTROL__INIT;
	Rtun__ClientHello h = RTUN__CLIENT_HELLO__INIT;
	int fds[2];

	loopback_pair(fds);
	start(&srv, fds[0], LINK_SERVER, "s3cret", 64 * 1024);
	h.version_min = CONTROL_VERSION_MAX + 1;
	h.version_max = CONTROL_VERSION_MAX + 3;
	h.name = "future";
	h.nonce.data = zeros;
	h.nonce.len = AUTH_NONCE_LEN;
	h.software = "test";
	msg.msg_case = RTUN__CONTROL__MSG_CLIENT_HELLO;
	msg.client_hello = &h;
	raw_send(fds[1], &msg, 1);
	run_until(&srv.closed);
	ck_assert_int_eq(srv.failed, 1);
	ck_assert_int_eq(srv.f.code, SESSION_ERR_VERSION);
	ck_assert_uint_eq(srv.f.version_min, CONTROL_VERSION_MAX + 1);
	ck_assert_uint_eq(srv.f.version_max, CONTROL_VERSION_MAX + 3);
	ck_assert_str_eq(srv.reason, "closed after flush");
	close(fds[1]);
}
END_TEST

START_TEST(test_bad_stream_window)
{
	/* The client grants less than any window allowed: its Auth breaks the protocol. */
	start_pair("s3cret", "s3cret", 1024);
	run_until(&srv.closed);
	ck_assert(srv.closed);
	ck_assert_msg(strstr(srv.reason, "stream_window out of range") != NULL, "%s", srv.reason);
	ck_assert_int_eq(srv.up + cli.up, 0);
	ck_assert_int_eq(srv.failed, 0);
}
END_TEST

static Suite *
session_suite(void)
{
	Suite *s = suite_create("session");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_success);
	tcase_add_test(tc, test_client_wrong_secret);
	tcase_add_test(tc, test_server_wrong_proof);
	tcase_add_test(tc, test_server_bad_version);
	tcase_add_test(tc, test_client_bad_version);
	tcase_add_test(tc, test_bad_stream_window);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(session_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
