/*
 * Route streams on the agent (agent-route.h). An address is judged at once;
 * a name is judged first by the name rules, looked up only when some rule
 * could allow what it resolves to (so a server cannot make the agent query
 * names nothing allows), and then judged again address by address with the
 * allow_connect in force at that moment. While a name is looked up, the
 * stream already exists, behind a hook end: a RESET from rtund, the link's
 * end or connect_timeout ends the stream and the lookup with it, so nothing
 * connects for a stream that is gone, and nothing waits for ever.
 */
#include "rtun-build.h"

#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-route.h"
#include "dest.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "refusals.h"
#include "resolve.h"
#include "stream-hook.h"
#include "stream-sock.h"
#include "stream.h"
#include "xmalloc.h"

/*
 * Room for a reason that names a destination: the RESET carries its first
 * FRAME_TEXT_MAX bytes, the log line all of it.
 */
#define WHAT_MAX (FRAME_TEXT_MAX + NET_ADDRSTRLEN + 4)
#define REASON_MAX (WHAT_MAX + 64)

struct agent_routes {
	struct ev_loop *loop;
	const struct agent_conf *conf;
	struct stream_counters ctr;     /* bytes, and connects that failed */
	uint64_t *streams;
	uint64_t *forbidden;
	uint64_t *unresolved;
	struct refusals *refusals;      /* where the status report finds them, or NULL */
};

/* What a route stream is for, as its OPEN said (unchecked text, escaped when logged). */
struct route_open {
	struct link *l;
	uint32_t id;
	const char *route, *peer, *dest, *connect;
};

/* A route stream whose destination is a name, while it is looked up. */
struct lookup {
	struct agent_routes *ar;
	struct link *l;
	struct stream *s;
	struct stream_end *hook;
	struct resolve *res;            /* NULL once answered */
	struct dest d;
	uint32_t id;
	char route[FRAME_TEXT_MAX + 1];
	char peer[FRAME_TEXT_MAX + 1];
	char dest[FRAME_TEXT_MAX + 1];
	char connect[FRAME_TEXT_MAX + 1];
};

/* The reason a RESET gives for a destination (as shown) that nothing allows. */
static const char *
not_allowed(const char *what, char *why, size_t len)
{
	snprintf(why, len, "not allowed: %s is not in allow_connect", what);
	return why;
}

/* Log and count a refusal with its reason. */
static void
refusal(struct agent_routes *ar, const struct route_open *o, const char *why)
{
	log_warn("%s: route %s: stream %u from %s refused: %s%s", link_label(o->l), o->route,
	    o->id, o->peer, why, ar->conf->allow_connect.n == 0 ? " (which is empty)" : "");
	(*ar->forbidden)++;
	if (ar->refusals != NULL)
		refusals_add(ar->refusals, ev_now(ar->loop), o->route, why, "%s", o->connect);
}

static void
refuse(struct agent_routes *ar, const struct route_open *o, const char *why)
{
	refusal(ar, o, why);
	link_send_reset(o->l, o->id, FRAME_CODE_FORBIDDEN, why);
}

static void
log_allowed(const struct route_open *o, const struct net_addr *to, const char *by)
{
	char addr[NET_ADDRSTRLEN];

	log_debug("%s: route %s: stream %u from %s: connecting to %s (%s), allowed by %s",
	    link_label(o->l), o->route, o->id, o->peer, o->connect,
	    net_addr_str((const struct sockaddr *)&to->ss, addr), by);
}

static struct stream_conf
route_stream_conf(const struct agent_routes *ar, const struct route_open *o)
{
	struct stream_conf c = {
		.service = o->route,
		.peer = o->peer,
		.dest = o->dest,
		.ctr = &ar->ctr,
		.timeout = ar->conf->connect_timeout,
	};

	return c;
}

/* An address the rules allowed: connect the stream to it. */
static void
serve_addr(struct agent_routes *ar, const struct route_open *o, const struct net_addr *to)
{
	struct stream_conf c = route_stream_conf(ar, o);
	char addr[NET_ADDRSTRLEN], why[REASON_MAX];
	struct stream_end *end;

	if ((end = stream_sock_connect(ar->loop, to, PROXYPROTO_NONE, o->peer, o->dest)) == NULL) {
		snprintf(why, sizeof(why), "connect to %s: %s",
		    net_addr_str((const struct sockaddr *)&to->ss, addr), strerror(errno));
		log_warn("%s: route %s: stream %u from %s: %s", link_label(o->l), o->route, o->id,
		    o->peer, why);
		(*ar->ctr.connect_failed)++;
		link_send_reset(o->l, o->id, FRAME_CODE_CONNECT, why);
		return;
	}
	(*ar->streams)++;
	stream_accept(o->l, o->id, end, 1, &c);
}

static void
lookup_closed(void *arg, int clean)
{
	struct lookup *lk = arg;

	if (lk->res != NULL)
		resolve_cancel(lk->res);
	free(lk);
}

static const struct stream_hook_ops lookup_ops = {
	.closed = lookup_closed,
};

static struct route_open
lookup_open(const struct lookup *lk)
{
	struct route_open o = { lk->l, lk->id, lk->route, lk->peer, lk->dest, lk->connect };

	return o;
}

/* The first of the answer's addresses the rules in force allow, or NULL; by names the rule. */
static const struct net_addr *
lookup_pick(const struct lookup *lk, const struct net_addr *addrs, size_t n, char *by,
    size_t len)
{
	const struct dest_rules *rules = &lk->ar->conf->allow_connect;
	const struct dest_rule *named = dest_rules_name(rules, lk->d.host, lk->d.portnum), *rule;
	size_t i;

	for (i = 0; i < n; i++) {
		const struct sockaddr *sa = (const struct sockaddr *)&addrs[i].ss;
		rule = named != NULL && dest_addr_usable(sa) ? named : dest_rules_addr(rules, sa);
		if (rule != NULL) {
			dest_rule_str(rule, by, len);
			return &addrs[i];
		}
	}
	return NULL;
}

/* The lookup answered: judge the addresses, then connect or refuse. */
static void
lookup_done(void *arg, int err, const struct net_addr *addrs, size_t n)
{
	struct lookup *lk = arg;
	struct route_open o = lookup_open(lk);
	char why[REASON_MAX], what[WHAT_MAX], addr[NET_ADDRSTRLEN], by[DEST_TEXT_MAX + 16];
	const struct net_addr *to;
	struct stream_end *end;

	lk->res = NULL;
	if (err != 0) {
		snprintf(why, sizeof(why), "cannot resolve %s: %s", lk->d.host, gai_strerror(err));
		log_warn("%s: route %s: stream %u from %s: %s", link_label(lk->l), lk->route,
		    lk->id, lk->peer, why);
		(*lk->ar->unresolved)++;
		stream_reset(lk->s, FRAME_CODE_CONNECT, why);
		return;
	}
	if ((to = lookup_pick(lk, addrs, n, by, sizeof(by))) == NULL) {
		snprintf(what, sizeof(what), "%s (%s)", lk->connect,
		    net_addr_str((const struct sockaddr *)&addrs[0].ss, addr));
		refusal(lk->ar, &o, not_allowed(what, why, sizeof(why)));
		stream_reset(lk->s, FRAME_CODE_FORBIDDEN, why);
		return;
	}
	log_allowed(&o, to, by);
	(*lk->ar->streams)++;
	/* Reported like any connect that fails: the stream resets with code 2. */
	if ((end = stream_sock_connect(lk->ar->loop, to, PROXYPROTO_NONE, lk->peer, lk->dest)) ==
	    NULL) {
		stream_end_connected(lk->s, errno);
		return;
	}
	stream_hook_attach(lk->hook, end);
}

/* A name some rule may allow: the stream waits behind a hook while it is looked up. */
static void
serve_name(struct agent_routes *ar, const struct route_open *o, const struct dest *d)
{
	struct stream_conf c = route_stream_conf(ar, o);
	struct lookup *lk = xcalloc(1, sizeof(*lk));

	lk->ar = ar;
	lk->l = o->l;
	lk->id = o->id;
	lk->d = *d;
	snprintf(lk->route, sizeof(lk->route), "%s", o->route);
	snprintf(lk->peer, sizeof(lk->peer), "%s", o->peer);
	snprintf(lk->dest, sizeof(lk->dest), "%s", o->dest);
	snprintf(lk->connect, sizeof(lk->connect), "%s", o->connect);
	lk->hook = stream_hook_new(NULL, &lookup_ops, lk);
	lk->s = stream_accept(o->l, o->id, lk->hook, 1, &c);
	lk->res = resolve_start_all(ar->loop, d->host, d->port, lookup_done, lk);
}

void
agent_routes_open(struct agent_routes *ar, struct link *l, uint32_t id, const char *route,
    const char *peer, const char *dest, const char *connect)
{
	const struct route_open o = { l, id, route, peer, dest, connect };
	const struct dest_rules *rules = &ar->conf->allow_connect;
	const struct dest_rule *rule;
	char by[DEST_TEXT_MAX + 16], why[REASON_MAX];
	const char *bad;
	struct dest d;

	if (dest_parse(connect, &d, &bad) == -1) {
		snprintf(why, sizeof(why), "not allowed: a malformed destination (%s)", bad);
		refuse(ar, &o, why);
		return;
	}
	if (d.kind == DEST_NAME) {
		if (dest_rules_name(rules, d.host, d.portnum) == NULL &&
		    !dest_rules_any_addr(rules, d.portnum)) {
			refuse(ar, &o, not_allowed(connect, why, sizeof(why)));
			return;
		}
		serve_name(ar, &o, &d);
		return;
	}
	if ((rule = dest_rules_addr(rules, (const struct sockaddr *)&d.addr.ss)) == NULL) {
		refuse(ar, &o, not_allowed(connect, why, sizeof(why)));
		return;
	}
	log_allowed(&o, &d.addr, dest_rule_str(rule, by, sizeof(by)));
	serve_addr(ar, &o, &d.addr);
}

struct agent_routes *
agent_routes_new(struct ev_loop *loop, const struct agent_conf *conf, struct metrics *m,
    struct refusals *refusals)
{
	struct agent_routes *ar = xcalloc(1, sizeof(*ar));
	const char *help = "Route streams refused: destination not in allow_connect (forbidden), "
	    "name not resolved (resolve), connect failed (connect).";

	ar->loop = loop;
	ar->conf = conf;
	ar->refusals = refusals;
	ar->ctr.local_read = metrics_counter(m, "rtun_route_bytes_out_total",
	    "Bytes from route destinations to users.", "");
	ar->ctr.local_written = metrics_counter(m, "rtun_route_bytes_in_total",
	    "Bytes from users to route destinations.", "");
	ar->ctr.connect_failed = metrics_counter(m, "rtun_route_refused_total", help,
	    "reason=\"connect\"");
	ar->forbidden = metrics_counter(m, "rtun_route_refused_total", help,
	    "reason=\"forbidden\"");
	ar->unresolved = metrics_counter(m, "rtun_route_refused_total", help,
	    "reason=\"resolve\"");
	ar->streams = metrics_counter(m, "rtun_route_streams_total",
	    "Route streams allow_connect let through to a connect.", "");
	return ar;
}

void
agent_routes_set_conf(struct agent_routes *ar, const struct agent_conf *conf)
{
	ar->conf = conf;
}

void
agent_routes_free(struct agent_routes *ar)
{
	free(ar);
}
