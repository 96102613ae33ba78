/*
 * Direct links, one record per peer we visit and one per rendezvous we are
 * the target of:
 *
 *   visitor: IDLE -> REQUESTED (PunchRequest) -> PUNCHING (PunchSession;
 *            probe; PunchGo) -> SESSION (TLS done; rtun hello over the
 *            direct link, LINK_CLIENT) -> UP; any failure -> IDLE with a
 *            backoff timer, and a lost link likewise
 *   target:  PUNCHING (PunchSession) -> SESSION (LINK_SERVER) -> UP; the
 *            record goes with its link, the visitor punches again
 *
 * The session on the direct link proves the one-time key again and carries
 * the agents' names: a target takes only the visitor rtund named. Each side
 * tells rtund how its part ended (PunchDone), for rtund's counters.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <openssl/crypto.h>

#include "agent-direct.h"
#include "agent-punch.h"
#include "agent.h"
#include "control.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "punch-probe.h"
#include "session.h"
#include "status.h"
#include "transport-tls.h"
#include "xmalloc.h"

enum direct_state {
	D_IDLE,          /* visitor: waiting for the link to rtund or the backoff */
	D_REQUESTED,     /* visitor: PunchRequest sent */
	D_PUNCHING,
	D_SESSION,       /* the rtun handshake on the direct link */
	D_UP,
};

struct direct {
	struct directset *ds;
	int visitor;                       /* our role in it */
	enum direct_state state;
	char peer[CONTROL_NAME_MAX + 1];
	char service[CONTROL_NAME_MAX + 1];  /* visitor: what the rendezvous is asked for */
	uint8_t session[CONTROL_SESSION_LEN];
	uint8_t key[CONTROL_KEY_LEN];
	struct punch *punch;
	struct link *link;
	struct session *sess;
	ev_timer timer;                    /* backoff (IDLE) or deadline (REQUESTED..SESSION) */
	ev_tstamp started;                 /* when the attempt began */
	double backoff;
	int wanted;                        /* visitor: a visitor of the current config names it */
	LIST_ENTRY(direct) entry;
};

struct directset {
	struct ev_loop *loop;
	struct agent *agent;
	const struct agent_conf *conf;
	const struct direct_ops *ops;
	void *arg;
	SSL_CTX *psk_client;
	SSL_CTX *psk_server;
	int server_up;
	int stopping;                      /* directset_free() under way: nothing punches again */
	LIST_HEAD(, direct) list;
	struct link_counters lc;
	double *links_up;
	double *punch_seconds;
	uint64_t *attempts;
	uint64_t *successes;
	uint64_t *failures;
};

static void direct_attempt(struct direct *d);

static void direct_link_control(struct link *l, Rtun__Control *msg);
static void direct_link_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const char *connect);
static void direct_link_closed(struct link *l, const char *reason);

/* A visitor's link carries only its own streams: the target never opens one. */
static const struct link_ops visitor_link_ops = {
	.control = direct_link_control,
	.open = NULL,
	.closed = direct_link_closed,
};
static const struct link_ops target_link_ops = {
	.control = direct_link_control,
	.open = direct_link_open,
	.closed = direct_link_closed,
};

static void
direct_free(struct direct *d)
{
	ev_timer_stop(d->ds->loop, &d->timer);
	if (d->punch != NULL)
		punch_cancel(d->punch);
	session_free(d->sess);
	OPENSSL_cleanse(d->key, sizeof(d->key));
	LIST_REMOVE(d, entry);
	free(d);
}

static void
direct_tell_server(struct direct *d, int ok, const char *why)
{
	struct link *srv = agent_server_link(d->ds->agent);

	if (srv != NULL)
		control_send_punch_done(srv, d->session, ok, why);
}

static void
direct_arm(struct direct *d, double after)
{
	ev_timer_stop(d->ds->loop, &d->timer);
	ev_timer_set(&d->timer, after, 0.0);
	ev_timer_start(d->ds->loop, &d->timer);
}

/*
 * This attempt failed (or the link died): a target's record goes; a
 * visitor's waits out its backoff and, if still wanted, punches again.
 */
static void
direct_failed(struct direct *d, const char *why, int tell)
{
	struct directset *ds = d->ds;
	char peer[sizeof(d->peer)];
	double delay;

	if (tell)
		direct_tell_server(d, 0, why);
	if (d->punch != NULL) {
		punch_cancel(d->punch);
		d->punch = NULL;
	}
	if (!d->visitor || ds->stopping) {
		log_info("direct link %s %s: %s", d->visitor ? "to" : "from", d->peer, why);
		direct_free(d);
		return;
	}
	snprintf(peer, sizeof(peer), "%s", d->peer);
	d->state = D_IDLE;
	delay = d->backoff * (0.5 + 0.5 * (double)arc4random_uniform(1001) / 1000.0);
	d->backoff = d->backoff * 2 > DIRECT_BACKOFF_MAX ? DIRECT_BACKOFF_MAX : d->backoff * 2;
	log_warn("direct link to %s: %s; visitors use the relay; punching again in %.0fs", peer,
	    why, delay);
	direct_arm(d, delay);
	ds->ops->changed(ds->arg, peer, NULL, why);
}

static void
direct_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct direct *d = w->data;
	char why[128];

	switch (d->state) {
	case D_IDLE:
		direct_attempt(d);
		return;
	case D_REQUESTED:
		direct_failed(d, "rtund did not answer the rendezvous request", 0);
		return;
	case D_SESSION:
		snprintf(why, sizeof(why), "no rtun handshake on the direct link within %.0fs",
		    d->ds->conf->punch_timeout);
		link_close(d->link, FRAME_CODE_NONE, why);   /* direct_link_closed() follows */
		return;
	default:
		return;
	}
}

static struct direct *
direct_new(struct directset *ds, const char *peer, int visitor)
{
	struct direct *d = xcalloc(1, sizeof(*d));

	d->ds = ds;
	d->visitor = visitor;
	d->state = D_IDLE;
	d->backoff = DIRECT_BACKOFF_MIN;
	snprintf(d->peer, sizeof(d->peer), "%s", peer);
	ev_init(&d->timer, direct_timer_cb);
	d->timer.data = d;
	LIST_INSERT_HEAD(&ds->list, d, entry);
	return d;
}

/* Ask rtund for a rendezvous with the peer (visitor, link to rtund up). */
static void
direct_attempt(struct direct *d)
{
	struct link *srv = agent_server_link(d->ds->agent);

	if (srv == NULL || !d->wanted)
		return;   /* directset_server_up() or directset_want() starts it */
	d->state = D_REQUESTED;
	d->started = ev_now(d->ds->loop);
	(*d->ds->attempts)++;
	log_info("direct link to %s: asking rtund for a rendezvous (service %s)", d->peer,
	    d->service);
	control_send_punch_request(srv, d->peer, d->service);
	direct_arm(d, d->ds->conf->punch_timeout);
}

static struct direct *
direct_find(const struct directset *ds, const char *peer, int visitor)
{
	struct direct *d;

	LIST_FOREACH(d, &ds->list, entry) {
		if (d->visitor == visitor && strcmp(d->peer, peer) == 0)
			return d;
	}
	return NULL;
}

static struct direct *
direct_by_session(const struct directset *ds, const uint8_t *session)
{
	struct direct *d;

	LIST_FOREACH(d, &ds->list, entry) {
		if (d->state == D_PUNCHING && CRYPTO_memcmp(d->session, session, sizeof(d->session)) == 0)
			return d;
	}
	return NULL;
}

static void
direct_session_up(void *arg, const char *peer_name, uint32_t peer_window)
{
	struct direct *d = arg;
	struct directset *ds = d->ds;
	double took = ev_now(ds->loop) - d->started;

	/* The target takes only the visitor rtund announced, by the name it proved. */
	if (!d->visitor && strcmp(peer_name, d->peer) != 0) {
		link_protocol_error(d->link, "hello from '%s', but rtund announced %s", peer_name,
		    d->peer);
		return;
	}
	ev_timer_stop(ds->loop, &d->timer);
	d->state = D_UP;
	d->backoff = DIRECT_BACKOFF_MIN;
	(*ds->links_up)++;
	log_info("direct link %s %s up (%s) after %.3fs", d->visitor ? "to" : "from", d->peer,
	    link_peer(d->link), took);
	direct_tell_server(d, 1, "");
	if (!d->visitor)
		return;
	(*ds->successes)++;
	*ds->punch_seconds = took;
	ds->ops->changed(ds->arg, d->peer, d->link, NULL);
}

static void
direct_session_failed(void *arg, const struct session_failure *f)
{
	struct direct *d = arg;

	log_warn("%s: the peer did not prove the one-time key", link_label(d->link));
}

static const struct session_ops direct_session_ops = {
	.up = direct_session_up,
	.failed = direct_session_failed,
};

static void
direct_punched(void *arg, struct transport *t, const struct net_addr *peer, const char *error)
{
	struct direct *d = arg;
	struct directset *ds = d->ds;
	const struct config_common *c = &ds->conf->common;
	struct link_params params = {
		.heartbeat_interval = c->heartbeat_interval,
		.heartbeat_timeout = c->heartbeat_timeout,
		.stream_window = c->stream_window,
		.max_streams = c->max_streams,
		.role = d->visitor ? LINK_CLIENT : LINK_SERVER,
		.counters = &ds->lc,
	};
	char secret[2 * CONTROL_KEY_LEN + 1];
	size_t i;

	d->punch = NULL;
	if (t == NULL) {
		if (d->visitor)
			(*ds->failures)++;
		direct_failed(d, error, 1);
		return;
	}
	d->state = D_SESSION;
	d->link = link_new(ds->loop, t, peer, &params,
	    d->visitor ? &visitor_link_ops : &target_link_ops, d);
	link_set_label(d->link, "direct link %s %s (%s)", d->visitor ? "to" : "from", d->peer,
	    link_peer(d->link));
	for (i = 0; i < CONTROL_KEY_LEN; i++)
		snprintf(secret + 2 * i, 3, "%02x", d->key[i]);
	OPENSSL_cleanse(d->key, sizeof(d->key));
	d->sess = session_new(d->link, secret, d->visitor ? ds->conf->name : NULL,
	    &direct_session_ops, d);
	OPENSSL_cleanse(secret, sizeof(secret));
	direct_arm(d, ds->conf->punch_timeout);
}

/* Start punching for d with the session rtund issued. */
static void
direct_punch(struct direct *d, const Rtun__PunchSession *ps)
{
	struct directset *ds = d->ds;
	struct link *srv = agent_server_link(ds->agent);
	struct net_addr server;
	char label[128];

	memcpy(d->session, ps->session.data, sizeof(d->session));
	memcpy(d->key, ps->key.data, sizeof(d->key));
	d->state = D_PUNCHING;
	ev_timer_stop(ds->loop, &d->timer);
	if (srv == NULL || net_parse_numeric(link_peer(srv), &server) == -1) {
		direct_failed(d, "rtund's address is unknown", 1);
		return;
	}
	snprintf(label, sizeof(label), "punch %s %s", d->visitor ? "to" : "from", d->peer);
	d->punch = punch_start(ds->loop, &(struct punch_params){
	    .server = &server,
	    .session = d->session,
	    .key = d->key,
	    .visitor = d->visitor,
	    .timeout = ds->conf->punch_timeout,
	    .psk = d->visitor ? ds->psk_client : ds->psk_server,
	    .label = label,
	}, direct_punched, d);
}

/* A target is asked by rtund: our own config has the last word on who may visit. */
static int
direct_target_allows(const struct directset *ds, const char *visitor, const char *service)
{
	const struct service_conf *svc = config_service(ds->conf, service);

	return svc != NULL && config_service_allows(svc, visitor);
}

static void
direct_on_session(struct directset *ds, const Rtun__PunchSession *ps)
{
	struct direct *d;

	if (ps->visitor) {
		d = direct_find(ds, ps->peer, 1);
		if (d == NULL || d->state != D_REQUESTED) {
			log_debug("rendezvous with %s no longer wanted", ps->peer);
			return;
		}
		direct_punch(d, ps);
		return;
	}
	d = direct_new(ds, ps->peer, 0);
	d->started = ev_now(ds->loop);
	memcpy(d->session, ps->session.data, sizeof(d->session));
	if (!direct_target_allows(ds, ps->peer, ps->service)) {
		log_warn("rendezvous from %s for service %s refused: not in its allow_peers here",
		    ps->peer, ps->service);
		direct_failed(d, "not allowed by the target's allow_peers", 1);
		return;
	}
	log_info("rendezvous from %s for service %s: punching", ps->peer, ps->service);
	direct_punch(d, ps);
}

static void
direct_on_refused(struct directset *ds, const Rtun__PunchRefused *r)
{
	struct direct *d = direct_find(ds, r->peer, 1);
	char why[512];

	if (d == NULL || d->state != D_REQUESTED)
		return;
	snprintf(why, sizeof(why), "rtund refused the rendezvous: %s", r->reason);
	(*ds->failures)++;
	direct_failed(d, why, 0);
}

int
directset_control(struct directset *ds, const Rtun__Control *msg)
{
	struct direct *d;

	switch (msg->msg_case) {
	case RTUN__CONTROL__MSG_PUNCH_SESSION:
		direct_on_session(ds, msg->punch_session);
		return 1;
	case RTUN__CONTROL__MSG_PUNCH_REFUSED:
		direct_on_refused(ds, msg->punch_refused);
		return 1;
	case RTUN__CONTROL__MSG_PUNCH_GO:
		if ((d = direct_by_session(ds, msg->punch_go->session.data)) != NULL &&
		    d->punch != NULL)
			punch_go(d->punch, msg->punch_go->addrs, msg->punch_go->n_addrs);
		return 1;
	default:
		return 0;
	}
}

static void
direct_link_control(struct link *l, Rtun__Control *msg)
{
	struct direct *d = link_owner(l);

	if (session_control(d->sess, msg)) {
		control_free(msg);
		return;
	}
	if (msg->msg_case == RTUN__CONTROL__MSG_ERROR)
		link_close(l, FRAME_CODE_NONE, "the peer reported an error");
	else
		link_protocol_error(l, "unexpected %s", control_name(msg));
	control_free(msg);
}

static void
direct_link_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const char *connect)
{
	struct direct *d = link_owner(l);

	agent_serve_open(d->ds->agent, l, id, service, peer, dest, d->peer);
}

static void
direct_link_closed(struct link *l, const char *reason)
{
	struct direct *d = link_owner(l);
	char why[512];

	if (d->state == D_UP)
		(*d->ds->links_up)--;
	snprintf(why, sizeof(why), "%s %s", d->state == D_UP ? "direct link lost:" :
	    "rtun handshake on the direct link failed:", reason);
	d->link = NULL;
	session_free(d->sess);
	d->sess = NULL;
	if (d->visitor && d->state != D_UP)
		(*d->ds->failures)++;
	direct_failed(d, why, d->state != D_UP);
}

struct link *
directset_link(const struct directset *ds, const char *peer)
{
	struct direct *d = direct_find(ds, peer, 1);

	return d != NULL && d->state == D_UP ? d->link : NULL;
}

int
directset_trying(const struct directset *ds, const char *peer)
{
	struct direct *d = direct_find(ds, peer, 1);

	return d != NULL && d->state != D_IDLE && d->state != D_UP;
}

void
directset_want(struct directset *ds, const char *peer, const char *service)
{
	struct direct *d = direct_find(ds, peer, 1);

	if (d == NULL) {
		d = direct_new(ds, peer, 1);
		snprintf(d->service, sizeof(d->service), "%s", service);
	}
	d->wanted = 1;
	if (d->state == D_IDLE && !ev_is_active(&d->timer))
		direct_attempt(d);
}

void
directset_server_up(struct directset *ds)
{
	struct direct *d;

	ds->server_up = 1;
	LIST_FOREACH(d, &ds->list, entry) {
		if (d->visitor && d->state == D_IDLE && !ev_is_active(&d->timer))
			direct_attempt(d);
	}
}

void
directset_server_down(struct directset *ds)
{
	struct direct *d, *next;

	ds->server_up = 0;
	for (d = LIST_FIRST(&ds->list); d != NULL; d = next) {
		next = LIST_NEXT(d, entry);
		/* A punch that got its PunchGo carries on without rtund; one waiting for it cannot. */
		if (d->state == D_REQUESTED)
			direct_failed(d, "the link to rtund went down", 0);
	}
}

void
directset_set_conf(struct directset *ds, const struct agent_conf *conf)
{
	struct direct *d, *next;
	size_t i;

	ds->conf = conf;
	for (d = LIST_FIRST(&ds->list); d != NULL; d = next) {
		next = LIST_NEXT(d, entry);
		if (!d->visitor)
			continue;
		d->wanted = 0;
		for (i = 0; i < conf->nvisitors; i++) {
			if (conf->visitors[i].mode != VISITOR_RELAY &&
			    strcmp(conf->visitors[i].peer, d->peer) == 0)
				d->wanted = 1;
		}
		if (d->wanted)
			continue;
		if (d->link != NULL && link_nstreams(d->link) > 0)
			continue;   /* kept while its streams run; not punched again */
		if (d->link != NULL)
			link_close(d->link, FRAME_CODE_NONE, "no visitor wants it any more");
		else
			direct_free(d);
	}
}

int
directset_busy(const struct directset *ds)
{
	const struct direct *d;

	LIST_FOREACH(d, &ds->list, entry) {
		if (d->link != NULL && link_nstreams(d->link) > 0)
			return 1;
	}
	return 0;
}

struct directset *
directset_new(struct ev_loop *loop, struct agent *a, const struct agent_conf *conf,
    struct metrics *m, const struct direct_ops *ops, void *arg)
{
	struct directset *ds = xcalloc(1, sizeof(*ds));
	char err[256];

	ds->loop = loop;
	ds->agent = a;
	ds->conf = conf;
	ds->ops = ops;
	ds->arg = arg;
	LIST_INIT(&ds->list);
	if ((ds->psk_client = tls_psk_ctx_new(0, err, sizeof(err))) == NULL ||
	    (ds->psk_server = tls_psk_ctx_new(1, err, sizeof(err))) == NULL) {
		log_error("TLS for direct links: %s", err);
		SSL_CTX_free(ds->psk_client);
		free(ds);
		return NULL;
	}
	ds->links_up = metrics_gauge(m, "rtun_direct_links_up", "Direct links to other agents up.",
	    "");
	ds->punch_seconds = metrics_gauge(m, "rtun_punch_seconds",
	    "Time the last successful punch took, from the request to the direct link.", "");
	ds->attempts = metrics_counter(m, "rtun_punch_attempts_total",
	    "Rendezvous this agent asked for as a visitor.", "");
	ds->successes = metrics_counter(m, "rtun_punch_success_total",
	    "Rendezvous that ended in a direct link.", "");
	ds->failures = metrics_counter(m, "rtun_punch_failures_total",
	    "Rendezvous that ended without a direct link (refused, timed out, failed).", "");
	ds->lc.streams_open = metrics_gauge(m, "rtun_direct_streams_open",
	    "Streams open on direct links.", "");
	ds->lc.streams_total = metrics_counter(m, "rtun_direct_streams_total",
	    "Streams opened on direct links since start.", "");
	ds->lc.protocol_errors = metrics_counter(m, "rtun_protocol_errors_total",
	    "Links dropped for breaking the protocol.", "");
	ds->lc.open_timeouts = metrics_counter(m, "rtun_connect_timeouts_total",
	    "Connections to local targets that timed out.", "");
	ds->lc.idle_timeouts = metrics_counter(m, "rtun_idle_timeouts_total",
	    "Streams ended after idle_timeout without traffic.", "");
	return ds;
}

static const char *const direct_state_names[] = {
	[D_IDLE] = "idle",
	[D_REQUESTED] = "asking rtund",
	[D_PUNCHING] = "punching",
	[D_SESSION] = "handshake",
	[D_UP] = "up",
};

static const struct status_col direct_cols[] = {
	{ "peer", "PEER", STATUS_TEXT },
	{ "role", "ROLE", STATUS_TEXT },
	{ "state", "STATE", STATUS_TEXT },
	{ "address", "ADDRESS", STATUS_TEXT },
	{ "since_seconds", "SINCE", STATUS_SECONDS },
	{ "rtt_ms", "RTT", STATUS_MS },
	{ "streams", "STREAMS", STATUS_COUNT },
};

void
directset_report(const struct directset *ds, double now, struct status *st)
{
	const struct direct *d;

	status_table(st, "direct", direct_cols, STATUS_NCOLS(direct_cols));
	LIST_FOREACH(d, &ds->list, entry) {
		int up = d->state == D_UP && d->link != NULL;

		status_text(st, d->peer);
		status_text(st, d->visitor ? "visitor" : "target");
		status_text(st, direct_state_names[d->state]);
		status_text(st, d->link != NULL ? link_peer(d->link) : NULL);
		status_num(st, d->started > 0 ? now - d->started : 0);
		status_rtt(st, up ? link_rtt(d->link) : 0);
		status_num(st, up ? link_nstreams(d->link) : 0);
	}
}

void
directset_free(struct directset *ds)
{
	struct direct *d;

	ds->stopping = 1;
	while ((d = LIST_FIRST(&ds->list)) != NULL) {
		if (d->link != NULL) {
			/* direct_link_closed() frees the record, as ds->stopping says. */
			link_close(d->link, FRAME_CODE_NONE, "agent shutting down");
			continue;
		}
		direct_free(d);
	}
	SSL_CTX_free(ds->psk_client);
	SSL_CTX_free(ds->psk_server);
	free(ds);
}
