/*
 * Visitor ports and the choice of path for each user connection:
 *
 *   mode    direct link up    no direct link
 *   auto    direct            relay (rtund), reset if rtund is not reachable
 *   direct  direct            held while a punch runs, else reset
 *   relay   relay             relay
 *
 * A relayed stream names "AGENT/SERVICE" in its OPEN; a direct one names the
 * service alone. Which path each connection took is logged and counted.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "agent-direct.h"
#include "agent-visitor.h"
#include "agent.h"
#include "link.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "status.h"
#include "stream-sock.h"
#include "stream.h"
#include "xmalloc.h"

enum visitor_path { PATH_DIRECT, PATH_RELAY, PATH_REFUSED, PATH_COUNT };

static const char *const path_names[PATH_COUNT] = { "direct", "relay", "refused" };

/* A user connection waiting for the punch (mode direct). */
struct held {
	struct visitor *v;
	int fd;
	char addr[NET_ADDRSTRLEN];
	ev_timer timeout_w;
	TAILQ_ENTRY(held) entry;
};

struct visitor {
	struct visitorset *vs;
	const struct visitor_conf *conf;
	struct listener *li;
	TAILQ_HEAD(, held) held;
	size_t nheld;
	struct stream_counters ctr;
	uint64_t *paths[PATH_COUNT];
};

struct visitorset {
	struct ev_loop *loop;
	struct agent *agent;
	const struct agent_conf *conf;
	struct directset *ds;
	struct metrics *metrics;
	struct visitor *v;
	size_t nv;
	int stopped;
};

static void
held_free(struct held *h, int reset)
{
	struct visitor *v = h->v;

	ev_timer_stop(v->vs->loop, &h->timeout_w);
	TAILQ_REMOVE(&v->held, h, entry);
	v->nheld--;
	if (h->fd != -1) {
		if (reset)
			net_set_abortive(h->fd, 1);
		close(h->fd);
	}
	free(h);
}

/* Refuse a user connection: a reset, so the user sees it was not served. */
static void
visitor_refuse(struct visitor *v, int fd, const char *addr, const char *why)
{
	log_warn("visitor %s: refusing %s: %s", v->conf->name, addr, why);
	(*v->paths[PATH_REFUSED])++;
	net_set_abortive(fd, 1);
	close(fd);
}

/* Carry the connection over l: the service alone on a direct link, AGENT/SERVICE relayed. */
static void
visitor_open(struct visitor *v, struct link *l, enum visitor_path path, int fd,
    const char *addr)
{
	char service[2 * 64 + 2], dest[NET_ADDRSTRLEN];
	struct stream_conf c = {
		.service = service,
		.peer = addr,
		.dest = net_local_str(fd, dest),
		.ctr = &v->ctr,
		.timeout = v->vs->conf->connect_timeout,
		.idle_timeout = v->conf->idle_timeout,
	};

	if (link_nstreams(l) >= link_params(l)->max_streams) {
		visitor_refuse(v, fd, addr, "max_streams reached on the link");
		return;
	}
	if (path == PATH_DIRECT)
		snprintf(service, sizeof(service), "%s", v->conf->service);
	else
		snprintf(service, sizeof(service), "%s/%s", v->conf->peer, v->conf->service);
	/* One line per connection: which path it took is what an operator asks first. */
	log_info("visitor %s: user %s %s", v->conf->name, addr,
	    path == PATH_DIRECT ? "over the direct link" : "relayed through rtund");
	(*v->paths[path])++;
	stream_open(l, stream_sock_accepted(v->vs->loop, fd), &c);
}

static void
held_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct held *h = w->data;
	int fd = h->fd;

	h->fd = -1;
	visitor_refuse(h->v, fd, h->addr, "no direct link in time (mode direct)");
	held_free(h, 0);
}

static void
visitor_hold(struct visitor *v, int fd, const char *addr)
{
	struct held *h;

	if (v->nheld >= VISITOR_HOLD_MAX) {
		visitor_refuse(v, fd, addr, "too many connections waiting for the direct link");
		return;
	}
	h = xcalloc(1, sizeof(*h));
	h->v = v;
	h->fd = fd;
	snprintf(h->addr, sizeof(h->addr), "%s", addr);
	/* The punch's own deadline ends it first; this only bounds the wait for sure. */
	ev_timer_init(&h->timeout_w, held_timeout_cb, 2 * v->vs->conf->punch_timeout, 0.0);
	h->timeout_w.data = h;
	ev_timer_start(v->vs->loop, &h->timeout_w);
	TAILQ_INSERT_TAIL(&v->held, h, entry);
	v->nheld++;
	log_info("visitor %s: user %s waits for the direct link to %s", v->conf->name, addr,
	    v->conf->peer);
}

static void
visitor_accept(struct listener *li, int fd, const struct net_addr *from)
{
	struct visitor *v = li->data;
	struct visitorset *vs = v->vs;
	struct link *direct = directset_link(vs->ds, v->conf->peer);
	struct link *srv = agent_server_link(vs->agent);
	char addr[NET_ADDRSTRLEN];

	net_addr_str((const struct sockaddr *)&from->ss, addr);
	if (v->conf->mode != VISITOR_RELAY && direct != NULL) {
		visitor_open(v, direct, PATH_DIRECT, fd, addr);
		return;
	}
	if (v->conf->mode != VISITOR_DIRECT) {
		if (srv == NULL)
			visitor_refuse(v, fd, addr, "no direct link and no link to rtund to relay");
		else
			visitor_open(v, srv, PATH_RELAY, fd, addr);
		return;
	}
	directset_want(vs->ds, v->conf->peer, v->conf->service);
	if (!directset_trying(vs->ds, v->conf->peer)) {
		visitor_refuse(v, fd, addr, srv == NULL ?
		    "no direct link, and no link to rtund to make one (mode direct)" :
		    "no direct link: the last punch failed; see above (mode direct)");
		return;
	}
	visitor_hold(v, fd, addr);
}

void
visitorset_direct_changed(struct visitorset *vs, const char *peer, struct link *l,
    const char *why)
{
	char msg[512];
	struct held *h;
	size_t i;
	int fd;

	snprintf(msg, sizeof(msg), "no direct link: %s", why ? why : "");
	for (i = 0; i < vs->nv; i++) {
		struct visitor *v = &vs->v[i];

		if (strcmp(v->conf->peer, peer) != 0)
			continue;
		while ((h = TAILQ_FIRST(&v->held)) != NULL) {
			fd = h->fd;
			h->fd = -1;
			if (l != NULL)
				visitor_open(v, l, PATH_DIRECT, fd, h->addr);
			else
				visitor_refuse(v, fd, h->addr, msg);
			held_free(h, 0);
		}
	}
}

static void
visitor_counters(struct visitor *v, struct metrics *m)
{
	char name[4 * CONFIG_NAME_MAX + 1], labels[sizeof(name) + 64];
	size_t p;

	/* Never released: streams copy these slots and may outlive a reload. */
	metrics_label_value(v->conf->name, name, sizeof(name));
	snprintf(labels, sizeof(labels), "visitor=\"%s\"", name);
	v->ctr.local_read = metrics_counter(m, "rtun_visitor_bytes_out_total",
	    "Bytes from visitor users to the other agent's service.", labels);
	v->ctr.local_written = metrics_counter(m, "rtun_visitor_bytes_in_total",
	    "Bytes from the other agent's service to visitor users.", labels);
	for (p = 0; p < PATH_COUNT; p++) {
		snprintf(labels, sizeof(labels), "visitor=\"%s\",path=\"%s\"", name, path_names[p]);
		v->paths[p] = metrics_counter(m, "rtun_visitor_connections_total",
		    "Visitor connections by the path they took (direct, relay, refused).", labels);
	}
}

static void
visitor_close(struct visitor *v)
{
	while (!TAILQ_EMPTY(&v->held))
		held_free(TAILQ_FIRST(&v->held), 1);
	listener_free(v->li);
	v->li = NULL;
}

/* The listener of an old visitor on local, or NULL. */
static struct visitor *
visitor_on(struct visitor *old, size_t nold, const char *local)
{
	size_t j;

	for (j = 0; j < nold; j++) {
		if (old[j].li != NULL && strcmp(old[j].conf->local, local) == 0)
			return &old[j];
	}
	return NULL;
}

/*
 * Listeners for conf: new addresses are opened first, so that a failure
 * leaves the old visitors as they were; then the old listeners on the
 * addresses that stay are taken over.
 */
static struct visitor *
visitors_open(struct visitorset *vs, const struct agent_conf *conf, struct visitor *old,
    size_t nold)
{
	struct visitor *v = xcalloc(conf->nvisitors + 1, sizeof(*v)), *o;
	size_t i;

	for (i = 0; i < conf->nvisitors; i++) {
		v[i].vs = vs;
		v[i].conf = &conf->visitors[i];
		TAILQ_INIT(&v[i].held);
		if (visitor_on(old, nold, v[i].conf->local) != NULL)
			continue;
		v[i].li = listener_new(vs->loop, &v[i].conf->local_addr, visitor_accept, &v[i]);
		if (v[i].li == NULL) {
			log_error("visitor %s: cannot listen on %s: %s", v[i].conf->name,
			    v[i].conf->local, strerror(errno));
			while (i-- > 0)
				listener_free(v[i].li);
			free(v);
			return NULL;
		}
	}
	for (i = 0; i < conf->nvisitors; i++) {
		visitor_counters(&v[i], vs->metrics);
		if ((o = visitor_on(old, nold, v[i].conf->local)) == NULL)
			continue;
		v[i].li = o->li;
		v[i].li->data = &v[i];
		o->li = NULL;
	}
	return v;
}

static void
visitors_want(struct visitorset *vs)
{
	size_t i;

	for (i = 0; i < vs->nv; i++) {
		if (vs->v[i].conf->mode != VISITOR_RELAY)
			directset_want(vs->ds, vs->v[i].conf->peer, vs->v[i].conf->service);
		log_info("visitor %s: %s -> agent %s service %s (mode %s)", vs->v[i].conf->name,
		    vs->v[i].conf->local, vs->v[i].conf->peer, vs->v[i].conf->service,
		    vs->v[i].conf->mode == VISITOR_AUTO ? "auto" :
		    vs->v[i].conf->mode == VISITOR_DIRECT ? "direct" : "relay");
	}
}

struct visitorset *
visitorset_new(struct ev_loop *loop, struct agent *a, const struct agent_conf *conf,
    struct directset *ds, struct metrics *m)
{
	struct visitorset *vs = xcalloc(1, sizeof(*vs));

	vs->loop = loop;
	vs->agent = a;
	vs->conf = conf;
	vs->ds = ds;
	vs->metrics = m;
	if ((vs->v = visitors_open(vs, conf, NULL, 0)) == NULL) {
		free(vs);
		return NULL;
	}
	vs->nv = conf->nvisitors;
	visitors_want(vs);
	return vs;
}

int
visitorset_set_conf(struct visitorset *vs, const struct agent_conf *conf)
{
	struct visitor *v;
	size_t i;

	if ((v = visitors_open(vs, conf, vs->v, vs->nv)) == NULL)
		return -1;
	for (i = 0; i < vs->nv; i++)
		visitor_close(&vs->v[i]);
	free(vs->v);
	vs->v = v;
	vs->nv = conf->nvisitors;
	vs->conf = conf;
	visitors_want(vs);
	return 0;
}

void
visitorset_stop(struct visitorset *vs)
{
	size_t i;

	for (i = 0; i < vs->nv; i++)
		visitor_close(&vs->v[i]);
}

static const struct status_col visitor_cols[] = {
	{ "visitor", "VISITOR", STATUS_TEXT },
	{ "local", "LOCAL", STATUS_TEXT },
	{ "agent", "AGENT", STATUS_TEXT },
	{ "service", "SERVICE", STATUS_TEXT },
	{ "mode", "MODE", STATUS_TEXT },
	{ "path", "PATH", STATUS_TEXT },
	{ "streams", "STREAMS", STATUS_COUNT },
	{ "waiting", "WAITING", STATUS_COUNT },
	{ "bytes_in", "IN", STATUS_BYTES },
	{ "bytes_out", "OUT", STATUS_BYTES },
};

static const char *const mode_names[] = {
	[VISITOR_AUTO] = "auto",
	[VISITOR_DIRECT] = "direct",
	[VISITOR_RELAY] = "relay",
};

/* The path the next user of v takes, as visitor_accept() would choose it. */
static const char *
visitor_path(const struct visitor *v)
{
	const struct visitorset *vs = v->vs;
	int direct = directset_link(vs->ds, v->conf->peer) != NULL;
	int srv = agent_server_link(vs->agent) != NULL;

	if (v->conf->mode != VISITOR_RELAY && direct)
		return "direct";
	if (v->conf->mode != VISITOR_DIRECT)
		return !srv ? "none (no link to rtund)" :
		    directset_trying(vs->ds, v->conf->peer) ? "relay (punching)" : "relay";
	return directset_trying(vs->ds, v->conf->peer) ? "punching" : "none (no direct link)";
}

void
visitorset_report(const struct visitorset *vs, struct status *st)
{
	size_t i;

	status_table(st, "visitors", visitor_cols, STATUS_NCOLS(visitor_cols));
	for (i = 0; i < vs->nv; i++) {
		const struct visitor *v = &vs->v[i];

		status_text(st, v->conf->name);
		status_text(st, v->conf->local);
		status_text(st, v->conf->peer);
		status_text(st, v->conf->service);
		status_text(st, mode_names[v->conf->mode]);
		status_text(st, visitor_path(v));
		status_num(st, stream_count_with(agent_server_link(vs->agent), &v->ctr) +
		    stream_count_with(directset_link(vs->ds, v->conf->peer), &v->ctr));
		status_num(st, v->nheld);
		/* In is towards the service, as on rtund: what the users sent. */
		status_num(st, (double)*v->ctr.local_read);
		status_num(st, (double)*v->ctr.local_written);
	}
}

void
visitorset_free(struct visitorset *vs)
{
	visitorset_stop(vs);
	free(vs->v);
	free(vs);
}
