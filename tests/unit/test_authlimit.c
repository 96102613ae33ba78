/*
 * Unit tests of src/authlimit.c: a few failures are free, the fifth within the
 * window blocks the address and each later failure doubles the block up to
 * the maximum; other addresses are not affected; a success or a long quiet
 * spell forgets; IPv6 counts per /64 and v4-mapped as IPv4; the table stays
 * within its bound under failures from ever new addresses and keeps the
 * blocked ones.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authlimit.h"

static struct authlimit *al;

static void
setup(void)
{
	al = authlimit_new();
}

static void
teardown(void)
{
	authlimit_free(al);
}

/* A socket address for text, IPv4 or IPv6, with some port. */
static const struct sockaddr *
addr(const char *text)
{
	static struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, text, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(40000);
	} else {
		ck_assert_int_eq(inet_pton(AF_INET6, text, &sin6->sin6_addr), 1);
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(40001);
	}
	return (const struct sockaddr *)&ss;
}

/* Fail n times from text at now; returns the last block. */
static double
fail_n(const char *text, int n, double now)
{
	double block = 0;

	while (n-- > 0)
		block = authlimit_failure(al, addr(text), now);
	return block;
}

START_TEST(test_threshold)
{
	ck_assert(fail_n("192.0.2.1", AUTHLIMIT_FAILURES - 1, 100) == 0);
	ck_assert(authlimit_blocked(al, addr("192.0.2.1"), 100) == 0);
	ck_assert(authlimit_failure(al, addr("192.0.2.1"), 101) == AUTHLIMIT_BLOCK_MIN);
	ck_assert(authlimit_blocked(al, addr("192.0.2.1"), 101) == AUTHLIMIT_BLOCK_MIN);
	ck_assert(authlimit_blocked(al, addr("192.0.2.1"), 105) == AUTHLIMIT_BLOCK_MIN - 4);
	ck_assert(authlimit_blocked(al, addr("192.0.2.1"), 101 + AUTHLIMIT_BLOCK_MIN) == 0);
	/* Another address is not affected. */
	ck_assert(authlimit_blocked(al, addr("192.0.2.2"), 101) == 0);
}
END_TEST

START_TEST(test_window)
{
	/* Failures spread wider than the window never add up to a block. */
	double t = 0;
	int i;

	for (i = 0; i < 20; i++, t += AUTHLIMIT_WINDOW / (AUTHLIMIT_FAILURES - 1) + 1)
		ck_assert(authlimit_failure(al, addr("192.0.2.1"), t) == 0);
}
END_TEST

START_TEST(test_doubling)
{
	double t = 0, block = AUTHLIMIT_BLOCK_MIN, got;
	int i;

	ck_assert(fail_n("192.0.2.1", AUTHLIMIT_FAILURES, t) == AUTHLIMIT_BLOCK_MIN);
	for (i = 0; i < 12; i++) {
		t += block;
		/* Right after a block, one failure is enough for the next, twice as long. */
		got = authlimit_failure(al, addr("192.0.2.1"), t);
		block = block * 2 < AUTHLIMIT_BLOCK_MAX ? block * 2 : AUTHLIMIT_BLOCK_MAX;
		ck_assert_msg(got == block, "block %d: %g s, want %g s", i, got, block);
	}
	ck_assert(block == AUTHLIMIT_BLOCK_MAX);
	/* Quiet for long enough: a fresh start with a few free failures. */
	t += AUTHLIMIT_FORGET + 1;
	ck_assert(authlimit_failure(al, addr("192.0.2.1"), t) == 0);
}
END_TEST

START_TEST(test_success)
{
	ck_assert(fail_n("192.0.2.1", AUTHLIMIT_FAILURES - 1, 0) == 0);
	authlimit_success(al, addr("192.0.2.1"));
	ck_assert_uint_eq(authlimit_count(al), 0);
	ck_assert(fail_n("192.0.2.1", AUTHLIMIT_FAILURES - 1, 1) == 0);
	authlimit_success(al, addr("192.0.2.9"));
	ck_assert_uint_eq(authlimit_count(al), 1);
}
END_TEST

START_TEST(test_ipv6)
{
	ck_assert(fail_n("2001:db8:1:2::1", AUTHLIMIT_FAILURES - 1, 0) == 0);
	/* Same /64, another host: counts for the same entry. */
	ck_assert(authlimit_failure(al, addr("2001:db8:1:2:ffff::9"), 0) > 0);
	ck_assert(authlimit_blocked(al, addr("2001:db8:1:2::77"), 1) > 0);
	ck_assert(authlimit_blocked(al, addr("2001:db8:1:3::1"), 1) == 0);
	/* A v4-mapped address is the IPv4 address. */
	ck_assert(fail_n("::ffff:198.51.100.7", AUTHLIMIT_FAILURES, 0) > 0);
	ck_assert(authlimit_blocked(al, addr("198.51.100.7"), 1) > 0);
}
END_TEST

START_TEST(test_bounded)
{
	char text[32];
	int i;

	ck_assert(fail_n("192.0.2.1", AUTHLIMIT_FAILURES, 0) > 0);
	for (i = 0; i < 3 * AUTHLIMIT_ENTRIES; i++) {
		snprintf(text, sizeof(text), "10.%d.%d.%d", i >> 16 & 255, i >> 8 & 255, i & 255);
		authlimit_failure(al, addr(text), 1);
		ck_assert_uint_le(authlimit_count(al), AUTHLIMIT_ENTRIES);
	}
	ck_assert_uint_eq(authlimit_count(al), AUTHLIMIT_ENTRIES);
	/* A blocked address outlives the flood of one-off failures. */
	ck_assert(authlimit_blocked(al, addr("192.0.2.1"), 2) > 0);
}
END_TEST

static Suite *
authlimit_suite(void)
{
	Suite *s = suite_create("authlimit");
	TCase *tc = tcase_create("back-off");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_threshold);
	tcase_add_test(tc, test_window);
	tcase_add_test(tc, test_doubling);
	tcase_add_test(tc, test_success);
	tcase_add_test(tc, test_ipv6);
	tcase_add_test(tc, test_bounded);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(authlimit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
