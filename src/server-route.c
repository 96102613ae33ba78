/*
 * Routes on rtund (server-route.h). A route is counted by reference: the set
 * holds one while the route is configured, every open connection one more,
 * so a route removed by a reload stays (with its counters) until its last
 * connection ends. Connections through an agent are stream_open() streams
 * behind a hook end that tells the route how the agent answered.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "link.h"
#include "log.h"
#include "metrics.h"
#include "server-ports.h"
#include "server-route.h"
#include "splice.h"
#include "status.h"
#include "stream-hook.h"
#include "stream-sock.h"
#include "stream.h"
#include "xmalloc.h"

/* Why a user of a route was not served, as the rtund_route_refused_total label. */
enum route_refusal {
	REFUSED_AGENT_DOWN,
	REFUSED_UNSUPPORTED,
	REFUSED_MAX_STREAMS,
	REFUSED_FORBIDDEN,
	REFUSED_CONNECT,
	REFUSED_RESOLVE,
	REFUSED_TIMEOUT,
	REFUSED_COUNT,
};

static const char *const refusal_names[REFUSED_COUNT] = {
	[REFUSED_AGENT_DOWN] = "agent_down",
	[REFUSED_UNSUPPORTED] = "unsupported",
	[REFUSED_MAX_STREAMS] = "max_streams",
	[REFUSED_FORBIDDEN] = "forbidden",
	[REFUSED_CONNECT] = "connect",
	[REFUSED_RESOLVE] = "resolve",
	[REFUSED_TIMEOUT] = "timeout",
};

struct route {
	struct routeset *rs;
	struct metrics *m;
	char name[CONFIG_NAME_MAX + 1];
	char agent[CONFIG_NAME_MAX + 1];   /* "" for a route rtund splices */
	char connect[DEST_TEXT_MAX + 1];
	struct dest dest;
	uint16_t port;
	double idle_timeout;
	struct port *p;                    /* NULL while it has no listener */
	int refs;
	uint32_t live;                     /* open connections */
	struct stream_counters ctr;        /* local_read: bytes in, local_written: bytes out */
	uint64_t *connections;
	uint64_t *refused[REFUSED_COUNT];
	LIST_ENTRY(route) entry;
};

struct routeset {
	struct ev_loop *loop;
	struct ports *ports;
	struct metrics *m;
	const struct server_conf *conf;
	route_agent_fn *agent_link;
	void *arg;
	struct splices *splices;
	LIST_HEAD(, route) routes;
};

/* A user of a route through an agent, while its stream lives. */
struct route_user {
	struct route *r;
	struct stream_end *hook;
	char user[NET_ADDRSTRLEN];
};

static void
route_register_metrics(struct route *r)
{
	char v[4 * CONFIG_NAME_MAX + 1], labels[sizeof(v) + 64];
	int i;

	snprintf(labels, sizeof(labels), "route=\"%s\"", metrics_label_value(r->name, v,
	    sizeof(v)));
	r->connections = metrics_counter(r->m, "rtund_route_connections_total",
	    "User connections accepted on a route's port.", labels);
	r->ctr.local_read = metrics_counter(r->m, "rtund_route_bytes_in_total",
	    "Bytes from users to a route's destination.", labels);
	r->ctr.local_written = metrics_counter(r->m, "rtund_route_bytes_out_total",
	    "Bytes from a route's destination to users.", labels);
	for (i = 0; i < REFUSED_COUNT; i++) {
		snprintf(labels, sizeof(labels), "route=\"%s\",reason=\"%s\"", v,
		    refusal_names[i]);
		r->refused[i] = metrics_counter(r->m, "rtund_route_refused_total",
		    "Users of a route not served, by reason.", labels);
	}
}

static void
route_put(struct route *r)
{
	int i;

	if (--r->refs > 0)
		return;
	metrics_release(r->m, r->connections);
	metrics_release(r->m, r->ctr.local_read);
	metrics_release(r->m, r->ctr.local_written);
	for (i = 0; i < REFUSED_COUNT; i++)
		metrics_release(r->m, r->refused[i]);
	free(r);
}

/* Turn a user away: an RST, never a close that looks like a served connection. */
static void
route_turn_away(struct route *r, int fd, enum route_refusal why)
{
	(*r->refused[why])++;
	net_set_abortive(fd, 1);
	close(fd);
}

/* The agent (or rtund) reset a route stream: a refusal if it never opened. */
static void
route_user_reset(void *arg, uint32_t code, const char *reason, size_t len)
{
	struct route_user *ru = arg;
	char text[FRAME_TEXT_MAX + 1];

	log_safe(reason, len, text, sizeof(text));
	if (stream_hook_opened(ru->hook)) {
		log_debug("route %s: user %s: reset (code %u): %s", ru->r->name, ru->user, code,
		    text);
		return;
	}
	log_warn("route %s (agent %s): user %s: %s", ru->r->name, ru->r->agent, ru->user, text);
	if (code == FRAME_CODE_FORBIDDEN)
		(*ru->r->refused[REFUSED_FORBIDDEN])++;
	else if (code == FRAME_CODE_CONNECT)
		(*ru->r->refused[REFUSED_CONNECT])++;
	else if (code == FRAME_CODE_TIMEOUT)
		(*ru->r->refused[REFUSED_TIMEOUT])++;
	else if (code == FRAME_CODE_REFUSED)
		(*ru->r->refused[REFUSED_MAX_STREAMS])++;
}

static void
route_user_closed(void *arg, int clean)
{
	struct route_user *ru = arg;

	ru->r->live--;
	route_put(ru->r);
	free(ru);
}

static const struct stream_hook_ops route_user_ops = {
	.reset = route_user_reset,
	.closed = route_user_closed,
};

/* A user of an agent's route: a stream on its link, naming the destination. */
static void
route_via_agent(struct route *r, int fd, const char *user)
{
	struct routeset *rs = r->rs;
	int unable;
	struct link *l = rs->agent_link(rs->arg, r->agent, &unable);
	char local[NET_ADDRSTRLEN];
	struct route_user *ru;
	struct stream_conf c = {
		.service = r->name,
		.peer = user,
		.dest = net_local_str(fd, local),
		.ctr = &r->ctr,
		.timeout = rs->conf->open_timeout,
		.idle_timeout = r->idle_timeout,
		.connect = r->connect,
	};

	if (l == NULL) {
		log_warn("route %s: agent %s %s; resetting user %s", r->name, r->agent, unable ?
		    "does not serve routes (its rtun is older than them)" : "is not connected", user);
		route_turn_away(r, fd, unable ? REFUSED_UNSUPPORTED : REFUSED_AGENT_DOWN);
		return;
	}
	if (link_nstreams(l) >= link_params(l)->max_streams) {
		log_warn("%s: route %s: refusing %s: max_streams (%u) reached", link_label(l),
		    r->name, user, link_params(l)->max_streams);
		route_turn_away(r, fd, REFUSED_MAX_STREAMS);
		return;
	}
	ru = xcalloc(1, sizeof(*ru));
	ru->r = r;
	snprintf(ru->user, sizeof(ru->user), "%s", user);
	r->refs++;
	r->live++;
	log_debug("%s: route %s: user %s connected", link_label(l), r->name, user);
	ru->hook = stream_hook_new(stream_sock_accepted(rs->loop, fd), &route_user_ops, ru);
	stream_open(l, ru->hook, &c);
}

static void
route_splice_done(void *arg, enum splice_end how)
{
	struct route *r = arg;

	if (how == SPLICE_RESOLVE)
		(*r->refused[REFUSED_RESOLVE])++;
	else if (how == SPLICE_CONNECT)
		(*r->refused[REFUSED_CONNECT])++;
	else if (how == SPLICE_TIMEOUT)
		(*r->refused[REFUSED_TIMEOUT])++;
	r->live--;
	route_put(r);
}

/* A user of a route without agent: rtund connects and copies. */
static void
route_splice(struct route *r, int fd, const char *user)
{
	struct routeset *rs = r->rs;
	struct splice_conf c = {
		.route = r->name,
		.to = &r->dest,
		.connect_timeout = rs->conf->open_timeout,
		.idle_timeout = r->idle_timeout,
		.bytes_in = r->ctr.local_read,
		.bytes_out = r->ctr.local_written,
		.done = route_splice_done,
		.arg = r,
	};

	if (r->live >= rs->conf->common.max_streams) {
		log_warn("route %s: refusing %s: max_streams (%u) connections open", r->name, user,
		    rs->conf->common.max_streams);
		route_turn_away(r, fd, REFUSED_MAX_STREAMS);
		return;
	}
	r->refs++;
	r->live++;
	log_debug("route %s: user %s connected", r->name, user);
	splice_start(rs->splices, fd, user, &c);
}

static void
route_accept(struct port *p, int fd, const struct net_addr *from)
{
	struct route *r = port_owner_arg(p);
	char user[NET_ADDRSTRLEN];

	net_addr_str((const struct sockaddr *)&from->ss, user);
	(*r->connections)++;
	if (r->agent[0] != '\0')
		route_via_agent(r, fd, user);
	else
		route_splice(r, fd, user);
}

static void
route_port_released(struct port *p)
{
	struct route *r = port_owner_arg(p);

	r->p = NULL;
}

/* Listen on the route's port, unless something else holds it. */
static void
route_listen(struct route *r)
{
	struct routeset *rs = r->rs;
	const struct port_owner owner = {
		.kind = PORT_OWNER_ROUTE,
		.arg = r,
		.accept = route_accept,
		.released = route_port_released,
	};
	struct port *held;

	switch (ports_claim(rs->ports, PORT_TCP, r->port, r, 1)) {
	case PORT_CLAIM_CLOSED:
	case PORT_CLAIM_OURS:
		return;
	case PORT_CLAIM_IN_USE:
	case PORT_CLAIM_NOT_ALLOWED:
		held = ports_find(rs->ports, PORT_TCP, r->port);
		log_error("route %s: port %u is held by %s %s", r->name, r->port,
		    port_owner_kind(held) == PORT_OWNER_ROUTE ? "route" : "service",
		    port_service(held));
		return;
	case PORT_CLAIM_FREE:
		break;
	}
	r->p = ports_open(rs->ports, &rs->conf->bind_ip, PORT_TCP, r->port, r->name, &owner);
	if (r->p == NULL)
		log_error("route %s: cannot listen on %s:%u: %s", r->name, rs->conf->bind_addr,
		    r->port, strerror(errno));
}

/* Take rc's settings; what the route does for new connections from now on. */
static void
route_set(struct route *r, const struct route_conf *rc)
{
	snprintf(r->agent, sizeof(r->agent), "%s", rc->agent != NULL ? rc->agent : "");
	snprintf(r->connect, sizeof(r->connect), "%s", rc->connect);
	r->dest = rc->dest;
	r->idle_timeout = rc->idle_timeout;
}

static int
route_differs(const struct route *r, const struct route_conf *rc)
{
	return strcmp(r->agent, rc->agent != NULL ? rc->agent : "") != 0 ||
	    strcmp(r->connect, rc->connect) != 0 || r->idle_timeout != rc->idle_timeout;
}

static void
route_log(const struct route *r, const char *what)
{
	if (r->agent[0] != '\0')
		log_info("%sroute %s: port %u through agent %s to %s", what, r->name, r->port,
		    r->agent, r->connect);
	else
		log_info("%sroute %s: port %u to %s (rtund connects)", what, r->name, r->port,
		    r->connect);
}

static struct route *
route_new(struct routeset *rs, const struct route_conf *rc)
{
	struct route *r = xcalloc(1, sizeof(*r));

	r->rs = rs;
	r->m = rs->m;
	r->refs = 1;
	r->port = rc->port;
	snprintf(r->name, sizeof(r->name), "%s", rc->name);
	route_set(r, rc);
	route_register_metrics(r);
	LIST_INSERT_HEAD(&rs->routes, r, entry);
	return r;
}

/* The set lets go of r: no more users; its connections keep it until they end. */
static void
route_remove(struct route *r)
{
	LIST_REMOVE(r, entry);
	if (r->p != NULL)
		port_close(r->p);
	route_put(r);
}

static struct route *
routeset_find(const struct routeset *rs, const char *name)
{
	struct route *r;

	LIST_FOREACH(r, &rs->routes, entry) {
		if (strcmp(r->name, name) == 0)
			return r;
	}
	return NULL;
}

/* Routes conf no longer has go, and moved ones give up their old port first. */
static void
routeset_release(struct routeset *rs, const struct server_conf *conf, int reload)
{
	const struct route_conf *rc;
	struct route *r, *next;

	for (r = LIST_FIRST(&rs->routes); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		if ((rc = config_route(conf, r->name)) == NULL) {
			if (reload)
				log_info("reload: route %s removed (its open connections carry on)",
				    r->name);
			route_remove(r);
		} else if (rc->port != r->port && r->p != NULL)
			port_close(r->p);
	}
}

void
routeset_apply(struct routeset *rs, const struct server_conf *conf)
{
	int reload = rs->conf != NULL;
	const struct route_conf *rc;
	struct route *r;
	size_t i;

	rs->conf = conf;
	routeset_release(rs, conf, reload);
	for (i = 0; i < conf->nroutes; i++) {
		rc = &conf->routes[i];
		if ((r = routeset_find(rs, rc->name)) == NULL) {
			r = route_new(rs, rc);
			route_log(r, reload ? "reload: added " : "");
		} else if (rc->port != r->port || route_differs(r, rc)) {
			r->port = rc->port;
			route_set(r, rc);
			route_log(r, "reload: changed ");
		}
		if (r->p == NULL)
			route_listen(r);
	}
}

struct routeset *
routeset_new(struct ev_loop *loop, struct ports *ps, struct metrics *m,
    route_agent_fn *agent_link, void *arg)
{
	struct routeset *rs = xcalloc(1, sizeof(*rs));

	rs->loop = loop;
	rs->ports = ps;
	rs->m = m;
	rs->agent_link = agent_link;
	rs->arg = arg;
	rs->splices = splices_new(loop);
	LIST_INIT(&rs->routes);
	return rs;
}

int
routeset_busy(const struct routeset *rs)
{
	return splices_count(rs->splices) > 0;
}

static const struct status_col route_cols[] = {
	{ "route", "ROUTE", STATUS_TEXT },
	{ "port", "PORT", STATUS_COUNT },
	{ "via", "VIA", STATUS_TEXT },
	{ "connect", "CONNECT", STATUS_TEXT },
	{ "state", "STATE", STATUS_TEXT },
	{ "open", "OPEN", STATUS_COUNT },
	{ "connections", "CONNECTIONS", STATUS_COUNT },
	{ "refused", "REFUSED", STATUS_COUNT },
	{ "bytes_in", "IN", STATUS_BYTES },
	{ "bytes_out", "OUT", STATUS_BYTES },
};

/* What a new user of r would meet now. */
static const char *
route_state(const struct route *r)
{
	int unable;

	if (r->p == NULL)
		return "not listening";
	if (*r->agent == '\0')
		return "ok";
	if (r->rs->agent_link(r->rs->arg, r->agent, &unable) != NULL)
		return "ok";
	return unable ? "agent too old" : "agent away";
}

void
routeset_report(const struct routeset *rs, struct status *st)
{
	const struct route *r;
	uint64_t refused;
	int i;

	status_table(st, "routes", route_cols, STATUS_NCOLS(route_cols));
	LIST_FOREACH(r, &rs->routes, entry) {
		for (refused = 0, i = 0; i < REFUSED_COUNT; i++)
			refused += *r->refused[i];
		status_text(st, r->name);
		status_num(st, r->port);
		status_text(st, *r->agent != '\0' ? r->agent : "rtund");
		status_text(st, r->connect);
		status_text(st, route_state(r));
		status_num(st, r->live);
		status_num(st, (double)*r->connections);
		status_num(st, (double)refused);
		status_num(st, (double)*r->ctr.local_read);
		status_num(st, (double)*r->ctr.local_written);
	}
}

void
routeset_free(struct routeset *rs)
{
	splices_free(rs->splices);
	while (!LIST_EMPTY(&rs->routes))
		route_remove(LIST_FIRST(&rs->routes));
	free(rs);
}
