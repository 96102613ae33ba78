/*
 * Unit tests of src/portset.c: single ports at both ends of the range, lists
 * with blanks, the full range, and every kind of malformed entry with the
 * reason it is refused.
 */
#include "rtun-build.h"

#include <check.h>
#include <stdlib.h>

#include "portset.h"

START_TEST(portset_edges)
{
	struct portset set;
	const char *why = NULL;

	ck_assert_int_eq(portset_parse("1", &set, &why), 0);
	ck_assert_uint_eq(set.n, 1);
	ck_assert_int_eq(portset_contains(&set, 1), 1);
	ck_assert_int_eq(portset_contains(&set, 2), 0);
	portset_free(&set);
	ck_assert_int_eq(portset_parse("65535", &set, &why), 0);
	ck_assert_int_eq(portset_contains(&set, 65535), 1);
	ck_assert_int_eq(portset_contains(&set, 65534), 0);
	portset_free(&set);
	ck_assert_int_eq(portset_parse(" 22 , 80 - 90,443 ", &set, &why), 0);
	ck_assert_uint_eq(set.n, 3);
	ck_assert_int_eq(portset_contains(&set, 22), 1);
	ck_assert_int_eq(portset_contains(&set, 80), 1);
	ck_assert_int_eq(portset_contains(&set, 90), 1);
	ck_assert_int_eq(portset_contains(&set, 91), 0);
	ck_assert_int_eq(portset_contains(&set, 443), 1);
	ck_assert_int_eq(portset_contains(&set, 0), 0);
	portset_free(&set);
	ck_assert_ptr_null(set.ranges);
	ck_assert_int_eq(portset_parse("\t0022\t-\r0023\n", &set, &why), 0);
	ck_assert_int_eq(portset_contains(&set, 22), 1);
	ck_assert_int_eq(portset_contains(&set, 23), 1);
	ck_assert_int_eq(portset_contains(&set, 24), 0);
	portset_free(&set);
	ck_assert_int_eq(portset_parse("1-65535", &set, &why), 0);
	ck_assert_int_eq(portset_contains(&set, 1), 1);
	ck_assert_int_eq(portset_contains(&set, 65535), 1);
	portset_free(&set);
}
END_TEST

static void
portset_rejects(const char *s, const char *reason)
{
	struct portset set;
	const char *why = NULL;

	ck_assert_msg(portset_parse(s, &set, &why) == -1, "\"%s\" accepted", s);
	ck_assert_str_eq(why, reason);
	ck_assert_ptr_null(set.ranges);
	ck_assert_uint_eq(set.n, 0);
}

START_TEST(portset_errors)
{
	const char *syntax = "expected ports or ranges like 22,6000-6999";
	const char *range = "ports must be from 1 to 65535";

	portset_rejects("0", range);
	portset_rejects("65536", range);
	portset_rejects("22,0-10", range);
	portset_rejects("1-65536", range);
	portset_rejects("5-3", "range start is greater than its end");
	portset_rejects("", syntax);
	portset_rejects("22,", syntax);
	portset_rejects(",22", syntax);
	portset_rejects("22;23", syntax);
	portset_rejects("-5", syntax);
	portset_rejects("5-", syntax);
	portset_rejects("1-2-3", syntax);
	portset_rejects("+22", syntax);
	portset_rejects("99999999999999999999999", syntax);
	/* The largest 64-bit number is out of range; one more is not a number at all. */
	portset_rejects("18446744073709551615", range);
	portset_rejects("18446744073709551616", syntax);
	portset_rejects("2 2", syntax);
}
END_TEST

static Suite *
portset_suite(void)
{
	Suite *s = suite_create("portset");
	TCase *tc = tcase_create("parse");

	tcase_add_test(tc, portset_edges);
	tcase_add_test(tc, portset_errors);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(portset_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
