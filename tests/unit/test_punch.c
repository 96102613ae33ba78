/*
 * The hole punch (src/agent-punch.c) over loopback: two punches that share a
 * session meet and come out with one TLS-PSK connection; a stranger that
 * reaches a punch port first, without the key, never becomes the
 * connection; different keys never yield one; a punch nobody tells whom to
 * dial ends at its deadline. A small stand-in for rtund reads the probes
 * (checking them with the real codec) and answers them.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "agent-punch.h"
#include "loopback.h"
#include "net.h"
#include "punch-probe.h"
#include "transport-tls.h"
#include "transport.h"

/* The stand-in for rtund: accepts probes, remembers where each side's came from. */
struct rendezvous {
	int lfd;
	struct net_addr addr;
	struct net_addr seen[2];
	int probed[2];
	uint8_t key[PROBE_KEY_LEN];
	ev_io io;
};

struct outcome {
	int done;
	struct transport *t;
	char error[320];
};

static struct ev_loop *loop;

/* One probe connection being read by the stand-in. */
struct rv_conn {
	struct rendezvous *rv;
	int fd;
	struct net_addr from;
	uint8_t buf[PROBE_MAX_LEN];
	size_t len;
	ev_io io;
};

static void
rv_conn_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct rv_conn *c = w->data;
	struct rendezvous *rv = c->rv;
	uint8_t reply = PROBE_ACCEPTED;
	struct probe pr;
	const char *why;
	size_t used;
	ssize_t n;

	n = read(c->fd, c->buf + c->len, sizeof(c->buf) - c->len);
	if (n == -1 && errno == EAGAIN)
		return;
	ck_assert_int_gt(n, 0);
	c->len += (size_t)n;
	if (probe_parse(c->buf, c->len, &pr, &used, &why) == PROBE_NEED_MORE)
		return;
	ck_assert_int_eq(probe_parse(c->buf, c->len, &pr, &used, &why), PROBE_OK);
	if (!probe_verify(c->buf, used, rv->key))
		reply = PROBE_BAD_MAC;
	else {
		rv->seen[pr.side] = c->from;
		rv->probed[pr.side] = 1;
	}
	ck_assert_int_eq(write(c->fd, &reply, 1), 1);
	ev_io_stop(l, &c->io);
	close(c->fd);
	free(c);
}

static void
rv_accept_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct rendezvous *rv = w->data;
	struct rv_conn *c = calloc(1, sizeof(*c));

	ck_assert_ptr_nonnull(c);
	c->rv = rv;
	if ((c->fd = net_accept(rv->lfd, &c->from)) == -1) {
		free(c);
		return;
	}
	ev_io_init(&c->io, rv_conn_cb, c->fd, EV_READ);
	c->io.data = c;
	ev_io_start(l, &c->io);
}

static void
rv_init(struct rendezvous *rv, const uint8_t *key)
{
	memset(rv, 0, sizeof(*rv));
	memcpy(rv->key, key, PROBE_KEY_LEN);
	rv->lfd = loopback_listen(&rv->addr);
	ck_assert_int_ge(rv->lfd, 0);
	ev_io_init(&rv->io, rv_accept_cb, rv->lfd, EV_READ);
	rv->io.data = rv;
	ev_io_start(loop, &rv->io);
}

static void
rv_free(struct rendezvous *rv)
{
	ev_io_stop(loop, &rv->io);
	close(rv->lfd);
}

static void
punched(void *arg, struct transport *t, const struct net_addr *peer, const char *error)
{
	struct outcome *o = arg;

	o->done = 1;
	o->t = t;
	snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
}

/* Run the loop until cond() holds or the time is up. */
static void
run_until(int (*cond)(void *), void *arg, double seconds)
{
	double until = loopback_now() + seconds;

	while (!cond(arg) && loopback_now() < until)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), usleep(200);
}

static int
both_probed(void *arg)
{
	struct rendezvous *rv = arg;

	return rv->probed[0] && rv->probed[1];
}

static int
both_done(void *arg)
{
	struct outcome *o = arg;

	return o[0].done && o[1].done;
}

static struct punch *
start(SSL_CTX *ctx, struct rendezvous *rv, const uint8_t *key, int visitor, double timeout,
    struct outcome *o)
{
	static const uint8_t session[PROBE_SESSION_LEN] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	struct punch_params p = {
		.server = &rv->addr,
		.session = session,
		.key = key,
		.visitor = visitor,
		.timeout = timeout,
		.psk = ctx,
		.label = visitor ? "test visitor" : "test target",
	};

	return punch_start(loop, &p, punched, o);
}

static void
go(struct punch *p, const struct net_addr *to)
{
	char a[NET_ADDRSTRLEN], *addrs[1] = { a };

	net_addr_str((const struct sockaddr *)&to->ss, a);
	punch_go(p, addrs, 1);
}

/* Write through one transport, read it from the other, within a bound. */
static void
check_talks(struct transport *from, struct transport *to)
{
	char buf[32];
	double until = loopback_now() + 3;
	ssize_t n = -1;
	int r;

	do {
		r = (int)transport_write(from, "hello, peer", 11);
		usleep(1000);
	} while (r < 0 && errno == EAGAIN && loopback_now() < until);
	ck_assert_int_eq(r, 11);
	while (loopback_now() < until) {
		if ((n = transport_read(to, buf, sizeof(buf))) > 0 || (n == -1 && errno != EAGAIN))
			break;
		usleep(1000);
	}
	ck_assert_int_eq(n, 11);
	ck_assert(memcmp(buf, "hello, peer", 11) == 0);
}

/* Tell each punch the other's probed endpoint, as rtund's PunchGo does; wait for both. */
static void
go_both(struct punch *v, struct punch *t, const struct rendezvous *rv, struct outcome *o,
    double seconds)
{
	go(v, &rv->seen[PROBE_TARGET]);
	go(t, &rv->seen[PROBE_VISITOR]);
	run_until(both_done, o, seconds);
}

static SSL_CTX *cctx, *sctx;
static const uint8_t key_a[PROBE_KEY_LEN] = { 0xa1, 0xa2, 0xa3 };
static const uint8_t key_b[PROBE_KEY_LEN] = { 0xb1, 0xb2, 0xb3 };

static void
setup(void)
{
	char err[256];

	loop = ev_loop_new(EVFLAG_AUTO);
	cctx = tls_psk_ctx_new(0, err, sizeof(err));
	sctx = tls_psk_ctx_new(1, err, sizeof(err));
	ck_assert_ptr_nonnull(cctx);
	ck_assert_ptr_nonnull(sctx);
}

static void
teardown(void)
{
	SSL_CTX_free(cctx);
	SSL_CTX_free(sctx);
	ev_loop_destroy(loop);
}

START_TEST(meet)
{
	struct rendezvous rv;
	struct outcome o[2] = { 0 };
	struct punch *v, *t;

	rv_init(&rv, key_a);
	v = start(cctx, &rv, key_a, 1, 5, &o[0]);
	t = start(sctx, &rv, key_a, 0, 5, &o[1]);
	run_until(both_probed, &rv, 3);
	ck_assert(both_probed(&rv));
	ck_assert(punch_probed(v) || punch_probed(t));
	go_both(v, t, &rv, o, 5);
	ck_assert_msg(o[0].t != NULL, "visitor: %s", o[0].error);
	ck_assert_msg(o[1].t != NULL, "target: %s", o[1].error);
	check_talks(o[0].t, o[1].t);
	check_talks(o[1].t, o[0].t);
	transport_free(o[0].t);
	transport_free(o[1].t);
	rv_free(&rv);
}
END_TEST

/* Someone who reaches the target's punch port first, without the key, is not the peer. */
START_TEST(stranger_first)
{
	struct rendezvous rv;
	struct outcome o[2] = { 0 };
	struct punch *v, *t;
	int s;

	rv_init(&rv, key_a);
	v = start(cctx, &rv, key_a, 1, 5, &o[0]);
	t = start(sctx, &rv, key_a, 0, 5, &o[1]);
	run_until(both_probed, &rv, 3);
	ck_assert(both_probed(&rv));
	/* A plain TCP client that says something that is not our TLS. */
	s = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_eq(connect(s, (struct sockaddr *)&rv.seen[PROBE_TARGET].ss,
	    rv.seen[PROBE_TARGET].len), 0);
	ck_assert_int_eq(write(s, "GET / HTTP/1.0\r\n\r\n", 18), 18);
	for (int i = 0; i < 50; i++)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), usleep(2000);
	ck_assert_int_eq(o[1].done, 0);   /* the stranger did not end the punch */
	go_both(v, t, &rv, o, 5);
	ck_assert_msg(o[0].t != NULL, "visitor: %s", o[0].error);
	ck_assert_msg(o[1].t != NULL, "target: %s", o[1].error);
	check_talks(o[0].t, o[1].t);
	close(s);
	transport_free(o[0].t);
	transport_free(o[1].t);
	rv_free(&rv);
}
END_TEST

/* Two sides with different keys meet over TCP but never get a connection. */
START_TEST(wrong_key)
{
	struct rendezvous rv;
	struct outcome o[2] = { 0 };

	rv_init(&rv, key_a);
	start(cctx, &rv, key_a, 1, 1.5, &o[0]);
	/* Its probe fails the stand-in's MAC check, which is what a forged one does. */
	start(sctx, &rv, key_b, 0, 1.5, &o[1]);
	run_until(both_done, o, 3);
	ck_assert(o[1].done);
	ck_assert_ptr_null(o[1].t);
	ck_assert_msg(strstr(o[1].error, "bad MAC") != NULL, "%s", o[1].error);
	ck_assert(o[0].done);
	ck_assert_ptr_null(o[0].t);
	rv_free(&rv);
}
END_TEST

/* Two sides whose probes pass but whose TLS keys differ. */
START_TEST(key_mismatch_on_the_link)
{
	struct rendezvous rv;
	struct outcome o[2] = { 0 };
	struct punch *v, *t;

	rv_init(&rv, key_a);
	v = start(cctx, &rv, key_a, 1, 1.5, &o[0]);
	t = start(sctx, &rv, key_a, 0, 1.5, &o[1]);
	run_until(both_probed, &rv, 3);
	punch_cancel(t);
	/* A stand-in target with another key on a fresh port. */
	memcpy(rv.key, key_b, sizeof(rv.key));
	rv.probed[PROBE_TARGET] = 0;
	t = start(sctx, &rv, key_b, 0, 1.5, &o[1]);
	run_until(both_probed, &rv, 3);
	go_both(v, t, &rv, o, 4);
	ck_assert(o[0].done && o[1].done);
	ck_assert_ptr_null(o[0].t);
	ck_assert_ptr_null(o[1].t);
	ck_assert_msg(strstr(o[0].error, "no direct connection") != NULL, "%s", o[0].error);
	rv_free(&rv);
}
END_TEST

/* Nobody says whom to dial: the deadline ends it, with the reason. */
START_TEST(no_go)
{
	struct rendezvous rv;
	struct outcome o[2] = { 0 };

	rv_init(&rv, key_a);
	start(cctx, &rv, key_a, 1, 0.5, &o[0]);
	for (double until = loopback_now() + 3; !o[0].done && loopback_now() < until;)
		ev_run(loop, EVRUN_ONCE | EVRUN_NOWAIT), usleep(1000);
	ck_assert(o[0].done);
	ck_assert_ptr_null(o[0].t);
	ck_assert_msg(strstr(o[0].error, "rtund did not say whom to dial") != NULL, "%s",
	    o[0].error);
	rv_free(&rv);
}
END_TEST

static Suite *
punch_suite(void)
{
	Suite *s = suite_create("punch");
	TCase *tc = tcase_create("punch");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, meet);
	tcase_add_test(tc, stranger_first);
	tcase_add_test(tc, wrong_key);
	tcase_add_test(tc, key_mismatch_on_the_link);
	tcase_add_test(tc, no_go);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(punch_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
