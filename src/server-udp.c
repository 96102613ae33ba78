/*
 * rtund's UDP ports (server-udp.h). The flow table is a chained hash of the
 * users' source addresses, keyed with a random seed so that nobody can aim
 * many sources at one chain, and grown as flows are added; max_flows bounds
 * it. The port reads at most a batch of datagrams per wake-up into one
 * buffer and hands each to its flow's end, which queues or drops it.
 */
#include "rtun-build.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "link.h"
#include "log.h"
#include "net.h"
#include "server-ports.h"
#include "server-udp.h"
#include "stream-udp.h"
#include "stream.h"
#include "xmalloc.h"

/*
 * The receive buffer asked for on the port's socket: a burst of new sources
 * (each flow's first datagram costs an OPEN) waits in the kernel rather than
 * being dropped there, where nothing counts it. The kernel caps it at
 * net.core.rmem_max.
 */
#define PORT_RCVBUF (1024 * 1024)
/* A source address as the table compares it: family, port, address. */
#define KEY_LEN (1 + 2 + 16)
#define BUCKETS_MIN 64

struct flow {
	uint8_t key[KEY_LEN];
	uint32_t hash;
	struct udpport *up;
	struct stream_end *end;
	LIST_ENTRY(flow) entry;
};

LIST_HEAD(flow_list, flow);

struct udpport {
	struct ev_loop *loop;
	struct port *port;
	struct link *link;
	struct udp_limits lim;
	struct stream_udp_stats *st;
	ev_io rio;
	uint8_t *dgram;              /* one datagram as read, STREAM_DATAGRAM_MAX + 1 bytes */
	struct flow_list *buckets;
	size_t nbuckets;             /* a power of two */
	size_t nflows;
	uint32_t seed;
	int full;                    /* the last new source found no room: logged once */
	char dest[NET_ADDRSTRLEN];   /* the port's address, the OPENs' dest */
};

/* The comparable part of a source address: family, port, address. */
static void
flow_key(const struct net_addr *a, uint8_t key[KEY_LEN])
{
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&a->ss;
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&a->ss;

	memset(key, 0, KEY_LEN);
	key[0] = (uint8_t)a->ss.ss_family;
	if (a->ss.ss_family == AF_INET6) {
		memcpy(key + 1, &sin6->sin6_port, 2);
		memcpy(key + 3, &sin6->sin6_addr, 16);
	} else {
		memcpy(key + 1, &sin->sin_port, 2);
		memcpy(key + 3, &sin->sin_addr, 4);
	}
}

/* FNV-1a over the seed and the key. */
static uint32_t
flow_hash(uint32_t seed, const uint8_t key[KEY_LEN])
{
	uint32_t h = 2166136261u ^ seed;
	size_t i;

	for (i = 0; i < KEY_LEN; i++) {
		h ^= key[i];
		h *= 16777619u;
	}
	return h ^ (h >> 15);
}

static struct flow_list *
bucket_of(const struct udpport *up, uint32_t hash)
{
	return &up->buckets[hash & (up->nbuckets - 1)];
}

static struct flow *
flow_find(const struct udpport *up, const uint8_t key[KEY_LEN], uint32_t hash)
{
	struct flow *fl;

	LIST_FOREACH(fl, bucket_of(up, hash), entry) {
		if (fl->hash == hash && memcmp(fl->key, key, KEY_LEN) == 0)
			return fl;
	}
	return NULL;
}

static void
table_alloc(struct udpport *up, size_t n)
{
	size_t i;

	up->buckets = xcalloc(n, sizeof(*up->buckets));
	up->nbuckets = n;
	for (i = 0; i < n; i++)
		LIST_INIT(&up->buckets[i]);
}

/* Double the buckets once flows outnumber them twice: chains stay short. */
static void
table_grow(struct udpport *up)
{
	struct flow_list *old = up->buckets;
	size_t i, n = up->nbuckets;
	struct flow *fl;

	if (up->nflows <= 2 * n)
		return;
	table_alloc(up, 2 * n);
	for (i = 0; i < n; i++) {
		while ((fl = LIST_FIRST(&old[i])) != NULL) {
			LIST_REMOVE(fl, entry);
			LIST_INSERT_HEAD(bucket_of(up, fl->hash), fl, entry);
		}
	}
	free(old);
}

/* The flow's stream let go of its end: forget the flow. */
static void
flow_closed(void *arg)
{
	struct flow *fl = arg;
	struct udpport *up = fl->up;

	LIST_REMOVE(fl, entry);
	up->nflows--;
	free(fl);
}

/* Which limit keeps a new source from having a flow now, or NULL if none does. */
static const char *
udpport_full(const struct udpport *up)
{
	if (up->nflows >= up->lim.max_flows)
		return "udp_max_flows";
	if (link_nstreams(up->link) >= link_params(up->link)->max_streams)
		return "max_streams";
	return NULL;
}

/* A flow for a new source, as a stream on the link; NULL (logged once) if there is no room. */
static struct flow *
flow_new(struct udpport *up, const struct net_addr *from, const uint8_t key[KEY_LEN],
    uint32_t hash)
{
	char addr[NET_ADDRSTRLEN];
	const char *full = udpport_full(up);
	struct stream_conf c = {
		.service = port_service(up->port),
		.peer = net_addr_str((const struct sockaddr *)&from->ss, addr),
		.dest = up->dest,
		.ctr = &up->st->bytes,
		.timeout = up->lim.open_timeout,
		.datagram = 1,
		.idle_timeout = up->lim.idle_timeout,
	};
	struct flow *fl;

	if (full != NULL) {
		if (!up->full)
			log_warn("%s: service %s: %s reached; dropping datagrams from new sources",
			    link_label(up->link), port_service(up->port), full);
		up->full = 1;
		return NULL;
	}
	up->full = 0;
	fl = xcalloc(1, sizeof(*fl));
	memcpy(fl->key, key, KEY_LEN);
	fl->hash = hash;
	fl->up = up;
	fl->end = stream_udp_flow(up->loop, port_fd(up->port), from, up->st, flow_closed, fl);
	LIST_INSERT_HEAD(bucket_of(up, hash), fl, entry);
	up->nflows++;
	table_grow(up);
	log_debug("%s: service %s: udp flow from %s", link_label(up->link),
	    port_service(up->port), addr);
	stream_open(up->link, fl->end, &c);
	return fl;
}

static void
udpport_datagram(struct udpport *up, const struct net_addr *from, size_t len)
{
	uint8_t key[KEY_LEN];
	struct flow *fl;
	uint32_t hash;

	/* No flow for what cannot be carried. */
	if (len == 0) {
		stream_udp_drop(up->st, UDP_DROP_EMPTY);
		return;
	}
	flow_key(from, key);
	hash = flow_hash(up->seed, key);
	if ((fl = flow_find(up, key, hash)) == NULL &&
	    (fl = flow_new(up, from, key, hash)) == NULL) {
		stream_udp_drop(up->st, UDP_DROP_FLOWS);
		return;
	}
	stream_udp_input(fl->end, up->dgram, len);
}

static void
udpport_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct udpport *up = w->data;
	struct net_addr from;
	ssize_t n;
	int i;

	for (i = 0; i < STREAM_UDP_READ_BATCH; i++) {
		from.len = sizeof(from.ss);
		n = recvfrom(port_fd(up->port), up->dgram, STREAM_DATAGRAM_MAX + 1,
		    MSG_DONTWAIT | MSG_TRUNC, (struct sockaddr *)&from.ss, &from.len);
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		/* Other errors are ICMP news about earlier replies: nothing to do. */
		if (n >= 0)
			udpport_datagram(up, &from, (size_t)n);
	}
}

struct udpport *
udpport_new(struct ev_loop *loop, struct port *p, struct link *l, const struct udp_limits *lim,
    struct stream_udp_stats *st)
{
	struct udpport *up = xcalloc(1, sizeof(*up));

	up->loop = loop;
	up->port = p;
	up->link = l;
	up->lim = *lim;
	up->st = st;
	up->dgram = xmalloc(STREAM_DATAGRAM_MAX + 1);
	up->seed = arc4random();
	(void)setsockopt(port_fd(p), SOL_SOCKET, SO_RCVBUF, &(int){ PORT_RCVBUF }, sizeof(int));
	net_local_str(port_fd(p), up->dest);
	table_alloc(up, BUCKETS_MIN);
	ev_io_init(&up->rio, udpport_read_cb, port_fd(p), EV_READ);
	up->rio.data = up;
	ev_io_start(loop, &up->rio);
	return up;
}

void
udpport_set_limits(struct udpport *up, const struct udp_limits *lim)
{
	up->lim = *lim;
}

void
udpport_set_stats(struct udpport *up, struct stream_udp_stats *st)
{
	stream_udp_stats_unref(up->st);
	up->st = st;
}

const struct stream_udp_stats *
udpport_stats(const struct udpport *up)
{
	return up->st;
}

size_t
udpport_flows(const struct udpport *up)
{
	return up->nflows;
}

void
udpport_drain(struct udpport *up)
{
	struct flow *fl;
	size_t i;

	ev_io_stop(up->loop, &up->rio);
	for (i = 0; i < up->nbuckets; i++) {
		LIST_FOREACH(fl, &up->buckets[i], entry)
			stream_udp_finish(fl->end);
	}
}

void
udpport_free(struct udpport *up)
{
	struct flow *fl;
	size_t i;

	ev_io_stop(up->loop, &up->rio);
	/* Each reset ends in flow_closed(), which takes the flow out of its chain. */
	for (i = 0; i < up->nbuckets; i++) {
		while ((fl = LIST_FIRST(&up->buckets[i])) != NULL)
			stream_reset(fl->end->s, FRAME_CODE_ABORTED, "the UDP port was released");
	}
	stream_udp_stats_unref(up->st);
	free(up->buckets);
	free(up->dgram);
	free(up);
}
