/*
 * Unit tests of UDP services over a real link: datagram streams
 * (src/stream.c), their UDP ends (src/stream-udp.c), rtund's UDP port with
 * its flow table (src/server-udp.c) and the agent's UDP services
 * (src/agent-udp.c). In one process and one loop, a server-role and an
 * agent-role link are joined by a loopback TCP connection; a UDP port of
 * the registry (src/server-ports.c) is served over the server's link, the
 * agent serves its flows from a UDP service socket the test reads and
 * answers, and users are UDP sockets of the test.
 * Covers boundaries and sizes both ways, replies reaching the right user,
 * the zero-length datagram, the bounded queue and credit drops against a
 * peer that returns no credit, a datagram too large for a flow, idle expiry
 * on either side as a clean end at both, both daemons' flow limits, a
 * released port and a drain ending the flows, and the agent's record of what
 * rtund bound each service as.
 */
#include "rtun-build.h"

#include <check.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "agent-declared.h"
#include "agent-udp.h"
#include "buf.h"
#include "config.h"
#include "control.h"
#include "frame.h"
#include "link.h"
#include "loopback.h"
#include "metrics.h"
#include "net.h"
#include "server-ports.h"
#include "server-udp.h"
#include "stream-udp.h"
#include "stream.h"
#include "transport.h"

#define WINDOW (64 * 1024)
#define RAW_WINDOW (16 * 1024)
#define PORT 61041
#define NUSERS 8
#define SVC_LABELS "service=\"echo\""

struct end {
	struct link *l;
	int closed;
	char reason[256];
};

struct fixture {
	struct ev_loop *loop;
	struct metrics *m;
	struct end srv, agt;
	struct ports *ps;
	struct port *port;
	struct udp_limits lim;
	struct net_addr port_addr;     /* where users send */
	int svc;                       /* the private service's UDP socket */
	struct service_conf sconf;
	struct agent_conf aconf;
	struct agent_udp *udp;
	int echo;                      /* the service answers what it gets */
	double streams_open;
	uint64_t streams_total, protocol_errors, open_timeouts, idle_timeouts;
	struct link_counters lc;
};

static struct fixture fx;

static void
on_control(struct link *l, Rtun__Control *msg)
{
	control_free(msg);
}

static void
on_closed(struct link *l, const char *reason)
{
	struct end *e = l == fx.srv.l ? &fx.srv : &fx.agt;

	e->closed = 1;
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
}

static void
on_open(struct link *l, uint32_t id, const char *service, const char *peer, const char *dest,
    const char *connect)
{
	agent_udp_serve(fx.udp, l, id, &fx.aconf.services[0], peer, dest);
}

static const struct link_ops srv_ops = { .control = on_control, .closed = on_closed };
static const struct link_ops agt_ops = {
	.control = on_control, .open = on_open, .closed = on_closed
};

static struct link *
make_link(int fd, int server, uint32_t window)
{
	struct link_params p = {
		.heartbeat_interval = 10,
		.heartbeat_timeout = 30,
		.stream_window = window,
		.max_streams = 64,
		.role = server ? LINK_SERVER : LINK_CLIENT,
		.counters = &fx.lc,
	};
	struct net_addr peer = { .len = 0 };

	peer.ss.ss_family = AF_INET;
	return link_new(fx.loop, transport_tcp_new(fd), &peer, &p, server ? &srv_ops : &agt_ops,
	    NULL);
}

static struct net_addr
loopback_addr(uint16_t port)
{
	struct net_addr a;
	struct sockaddr_in *sin = (struct sockaddr_in *)&a.ss;

	memset(&a, 0, sizeof(a));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin->sin_port = htons(port);
	a.len = sizeof(*sin);
	return a;
}

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks, in *addr. */
static int
udp_bound(struct net_addr *addr)
{
	int fd;

	*addr = loopback_addr(0);
	fd = net_udp_bind(addr);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&addr->ss, &addr->len), 0);
	return fd;
}

static void
on_port_released(struct port *p)
{
	if (port_data(p) != NULL)
		udpport_free(port_data(p));
}

/* rtund's UDP port PORT, served over the server's link. */
static void
open_port(void)
{
	const struct port_owner owner = { PORT_OWNER_AGENT, &fx, NULL, on_port_released };
	struct net_addr bind = loopback_addr(0);

	fx.port = ports_open(fx.ps, &bind, PORT_UDP, PORT, "echo", &owner);
	ck_assert_ptr_nonnull(fx.port);
	port_set_data(fx.port, udpport_new(fx.loop, fx.port, fx.srv.l, &fx.lim,
	    stream_udp_stats_new(fx.m, "rtund", SVC_LABELS, 1)));
	fx.port_addr = loopback_addr(PORT);
}

static void
setup(void)
{
	int fds[2];

	signal(SIGPIPE, SIG_IGN);
	memset(&fx, 0, sizeof(fx));
	fx.loop = ev_loop_new(EVFLAG_AUTO);
	fx.m = metrics_new();
	fx.lc.streams_open = &fx.streams_open;
	fx.lc.streams_total = &fx.streams_total;
	fx.lc.protocol_errors = &fx.protocol_errors;
	fx.lc.open_timeouts = &fx.open_timeouts;
	fx.lc.idle_timeouts = &fx.idle_timeouts;
	fx.svc = udp_bound(&fx.sconf.local_addr);
	fx.echo = 1;
	fx.sconf.name = "echo";
	fx.sconf.type = SERVICE_TYPE_UDP;
	fx.sconf.udp_idle_timeout = 30;
	fx.sconf.udp_max_flows = 1024;
	fx.aconf.services = &fx.sconf;
	fx.aconf.nservices = 1;
	fx.aconf.connect_timeout = 5;
	fx.udp = agent_udp_new(fx.loop, fx.m, &fx.aconf);
	fx.lim.max_flows = 1024;
	fx.lim.idle_timeout = 30;
	fx.lim.open_timeout = 5;
	loopback_pair(fds);
	fx.srv.l = make_link(fds[0], 1, WINDOW);
	fx.agt.l = make_link(fds[1], 0, WINDOW);
	link_set_authed(fx.srv.l, WINDOW);
	link_set_authed(fx.agt.l, WINDOW);
	link_send_raw(fx.agt.l, FRAME_PREFACE, FRAME_PREFACE_LEN);
	fx.ps = ports_new(fx.loop);
}

static void
teardown(void)
{
	ports_free(fx.ps);
	if (!fx.srv.closed)
		link_close(fx.srv.l, FRAME_CODE_NONE, "test over");
	if (!fx.agt.closed && fx.agt.l != NULL)
		link_close(fx.agt.l, FRAME_CODE_NONE, "test over");
	ev_run(fx.loop, EVRUN_NOWAIT);
	agent_udp_free(fx.udp);
	close(fx.svc);
	metrics_free(fx.m);
	ev_loop_destroy(fx.loop);
}

/* The service answers every datagram it got with the same bytes, to its sender. */
static void
service_echo(void)
{
	static uint8_t d[65536];
	struct net_addr from;
	ssize_t n;

	for (;;) {
		from.len = sizeof(from.ss);
		n = recvfrom(fx.svc, d, sizeof(d), MSG_DONTWAIT, (struct sockaddr *)&from.ss,
		    &from.len);
		if (n < 0)
			return;
		if (fx.echo)
			ck_assert_int_eq(sendto(fx.svc, d, (size_t)n, 0,
			    (struct sockaddr *)&from.ss, from.len), n);
	}
}

static void
turn(void)
{
	ev_run(fx.loop, EVRUN_NOWAIT);
	service_echo();
	usleep(200);
}

/* Turn the loop for about secs seconds. */
static void
turn_for(double secs)
{
	double end = loopback_now() + secs;

	while (loopback_now() < end)
		turn();
}

/* The value of counter name with labels. */
static uint64_t
counter(const char *name, const char *labels)
{
	uint64_t *slot = metrics_counter(fx.m, name, "", labels), v = *slot;

	metrics_release(fx.m, slot);
	return v;
}

static double
gauge(const char *name, const char *labels)
{
	double *slot = metrics_gauge(fx.m, name, "", labels), v = *slot;

	metrics_release(fx.m, slot);
	return v;
}

static uint64_t
dropped(const char *prog, const char *reason)
{
	char name[64], labels[128];

	snprintf(name, sizeof(name), "%s_udp_dropped_total", prog);
	snprintf(labels, sizeof(labels), SVC_LABELS ",reason=\"%s\"", reason);
	return counter(name, labels);
}

/* A user: a UDP socket connected to the public port. */
static int
user_new(void)
{
	int fd = net_udp_connect(&fx.port_addr);

	ck_assert_int_ge(fd, 0);
	return fd;
}

static void
fill(uint8_t *p, size_t n, unsigned seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (uint8_t)(i * 31 + seed * 17 + (i >> 8));
}

/* The next datagram on fd within secs, its length, or -1 if none came. */
static ssize_t
recv_within(int fd, uint8_t *p, size_t len, double secs)
{
	double end = loopback_now() + secs;
	ssize_t n;

	while (loopback_now() < end) {
		if ((n = recv(fd, p, len, MSG_DONTWAIT)) >= 0)
			return n;
		turn();
	}
	return -1;
}

/* Every size from 1 byte to the largest IPv4 datagram crosses whole, both ways, to its user. */
START_TEST(test_boundaries_both_ways)
{
	static const size_t sizes[] = { 1, 2, 100, 1400, 1472, 9000, 32768, 65507 };
	static uint8_t out[65536], in[65536];
	int users[NUSERS], u;
	size_t i, total = 0;
	ssize_t n;

	open_port();
	for (u = 0; u < NUSERS; u++)
		users[u] = user_new();
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (u = 0; u < NUSERS; u++) {
			fill(out, sizes[i], (unsigned)(u * 100 + i));
			ck_assert_int_eq(send(users[u], out, sizes[i], 0), (ssize_t)sizes[i]);
			/* Large ones one at a time: the test's own sockets hold about 200 KiB. */
			if (sizes[i] > 9000)
				turn_for(0.01);
		}
		for (u = 0; u < NUSERS; u++) {
			n = recv_within(users[u], in, sizeof(in), 5);
			ck_assert_int_eq(n, (ssize_t)sizes[i]);
			fill(out, sizes[i], (unsigned)(u * 100 + i));
			ck_assert_int_eq(memcmp(in, out, sizes[i]), 0);
			total += sizes[i];
		}
	}
	ck_assert_uint_eq(udpport_flows(port_data(fx.port)), NUSERS);
	ck_assert_double_eq(gauge("rtund_udp_flows_open", SVC_LABELS), NUSERS);
	ck_assert_double_eq(gauge("rtun_udp_flows_open", SVC_LABELS), NUSERS);
	ck_assert_uint_eq(counter("rtund_udp_flows_total", SVC_LABELS), NUSERS);
	ck_assert_uint_eq(counter("rtund_udp_datagrams_in_total", SVC_LABELS), 8 * NUSERS);
	ck_assert_uint_eq(counter("rtund_udp_datagrams_out_total", SVC_LABELS), 8 * NUSERS);
	ck_assert_uint_eq(counter("rtun_udp_datagrams_in_total", SVC_LABELS), 8 * NUSERS);
	ck_assert_uint_eq(counter("rtun_udp_datagrams_out_total", SVC_LABELS), 8 * NUSERS);
	ck_assert_uint_eq(counter("rtund_udp_bytes_in_total", SVC_LABELS), total);
	ck_assert_uint_eq(counter("rtund_udp_bytes_out_total", SVC_LABELS), total);
	ck_assert_uint_eq(counter("rtun_udp_bytes_in_total", SVC_LABELS), total);
	ck_assert_uint_eq(counter("rtun_udp_bytes_out_total", SVC_LABELS), total);
	ck_assert_uint_eq(dropped("rtund", "queue") + dropped("rtund", "credit") +
	    dropped("rtun", "socket"), 0);
	for (u = 0; u < NUSERS; u++)
		close(users[u]);
}
END_TEST

/* A zero-length datagram cannot be carried: dropped, counted, and it opens no flow. */
START_TEST(test_empty_datagram)
{
	uint8_t in[16];
	int user;

	open_port();
	user = user_new();
	ck_assert_int_eq(send(user, "", 0, 0), 0);
	turn_for(0.05);
	ck_assert_uint_eq(dropped("rtund", "empty"), 1);
	ck_assert_uint_eq(udpport_flows(port_data(fx.port)), 0);
	ck_assert_int_eq(send(user, "x", 1, 0), 1);
	ck_assert_int_eq(recv_within(user, in, sizeof(in), 5), 1);
	ck_assert_uint_eq(udpport_flows(port_data(fx.port)), 1);
	/* On a flow, and from the service to the agent, the same. */
	ck_assert_int_eq(send(user, "", 0, 0), 0);
	turn_for(0.05);
	ck_assert_uint_eq(dropped("rtund", "empty"), 2);
	close(user);
}
END_TEST

/*
 * Replace the agent with a raw socket the test reads frames from and writes
 * frames to; the server grants it window per stream.
 */
static int
raw_agent(uint32_t window)
{
	int fds[2];

	link_close(fx.agt.l, FRAME_CODE_NONE, "replaced");
	link_close(fx.srv.l, FRAME_CODE_NONE, "replaced");
	ev_run(fx.loop, EVRUN_NOWAIT);
	fx.srv.closed = 0;
	fx.agt.l = NULL;
	fx.agt.closed = 1;
	loopback_pair(fds);
	fx.srv.l = make_link(fds[0], 1, window);
	/* The raw agent grants the smallest window and never returns credit unless told. */
	link_set_authed(fx.srv.l, RAW_WINDOW);
	ck_assert_int_eq(write(fds[1], FRAME_PREFACE, FRAME_PREFACE_LEN), FRAME_PREFACE_LEN);
	return fds[1];
}

static void
raw_send(int fd, const struct frame *f)
{
	loopback_send_frame(fd, f, turn);
}

/* Frames from the server on the raw socket, for about secs: DATA count and their bytes. */
static void
raw_drain(int fd, double secs, int *ndata, size_t *bytes, size_t *largest)
{
	static uint8_t in[4 * LINK_IN_SIZE];
	struct frame_decoder dec;
	struct frame f;
	size_t len = 0, used, off;
	double end = loopback_now() + secs;
	ssize_t n;

	frame_decoder_init(&dec);
	while (loopback_now() < end) {
		turn();
		if ((n = read(fd, in + len, sizeof(in) - len)) > 0)
			len += (size_t)n;
		for (off = 0; frame_decode(&dec, in + off, len - off, &f, &used) == FRAME_OK;
		    off += used) {
			if (f.type != FRAME_DATA)
				continue;
			(*ndata)++;
			*bytes += f.payload_len;
			if (f.payload_len > *largest)
				*largest = f.payload_len;
		}
		memmove(in, in + off, len - off);
		len -= off;
	}
	frame_decoder_free(&dec);
}

/* The raw agent returns n bytes of credit on stream 2. */
static void
raw_credit(int raw, uint64_t n)
{
	struct frame f;

	memset(&f, 0, sizeof(f));
	f.type = FRAME_WINDOW;
	f.stream = 2;
	f.value = n;
	raw_send(raw, &f);
}

/* Send n datagrams of len bytes, a few at a time, so that the port's socket drops none. */
static void
send_some(int fd, int n, size_t len)
{
	static uint8_t d[2048];
	int i;

	for (i = 0; i < n; i++) {
		ck_assert_int_eq(send(fd, d, len, 0), (ssize_t)len);
		if (i % 8 == 7)
			turn_for(0.002);
	}
	turn_for(0.02);
}

/*
 * Against an agent that returns credit only when the test says: the credit
 * carries whole datagrams; with none left the flow's queue holds what fits in
 * STREAM_UDP_QUEUE_MAX and drops the rest ("queue"); credit back carries the
 * queue in order; credit too short for the datagram whose turn it is drops
 * it ("credit"). Nothing waits without bound, and nothing breaks the link.
 */
START_TEST(test_queue_and_credit_bounds)
{
	const size_t len = 1024, per_window = RAW_WINDOW / 1024;
	const size_t fits = STREAM_UDP_QUEUE_MAX / (1024 + 2);
	int raw = raw_agent(RAW_WINDOW), user, ndata = 0;
	size_t bytes = 0, largest = 0;
	struct frame f;

	open_port();
	user = user_new();
	send_some(user, (int)per_window, len);
	raw_drain(raw, 0.1, &ndata, &bytes, &largest);
	ck_assert_int_eq(ndata, (int)per_window);
	ck_assert_uint_eq(largest, len);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_OPEN_OK;
	f.stream = 2;
	raw_send(raw, &f);
	/* No credit: the queue takes what fits. */
	send_some(user, 100, len);
	raw_drain(raw, 0.1, &ndata, &bytes, &largest);
	ck_assert_int_eq(ndata, (int)per_window);
	ck_assert_uint_eq(dropped("rtund", "queue"), 100 - fits);
	ck_assert_uint_eq(dropped("rtund", "credit"), 0);
	/* A window's worth of credit: that much of the queue, in order, whole. */
	raw_credit(raw, RAW_WINDOW);
	raw_drain(raw, 0.1, &ndata, &bytes, &largest);
	ck_assert_int_eq(ndata, (int)(2 * per_window));
	ck_assert_uint_eq(bytes, 2 * per_window * len);
	/* Credit shorter than the next datagram: what waits is dropped, not split. */
	raw_credit(raw, len - 24);
	raw_drain(raw, 0.1, &ndata, &bytes, &largest);
	ck_assert_int_eq(ndata, (int)(2 * per_window));
	ck_assert_uint_eq(dropped("rtund", "credit"), fits - per_window);
	/* A datagram within that credit goes. */
	send_some(user, 1, 500);
	raw_drain(raw, 0.1, &ndata, &bytes, &largest);
	ck_assert_int_eq(ndata, (int)(2 * per_window + 1));
	ck_assert_uint_eq(bytes, 2 * per_window * len + 500);
	ck_assert_uint_eq(counter("rtund_udp_datagrams_in_total", SVC_LABELS), 2 * per_window + 1);
	ck_assert(!fx.srv.closed);
	close(user);
	close(raw);
}
END_TEST

/* A DATA on a flow longer than any datagram breaks the protocol, within the window too. */
START_TEST(test_datagram_too_large)
{
	static uint8_t payload[STREAM_DATAGRAM_MAX + 1];
	int raw = raw_agent(2 * WINDOW), user;
	struct frame f;
	double end;

	open_port();
	user = user_new();
	ck_assert_int_eq(send(user, "q", 1, 0), 1);
	turn_for(0.05);
	memset(&f, 0, sizeof(f));
	f.type = FRAME_OPEN_OK;
	f.stream = 2;
	raw_send(raw, &f);
	f.type = FRAME_DATA;
	f.payload = payload;
	f.payload_len = STREAM_DATAGRAM_MAX;
	raw_send(raw, &f);
	turn_for(0.05);
	ck_assert(!fx.srv.closed);
	f.payload_len = sizeof(payload);
	raw_send(raw, &f);
	for (end = loopback_now() + 2; loopback_now() < end && !fx.srv.closed;)
		turn();
	ck_assert(fx.srv.closed);
	ck_assert_msg(strstr(fx.srv.reason, "a datagram of 65536 bytes") != NULL, "reason: %s",
	    fx.srv.reason);
	ck_assert_uint_eq(fx.protocol_errors, 1);
	close(user);
	close(raw);
}
END_TEST

/* Either side's idle timeout ends the flow cleanly at both: CLOSE, answered by CLOSE. */
static void
expire_after(double agent_idle, double server_idle)
{
	uint8_t in[16];
	int user;
	double end;

	fx.sconf.udp_idle_timeout = agent_idle;
	fx.lim.idle_timeout = server_idle;
	open_port();
	user = user_new();
	ck_assert_int_eq(send(user, "ping", 4, 0), 4);
	ck_assert_int_eq(recv_within(user, in, sizeof(in), 5), 4);
	ck_assert_uint_eq(link_nstreams(fx.srv.l), 1);
	for (end = loopback_now() + 5; loopback_now() < end && link_nstreams(fx.srv.l) > 0;)
		turn();
	turn_for(0.05);
	ck_assert_uint_eq(link_nstreams(fx.srv.l), 0);
	ck_assert_uint_eq(link_nstreams(fx.agt.l), 0);
	ck_assert_uint_eq(udpport_flows(port_data(fx.port)), 0);
	ck_assert_double_eq(gauge("rtund_udp_flows_open", SVC_LABELS), 0);
	ck_assert_double_eq(gauge("rtun_udp_flows_open", SVC_LABELS), 0);
	/* Nothing was reset: an expiry is no idle timeout of a stream. */
	ck_assert_uint_eq(fx.idle_timeouts, 0);
	ck_assert(!fx.srv.closed && !fx.agt.closed);
	/* The same source again is a new flow. */
	ck_assert_int_eq(send(user, "pong", 4, 0), 4);
	ck_assert_int_eq(recv_within(user, in, sizeof(in), 5), 4);
	ck_assert_uint_eq(counter("rtund_udp_flows_total", SVC_LABELS), 2);
	ck_assert_uint_eq(counter("rtun_udp_flows_total", SVC_LABELS), 2);
	close(user);
}

START_TEST(test_agent_expires_first)
{
	double t0 = loopback_now();

	expire_after(0.2, 30);
	ck_assert_double_lt(loopback_now() - t0, 3);
}
END_TEST

START_TEST(test_server_expires_first)
{
	expire_after(30, 0.2);
}
END_TEST

/* The agent refuses an OPEN beyond udp_max_flows (RESET 4); rtund forgets that flow. */
START_TEST(test_agent_flow_limit)
{
	uint8_t in[16];
	int users[3], u;

	fx.sconf.udp_max_flows = 2;
	open_port();
	for (u = 0; u < 3; u++) {
		users[u] = user_new();
		ck_assert_int_eq(send(users[u], "a", 1, 0), 1);
		turn_for(0.05);
	}
	ck_assert_int_eq(recv_within(users[0], in, sizeof(in), 2), 1);
	ck_assert_int_eq(recv_within(users[1], in, sizeof(in), 2), 1);
	ck_assert_int_eq(recv_within(users[2], in, sizeof(in), 0.3), -1);
	ck_assert_uint_eq(dropped("rtun", "flows"), 1);
	ck_assert_uint_eq(udpport_flows(port_data(fx.port)), 2);
	ck_assert_double_eq(gauge("rtun_udp_flows_open", SVC_LABELS), 2);
	ck_assert(!fx.srv.closed && !fx.agt.closed);
	for (u = 0; u < 3; u++)
		close(users[u]);
}
END_TEST

/* rtund's udp_max_flows: a new source beyond it is dropped and counted, old flows carry on. */
START_TEST(test_server_flow_limit)
{
	uint8_t in[16];
	int users[3], u;

	fx.lim.max_flows = 2;
	open_port();
	for (u = 0; u < 3; u++) {
		users[u] = user_new();
		ck_assert_int_eq(send(users[u], "b", 1, 0), 1);
		turn_for(0.05);
	}
	ck_assert_int_eq(recv_within(users[2], in, sizeof(in), 0.3), -1);
	ck_assert_uint_eq(dropped("rtund", "flows"), 1);
	ck_assert_uint_eq(udpport_flows(port_data(fx.port)), 2);
	ck_assert_int_eq(send(users[0], "c", 1, 0), 1);
	ck_assert_int_eq(recv_within(users[0], in, sizeof(in), 2), 1);
	ck_assert_int_eq(recv_within(users[0], in, sizeof(in), 2), 1);
	ck_assert_double_eq(gauge("rtun_udp_flows_open", SVC_LABELS), 2);
	for (u = 0; u < 3; u++)
		close(users[u]);
}
END_TEST

/* A released port resets its flows at both ends; a drain ends them cleanly. */
START_TEST(test_release_and_drain)
{
	uint8_t in[16];
	int user;

	open_port();
	user = user_new();
	ck_assert_int_eq(send(user, "d", 1, 0), 1);
	ck_assert_int_eq(recv_within(user, in, sizeof(in), 5), 1);
	port_close(fx.port);
	fx.port = NULL;
	turn_for(0.1);
	ck_assert_uint_eq(link_nstreams(fx.srv.l), 0);
	ck_assert_uint_eq(link_nstreams(fx.agt.l), 0);
	ck_assert_double_eq(gauge("rtun_udp_flows_open", SVC_LABELS), 0);
	open_port();
	ck_assert_int_eq(send(user, "e", 1, 0), 1);
	ck_assert_int_eq(recv_within(user, in, sizeof(in), 5), 1);
	ck_assert_uint_eq(link_nstreams(fx.agt.l), 1);
	udpport_drain(port_data(fx.port));
	turn_for(0.1);
	ck_assert_uint_eq(link_nstreams(fx.srv.l), 0);
	ck_assert_uint_eq(link_nstreams(fx.agt.l), 0);
	/* Drained: the port reads nothing more. */
	ck_assert_int_eq(send(user, "f", 1, 0), 1);
	ck_assert_int_eq(recv_within(user, in, sizeof(in), 0.2), -1);
	ck_assert_uint_eq(udpport_flows(port_data(fx.port)), 0);
	ck_assert_uint_eq(fx.idle_timeouts, 0);
	close(user);
}
END_TEST

/*
 * What rtund bound each service as decides whether an OPEN is served: the
 * type must match the config's; a link's end forgets it, a new config keeps
 * it by name.
 */
static Rtun__ServiceResult
result(const char *name, int ok, uint32_t type)
{
	Rtun__ServiceResult r;

	rtun__service_result__init(&r);
	r.name = (char *)name;
	r.status = ok ? RTUN__SERVICE_STATUS__SERVICE_OK : RTUN__SERVICE_STATUS__SERVICE_IN_USE;
	r.type = type;
	r.reason = ok ? "" : "in use: port 7 is held by another agent";
	return r;
}

START_TEST(test_bound_types)
{
	struct service_conf svcs[2] = { fx.sconf, fx.sconf };
	struct agent_conf conf = fx.aconf;
	struct declared *d = declared_new(&fx.aconf, NULL), *next;
	Rtun__ServiceResult r;

	ck_assert(!declared_type_ok(d, &fx.aconf.services[0]));
	ck_assert_str_eq(declared_state(d, &fx.aconf.services[0]), "not declared yet");
	r = result("echo", 1, RTUN__SERVICE_TYPE__SERVICE_UDP);
	ck_assert(declared_note(d, &r));
	ck_assert(declared_type_ok(d, &fx.aconf.services[0]));
	ck_assert_str_eq(declared_state(d, &fx.aconf.services[0]), "ok");
	/* An rtund that does not know UDP binds TCP, and says so by echoing no type. */
	r = result("echo", 1, RTUN__SERVICE_TYPE__SERVICE_TCP);
	declared_note(d, &r);
	ck_assert(!declared_type_ok(d, &fx.aconf.services[0]));
	r = result("echo", 1, RTUN__SERVICE_TYPE__SERVICE_UDP);
	declared_note(d, &r);
	r = result("unknown", 1, RTUN__SERVICE_TYPE__SERVICE_UDP);
	ck_assert(!declared_note(d, &r));
	/* A reload: echo is kept by name and a new TCP service knows nothing yet. */
	svcs[0].name = "web";
	svcs[0].type = SERVICE_TYPE_TCP;
	conf.services = svcs;
	conf.nservices = 2;
	next = declared_new(&conf, d);
	declared_free(d);
	ck_assert(!declared_type_ok(next, &svcs[0]));
	ck_assert(declared_type_ok(next, &svcs[1]));
	r = result("web", 1, RTUN__SERVICE_TYPE__SERVICE_TCP);
	declared_note(next, &r);
	ck_assert(declared_type_ok(next, &svcs[0]));
	/* A refusal keeps its reason for the status report; the link's end forgets all. */
	r = result("web", 0, RTUN__SERVICE_TYPE__SERVICE_TCP);
	declared_note(next, &r);
	ck_assert(!declared_type_ok(next, &svcs[0]));
	ck_assert_str_eq(declared_state(next, &svcs[0]), "in use: port 7 is held by another agent");
	declared_forget(next);
	ck_assert(!declared_type_ok(next, &svcs[1]));
	declared_free(next);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("udp");
	TCase *tc = tcase_create("flows");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_boundaries_both_ways);
	tcase_add_test(tc, test_empty_datagram);
	tcase_add_test(tc, test_queue_and_credit_bounds);
	tcase_add_test(tc, test_datagram_too_large);
	tcase_add_test(tc, test_agent_expires_first);
	tcase_add_test(tc, test_server_expires_first);
	tcase_add_test(tc, test_agent_flow_limit);
	tcase_add_test(tc, test_server_flow_limit);
	tcase_add_test(tc, test_release_and_drain);
	tcase_add_test(tc, test_bound_types);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
