/*
 * Status reports (src/status.c), the refusals list (src/refusals.c) and the
 * status socket (src/status-socket.c): each rendering escapes what peers
 * send for its reader (a terminal, a JSON parser, a browser) and keeps
 * numbers exact where they are for scripts; the refusals list is bounded and
 * folds repeats; the socket is owner-only, answers one request per
 * connection, replaces a leftover file but never a live daemon's socket or
 * a file that is not a socket, and removes its file when freed.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "buf.h"
#include "refusals.h"
#include "status-socket.h"
#include "status.h"

static const struct status_col cols[] = {
	{ "name", "NAME", STATUS_TEXT },
	{ "count", "N", STATUS_COUNT },
	{ "bytes", "BYTES", STATUS_BYTES },
	{ "uptime_seconds", "UPTIME", STATUS_SECONDS },
	{ "rtt_ms", "RTT", STATUS_MS },
};

/* A report of one table with a hostile name and one ordinary row, and an empty table. */
static struct status *
sample(const char *name)
{
	struct status *st = status_new("rtund");

	status_table(st, "links", cols, STATUS_NCOLS(cols));
	status_text(st, name);
	status_num(st, 7);
	status_num(st, 3 * 1024 * 1024 + 512 * 1024);
	status_num(st, 3725);
	status_num(st, 0.4251);
	status_text(st, NULL);
	status_num(st, 0);
	status_num(st, 100);
	status_num(st, 59.9);
	status_num(st, -1);
	ck_assert_uint_eq(status_rows(st), 2);
	status_table(st, "refusals", cols, STATUS_NCOLS(cols));
	return st;
}

START_TEST(test_text)
{
	struct status *st = sample("nas");
	char *s = status_render_text(st);

	ck_assert_str_eq(s,
	    "links:\n"
	    "  NAME  N    BYTES  UPTIME      RTT\n"
	    "  nas   7  3.5 MiB   1h02m  0.43 ms\n"
	    "  -     0    100 B     59s        -\n"
	    "\n"
	    "refusals: none\n");
	free(s);
	status_free(st);
	/* Control bytes never reach the terminal. */
	st = sample("a\x1b[2Jb\n");
	s = status_render_text(st);
	ck_assert_ptr_null(strchr(s, '\x1b'));
	ck_assert_ptr_nonnull(strstr(s, "a\\x1b[2Jb\\x0a"));
	free(s);
	status_free(st);
}
END_TEST

START_TEST(test_json)
{
	struct status *st = sample("a\"b\\c<\n\x01\xc3\xa9");
	char *s = status_render_json(st);

	ck_assert_ptr_nonnull(strstr(s, "\"role\": \"rtund\""));
	ck_assert_ptr_nonnull(strstr(s, "{\"name\": \"a\\\"b\\\\c<\\u000a\\u0001\\u00c3\\u00a9\", "
	    "\"count\": 7, \"bytes\": 3670016, \"uptime_seconds\": 3725.000, \"rtt_ms\": 0.425}"));
	ck_assert_ptr_nonnull(strstr(s, "{\"name\": null, \"count\": 0, \"bytes\": 100, "
	    "\"uptime_seconds\": 59.900, \"rtt_ms\": null}"));
	ck_assert_ptr_nonnull(strstr(s, "\"refusals\": []"));
	ck_assert_int_eq(s[strlen(s) - 2], '}');
	free(s);
	status_free(st);
}
END_TEST

START_TEST(test_html)
{
	struct status *st = sample("<script>alert('x')</script>&\"\xc3\xa9");
	char *s = status_render_html(st, 5);

	ck_assert_ptr_null(strstr(s, "<script>"));
	ck_assert_ptr_nonnull(strstr(s, "<td>&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
	    "&amp;&quot;&#xc3;&#xa9;</td>"));
	ck_assert_ptr_nonnull(strstr(s, "<meta http-equiv=\"refresh\" content=\"5\">"));
	ck_assert_ptr_nonnull(strstr(s, "<table id=\"links\">"));
	ck_assert_ptr_nonnull(strstr(s, "<td class=\"n\">3.5 MiB</td>"));
	ck_assert_ptr_nonnull(strstr(s, "<h2>refusals</h2>\n<p class=\"none\">none</p>"));
	/* Self-contained: nothing is fetched from anywhere. */
	ck_assert_ptr_null(strstr(s, "src="));
	ck_assert_ptr_null(strstr(s, "<link"));
	free(s);
	status_free(st);
}
END_TEST

/* The refusals table of r at time now, as JSON. */
static char *
refusals_json(const struct refusals *r, double now)
{
	struct status *st = status_new("rtun");
	char *s;

	refusals_report(r, now, st);
	s = status_render_json(st);
	status_free(st);
	return s;
}

static size_t
count_of(const char *s, const char *what)
{
	size_t n = 0;

	while ((s = strstr(s, what)) != NULL) {
		n++;
		s += strlen(what);
	}
	return n;
}

START_TEST(test_refusals)
{
	struct refusals *r = refusals_new();
	char *s;
	int i;

	/* A peer retrying in a loop is one entry, counted. */
	for (i = 0; i < 1000; i++)
		refusals_add(r, 10 + i, "beta", "in use", "service greedy port %d", 2222);
	refusals_add(r, 2000, NULL, "authentication failed", "link from %s", "192.0.2.7");
	s = refusals_json(r, 2010);
	ck_assert_uint_eq(count_of(s, "\"what\""), 2);
	ck_assert_ptr_nonnull(strstr(s, "{\"ago_seconds\": 10.000, \"who\": null, \"what\": \"link from "
	    "192.0.2.7\", \"reason\": \"authentication failed\", \"count\": 1}"));
	ck_assert_ptr_nonnull(strstr(s, "\"ago_seconds\": 1001.000, \"who\": \"beta\""));
	ck_assert_ptr_nonnull(strstr(s, "\"count\": 1000}"));
	ck_assert(strstr(s, "link from") < strstr(s, "greedy"));   /* newest first */
	free(s);
	/* Bounded: the oldest go first. */
	for (i = 0; i < REFUSALS_MAX + 8; i++) {
		refusals_add(r, 3000 + i, "gamma", "not allowed", "port %d", 3000 + i);
	}
	s = refusals_json(r, 4000);
	ck_assert_uint_eq(count_of(s, "\"what\""), REFUSALS_MAX);
	ck_assert_ptr_null(strstr(s, "greedy"));
	ck_assert_ptr_null(strstr(s, "\"port 3007\""));
	ck_assert_ptr_nonnull(strstr(s, "\"port 3008\""));
	ck_assert_ptr_nonnull(strstr(s, "\"port 3039\""));
	free(s);
	refusals_free(r);
}
END_TEST

static char sockpath[108];
static int fills;

static void
fill(void *arg, struct status *st)
{
	static const struct status_col c[] = { { "agent", "AGENT", STATUS_TEXT } };

	fills++;
	status_table(st, "links", c, 1);
	status_text(st, arg);
}

/* Send req on a fresh connection to path and collect the answer, turning the loop. */
static int
ask(struct ev_loop *loop, const char *path, const char *req, struct buf *out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	char chunk[4096];
	ssize_t n = 0;
	int fd, i;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	ck_assert_int_eq(send(fd, req, strlen(req), 0), (ssize_t)strlen(req));
	buf_init(out);
	for (i = 0; i < 2000; i++) {
		ev_run(loop, EVRUN_NOWAIT);
		n = recv(fd, chunk, sizeof(chunk), 0);
		if (n > 0)
			buf_append(out, chunk, (size_t)n);
		else if (n == 0 || errno != EAGAIN)
			break;
		usleep(1000);
	}
	close(fd);
	ck_assert_int_eq(n, 0);
	buf_append(out, "", 1);
	return 0;
}

START_TEST(test_socket)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct status_socket *ss, *again;
	const char *why = "";
	struct stat sb;
	struct buf out;
	int fd;

	snprintf(sockpath, sizeof(sockpath), "/tmp/rtun-test-status.%d.sock", (int)getpid());
	unlink(sockpath);
	ss = status_socket_new(loop, sockpath, "rtund", fill, "nas", &why);
	ck_assert_ptr_nonnull(ss);
	ck_assert_int_eq(stat(sockpath, &sb), 0);
	ck_assert(S_ISSOCK(sb.st_mode));
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	/* One request per connection, in the form asked for. */
	ck_assert_int_eq(ask(loop, sockpath, "json\n", &out), 0);
	ck_assert_ptr_nonnull(strstr((char *)buf_ptr(&out), "\"links\": [\n    {\"agent\": \"nas\"}"));
	buf_free(&out);
	ck_assert_int_eq(ask(loop, sockpath, "text\n", &out), 0);
	ck_assert_str_eq((char *)buf_ptr(&out), "links:\n  AGENT\n  nas\n");
	buf_free(&out);
	ck_assert_int_eq(ask(loop, sockpath, "status please\n", &out), 0);
	ck_assert_str_eq((char *)buf_ptr(&out),
	    "error: unknown request (this rtund knows \"text\" and \"json\")\n");
	buf_free(&out);
	ck_assert_int_eq(fills, 2);
	/* A live daemon's socket is not taken over. */
	again = status_socket_new(loop, sockpath, "rtund", fill, "x", &why);
	ck_assert_ptr_null(again);
	ck_assert_int_eq(errno, EADDRINUSE);
	ck_assert_str_eq(why, "another running daemon answers on it");
	ck_assert_int_eq(ask(loop, sockpath, "text\n", &out), 0);
	buf_free(&out);
	/* Freed: the file goes. */
	status_socket_free(ss);
	ck_assert_int_eq(access(sockpath, F_OK), -1);
	ck_assert_int_eq(ask(loop, sockpath, "text\n", &out), -1);

	/* A leftover socket (its daemon died) is replaced. */
	{
		struct sockaddr_un sun = { .sun_family = AF_UNIX };

		snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", sockpath);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
		close(fd);
	}
	ss = status_socket_new(loop, sockpath, "rtun", fill, "office", &why);
	ck_assert_ptr_nonnull(ss);
	ck_assert_int_eq(ask(loop, sockpath, "text\n", &out), 0);
	ck_assert_str_eq((char *)buf_ptr(&out), "links:\n  AGENT\n  office\n");
	buf_free(&out);
	status_socket_free(ss);

	/* Something that is not a socket is left alone. */
	fd = open(sockpath, O_CREAT | O_WRONLY, 0600);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_ptr_null(status_socket_new(loop, sockpath, "rtun", fill, "x", &why));
	ck_assert_str_eq(why, "it exists and is not a socket");
	ck_assert_int_eq(access(sockpath, F_OK), 0);
	unlink(sockpath);
	/* A path no unix socket can have. */
	ck_assert_ptr_null(status_socket_new(loop, "/tmp/"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.sock", "rtun", fill, "x", &why));
	ck_assert_str_eq(why, "the path is too long for a unix socket");
	ev_loop_destroy(loop);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("status");
	TCase *tc = tcase_create("status");
	SRunner *sr;
	int failed;

	tcase_add_test(tc, test_text);
	tcase_add_test(tc, test_json);
	tcase_add_test(tc, test_html);
	tcase_add_test(tc, test_refusals);
	tcase_add_test(tc, test_socket);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_NOFORK);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
