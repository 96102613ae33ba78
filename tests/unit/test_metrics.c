/*
 * Unit tests of src/metrics.c and src/metrics-http.c: the exact Prometheus
 * text of a small registry, slot pointers that stay put while thousands more
 * are registered, released series that go (gauges at once, idle counters
 * beyond a bound), label and HELP escaping, gauge formatting, and the HTTP
 * endpoint driven through a real loopback socket in the test's own event loop
 * (200, 404, 405, 400, 431, a request that arrives in pieces).
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "metrics-http.h"
#include "metrics.h"
#include "xmalloc.h"

static struct metrics *m;

static void
setup(void)
{
	m = metrics_new();
}

static void
teardown(void)
{
	metrics_free(m);
}

/* Render the registry and compare with want. */
static void
assert_render(const char *want)
{
	char *got = metrics_render(m);

	ck_assert_str_eq(got, want);
	free(got);
}

START_TEST(test_empty)
{
	assert_render("");
}
END_TEST

START_TEST(test_render)
{
	uint64_t *streams, *in_a, *in_b;
	double *up, *rtt;

	streams = metrics_counter(m, "x_streams_total", "Streams opened.", "");
	up = metrics_gauge(m, "x_links_up", "Links up.", "");
	in_a = metrics_counter(m, "x_bytes_total", "Bytes in.", "service=\"a\"");
	in_b = metrics_counter(m, "x_bytes_total", "ignored", "service=\"b\"");
	rtt = metrics_gauge(m, "x_rtt_seconds", "RTT.", "agent=\"n\"");
	*streams = 18446744073709551615ULL;
	*up = 1;
	*in_a += 1048576;
	*in_b = 7;
	*rtt = 0.000125;
	ck_assert_ptr_eq(metrics_counter(m, "x_bytes_total", "Bytes in.", "service=\"a\""), in_a);
	ck_assert_ptr_eq(metrics_gauge(m, "x_links_up", "Links up.", NULL), up);
	assert_render("# HELP x_streams_total Streams opened.\n"
		      "# TYPE x_streams_total counter\n"
		      "x_streams_total 18446744073709551615\n"
		      "# HELP x_links_up Links up.\n"
		      "# TYPE x_links_up gauge\n"
		      "x_links_up 1\n"
		      "# HELP x_bytes_total Bytes in.\n"
		      "# TYPE x_bytes_total counter\n"
		      "x_bytes_total{service=\"a\"} 1048576\n"
		      "x_bytes_total{service=\"b\"} 7\n"
		      "# HELP x_rtt_seconds RTT.\n"
		      "# TYPE x_rtt_seconds gauge\n"
		      "x_rtt_seconds{agent=\"n\"} 0.000125\n");
}
END_TEST

START_TEST(test_gauge_values)
{
	static const struct {
		double v;
		const char *text;
	} cases[] = {
		{ 0, "0" },
		{ -2.5, "-2.5" },
		{ 0.1, "0.1" },
		{ 1.0 / 3, "0.3333333333333333" },
		{ 1e300, "1e+300" },
		{ 123456789012, "123456789012" },
	};
	double *g = metrics_gauge(m, "g", "G.", "");
	char want[128];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		*g = cases[i].v;
		snprintf(want, sizeof(want), "# HELP g G.\n# TYPE g gauge\ng %s\n", cases[i].text);
		assert_render(want);
	}
	*g = INFINITY;
	assert_render("# HELP g G.\n# TYPE g gauge\ng +Inf\n");
	*g = -INFINITY;
	assert_render("# HELP g G.\n# TYPE g gauge\ng -Inf\n");
	*g = NAN;
	assert_render("# HELP g G.\n# TYPE g gauge\ng NaN\n");
}
END_TEST

START_TEST(test_stable_slots)
{
	enum { N = 3000 };
	uint64_t *c[N];
	double *g[N];
	char labels[64];
	char *text;
	int i;

	for (i = 0; i < N; i++) {
		snprintf(labels, sizeof(labels), "n=\"%d\"", i);
		c[i] = metrics_counter(m, "c_total", "C.", labels);
		g[i] = metrics_gauge(m, "g", "G.", labels);
		*c[i] = (uint64_t)i;
		*g[i] = i + 0.5;
	}
	for (i = 0; i < N; i++) {
		snprintf(labels, sizeof(labels), "n=\"%d\"", i);
		ck_assert_ptr_eq(metrics_counter(m, "c_total", "C.", labels), c[i]);
		ck_assert_ptr_eq(metrics_gauge(m, "g", "G.", labels), g[i]);
		ck_assert_uint_eq(*c[i], (uint64_t)i);
	}
	text = metrics_render(m);
	ck_assert_ptr_nonnull(strstr(text, "\nc_total{n=\"0\"} 0\nc_total{n=\"1\"} 1\n"));
	ck_assert_ptr_nonnull(strstr(text, "\nc_total{n=\"2999\"} 2999\n# HELP g G.\n"));
	ck_assert_ptr_nonnull(strstr(text, "\ng{n=\"2999\"} 2999.5\n"));
	free(text);
}
END_TEST

/* How many sample lines of name the registry renders. */
static int
count_samples(const char *name)
{
	char *text = metrics_render(m), *p, want[64];
	int n = 0;

	snprintf(want, sizeof(want), "\n%s{", name);
	for (p = text; (p = strstr(p, want)) != NULL; p++)
		n++;
	free(text);
	return n;
}

START_TEST(test_release_gauge)
{
	double *g = metrics_gauge(m, "g", "G.", "agent=\"a\"");

	*g = 0.25;
	ck_assert_ptr_eq(metrics_gauge(m, "g", "G.", "agent=\"a\""), g);
	metrics_release(m, g);
	ck_assert_int_eq(count_samples("g"), 1);
	metrics_release(m, g);
	/* The last reference is gone: so is the series; HELP and TYPE stay. */
	assert_render("# HELP g G.\n# TYPE g gauge\n");
	metrics_release(m, NULL);
	g = metrics_gauge(m, "g", "G.", "agent=\"a\"");
	ck_assert(*g == 0);
	metrics_release(m, g);
}
END_TEST

START_TEST(test_release_counter_idle)
{
	uint64_t *c = metrics_counter(m, "c_total", "C.", "agent=\"a\"");
	uint64_t *d = metrics_counter(m, "c_total", "C.", "agent=\"b\"");

	*c = 42;
	metrics_release(m, c);
	/* Idle, still served, and found again with its count: a reconnect continues it. */
	assert_render("# HELP c_total C.\n# TYPE c_total counter\n"
		      "c_total{agent=\"a\"} 42\nc_total{agent=\"b\"} 0\n");
	ck_assert_ptr_eq(metrics_counter(m, "c_total", "C.", "agent=\"a\""), c);
	ck_assert_uint_eq(*c, 42);
	metrics_release(m, c);
	metrics_release(m, d);
}
END_TEST

START_TEST(test_release_bounded)
{
	enum { N = 30000 };
	uint64_t *c, *keep;
	double *g;
	char labels[64];
	int i;

	keep = metrics_counter(m, "c_total", "C.", "agent=\"held\"");
	for (i = 0; i < N; i++) {
		snprintf(labels, sizeof(labels), "agent=\"a%d\"", i);
		c = metrics_counter(m, "c_total", "C.", labels);
		g = metrics_gauge(m, "g", "G.", labels);
		*c = (uint64_t)i;
		metrics_release(m, g);
		metrics_release(m, c);
	}
	/* The held series and the METRICS_IDLE_MAX most recently idle counters remain. */
	ck_assert_int_eq(count_samples("c_total"), METRICS_IDLE_MAX + 1);
	ck_assert_int_eq(count_samples("g"), 0);
	ck_assert_ptr_eq(metrics_counter(m, "c_total", "C.", "agent=\"held\""), keep);
	snprintf(labels, sizeof(labels), "agent=\"a%d\"", N - 1);
	c = metrics_counter(m, "c_total", "C.", labels);
	ck_assert_uint_eq(*c, N - 1);
	snprintf(labels, sizeof(labels), "agent=\"a%d\"", N - METRICS_IDLE_MAX - 1);
	c = metrics_counter(m, "c_total", "C.", labels);
	ck_assert_uint_eq(*c, 0);
}
END_TEST

START_TEST(test_label_escape)
{
	char out[64];

	ck_assert_str_eq(metrics_label_value("plain-name_1.x", out, sizeof(out)), "plain-name_1.x");
	ck_assert_str_eq(metrics_label_value("a\"b\\c\nd", out, sizeof(out)), "a\\\"b\\\\c\\nd");
	ck_assert_str_eq(metrics_label_value("", out, sizeof(out)), "");
	/* Truncation keeps the terminator and never splits an escape. */
	ck_assert_str_eq(metrics_label_value("abc", out, 3), "ab");
	ck_assert_str_eq(metrics_label_value("a\"b", out, 3), "a");
	ck_assert_str_eq(metrics_label_value("a\"b", out, 4), "a\\\"");
	ck_assert_ptr_eq(metrics_label_value("x", out, 0), out);
}
END_TEST

START_TEST(test_help_escape)
{
	metrics_counter(m, "h_total", "A \\ and\na \"quote\".", "");
	assert_render("# HELP h_total A \\\\ and\\na \"quote\".\n"
		      "# TYPE h_total counter\n"
		      "h_total 0\n");
}
END_TEST

/* The HTTP endpoint, driven from the test's own loop. */

struct client {
	int fd;
	char resp[65536];
	size_t len;
	int timed_out;
};

static struct ev_loop *loop;
static struct net_addr maddr;
static struct metrics_http *http;

static void
http_setup(void)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)&maddr.ss;
	socklen_t len = sizeof(*sin);
	int fd;

	setup();
	loop = ev_loop_new(EVFLAG_AUTO);
	/* A free port: bind to port 0, read it back, and let metrics_http_new() take it. */
	memset(&maddr, 0, sizeof(maddr));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	maddr.len = sizeof(*sin);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(fd, -1);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)sin, len), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)sin, &len), 0);
	close(fd);
	http = metrics_http_new(loop, &maddr, m);
	ck_assert_ptr_nonnull(http);
	ck_assert_ptr_null(metrics_http_new(loop, &maddr, m));
	ck_assert_int_eq(errno, EADDRINUSE);
	metrics_counter(m, "req_total", "Requests.", "")[0] = 42;
}

static void
http_teardown(void)
{
	metrics_http_free(http);
	teardown();
	ev_loop_destroy(loop);
}

static void
client_read_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct client *c = w->data;
	ssize_t n;

	n = recv(c->fd, c->resp + c->len, sizeof(c->resp) - 1 - c->len, 0);
	if (n == -1 && errno == EAGAIN)
		return;
	if (n <= 0) {
		ev_break(l, EVBREAK_ONE);
		return;
	}
	c->len += (size_t)n;
	c->resp[c->len] = '\0';
}

static void
client_timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	struct client *c = w->data;

	c->timed_out = 1;
	ev_break(l, EVBREAK_ONE);
}

/* Run the loop until the server closes c or 5 s pass. */
static void
client_run(struct client *c)
{
	ev_io io;
	ev_timer t;

	ev_io_init(&io, client_read_cb, c->fd, EV_READ);
	ev_timer_init(&t, client_timeout_cb, 5.0, 0.0);
	io.data = t.data = c;
	ev_io_start(loop, &io);
	ev_timer_start(loop, &t);
	ev_run(loop, 0);
	ev_io_stop(loop, &io);
	ev_timer_stop(loop, &t);
	ck_assert_msg(!c->timed_out, "no response within 5 s; got \"%s\"", c->resp);
}

static void
client_connect(struct client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = socket(AF_INET, SOCK_STREAM, 0);
	ck_assert_int_ne(c->fd, -1);
	ck_assert_int_eq(connect(c->fd, (struct sockaddr *)&maddr.ss, maddr.len), 0);
}

static void
client_send(struct client *c, const char *req, size_t len)
{
	ck_assert_int_eq(send(c->fd, req, len, MSG_NOSIGNAL), (ssize_t)len);
}

/* Send req on a new connection and return the whole response in c. */
static void
http_request(struct client *c, const char *req, size_t len)
{
	client_connect(c);
	client_send(c, req, len);
	client_run(c);
	close(c->fd);
}

static void
assert_status(const char *req, const char *status_line)
{
	struct client c;

	http_request(&c, req, strlen(req));
	ck_assert_msg(strncmp(c.resp, status_line, strlen(status_line)) == 0,
	    "request \"%s\": got \"%s\"", req, c.resp);
	ck_assert_ptr_nonnull(strstr(c.resp, "\r\nConnection: close\r\n"));
}

START_TEST(test_http_get)
{
	static const char body[] = "# HELP req_total Requests.\n"
				   "# TYPE req_total counter\n"
				   "req_total 42\n";
	struct client c;
	char want[512];

	snprintf(want, sizeof(want),
	    "HTTP/1.1 200 OK\r\n"
	    "Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	    "Content-Length: %zu\r\n"
	    "Connection: close\r\n\r\n%s",
	    strlen(body), body);
	http_request(&c, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 34);
	ck_assert_str_eq(c.resp, want);
	assert_status("GET /metrics?name[]=x HTTP/1.0\r\n\r\n", "HTTP/1.1 200 OK\r\n");
}
END_TEST

START_TEST(test_http_pieces)
{
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
				  "User-Agent: test\r\n\r\n";
	struct client c;
	size_t i;

	client_connect(&c);
	/* One byte per loop turn: the parser must keep its place between reads. */
	for (i = 0; i + 1 < sizeof(req); i++) {
		client_send(&c, req + i, 1);
		ev_run(loop, EVRUN_NOWAIT);
	}
	client_run(&c);
	close(c.fd);
	ck_assert_ptr_nonnull(strstr(c.resp, "HTTP/1.1 200 OK\r\n"));
	ck_assert_ptr_nonnull(strstr(c.resp, "\r\n\r\n# HELP req_total Requests.\n"));
}
END_TEST

START_TEST(test_http_errors)
{
	struct client c;
	char *big;

	assert_status("GET /other HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n");
	assert_status("GET /metricsx HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n");
	assert_status("GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found\r\n");
	assert_status("POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
	    "HTTP/1.1 405 Method Not Allowed\r\n");
	http_request(&c, "HEAD /metrics HTTP/1.1\r\n\r\n", 26);
	ck_assert_ptr_nonnull(strstr(c.resp, "\r\nAllow: GET\r\n"));
	assert_status("NONSENSE\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n");
	assert_status("GET /metrics HTTP/1.1\r\nBad Header\r\n\r\n", "HTTP/1.1 400 Bad Request\r\n");
	big = xmalloc(16384);
	memcpy(big, "GET /metrics HTTP/1.1\r\nX: ", 26);
	memset(big + 26, 'a', 16384 - 26);
	http_request(&c, big, 16384);
	free(big);
	ck_assert_msg(strncmp(c.resp, "HTTP/1.1 431 ", 13) == 0, "got \"%s\"", c.resp);
}
END_TEST

START_TEST(test_http_free_open)
{
	struct client c;

	/* metrics_http_free() with a connection still half-way through its request. */
	client_connect(&c);
	client_send(&c, "GET /metr", 9);
	ev_run(loop, EVRUN_NOWAIT);
	ev_run(loop, EVRUN_NOWAIT);
	metrics_http_free(http);
	http = NULL;
	client_run(&c);
	close(c.fd);
	ck_assert_str_eq(c.resp, "");
}
END_TEST

static Suite *
metrics_suite(void)
{
	Suite *s = suite_create("metrics");
	TCase *tc = tcase_create("registry");
	TCase *th = tcase_create("http");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_empty);
	tcase_add_test(tc, test_render);
	tcase_add_test(tc, test_gauge_values);
	tcase_add_test(tc, test_stable_slots);
	tcase_add_test(tc, test_release_gauge);
	tcase_add_test(tc, test_release_counter_idle);
	tcase_add_test(tc, test_release_bounded);
	tcase_add_test(tc, test_label_escape);
	tcase_add_test(tc, test_help_escape);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(th, http_setup, http_teardown);
	tcase_add_test(th, test_http_get);
	tcase_add_test(th, test_http_pieces);
	tcase_add_test(th, test_http_errors);
	tcase_add_test(th, test_http_free_open);
	suite_add_tcase(s, th);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(metrics_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
