/*
 * Unit tests of src/dial.c on 127.0.0.1: a dial that connects, one that is
 * refused, one whose WebSocket handshake never gets an answer (the deadline),
 * one whose handshake is refused, two dials from one bound local port, and a
 * cancelled dial that never calls back.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "dial.h"
#include "loopback.h"
#include "net.h"
#include "transport.h"

/* What one dial's callback was told. */
struct result {
	int called;
	struct transport *t;
	struct net_addr addr;
	char error[512];
};

static struct ev_loop *loop;

static void
on_dialed(void *arg, struct transport *t, const struct net_addr *addr, const char *error)
{
	struct result *r = arg;

	r->called++;
	r->t = t;
	if (addr != NULL)
		r->addr = *addr;
	snprintf(r->error, sizeof(r->error), "%s", error ? error : "");
}

static void
setup(void)
{
	signal(SIGPIPE, SIG_IGN);
	loop = ev_loop_new(EVFLAG_AUTO);
}

static void
teardown(void)
{
	ev_loop_destroy(loop);
}

static uint16_t
port_of(const struct net_addr *a)
{
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

/* Dial the listener at to (on 127.0.0.1) from local_port; ws adds a WebSocket layer. */
static struct dial *
dial_to(const struct net_addr *to, uint16_t local_port, double timeout, int ws,
    struct result *r)
{
	static const struct ws_client_opts wso = { .host = "test", .path = "/rtun" };
	char port[8];
	struct dial_params p = {
		.host = "127.0.0.1",
		.port = port,
		.label = "the listener",
		.local_port = local_port,
		.timeout = timeout,
		.ws = ws ? &wso : NULL,
	};

	snprintf(port, sizeof(port), "%u", port_of(to));
	memset(r, 0, sizeof(*r));
	return dial_start(loop, &p, on_dialed, r);
}

/* Run the loop until the dial called back or five seconds pass. */
static void
wait_for(struct result *r)
{
	double end = loopback_now() + 5;

	while (!r->called && loopback_now() < end) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(500);
	}
	ck_assert_int_eq(r->called, 1);
}

/* Accept one connection on lfd, running the loop for up to a second meanwhile. */
static int
accept_one(int lfd, struct net_addr *peer)
{
	int fd = -1, i;

	for (i = 0; fd == -1 && i < 1000; i++) {
		if ((fd = net_accept(lfd, peer)) == -1) {
			ev_run(loop, EVRUN_NOWAIT);
			usleep(1000);
		}
	}
	ck_assert_int_ge(fd, 0);
	return fd;
}

START_TEST(test_connects)
{
	struct net_addr a, peer;
	struct result r;
	int lfd = loopback_listen(&a), fd;

	dial_to(&a, 0, 5, 0, &r);
	wait_for(&r);
	ck_assert_ptr_nonnull(r.t);
	ck_assert_str_eq(r.error, "");
	ck_assert_uint_eq(port_of(&r.addr), port_of(&a));
	fd = accept_one(lfd, &peer);
	transport_free(r.t);
	close(fd);
	close(lfd);
}
END_TEST

START_TEST(test_refused)
{
	struct net_addr a;
	struct result r;

	close(loopback_listen(&a));
	dial_to(&a, 0, 5, 0, &r);
	wait_for(&r);
	ck_assert_ptr_null(r.t);
	ck_assert_str_eq(r.error, "connect to the listener failed: Connection refused");
}
END_TEST

START_TEST(test_timeout)
{
	struct net_addr a;
	struct result r;
	int lfd = loopback_listen(&a);
	double t0 = loopback_now();

	/* The kernel accepts the connection; nobody ever answers the upgrade. */
	dial_to(&a, 0, 0.3, 1, &r);
	wait_for(&r);
	ck_assert_ptr_null(r.t);
	ck_assert_str_eq(r.error, "connect to the listener timed out after 0.3s");
	ck_assert_double_ge(loopback_now() - t0, 0.29);
	close(lfd);
}
END_TEST

START_TEST(test_handshake_refused)
{
	static const char answer[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	struct net_addr a, peer;
	struct result r;
	int lfd = loopback_listen(&a), fd;

	dial_to(&a, 0, 5, 1, &r);
	fd = accept_one(lfd, &peer);
	ck_assert_int_eq(write(fd, answer, sizeof(answer) - 1), (ssize_t)sizeof(answer) - 1);
	wait_for(&r);
	ck_assert_ptr_null(r.t);
	ck_assert_msg(strncmp(r.error, "ws handshake with the listener failed: ", 39) == 0, "%s",
	    r.error);
	close(fd);
	close(lfd);
}
END_TEST

START_TEST(test_local_port)
{
	struct net_addr a, b, free_port, peer;
	struct result ra, rb;
	int la = loopback_listen(&a), lb = loopback_listen(&b), fa, fb;
	uint16_t local;

	/* A port nobody uses, then two dials from it at once, as a hole punch makes. */
	close(loopback_listen(&free_port));
	local = port_of(&free_port);
	dial_to(&a, local, 5, 0, &ra);
	dial_to(&b, local, 5, 0, &rb);
	wait_for(&ra);
	wait_for(&rb);
	ck_assert_msg(ra.t != NULL && rb.t != NULL, "%s / %s", ra.error, rb.error);
	fa = accept_one(la, &peer);
	ck_assert_uint_eq(port_of(&peer), local);
	fb = accept_one(lb, &peer);
	ck_assert_uint_eq(port_of(&peer), local);
	transport_free(ra.t);
	transport_free(rb.t);
	close(fa);
	close(fb);
	close(la);
	close(lb);
}
END_TEST

START_TEST(test_cancel)
{
	struct net_addr a;
	struct result r;
	int lfd = loopback_listen(&a);
	double end = loopback_now() + 0.3;

	dial_cancel(dial_to(&a, 0, 5, 0, &r));
	while (loopback_now() < end) {
		ev_run(loop, EVRUN_NOWAIT);
		usleep(1000);
	}
	ck_assert_int_eq(r.called, 0);
	close(lfd);
}
END_TEST

static Suite *
dial_suite(void)
{
	Suite *s = suite_create("dial");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_connects);
	tcase_add_test(tc, test_refused);
	tcase_add_test(tc, test_timeout);
	tcase_add_test(tc, test_handshake_refused);
	tcase_add_test(tc, test_local_port);
	tcase_add_test(tc, test_cancel);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dial_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
