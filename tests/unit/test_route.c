/*
 * Unit tests of src/agent-route.c and src/stream-hook.c: a server-role link
 * opens route streams naming destinations to an agent-role link whose OPENs
 * go to agent_routes_open(), over a loopback connection in one process. An
 * allowed address connects to the test's listener and carries bytes; a
 * destination allow_connect does not have, by address or by what a name
 * resolves to, comes back as RESET 10 with the reason, seen through the
 * hook end on the server side, and the listener sees no connection; a link
 * that dies while a name is looked up ends the lookup with the stream.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "agent-route.h"
#include "config.h"
#include "control.h"
#include "dest.h"
#include "link.h"
#include "loopback.h"
#include "metrics.h"
#include "net.h"
#include "stream-hook.h"
#include "stream-sock.h"
#include "stream.h"

#define WINDOW (64 * 1024)

struct fixture {
	struct ev_loop *loop;
	struct link *srv, *agt;
	int srv_closed, agt_closed;
	struct agent_conf conf;    /* allow_connect and connect_timeout are all it needs */
	struct agent_routes *ar;
	struct metrics *m;
	int lfd;                   /* the destination's listening socket */
	struct net_addr laddr;
	int dst[4];                /* connections it accepted */
	int ndst;
	int reset, closed;         /* what the hook on the server side was told */
	uint32_t code;
	char reason[FRAME_TEXT_MAX + 1];
	double streams_open;
	uint64_t streams_total, protocol_errors, open_timeouts, bytes[3];
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
	if (l == fx.srv)
		fx.srv_closed = 1;
	else
		fx.agt_closed = 1;
}

static void
on_open(struct link *l, uint32_t id, const char *service, const char *peer, const char *dest,
    const char *connect)
{
	ck_assert_ptr_nonnull(connect);
	agent_routes_open(fx.ar, l, id, service, peer, dest, connect);
}

static const struct link_ops srv_ops = { .control = on_control, .closed = on_closed };
static const struct link_ops agt_ops = {
	.control = on_control, .open = on_open, .closed = on_closed
};

/* allow_connect from a list of rules written as the config has them, one per entry. */
static void
allow(const char *const *rules, size_t n)
{
	struct dest_rule rule;
	const char *why;
	size_t i;

	for (i = 0; i < n; i++) {
		ck_assert_msg(dest_rule_parse(rules[i], &rule, &why) == 0, "%s: %s", rules[i], why);
		ck_assert_int_eq(dest_rules_append(&fx.conf.allow_connect, &rule), 0);
	}
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	memset(&fx, 0, sizeof(fx));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.m = metrics_new();
	fx.lc.streams_open = &fx.streams_open;
	fx.lc.streams_total = &fx.streams_total;
	fx.lc.protocol_errors = &fx.protocol_errors;
	fx.lc.open_timeouts = &fx.open_timeouts;
	fx.sc.local_read = &fx.bytes[0];
	fx.sc.local_written = &fx.bytes[1];
	fx.sc.connect_failed = &fx.bytes[2];
	fx.conf.connect_timeout = 5;
	fx.ar = agent_routes_new(fx.loop, &fx.conf, fx.m, NULL);
	fx.lfd = loopback_listen(&fx.laddr);
	loopback_links(fx.loop, WINDOW, &fx.lc, &srv_ops, &agt_ops, &fx.srv, &fx.agt);
}

static void
teardown(void)
{
	int i;

	if (!fx.srv_closed)
		link_close(fx.srv, FRAME_CODE_NONE, "test over");
	if (!fx.agt_closed)
		link_close(fx.agt, FRAME_CODE_NONE, "test over");
	ev_run(fx.loop, EVRUN_NOWAIT);
	agent_routes_free(fx.ar);
	dest_rules_free(&fx.conf.allow_connect);
	for (i = 0; i < fx.ndst; i++)
		close(fx.dst[i]);
	close(fx.lfd);
	metrics_free(fx.m);
	ev_loop_destroy(fx.loop);
}

static void
turn(void)
{
	ev_run(fx.loop, EVRUN_NOWAIT);
	loopback_accept(fx.lfd, fx.dst, &fx.ndst, 4);
	usleep(200);
}

/* Turn the loop until *flag is set or secs pass. */
static void
turn_until(const int *flag, double secs)
{
	double end = loopback_now() + secs;

	while (!*flag && loopback_now() < end)
		turn();
}

static void
user_reset(void *arg, uint32_t code, const char *reason, size_t len)
{
	fx.reset = 1;
	fx.code = code;
	snprintf(fx.reason, sizeof(fx.reason), "%.*s", (int)len, reason);
}

static void
user_closed(void *arg, int clean)
{
	fx.closed = 1;
}

static const struct stream_hook_ops user_ops = {
	.reset = user_reset,
	.closed = user_closed,
};

/* A user of a route to connect: the server opens a stream naming it; returns the user's end. */
static int
route_user(const char *connect)
{
	struct stream_conf c = { .service = "r", .peer = "192.0.2.1:4000",
	    .dest = "192.0.2.2:5122", .ctr = &fx.sc, .timeout = 5.0, .connect = connect };
	int fds[2];

	loopback_pair(fds);
	stream_open(fx.srv, stream_hook_new(stream_sock_accepted(fx.loop, fds[1]), &user_ops,
	    NULL), &c);
	return fds[0];
}

/* The listener's address as a destination, with its port or another. */
static const char *
listener_dest(char *buf, int other_port)
{
	net_addr_str((const struct sockaddr *)&fx.laddr.ss, buf);
	if (other_port)
		strcpy(strrchr(buf, ':') + 1, "1");
	return buf;
}

static void
write_all(int fd, const char *s)
{
	ck_assert_int_eq(write(fd, s, strlen(s)), (ssize_t)strlen(s));
}

/* Read n bytes from fd within a few seconds, turning the loop. */
static void
read_exact(int fd, char *buf, size_t n)
{
	double end = loopback_now() + 5;
	size_t got = 0;
	ssize_t r;

	while (got < n && loopback_now() < end) {
		if ((r = read(fd, buf + got, n - got)) > 0)
			got += (size_t)r;
		else
			turn();
	}
	ck_assert_uint_eq(got, n);
}

START_TEST(test_allowed_address)
{
	static const char *const rules[] = { "127.0.0.1:*" };
	char dest[NET_ADDRSTRLEN], buf[8];
	int ufd, i;

	allow(rules, 1);
	ufd = route_user(listener_dest(dest, 0));
	for (i = 0; i < 5000 && fx.ndst == 0 && !fx.closed; i++)
		turn();
	ck_assert_int_eq(fx.ndst, 1);
	write_all(ufd, "ping");
	read_exact(fx.dst[0], buf, 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	write_all(fx.dst[0], "pong");
	read_exact(ufd, buf, 4);
	ck_assert_int_eq(memcmp(buf, "pong", 4), 0);
	ck_assert_uint_eq(*metrics_counter(fx.m, "rtun_route_streams_total", "", ""), 1);
	close(ufd);
}
END_TEST

START_TEST(test_refused_address)
{
	static const char *const rules[] = { "10.0.0.0/8:*", "127.0.0.1:1" };
	char dest[NET_ADDRSTRLEN], want[256];
	int ufd;

	allow(rules, 2);
	ufd = route_user(listener_dest(dest, 0));
	turn_until(&fx.closed, 5);
	ck_assert(fx.reset && fx.closed);
	ck_assert_uint_eq(fx.code, FRAME_CODE_FORBIDDEN);
	snprintf(want, sizeof(want), "not allowed: %s is not in allow_connect", dest);
	ck_assert_str_eq(fx.reason, want);
	ck_assert_int_eq(fx.ndst, 0);
	ck_assert_uint_eq(*metrics_counter(fx.m, "rtun_route_refused_total", "",
	    "reason=\"forbidden\""), 1);
	ck_assert(!fx.srv_closed && !fx.agt_closed);
	close(ufd);
}
END_TEST

START_TEST(test_empty_allow_connect)
{
	char dest[NET_ADDRSTRLEN];
	int ufd = route_user(listener_dest(dest, 0));

	turn_until(&fx.closed, 5);
	ck_assert_uint_eq(fx.code, FRAME_CODE_FORBIDDEN);
	ck_assert_int_eq(fx.ndst, 0);
	close(ufd);
}
END_TEST

START_TEST(test_malformed_destination)
{
	static const char *const rules[] = { "0.0.0.0/0:*" };
	int ufd;

	allow(rules, 1);
	ufd = route_user("10.1:22");
	turn_until(&fx.closed, 5);
	ck_assert_uint_eq(fx.code, FRAME_CODE_FORBIDDEN);
	ck_assert_ptr_nonnull(strstr(fx.reason, "malformed destination"));
	close(ufd);
}
END_TEST

/* "localhost" resolves to a loopback address; a rule for another address has its port. */
START_TEST(test_name_resolves_to_refused)
{
	static const char *const rules[] = { "192.0.2.1:*" };
	int ufd;

	allow(rules, 1);
	ufd = route_user("localhost:9");
	turn_until(&fx.closed, 10);
	ck_assert_uint_eq(fx.code, FRAME_CODE_FORBIDDEN);
	ck_assert_msg(strstr(fx.reason, "not allowed: localhost:9 (") == fx.reason, "%s",
	    fx.reason);
	close(ufd);
}
END_TEST

/* Nothing could allow it: refused without a lookup, at once. */
START_TEST(test_name_refused_unresolved)
{
	static const char *const rules[] = { "192.0.2.1:22", "db:5432" };
	int ufd;

	allow(rules, 2);
	ufd = route_user("localhost:9");
	turn_until(&fx.closed, 5);
	ck_assert_str_eq(fx.reason, "not allowed: localhost:9 is not in allow_connect");
	close(ufd);
}
END_TEST

START_TEST(test_name_rule)
{
	static const char *const rules[] = { "LOCALHOST:*" };
	char dest[NET_ADDRSTRLEN], name[NET_ADDRSTRLEN + 16];
	int ufd;

	allow(rules, 1);
	listener_dest(dest, 0);
	snprintf(name, sizeof(name), "localhost:%s", strrchr(dest, ':') + 1);
	ufd = route_user(name);
	turn_until(&fx.ndst, 10);
	/* localhost may answer ::1 first, where the listener is not: a reset then. */
	ck_assert_msg(fx.ndst == 1 || fx.code == FRAME_CODE_CONNECT, "%s", fx.reason);
	close(ufd);
}
END_TEST

/* The link dies while a name is looked up: the lookup ends with the stream. */
START_TEST(test_link_dies_during_lookup)
{
	static const char *const rules[] = { "LOCALHOST:*" };
	char dest[NET_ADDRSTRLEN], name[NET_ADDRSTRLEN + 16];
	int ufd, i;

	allow(rules, 1);
	listener_dest(dest, 0);
	snprintf(name, sizeof(name), "localhost:%s", strrchr(dest, ':') + 1);
	ufd = route_user(name);
	/* Until the agent has the OPEN and is looking the name up. */
	for (i = 0; i < 5000 && link_nstreams(fx.agt) == 0; i++)
		turn();
	ck_assert_uint_eq(link_nstreams(fx.agt), 1);
	link_close(fx.agt, FRAME_CODE_NONE, "gone");
	for (i = 0; i < 500; i++)
		turn();
	ck_assert_int_eq(fx.ndst, 0);
	ck_assert(fx.closed);
	close(ufd);
}
END_TEST

static Suite *
route_suite(void)
{
	Suite *s = suite_create("route");
	TCase *tc = tcase_create("agent");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_allowed_address);
	tcase_add_test(tc, test_refused_address);
	tcase_add_test(tc, test_empty_allow_connect);
	tcase_add_test(tc, test_malformed_destination);
	tcase_add_test(tc, test_name_resolves_to_refused);
	tcase_add_test(tc, test_name_refused_unresolved);
	tcase_add_test(tc, test_name_rule);
	tcase_add_test(tc, test_link_dies_during_lookup);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(route_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
