/*
 * Unit tests of src/server-ports.c: the pure claim policy, and the registry
 * with real listeners on 127.0.0.1 (kernel-chosen ports): claims, owners,
 * marks, per-owner iteration, release callbacks and the drain; UDP ports
 * beside TCP ports of the same number.
 */
#include "rtun-build.h"

#include <check.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "server-ports.h"

static int released;

static void
on_accept(struct port *p, int fd, const struct net_addr *from)
{
}

static void
on_released(struct port *p)
{
	released++;
}

static struct net_addr
loopback(void)
{
	struct net_addr a;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

	memset(&a, 0, sizeof(a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.len = sizeof(*sin);
	return a;
}

START_TEST(test_claim_policy)
{
	int a = 0, b = 0;

	ck_assert_int_eq(port_claim_check(NULL, &a, 1, 1), PORT_CLAIM_FREE);
	ck_assert_int_eq(port_claim_check(&a, &a, 1, 1), PORT_CLAIM_OURS);
	ck_assert_int_eq(port_claim_check(&b, &a, 1, 1), PORT_CLAIM_IN_USE);
	/* Another's port stays theirs even once no longer allowed: it is in use, not ours. */
	ck_assert_int_eq(port_claim_check(&b, &a, 0, 1), PORT_CLAIM_IN_USE);
	ck_assert_int_eq(port_claim_check(NULL, &a, 0, 1), PORT_CLAIM_NOT_ALLOWED);
	ck_assert_int_eq(port_claim_check(&a, &a, 0, 1), PORT_CLAIM_NOT_ALLOWED);
	ck_assert_int_eq(port_claim_check(NULL, &a, 1, 0), PORT_CLAIM_CLOSED);
	ck_assert_int_eq(port_claim_check(&a, &a, 1, 0), PORT_CLAIM_CLOSED);
}
END_TEST

static void
count(struct port *p, void *x)
{
	(*(int *)x)++;
}

static void
close_it(struct port *p, void *x)
{
	port_close(p);
}

START_TEST(test_registry)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ports *ps = ports_new(loop);
	struct net_addr bind = loopback();
	int a = 0, b = 0, n = 0;
	struct port_owner oa = { PORT_OWNER_AGENT, &a, on_accept, on_released };
	struct port_owner ob = { PORT_OWNER_AGENT, &b, on_accept, on_released };
	struct port *pa, *pb;

	released = 0;
	/* Port numbers the kernel will not hand out to connects: above the ephemeral range. */
	pa = ports_open(ps, &bind, PORT_TCP, 61011, "one", &oa);
	pb = ports_open(ps, &bind, PORT_TCP, 61012, "two", &ob);
	ck_assert_ptr_nonnull(pa);
	ck_assert_ptr_nonnull(pb);
	ck_assert_int_eq(port_fd(pa), -1);
	/* The same number twice cannot be bound. */
	ck_assert_ptr_null(ports_open(ps, &bind, PORT_TCP, 61011, "again", &ob));
	ck_assert_ptr_eq(ports_find(ps, PORT_TCP, 61011), pa);
	ck_assert_ptr_null(ports_find(ps, PORT_UDP, 61011));
	ck_assert_int_eq(ports_claim(ps, PORT_TCP, 61011, &a, 1), PORT_CLAIM_OURS);
	ck_assert_int_eq(ports_claim(ps, PORT_TCP, 61011, &b, 1), PORT_CLAIM_IN_USE);
	ck_assert_int_eq(ports_claim(ps, PORT_TCP, 61013, &b, 1), PORT_CLAIM_FREE);
	/* UDP 61011 is another port, free for another owner. */
	ck_assert_int_eq(ports_claim(ps, PORT_UDP, 61011, &b, 1), PORT_CLAIM_FREE);
	ck_assert_str_eq(port_service(pa), "one");
	port_set_service(pa, "uno");
	ck_assert_str_eq(port_service(pa), "uno");
	ck_assert_ptr_eq(port_owner_arg(pb), &b);
	ports_each_of(ps, &a, count, &n);
	ck_assert_int_eq(n, 1);
	ports_each_of(ps, &b, close_it, NULL);
	ck_assert_int_eq(released, 1);
	ck_assert_ptr_null(ports_find(ps, PORT_TCP, 61012));
	ports_stop(ps);
	ck_assert_int_eq(ports_claim(ps, PORT_TCP, 61013, &b, 1), PORT_CLAIM_CLOSED);
	ports_free(ps);
	ck_assert_int_eq(released, 2);
	ev_loop_destroy(loop);
}
END_TEST

/* A UDP port is a bound socket its owner reads; TCP and UDP of one number are two ports. */
START_TEST(test_udp)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct ports *ps = ports_new(loop);
	struct net_addr bind = loopback(), to;
	int a = 0, b = 0, fd, dgram;
	struct port_owner oa = { PORT_OWNER_AGENT, &a, NULL, on_released };
	struct port_owner ob = { PORT_OWNER_AGENT, &b, on_accept, on_released };
	struct port *pu, *pt;
	char got[8];

	released = 0;
	pu = ports_open(ps, &bind, PORT_UDP, 61021, "dns", &oa);
	ck_assert_ptr_nonnull(pu);
	pt = ports_open(ps, &bind, PORT_TCP, 61021, "dns-tcp", &ob);
	ck_assert_ptr_nonnull(pt);
	ck_assert_ptr_null(ports_open(ps, &bind, PORT_UDP, 61021, "again", &ob));
	ck_assert_int_eq(port_proto(pu), PORT_UDP);
	ck_assert_str_eq(port_proto_name(port_proto(pu)), "udp");
	ck_assert_ptr_eq(ports_find(ps, PORT_UDP, 61021), pu);
	ck_assert_ptr_eq(ports_find(ps, PORT_TCP, 61021), pt);
	ck_assert_int_eq(ports_claim(ps, PORT_UDP, 61021, &b, 1), PORT_CLAIM_IN_USE);
	ck_assert_int_eq(ports_claim(ps, PORT_TCP, 61021, &a, 1), PORT_CLAIM_IN_USE);
	ck_assert_ptr_null(port_data(pu));
	port_set_data(pu, &a);
	ck_assert_ptr_eq(port_data(pu), &a);
	/* The socket is bound and readable by its owner. */
	fd = port_fd(pu);
	ck_assert_int_ge(fd, 0);
	to = bind;
	net_addr_set_port(&to, 61021);
	dgram = net_udp_connect(&to);
	ck_assert_int_ge(dgram, 0);
	ck_assert_int_eq(send(dgram, "hello", 5, 0), 5);
	ck_assert_int_eq(recv(fd, got, sizeof(got), 0), 5);
	ck_assert_int_eq(memcmp(got, "hello", 5), 0);
	close(dgram);
	/* The drain keeps UDP sockets: their owners end their flows. */
	ports_stop(ps);
	ck_assert_int_eq(port_fd(pu), fd);
	port_close(pu);
	ck_assert_int_eq(released, 1);
	/* Closed with its port: the number is free again. */
	fd = net_udp_bind(&to);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ports_free(ps);
	ck_assert_int_eq(released, 2);
	ev_loop_destroy(loop);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("ports");
	TCase *tc = tcase_create("core");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_claim_policy);
	tcase_add_test(tc, test_registry);
	tcase_add_test(tc, test_udp);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
