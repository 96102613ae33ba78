/*
 * Rendezvous sessions and the probes that feed them.
 *
 *   PunchRequest (visitor) -> directory check -> PunchSession to both sides
 *   probe from each side's punch port        -> its observed endpoint
 *   both probes in                           -> PunchGo to each, the side
 *                                               nearer to rtund told later
 *   PunchDone from each side, or the TTL     -> the session ends
 *
 * A session holds its sides' links; rendezvous_forget() ends the sessions of
 * a link that goes, so no pointer outlives its link. The key is wiped as soon
 * as both probes are in: rtund has no use for it afterwards.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "control.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "punch-probe.h"
#include "server-p2p.h"
#include "server-rendezvous.h"
#include "status.h"
#include "xmalloc.h"

_Static_assert(PROBE_SESSION_LEN == CONTROL_SESSION_LEN, "one session id length");
_Static_assert(PROBE_KEY_LEN == CONTROL_KEY_LEN, "one key length");

/* One agent's part of a session; index PROBE_VISITOR or PROBE_TARGET. */
struct rv_side {
	struct link *link;
	char name[CONTROL_NAME_MAX + 1];
	int probed;
	struct net_addr observed;          /* where its probe came from: its NAT mapping */
	size_t nlocal;
	struct sockaddr_storage local[PROBE_LOCAL_MAX];
	int done;                          /* its PunchDone came */
};

struct rv_session {
	struct rendezvous *r;
	uint8_t id[CONTROL_SESSION_LEN];
	uint8_t key[CONTROL_KEY_LEN];
	char service[CONTROL_NAME_MAX + 1];
	struct rv_side side[2];
	int late;                          /* the side whose PunchGo waits on go_w */
	ev_timer go_w;
	ev_timer ttl_w;
	LIST_ENTRY(rv_session) entry;
};

/* A probe connection being read. */
struct rv_probe {
	struct rendezvous *r;
	int fd;
	struct net_addr from;
	char addr[NET_ADDRSTRLEN];
	uint8_t buf[PROBE_MAX_LEN];
	size_t len;
	ev_io io;
	ev_timer deadline;
	LIST_ENTRY(rv_probe) entry;
};

/* The latest outcome of punching between a visitor and a service, as the visitor reported it. */
struct rv_path {
	struct link *links[2];             /* visitor's and target's: forgotten with either */
	char name[2][CONTROL_NAME_MAX + 1];
	char service[CONTROL_NAME_MAX + 1];
	int direct;
	char reason[128];
	ev_tstamp at;
	TAILQ_ENTRY(rv_path) entry;
};

/* Paths remembered; the oldest goes first. */
#define RV_PATHS_MAX 256

struct rendezvous {
	struct ev_loop *loop;
	struct p2pdir *dir;
	int enabled;
	TAILQ_HEAD(rv_pathlist, rv_path) paths;
	size_t npaths;
	LIST_HEAD(, rv_session) sessions;
	LIST_HEAD(, rv_probe) probes;
	size_t nsessions;
	size_t nprobes;
	uint64_t *requests;
	uint64_t *refused;
	uint64_t *direct_ok;
	uint64_t *direct_failed;
	uint64_t *probes_rejected;
};

static const char *const side_names[2] = { "visitor", "target" };

static void
session_free(struct rv_session *s)
{
	ev_timer_stop(s->r->loop, &s->go_w);
	ev_timer_stop(s->r->loop, &s->ttl_w);
	OPENSSL_cleanse(s->key, sizeof(s->key));
	LIST_REMOVE(s, entry);
	s->r->nsessions--;
	free(s);
}

static void
session_ttl_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rv_session *s = w->data;

	log_info("rendezvous %s -> %s (service %s): ended after %.0fs%s", s->side[0].name,
	    s->side[1].name, s->service, RENDEZVOUS_TTL,
	    s->side[0].probed && s->side[1].probed ? "" : " without both probes");
	session_free(s);
}

/* Every endpoint side `to` should dial to reach the other side, in the order to try them. */
static size_t
session_addrs(const struct rv_session *s, int to, char out[][NET_ADDRSTRLEN], size_t max)
{
	const struct rv_side *me = &s->side[to], *peer = &s->side[!to];
	char a[NET_ADDRSTRLEN], b[NET_ADDRSTRLEN];
	size_t n = 0, i;

	net_addr_str((const struct sockaddr *)&peer->observed.ss, out[n++]);
	/*
	 * Local addresses only help behind one NAT (no hairpinning needed); across
	 * NATs they name unrelated hosts on the dialler's own LAN.
	 */
	if (strcmp(net_host_str((const struct sockaddr *)&me->observed.ss, a),
	    net_host_str((const struct sockaddr *)&peer->observed.ss, b)) != 0)
		return n;
	for (i = 0; i < peer->nlocal && n < max; i++)
		net_addr_str((const struct sockaddr *)&peer->local[i], out[n++]);
	return n;
}

static void
session_send_go(struct rv_session *s, int to)
{
	char addrs[CONTROL_PUNCH_ADDRS_MAX][NET_ADDRSTRLEN];
	char *ptrs[CONTROL_PUNCH_ADDRS_MAX];
	size_t i, n;

	n = session_addrs(s, to, addrs, CONTROL_PUNCH_ADDRS_MAX);
	for (i = 0; i < n; i++)
		ptrs[i] = addrs[i];
	control_send_punch_go(s->side[to].link, s->id, ptrs, n);
	log_debug("rendezvous %s -> %s: %s told to dial %s", s->side[0].name, s->side[1].name,
	    s->side[to].name, addrs[0]);
}

static void
session_go_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rv_session *s = w->data;

	session_send_go(s, s->late);
}

/*
 * Both probes are in: each side dials on receiving PunchGo, so the side with
 * the shorter round trip is told later by half the difference, and both
 * SYNs leave at about the same moment (what DCUtR's SYNC does with one
 * measured RTT).
 */
static void
session_both_probed(struct rv_session *s)
{
	char seen[2][NET_ADDRSTRLEN];
	double rtt[2], delay;
	int late;

	OPENSSL_cleanse(s->key, sizeof(s->key));
	rtt[0] = link_rtt(s->side[0].link);
	rtt[1] = link_rtt(s->side[1].link);
	late = rtt[0] < rtt[1] ? 0 : 1;
	delay = rtt[0] > 0 && rtt[1] > 0 ? (rtt[!late] - rtt[late]) / 2 : 0;
	log_info("rendezvous %s -> %s (service %s): endpoints %s and %s; rtt %.1f/%.1f ms",
	    s->side[0].name, s->side[1].name, s->service,
	    net_addr_str((const struct sockaddr *)&s->side[0].observed.ss, seen[0]),
	    net_addr_str((const struct sockaddr *)&s->side[1].observed.ss, seen[1]),
	    rtt[0] * 1e3, rtt[1] * 1e3);
	session_send_go(s, !late);
	if (delay <= 0) {
		session_send_go(s, late);
		return;
	}
	s->late = late;
	ev_timer_set(&s->go_w, delay, 0.0);
	ev_timer_start(s->r->loop, &s->go_w);
}

static size_t
sessions_of(const struct rendezvous *r, const struct link *l)
{
	const struct rv_session *s;
	size_t n = 0;

	LIST_FOREACH(s, &r->sessions, entry) {
		if (s->side[PROBE_VISITOR].link == l)
			n++;
	}
	return n;
}

static void
refuse(struct rendezvous *r, struct link *l, const char *visitor, const Rtun__PunchRequest *req,
    const char *why)
{
	log_warn("rendezvous %s -> %s (service %s) refused: %s", visitor, req->peer,
	    req->service, why);
	(*r->refused)++;
	control_send_punch_refused(l, req->peer, req->service, why);
}

void
rendezvous_request(struct rendezvous *r, struct link *l, const char *visitor,
    const Rtun__PunchRequest *req)
{
	struct rv_session *s;
	struct link *target;
	char why[256];

	(*r->requests)++;
	if (!r->enabled) {
		refuse(r, l, visitor, req, "p2p is disabled on this server");
		return;
	}
	if (r->nsessions >= RENDEZVOUS_MAX || sessions_of(r, l) >= RENDEZVOUS_PER_VISITOR) {
		refuse(r, l, visitor, req, "too many rendezvous under way");
		return;
	}
	if ((target = p2pdir_check(r->dir, req->peer, req->service, visitor, why,
	    sizeof(why))) == NULL) {
		refuse(r, l, visitor, req, why);
		return;
	}
	if (target == l) {
		refuse(r, l, visitor, req, "an agent cannot visit itself");
		return;
	}
	s = xcalloc(1, sizeof(*s));
	if (RAND_bytes(s->id, sizeof(s->id)) != 1 || RAND_bytes(s->key, sizeof(s->key)) != 1) {
		free(s);
		refuse(r, l, visitor, req, "rtund has no randomness");
		return;
	}
	s->r = r;
	snprintf(s->service, sizeof(s->service), "%s", req->service);
	s->side[PROBE_VISITOR].link = l;
	snprintf(s->side[PROBE_VISITOR].name, sizeof(s->side[0].name), "%s", visitor);
	s->side[PROBE_TARGET].link = target;
	snprintf(s->side[PROBE_TARGET].name, sizeof(s->side[1].name), "%s", req->peer);
	ev_timer_init(&s->go_w, session_go_cb, 0.0, 0.0);
	ev_timer_init(&s->ttl_w, session_ttl_cb, RENDEZVOUS_TTL, 0.0);
	s->go_w.data = s->ttl_w.data = s;
	ev_timer_start(r->loop, &s->ttl_w);
	LIST_INSERT_HEAD(&r->sessions, s, entry);
	r->nsessions++;
	/* Fresh round trips for the timing, measured while the probes travel. */
	link_ping(l);
	link_ping(target);
	control_send_punch_session(target, s->id, s->key, visitor, req->service, 0);
	control_send_punch_session(l, s->id, s->key, req->peer, req->service, 1);
	log_info("rendezvous %s -> %s (service %s): session issued", visitor, req->peer,
	    req->service);
}

static struct rv_session *
session_find(const struct rendezvous *r, const uint8_t *id)
{
	struct rv_session *s;

	LIST_FOREACH(s, &r->sessions, entry) {
		if (CRYPTO_memcmp(s->id, id, sizeof(s->id)) == 0)
			return s;
	}
	return NULL;
}

static void
path_free(struct rendezvous *r, struct rv_path *p)
{
	TAILQ_REMOVE(&r->paths, p, entry);
	r->npaths--;
	free(p);
}

/* Remember how the visitor of s reached its service: direct, or by relay and why. */
static void
path_note(struct rendezvous *r, const struct rv_session *s, const Rtun__PunchDone *d)
{
	struct rv_path *p;
	int i;

	TAILQ_FOREACH(p, &r->paths, entry) {
		if (strcmp(p->name[0], s->side[0].name) == 0 &&
		    strcmp(p->name[1], s->side[1].name) == 0 && strcmp(p->service, s->service) == 0)
			break;
	}
	if (p != NULL)
		path_free(r, p);
	if (r->npaths >= RV_PATHS_MAX)
		path_free(r, TAILQ_FIRST(&r->paths));
	p = xcalloc(1, sizeof(*p));
	for (i = 0; i < 2; i++) {
		p->links[i] = s->side[i].link;
		memcpy(p->name[i], s->side[i].name, sizeof(p->name[i]));
	}
	memcpy(p->service, s->service, sizeof(p->service));
	p->direct = d->ok;
	snprintf(p->reason, sizeof(p->reason), "%s", d->ok || d->reason == NULL ? "" : d->reason);
	p->at = ev_now(r->loop);
	TAILQ_INSERT_TAIL(&r->paths, p, entry);
	r->npaths++;
}

static const struct status_col path_cols[] = {
	{ "visitor", "VISITOR", STATUS_TEXT },
	{ "agent", "AGENT", STATUS_TEXT },
	{ "service", "SERVICE", STATUS_TEXT },
	{ "path", "PATH", STATUS_TEXT },
	{ "reason", "WHY", STATUS_TEXT },
	{ "since_seconds", "SINCE", STATUS_SECONDS },
};

void
rendezvous_report(const struct rendezvous *r, double now, struct status *st)
{
	const struct rv_session *s;
	const struct rv_path *p;

	status_table(st, "visitors", path_cols, STATUS_NCOLS(path_cols));
	TAILQ_FOREACH_REVERSE(p, &r->paths, rv_pathlist, entry) {
		status_text(st, p->name[0]);
		status_text(st, p->name[1]);
		status_text(st, p->service);
		status_text(st, p->direct ? "direct" : "relay");
		status_text(st, p->direct ? NULL : p->reason);
		status_num(st, now - p->at);
	}
	LIST_FOREACH(s, &r->sessions, entry) {
		status_text(st, s->side[0].name);
		status_text(st, s->side[1].name);
		status_text(st, s->service);
		status_text(st, "punching");
		status_text(st, NULL);
		status_num(st, 0);
	}
}

void
rendezvous_done(struct rendezvous *r, struct link *l, const Rtun__PunchDone *d)
{
	struct rv_session *s = session_find(r, d->session.data);
	int i;

	if (s == NULL)
		return;   /* ended by its TTL meanwhile */
	for (i = 0; i < 2 && s->side[i].link != l; i++)
		;
	if (i == 2 || s->side[i].done)
		return;
	s->side[i].done = 1;
	if (d->ok)
		log_info("rendezvous %s -> %s (service %s): %s %s reports a direct link",
		    s->side[0].name, s->side[1].name, s->service, side_names[i], s->side[i].name);
	else
		log_info("rendezvous %s -> %s (service %s): %s %s reports no direct link: %s",
		    s->side[0].name, s->side[1].name, s->service, side_names[i], s->side[i].name,
		    d->reason);
	/* The visitor's word counts: it is the side that uses the link. */
	if (i == PROBE_VISITOR) {
		(*(d->ok ? r->direct_ok : r->direct_failed))++;
		path_note(r, s, d);
	}
	if (s->side[0].done && s->side[1].done)
		session_free(s);
}

void
rendezvous_forget(struct rendezvous *r, struct link *l)
{
	struct rv_session *s, *next;
	struct rv_path *p, *pnext;

	for (p = TAILQ_FIRST(&r->paths); p != NULL; p = pnext) {
		pnext = TAILQ_NEXT(p, entry);
		if (p->links[0] == l || p->links[1] == l)
			path_free(r, p);
	}

	for (s = LIST_FIRST(&r->sessions); s != NULL; s = next) {
		next = LIST_NEXT(s, entry);
		if (s->side[0].link == l || s->side[1].link == l)
			session_free(s);
	}
}

static void
probe_free(struct rv_probe *p)
{
	ev_io_stop(p->r->loop, &p->io);
	ev_timer_stop(p->r->loop, &p->deadline);
	close(p->fd);
	LIST_REMOVE(p, entry);
	p->r->nprobes--;
	free(p);
}

/* Answer the probe with one byte and close; the reply says how it went. */
static void
probe_reply(struct rv_probe *p, int reply)
{
	uint8_t b = (uint8_t)reply;

	if (reply != PROBE_ACCEPTED) {
		log_warn("%s: punch probe rejected: %s", p->addr, probe_reply_str(reply));
		(*p->r->probes_rejected)++;
	}
	/* A fresh socket's send buffer takes one byte; if not, the agent times out. */
	if (write(p->fd, &b, 1) != 1)
		log_debug("%s: probe reply: %s", p->addr, strerror(errno));
	probe_free(p);
}

/* A complete probe: check it against its session and record the endpoint. */
static void
probe_complete(struct rv_probe *p, const struct probe *pr, size_t used)
{
	struct rv_session *s = session_find(p->r, pr->session);
	struct rv_side *side;
	char seen[NET_ADDRSTRLEN];
	size_t i;

	if (s == NULL) {
		probe_reply(p, PROBE_UNKNOWN);
		return;
	}
	side = &s->side[pr->side];
	/* Once both are in the key is gone, so a late or replayed probe fails here. */
	if (side->probed) {
		probe_reply(p, PROBE_REPEATED);
		return;
	}
	if (!probe_verify(p->buf, used, s->key)) {
		probe_reply(p, PROBE_BAD_MAC);
		return;
	}
	side->probed = 1;
	side->observed = p->from;
	side->nlocal = pr->nlocal;
	for (i = 0; i < pr->nlocal; i++)
		side->local[i] = pr->local[i];
	log_debug("rendezvous %s -> %s: %s %s probed from %s", s->side[0].name, s->side[1].name,
	    side_names[pr->side], side->name,
	    net_addr_str((const struct sockaddr *)&p->from.ss, seen));
	probe_reply(p, PROBE_ACCEPTED);
	if (s->side[0].probed && s->side[1].probed)
		session_both_probed(s);
}

static void
probe_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct rv_probe *p = w->data;
	struct probe pr;
	const char *why = NULL;
	size_t used;
	ssize_t n;

	n = read(p->fd, p->buf + p->len, sizeof(p->buf) - p->len);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		log_info("%s: punch probe: %s", p->addr, n == 0 ? "closed early" : strerror(errno));
		probe_free(p);
		return;
	}
	p->len += (size_t)n;
	switch (probe_parse(p->buf, p->len, &pr, &used, &why)) {
	case PROBE_NEED_MORE:
		if (p->len < sizeof(p->buf))
			return;
		/* A full buffer that is still incomplete is malformed. */
		probe_reply(p, PROBE_MALFORMED);
		return;
	case PROBE_ERR:
		log_debug("%s: malformed punch probe: %s", p->addr, why ? why : "too long");
		probe_reply(p, PROBE_MALFORMED);
		return;
	case PROBE_OK:
		probe_complete(p, &pr, used);
		return;
	}
}

static void
probe_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct rv_probe *p = w->data;

	log_info("%s: punch probe timed out", p->addr);
	probe_free(p);
}

void
rendezvous_probe(struct rendezvous *r, int fd, const struct net_addr *from)
{
	struct rv_probe *p;
	char addr[NET_ADDRSTRLEN];

	if (!r->enabled || r->nprobes >= RENDEZVOUS_PROBES_MAX) {
		log_info("%s: punch probe dropped: %s", net_addr_str(
		    (const struct sockaddr *)&from->ss, addr),
		    r->enabled ? "too many probes under way" : "p2p is disabled");
		close(fd);
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->r = r;
	p->fd = fd;
	p->from = *from;
	net_addr_str((const struct sockaddr *)&from->ss, p->addr);
	ev_io_init(&p->io, probe_io_cb, fd, EV_READ);
	ev_timer_init(&p->deadline, probe_deadline_cb, RENDEZVOUS_PROBE_TIMEOUT, 0.0);
	p->io.data = p->deadline.data = p;
	LIST_INSERT_HEAD(&r->probes, p, entry);
	r->nprobes++;
	ev_io_start(r->loop, &p->io);
	ev_timer_start(r->loop, &p->deadline);
}

struct rendezvous *
rendezvous_new(struct ev_loop *loop, struct p2pdir *dir, int enabled, struct metrics *m)
{
	struct rendezvous *r = xcalloc(1, sizeof(*r));

	r->loop = loop;
	r->dir = dir;
	r->enabled = enabled;
	LIST_INIT(&r->sessions);
	TAILQ_INIT(&r->paths);
	LIST_INIT(&r->probes);
	r->requests = metrics_counter(m, "rtund_rendezvous_total",
	    "P2P rendezvous requested by visiting agents.", "");
	r->refused = metrics_counter(m, "rtund_rendezvous_refused_total",
	    "P2P rendezvous refused (not allowed, target absent, p2p off, limits).", "");
	r->direct_ok = metrics_counter(m, "rtund_punch_total",
	    "Punch outcomes visiting agents reported.", "result=\"direct\"");
	r->direct_failed = metrics_counter(m, "rtund_punch_total",
	    "Punch outcomes visiting agents reported.", "result=\"failed\"");
	r->probes_rejected = metrics_counter(m, "rtund_punch_probes_rejected_total",
	    "Punch probes rejected (unknown session, bad MAC, repeated, malformed).", "");
	return r;
}

void
rendezvous_set_enabled(struct rendezvous *r, int enabled)
{
	r->enabled = enabled;
}

void
rendezvous_free(struct rendezvous *r)
{
	while (!TAILQ_EMPTY(&r->paths))
		path_free(r, TAILQ_FIRST(&r->paths));
	while (!LIST_EMPTY(&r->sessions))
		session_free(LIST_FIRST(&r->sessions));
	while (!LIST_EMPTY(&r->probes))
		probe_free(LIST_FIRST(&r->probes));
	free(r);
}
