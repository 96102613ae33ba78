/*
 * Unit tests of src/log.c: the escaper that keeps peer-supplied text from
 * forging log lines (newlines, carriage returns, ANSI escape sequences,
 * backslashes, invalid, overlong and truncated UTF-8, C1 controls, while valid
 * UTF-8 passes), its truncation, log_safe() on length-delimited text, and a
 * whole line from log_msg() read back from stderr.
 */
#include "rtun-build.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Escape the first len bytes of in and compare with want. */
static void
assert_escape(const char *in, size_t len, const char *want)
{
	char out[256];
	size_t n;

	n = log_escape(in, len, out, sizeof(out));
	ck_assert_str_eq(out, want);
	ck_assert_uint_eq(n, strlen(want));
}

#define ESCAPE(lit, want) assert_escape(lit, sizeof(lit) - 1, want)

START_TEST(test_printable)
{
	ESCAPE("", "");
	ESCAPE("agent nas (127.0.0.1:4000): service ssh", "agent nas (127.0.0.1:4000): service ssh");
	ESCAPE("~ !\"'", "~ !\"'");
}
END_TEST

START_TEST(test_line_breaks)
{
	ESCAPE("a\nb", "a\\x0ab");
	ESCAPE("a\r\nZ rtund[1]: info: forged", "a\\x0d\\x0aZ rtund[1]: info: forged");
	ESCAPE("\t\v\f\b", "\\x09\\x0b\\x0c\\x08");
	ESCAPE("nul\0after", "nul\\x00after");
	ESCAPE("del\x7f", "del\\x7f");
}
END_TEST

START_TEST(test_ansi)
{
	ESCAPE("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m");
	ESCAPE("\x1b]0;title\x07", "\\x1b]0;title\\x07");
	/* C1 CSI (U+009B) as UTF-8, which some terminals obey like ESC [. */
	ESCAPE("\xc2\x9b" "2J", "\\xc2\\x9b2J");
	ESCAPE("\xc2\x80\xc2\x9f", "\\xc2\\x80\\xc2\\x9f");
}
END_TEST

START_TEST(test_backslash)
{
	/* Escaped so that a literal "\x0a" from a peer cannot pass for an escape of ours. */
	ESCAPE("\\x0a", "\\x5cx0a");
	ESCAPE("a\\b", "a\\x5cb");
}
END_TEST

START_TEST(test_utf8_valid)
{
	ESCAPE("caf\xc3\xa9", "caf\xc3\xa9");
	ESCAPE("\xc2\xa0", "\xc2\xa0");
	ESCAPE("\xe2\x82\xac 5", "\xe2\x82\xac 5");
	ESCAPE("\xed\x9f\xbf", "\xed\x9f\xbf");          /* U+D7FF, just below the surrogates */
	ESCAPE("\xef\xbf\xbd", "\xef\xbf\xbd");
	ESCAPE("\xf0\x9f\x98\x80", "\xf0\x9f\x98\x80"); /* U+1F600 */
	ESCAPE("\xf4\x8f\xbf\xbf", "\xf4\x8f\xbf\xbf"); /* U+10FFFF */
}
END_TEST

START_TEST(test_utf8_invalid)
{
	ESCAPE("\xff\xfe", "\\xff\\xfe");
	ESCAPE("\x80x", "\\x80x");                    /* stray continuation byte */
	ESCAPE("\xc3(", "\\xc3(");                    /* lead byte without its continuation */
	ESCAPE("\xed\xa0\x80", "\\xed\\xa0\\x80");    /* surrogate U+D800 */
	ESCAPE("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
	ESCAPE("\xf5\x80\x80\x80", "\\xf5\\x80\\x80\\x80");
}
END_TEST

START_TEST(test_utf8_overlong)
{
	/* Overlong forms of '/', NUL and '\n' must not decode to what they hide. */
	ESCAPE("\xc0\xaf", "\\xc0\\xaf");
	ESCAPE("\xc0\x80", "\\xc0\\x80");
	ESCAPE("\xc1\x8a", "\\xc1\\x8a");
	ESCAPE("\xe0\x80\x8a", "\\xe0\\x80\\x8a");
	ESCAPE("\xe0\x9f\xbf", "\\xe0\\x9f\\xbf");
	ESCAPE("\xf0\x80\x80\x8a", "\\xf0\\x80\\x80\\x8a");
	ESCAPE("\xf0\x8f\xbf\xbf", "\\xf0\\x8f\\xbf\\xbf");
}
END_TEST

START_TEST(test_utf8_truncated)
{
	ESCAPE("\xe2\x82", "\\xe2\\x82");
	ESCAPE("\xf0\x9f\x98", "\\xf0\\x9f\\x98");
	ESCAPE("\xf0\x9f\x98\n", "\\xf0\\x9f\\x98\\x0a");
	/* The sequence is cut by len, not by a NUL. */
	assert_escape("\xc3\xa9", 1, "\\xc3");
}
END_TEST

START_TEST(test_truncation)
{
	char out[8];

	/* Room for 7 bytes: an escape that does not fit whole is left out. */
	ck_assert_uint_eq(log_escape("abcde\nf", 7, out, sizeof(out)), 5);
	ck_assert_str_eq(out, "abcde");
	ck_assert_uint_eq(log_escape("abc\xe2\x82\xac\xe2\x82\xac", 9, out, sizeof(out)), 6);
	ck_assert_str_eq(out, "abc\xe2\x82\xac");
	ck_assert_uint_eq(log_escape("\n\n", 2, out, sizeof(out)), 4);
	ck_assert_str_eq(out, "\\x0a");
	ck_assert_uint_eq(log_escape("x", 1, out, 1), 0);
	ck_assert_str_eq(out, "");
	ck_assert_uint_eq(log_escape("x", 1, out, 0), 0);
}
END_TEST

START_TEST(test_safe)
{
	char out[8];

	ck_assert_str_eq(log_safe("ab\ncd", 5, out, sizeof(out)), "ab\ncd");
	ck_assert_str_eq(log_safe("ab\0cd", 5, out, sizeof(out)), "ab");
	ck_assert_str_eq(log_safe("0123456789", 10, out, sizeof(out)), "0123456");
	ck_assert_str_eq(log_safe("xyz", 0, out, sizeof(out)), "");
}
END_TEST

START_TEST(test_msg_line)
{
	char path[] = "/tmp/test_log.XXXXXX", got[512];
	int fd, saved;
	FILE *f;

	ck_assert_int_ge(fd = mkstemp(path), 0);
	saved = dup(STDERR_FILENO);
	dup2(fd, STDERR_FILENO);
	log_init("test_log", LOG_LEVEL_INFO, 0);
	log_warn("service %s refused: %s", "a\nb", "\x1b[2J\r\n2024-01-01T00:00:00.000Z x");
	log_debug("not shown %s", "at info");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	f = fdopen(fd, "r");
	rewind(f);
	ck_assert_ptr_nonnull(fgets(got, sizeof(got), f));
	ck_assert_ptr_nonnull(strstr(got, " test_log["));
	ck_assert_ptr_nonnull(strstr(got, "]: warn: service a\\x0ab refused: "
					  "\\x1b[2J\\x0d\\x0a2024-01-01T00:00:00.000Z x\n"));
	/* One line only: nothing forged, nothing at debug level. */
	ck_assert_ptr_null(fgets(got, sizeof(got), f));
	fclose(f);
	unlink(path);
}
END_TEST

static Suite *
log_suite(void)
{
	Suite *s = suite_create("log");
	TCase *esc = tcase_create("escape");
	TCase *msg = tcase_create("message");

	tcase_add_test(esc, test_printable);
	tcase_add_test(esc, test_line_breaks);
	tcase_add_test(esc, test_ansi);
	tcase_add_test(esc, test_backslash);
	tcase_add_test(esc, test_utf8_valid);
	tcase_add_test(esc, test_utf8_invalid);
	tcase_add_test(esc, test_utf8_overlong);
	tcase_add_test(esc, test_utf8_truncated);
	tcase_add_test(esc, test_truncation);
	tcase_add_test(esc, test_safe);
	tcase_add_test(msg, test_msg_line);
	suite_add_tcase(s, esc);
	suite_add_tcase(s, msg);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(log_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
