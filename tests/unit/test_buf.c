/*
 * Unit tests of src/buf.h and src/buf.c: the reserve/commit/consume cycle,
 * growth that keeps the bytes, sliding unread bytes to the front instead of
 * growing, memory released once drained, and the big-endian helpers.
 */
#include "rtun-build.h"

#include <check.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

/* Append n bytes counting up from *next, so any later byte has a known value. */
static void
append_seq(struct buf *b, size_t n, unsigned *next)
{
	uint8_t *p = buf_reserve(b, n);
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(*next)++;
	buf_commit(b, n);
}

/* The unread bytes are the sequence starting at first, n of them. */
static void
assert_seq(const struct buf *b, unsigned first, size_t n)
{
	size_t i;

	ck_assert_uint_eq(buf_len(b), n);
	for (i = 0; i < n && buf_ptr(b)[i] == (uint8_t)(first + i); i++)
		;
	ck_assert_msg(i == n, "byte %zu of %zu is %u", i, n, buf_ptr(b)[i]);
}

START_TEST(test_empty)
{
	struct buf b;

	buf_init(&b);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(buf_len(&b), 0);
	buf_append(&b, "x", 0);
	ck_assert_ptr_null(b.data);
	buf_consume(&b, 0);
	buf_free(&b);
	ck_assert_uint_eq(b.cap, 0);
}
END_TEST

START_TEST(test_reserve_commit_consume)
{
	struct buf b;
	uint8_t *p;

	buf_init(&b);
	p = buf_reserve(&b, 5);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_eq(buf_len(&b), 0);
	memcpy(p, "hello", 5);
	buf_commit(&b, 3);
	ck_assert_uint_eq(buf_len(&b), 3);
	/* Reserving again hands out the space right after the committed bytes. */
	ck_assert_ptr_eq(buf_reserve(&b, 2), buf_ptr(&b) + 3);
	buf_commit(&b, 2);
	buf_append(&b, " world", 6);
	ck_assert_int_eq(memcmp(buf_ptr(&b), "hello world", 11), 0);
	buf_consume(&b, 6);
	ck_assert_uint_eq(buf_len(&b), 5);
	ck_assert_int_eq(memcmp(buf_ptr(&b), "world", 5), 0);
	buf_free(&b);
}
END_TEST

START_TEST(test_release_when_drained)
{
	struct buf b;

	buf_init(&b);
	buf_append(&b, "abcdef", 6);
	ck_assert_ptr_nonnull(b.data);
	buf_consume(&b, 6);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(b.cap, 0);
	ck_assert_uint_eq(b.off, 0);
	/* Consuming more than is there drains too. */
	buf_append(&b, "abc", 3);
	buf_consume(&b, 100);
	ck_assert_ptr_null(b.data);
	ck_assert_uint_eq(buf_len(&b), 0);
	/* And the buf is usable again. */
	buf_append(&b, "z", 1);
	ck_assert_uint_eq(buf_ptr(&b)[0], 'z');
	buf_free(&b);
}
END_TEST

START_TEST(test_growth)
{
	unsigned next = 0;
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < 100; i++)
		append_seq(&b, 1000, &next);
	assert_seq(&b, 0, 100000);
	ck_assert_uint_ge(b.cap, 100000);
	/* Capacity doubles from 4 KiB, so it stays a power of two. */
	ck_assert_uint_eq(b.cap & (b.cap - 1), 0);
	/* One reservation larger than twice the capacity. */
	append_seq(&b, 5 * b.cap, &next);
	assert_seq(&b, 0, next);
	buf_free(&b);
}
END_TEST

/*
 * Fill 4000 bytes, consume some, then add more: consumed space at the front
 * is reused before the allocation grows, and growing keeps the unread bytes.
 */
START_TEST(test_slide_or_grow)
{
	static const struct {
		size_t consume;     /* of the first 4000 bytes */
		long add;           /* bytes added after, relative to the capacity */
		int grows;
	} cases[] = { { 3000, -1000, 0 }, { 10, 0, 1 } };
	unsigned next = 0;
	struct buf b;
	size_t cap;

	buf_init(&b);
	append_seq(&b, 4000, &next);
	cap = b.cap;
	buf_consume(&b, cases[_i].consume);
	append_seq(&b, (size_t)((long)cap + cases[_i].add), &next);
	ck_assert_int_eq(b.cap > cap, cases[_i].grows);
	ck_assert_uint_eq(b.off, 0);
	assert_seq(&b, (unsigned)cases[_i].consume, next - cases[_i].consume);
	buf_free(&b);
}
END_TEST

START_TEST(test_limit)
{
	struct buf b;

	buf_init(&b);
	buf_append(&b, "x", 1);
	/* Reaching BUF_MAX is a bug, and it stops the process. */
	buf_reserve(&b, BUF_MAX);
}
END_TEST

/* Formatted text is appended after what is there, without its NUL; growth included. */
START_TEST(test_printf)
{
	struct buf b;
	char big[5000];

	buf_init(&b);
	buf_append(&b, "ab", 2);
	buf_printf(&b, "%d-%s", 42, "x");
	ck_assert_uint_eq(buf_len(&b), 6);
	ck_assert_int_eq(memcmp(buf_ptr(&b), "ab42-x", 6), 0);
	memset(big, 'z', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_printf(&b, "%s!", big);
	ck_assert_uint_eq(buf_len(&b), 6 + sizeof(big));
	ck_assert_int_eq(buf_ptr(&b)[buf_len(&b) - 1], '!');
	buf_printf(&b, "%s", "");
	ck_assert_uint_eq(buf_len(&b), 6 + sizeof(big));
	buf_free(&b);
}
END_TEST

/* The bytes as a string the caller owns, the buffer emptied; an empty one gives "". */
START_TEST(test_take_string)
{
	struct buf b;
	char *s;

	buf_init(&b);
	s = buf_take_string(&b);
	ck_assert_str_eq(s, "");
	free(s);
	buf_printf(&b, "links: %d", 2);
	buf_consume(&b, 2);
	s = buf_take_string(&b);
	ck_assert_str_eq(s, "nks: 2");
	ck_assert_uint_eq(buf_len(&b), 0);
	free(s);
	buf_free(&b);
}
END_TEST

START_TEST(test_u32be)
{
	static const uint32_t values[] = { 0, 1, 0x01020304, 0x80000000, 0xffffffff };
	uint8_t p[4];
	size_t i;

	buf_put_u32be(p, 0x01020304);
	ck_assert_int_eq(memcmp(p, "\x01\x02\x03\x04", 4), 0);
	ck_assert_uint_eq(buf_get_u32be((const uint8_t *)"\xfe\xdc\xba\x98"), 0xfedcba98);
	for (i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		buf_put_u32be(p, values[i]);
		ck_assert_uint_eq(buf_get_u32be(p), values[i]);
	}
}
END_TEST

static Suite *
buf_suite(void)
{
	Suite *s = suite_create("buf");
	TCase *tc = tcase_create("buf");

	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_take_string);
	tcase_add_test(tc, test_reserve_commit_consume);
	tcase_add_test(tc, test_release_when_drained);
	tcase_add_test(tc, test_growth);
	tcase_add_loop_test(tc, test_slide_or_grow, 0, 2);
	tcase_add_test_raise_signal(tc, test_limit, SIGABRT);
	tcase_add_test(tc, test_u32be);
	tcase_add_test(tc, test_printf);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(buf_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
