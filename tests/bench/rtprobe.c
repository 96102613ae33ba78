/*
 * rtprobe: the measuring client and the echo target of the rtun benchmark
 * (tests/bench/bench.sh). It speaks plain TCP and nothing else, so the same
 * probe runs unchanged against a direct connection, an rtun tunnel, ssh -R and
 * a haproxy chain, and their numbers compare.
 *
 * Every mode is bounded: single socket operations carry IO_TIMEOUT_MS and
 * loops carry a deadline, so a wedged path makes the probe fail, never hang.
 * Each result is one line of key=value pairs on stdout for the script to parse;
 * errors go to stderr and exit 1.
 */
#include "rtun-build.h"

#include <sys/types.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <err.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define IO_TIMEOUT_MS 5000      /* one connect, read or write */
#define WARMUP_PINGS 10         /* not counted: the first ones set paths up */
#define ECHO_BUF_SIZE 16384     /* per echo connection */
#define EVENTS_MAX 256          /* epoll_wait batch */
#define LISTEN_BACKLOG 4096
#define CONNRATE_RETRIES 3      /* immediate connect failures before a slot gives up */
#define NSEC_PER_SEC 1000000000LL

/* A resolved TCP peer. */
struct target {
	struct sockaddr_storage ss;
	socklen_t len;
	const char *host;
	const char *port;
};

/* One connection of echo-server. */
struct echo_conn {
	int fd;
	int want_out;           /* watching EPOLLOUT instead of EPOLLIN */
	size_t off, len;        /* unsent bytes are buf[off .. len) */
	char buf[ECHO_BUF_SIZE];
};

/* One concurrent attempt of connrate. */
enum slot_state { SLOT_IDLE, SLOT_CONNECTING, SLOT_WAITING };

struct slot {
	int fd;
	enum slot_state state;
};

struct connrate {
	int ep;
	const struct target *t;
	struct slot *slots;
	int nslots;
	unsigned long done, errors;
};

static int64_t
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* Sleep until the monotonic time t (ns). */
static void
sleep_until(int64_t t)
{
	struct timespec ts;
	int rc;

	ts.tv_sec = (time_t)(t / NSEC_PER_SEC);
	ts.tv_nsec = (long)(t % NSEC_PER_SEC);
	do
		rc = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	while (rc == EINTR);
}

/* Milliseconds from now until deadline, 0 if past. */
static int
ms_until(int64_t deadline)
{
	int64_t left = deadline - now_ns();

	return left <= 0 ? 0 : (int)(left / 1000000 + 1);
}

static long
parse_num(const char *s, long min, long max, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		errx(1, "%s must be a number from %ld to %ld: %s", what, min, max, s);
	return v;
}

static void *
xcalloc(size_t n, size_t size)
{
	void *p;

	if ((p = calloc(n, size)) == NULL)
		err(1, "calloc");
	return p;
}

/* Allow at least need descriptors, as far as the hard limit lets us. */
static void
raise_nofile(rlim_t need)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= need)
		return;
	rl.rlim_cur = rl.rlim_max < need ? rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0)
		warn("setrlimit(RLIMIT_NOFILE)");
}

static void
target_resolve(const char *host, const char *port, int passive, struct target *t)
{
	struct addrinfo hints, *res;
	int rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0)
		errx(1, "%s:%s: %s", host, port, gai_strerror(rc));
	memcpy(&t->ss, res->ai_addr, res->ai_addrlen);
	t->len = res->ai_addrlen;
	t->host = host;
	t->port = port;
	freeaddrinfo(res);
}

/* Start a non-blocking connect; returns the fd or -1 with errno set. */
static int
connect_start(const struct target *t)
{
	int fd, one = 1;

	fd = socket(t->ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		err(1, "socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&t->ss, t->len) == 0 || errno == EINPROGRESS)
		return fd;
	close(fd);
	return -1;
}

/* The pending error of a socket whose connect finished, 0 if it connected. */
static int
connect_result(int fd)
{
	int soerr = 0;
	socklen_t len = sizeof(soerr);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) != 0)
		return errno;
	return soerr;
}

static void
set_blocking_timeouts(int fd)
{
	struct timeval tv = { IO_TIMEOUT_MS / 1000, (IO_TIMEOUT_MS % 1000) * 1000 };
	int fl;

	if ((fl = fcntl(fd, F_GETFL)) == -1 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) == -1)
		err(1, "fcntl");
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* Connect within IO_TIMEOUT_MS; returns a blocking fd with I/O timeouts, or -1. */
static int
dial(const struct target *t)
{
	struct pollfd pfd;
	int fd, rc;

	if ((fd = connect_start(t)) == -1)
		return -1;
	pfd.fd = fd;
	pfd.events = POLLOUT;
	do
		rc = poll(&pfd, 1, IO_TIMEOUT_MS);
	while (rc == -1 && errno == EINTR);
	if (rc == 0)
		errno = ETIMEDOUT;
	else if (rc == 1 && (errno = connect_result(fd)) == 0) {
		set_blocking_timeouts(fd);
		return fd;
	}
	close(fd);
	return -1;
}

/* Send one byte and wait for one back; 0 or -1 (EOF counts as EPIPE). */
static int
exchange_byte(int fd)
{
	char c = 'x';
	ssize_t n;

	if (write(fd, &c, 1) != 1)
		return -1;
	do
		n = read(fd, &c, 1);
	while (n == -1 && errno == EINTR);
	if (n == 0)
		errno = EPIPE;
	return n == 1 ? 0 : -1;
}

static int
listen_on(const char *addr, const char *port)
{
	struct target t;
	int fd, one = 1;

	target_resolve(addr, port, 1, &t);
	fd = socket(t.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd == -1)
		err(1, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&t.ss, t.len) != 0)
		err(1, "bind %s:%s", addr, port);
	if (listen(fd, LISTEN_BACKLOG) != 0)
		err(1, "listen %s:%s", addr, port);
	return fd;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile p (0..100] of n sorted samples, in microseconds. */
static double
percentile_us(const int64_t *v, size_t n, unsigned p)
{
	size_t rank = (n * p + 99) / 100;

	return v[rank == 0 ? 0 : rank - 1] / 1000.0;
}

/* One 1-byte round trip (ping number i, for the error); its duration in ns. */
static int64_t
ping_once(int fd, size_t i)
{
	int64_t t0 = now_ns();

	if (exchange_byte(fd) != 0)
		err(1, "ping %zu", i);
	return now_ns() - t0;
}

/*
 * Ping until count samples or the deadline; a ping every interval_ns (0: back
 * to back). A late ping moves the schedule instead of bursting to catch up.
 */
static size_t
ping_loop(int fd, int64_t *samples, size_t count, int64_t interval_ns, int64_t deadline)
{
	int64_t next = now_ns();
	size_t n;

	for (n = 0; n < count && now_ns() < deadline; n++) {
		if (interval_ns > 0) {
			sleep_until(next);
			next += interval_ns;
			if (next < now_ns())
				next = now_ns();
		}
		samples[n] = ping_once(fd, n);
	}
	return n;
}

/* pingpong HOST PORT COUNT [INTERVAL_US [SECONDS]] */
static int
cmd_pingpong(int argc, char **argv)
{
	struct target t;
	int64_t *samples, interval_ns = 0, deadline;
	size_t count, n;
	int fd;

	if (argc < 3 || argc > 5)
		errx(1, "usage: pingpong HOST PORT COUNT [INTERVAL_US [SECONDS]]");
	target_resolve(argv[0], argv[1], 0, &t);
	count = (size_t)parse_num(argv[2], 1, 10000000, "COUNT");
	if (argc > 3)
		interval_ns = parse_num(argv[3], 0, 10000000, "INTERVAL_US") * 1000;
	deadline = now_ns() + (argc > 4 ? parse_num(argv[4], 1, 3600, "SECONDS") : 60) *
	    NSEC_PER_SEC;
	if ((fd = dial(&t)) == -1)
		err(1, "connect %s:%s", t.host, t.port);
	for (n = 0; n < WARMUP_PINGS; n++)
		(void)ping_once(fd, n);
	samples = xcalloc(count, sizeof(*samples));
	n = ping_loop(fd, samples, count, interval_ns, deadline);
	close(fd);
	if (n == 0)
		errx(1, "no ping finished before the deadline");
	qsort(samples, n, sizeof(*samples), cmp_i64);
	printf("pingpong n=%zu p50_us=%.1f p99_us=%.1f max_us=%.1f\n", n,
	    percentile_us(samples, n, 50), percentile_us(samples, n, 99),
	    percentile_us(samples, n, 100));
	free(samples);
	return 0;
}

static void
echo_watch(int ep, struct echo_conn *c, int want_out)
{
	struct epoll_event ev;

	if (c->want_out == want_out)
		return;
	c->want_out = want_out;
	ev.events = want_out ? EPOLLOUT : EPOLLIN;
	ev.data.ptr = c;
	if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev) != 0)
		err(1, "epoll_ctl");
}

/* Read what is there: 1 got data, 0 nothing yet, -1 EOF or error. */
static int
echo_read(struct echo_conn *c)
{
	ssize_t n = read(c->fd, c->buf, sizeof(c->buf));

	if (n > 0) {
		c->off = 0;
		c->len = (size_t)n;
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	return -1;
}

/* Write out what is pending; 0 (maybe with bytes left) or -1 on error. */
static int
echo_flush(struct echo_conn *c)
{
	while (c->off < c->len) {
		ssize_t n = write(c->fd, c->buf + c->off, c->len - c->off);

		if (n == -1)
			return errno == EAGAIN || errno == EINTR ? 0 : -1;
		c->off += (size_t)n;
	}
	c->off = c->len = 0;
	return 0;
}

/*
 * One readiness event: echo at most one buffer, then watch for output while
 * bytes are pending and for input otherwise, so a peer that does not read
 * stops being read.
 */
static void
echo_event(int ep, struct echo_conn *c)
{
	int r;

	if (c->len == 0) {
		if ((r = echo_read(c)) < 0)
			goto drop;
		if (r == 0)
			return;
	}
	if (echo_flush(c) != 0)
		goto drop;
	echo_watch(ep, c, c->len > 0);
	return;
drop:
	close(c->fd);
	free(c);
}

static void
echo_accept(int ep, int lfd)
{
	struct epoll_event ev;
	struct echo_conn *c;
	int fd, one = 1;

	while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c = xcalloc(1, sizeof(*c));
		c->fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
			err(1, "epoll_ctl");
	}
	if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
		warn("accept");
}

/* echo-server PORT [ADDR [SECONDS]]: echo every byte until SECONDS pass (default 900). */
static int
cmd_echo_server(int argc, char **argv)
{
	struct epoll_event ev, evs[EVENTS_MAX];
	int64_t deadline;
	int ep, lfd, i;

	if (argc < 1 || argc > 3)
		errx(1, "usage: echo-server PORT [ADDR [SECONDS]]");
	deadline = now_ns() + (argc > 2 ? parse_num(argv[2], 1, 86400, "SECONDS") : 900) *
	    NSEC_PER_SEC;
	raise_nofile(65536);
	lfd = listen_on(argc > 1 ? argv[1] : "127.0.0.1", argv[0]);
	if ((ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev) != 0)
		err(1, "epoll_ctl");
	while (now_ns() < deadline) {
		int n = epoll_wait(ep, evs, EVENTS_MAX, ms_until(deadline));

		if (n == -1 && errno != EINTR)
			err(1, "epoll_wait");
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				echo_accept(ep, lfd);
			else
				echo_event(ep, evs[i].data.ptr);
		}
	}
	return 0;
}

static void
slot_watch(struct connrate *cr, struct slot *s, int op, uint32_t events)
{
	struct epoll_event ev;

	ev.events = events;
	ev.data.u32 = (uint32_t)(s - cr->slots);
	if (epoll_ctl(cr->ep, op, s->fd, &ev) != 0)
		err(1, "epoll_ctl");
}

/* Begin a new attempt in s; a slot whose connects fail at once goes idle. */
static void
slot_start(struct connrate *cr, struct slot *s)
{
	int i;

	for (i = 0; i < CONNRATE_RETRIES; i++) {
		if ((s->fd = connect_start(cr->t)) != -1) {
			s->state = SLOT_CONNECTING;
			slot_watch(cr, s, EPOLL_CTL_ADD, EPOLLOUT);
			return;
		}
		cr->errors++;
	}
	s->state = SLOT_IDLE;
}

/* End the attempt in s, counted as done or failed, and start the next. */
static void
slot_finish(struct connrate *cr, struct slot *s, int ok)
{
	close(s->fd);
	s->fd = -1;
	if (ok)
		cr->done++;
	else
		cr->errors++;
	slot_start(cr, s);
}

static void
slot_event(struct connrate *cr, struct slot *s)
{
	char c = 'x';

	if (s->state == SLOT_CONNECTING) {
		if (connect_result(s->fd) != 0 || write(s->fd, &c, 1) != 1) {
			slot_finish(cr, s, 0);
			return;
		}
		s->state = SLOT_WAITING;
		slot_watch(cr, s, EPOLL_CTL_MOD, EPOLLIN);
		return;
	}
	ssize_t n = read(s->fd, &c, 1);

	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	slot_finish(cr, s, n == 1);
}

/* connrate HOST PORT SECONDS [PARALLEL]: connect, 1-byte echo, close, again. */
static int
cmd_connrate(int argc, char **argv)
{
	struct epoll_event evs[EVENTS_MAX];
	struct connrate cr;
	struct target t;
	int64_t start, deadline;
	int i;

	if (argc < 3 || argc > 4)
		errx(1, "usage: connrate HOST PORT SECONDS [PARALLEL]");
	memset(&cr, 0, sizeof(cr));
	target_resolve(argv[0], argv[1], 0, &t);
	cr.t = &t;
	cr.nslots = argc > 3 ? (int)parse_num(argv[3], 1, 1024, "PARALLEL") : 1;
	start = now_ns();
	deadline = start + parse_num(argv[2], 1, 3600, "SECONDS") * NSEC_PER_SEC;
	if ((cr.ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		err(1, "epoll_create1");
	cr.slots = xcalloc((size_t)cr.nslots, sizeof(*cr.slots));
	for (i = 0; i < cr.nslots; i++)
		slot_start(&cr, &cr.slots[i]);
	while (now_ns() < deadline) {
		int n = epoll_wait(cr.ep, evs, EVENTS_MAX, ms_until(deadline));

		if (n == -1 && errno != EINTR)
			err(1, "epoll_wait");
		for (i = 0; i < n; i++)
			slot_event(&cr, &cr.slots[evs[i].data.u32]);
	}
	printf("connrate n=%lu errors=%lu seconds=%.2f per_s=%.0f\n", cr.done, cr.errors,
	    (now_ns() - start) / 1e9, cr.done / ((now_ns() - start) / 1e9));
	return 0;
}

/* hold HOST PORT N SECONDS: open N connections, echo a byte on each, keep them idle. */
static int
cmd_hold(int argc, char **argv)
{
	struct target t;
	int64_t deadline;
	int *fds, n, i;

	if (argc != 4)
		errx(1, "usage: hold HOST PORT N SECONDS");
	target_resolve(argv[0], argv[1], 0, &t);
	n = (int)parse_num(argv[2], 1, 60000, "N");
	deadline = now_ns() + parse_num(argv[3], 1, 3600, "SECONDS") * NSEC_PER_SEC;
	raise_nofile((rlim_t)n + 64);
	fds = xcalloc((size_t)n, sizeof(*fds));
	for (i = 0; i < n; i++) {
		if ((fds[i] = dial(&t)) == -1)
			err(1, "connection %d: connect %s:%s", i, t.host, t.port);
		if (exchange_byte(fds[i]) != 0)
			err(1, "connection %d: echo", i);
	}
	printf("hold ready=%d\n", n);
	fflush(stdout);
	sleep_until(deadline);
	for (i = 0; i < n; i++)
		close(fds[i]);
	printf("hold closed=%d\n", n);
	free(fds);
	return 0;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: rtprobe echo-server PORT [ADDR [SECONDS]]\n"
	    "       rtprobe pingpong HOST PORT COUNT [INTERVAL_US [SECONDS]]\n"
	    "       rtprobe connrate HOST PORT SECONDS [PARALLEL]\n"
	    "       rtprobe hold HOST PORT N SECONDS\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	if (argc < 2)
		usage();
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (strcmp(argv[1], "pingpong") == 0)
		return cmd_pingpong(argc - 2, argv + 2);
	if (strcmp(argv[1], "echo-server") == 0)
		return cmd_echo_server(argc - 2, argv + 2);
	if (strcmp(argv[1], "connrate") == 0)
		return cmd_connrate(argc - 2, argv + 2);
	if (strcmp(argv[1], "hold") == 0)
		return cmd_hold(argc - 2, argv + 2);
	usage();
	return 2;
}
