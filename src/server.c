/*
 * rtund: accepts agent links, runs the server side of the handshake, binds
 * the ports agents declare (when allowed and free) and turns every user
 * connection on such a port into a stream on the owning agent's link. The
 * routes of its own config live in server-route.c, which finds their agents
 * here.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "acceptor.h"
#include "authlimit.h"
#include "control.h"
#include "link.h"
#include "listener.h"
#include "log.h"
#include "metrics.h"
#include "refusals.h"
#include "server-declare.h"
#include "server-p2p.h"
#include "server-ports.h"
#include "server-relay.h"
#include "server-rendezvous.h"
#include "server-route.h"
#include "server-web.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "transport-tls.h"
#include "xmalloc.h"

enum peer_state {
	PEER_HANDSHAKE,  /* the session runs */
	PEER_UP,         /* authenticated */
	PEER_FAILED,     /* authentication failed; closing */
};

/* One agent link as rtund sees it. */
struct peer {
	struct server *srv;
	struct link *link;
	struct session *session;
	enum peer_state state;
	struct net_addr from;
	char name[CONFIG_NAME_MAX + 1];
	ev_tstamp since;         /* when it authenticated */
	ev_timer handshake_w;
	struct decl_agent *decl; /* its services, once authenticated */
	LIST_ENTRY(peer) entry;
};

struct server {
	struct ev_loop *loop;
	const struct server_conf *conf;
	struct listener *listener;
	struct acceptor_conf accept_conf;
	struct acceptor_set acceptors;
	struct metrics *metrics;
	struct link_counters lc;
	double *links_up;
	uint64_t *auth_ok;
	uint64_t *auth_failures;
	uint64_t *auth_blocked;
	struct authlimit *authlimit;
	LIST_HEAD(, peer) peers;
	struct ports *ports;
	struct p2pdir *p2p;
	struct rendezvous *rendezvous;
	struct relayset *relays;
	struct routeset *routes;
	struct web *web;
	struct declare *decl;
	struct refusals *refusals;
	ev_tstamp started;
};

static void server_link_control(struct link *l, Rtun__Control *msg);
static void server_link_closed(struct link *l, const char *reason);
static void server_link_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const char *connect);

static const struct link_ops server_link_ops = {
	.control = server_link_control,
	.open = server_link_open,
	.closed = server_link_closed,
};


static void
server_link_closed(struct link *l, const char *reason)
{
	struct peer *pe = link_owner(l);

	if (pe->state == PEER_UP) {
		log_info("%s: link closed: %s", link_label(l), reason);
		(*pe->srv->links_up)--;
	} else if (pe->state != PEER_FAILED)
		log_info("%s: connection closed during handshake: %s", link_label(l), reason);
	decl_agent_free(pe->decl);
	rendezvous_forget(pe->srv->rendezvous, l);
	metrics_release(pe->srv->metrics, link_set_rtt_gauge(l, NULL));
	ev_timer_stop(pe->srv->loop, &pe->handshake_w);
	session_free(pe->session);
	LIST_REMOVE(pe, entry);
	free(pe);
}

/* The agent's hello named it: its log lines say so from now on. */
static void
peer_session_hello(void *arg, const char *name)
{
	struct peer *pe = arg;

	snprintf(pe->name, sizeof(pe->name), "%s", name);
	link_set_label(pe->link, "agent %s (%s)", pe->name, link_peer(pe->link));
}

static void
peer_auth_failed(struct peer *pe)
{
	char host[NET_ADDRSTRLEN];
	double block;

	/* One line per failure, the same with or without a block: fail2ban counts them. */
	net_host_str((const struct sockaddr *)&pe->from.ss, host);
	block = authlimit_failure(pe->srv->authlimit, (const struct sockaddr *)&pe->from.ss,
	    ev_now(pe->srv->loop));
	if (block > 0)
		log_warn("authentication failed from %s for agent '%s'; refusing %s for %.0fs",
		    host, pe->name, host, block);
	else
		log_warn("authentication failed from %s for agent '%s'", host, pe->name);
	refusals_add(pe->srv->refusals, ev_now(pe->srv->loop), pe->name, block > 0 ?
	    "authentication failed; address blocked" : "authentication failed", "link from %s", host);
	(*pe->srv->auth_failures)++;
	pe->state = PEER_FAILED;
}

/* The session failed: log and count; the session answers the agent and closes. */
static void
peer_session_failed(void *arg, const struct session_failure *f)
{
	struct peer *pe = arg;

	if (f->code != SESSION_ERR_VERSION) {
		peer_auth_failed(pe);
		return;
	}
	log_warn("%s: no common protocol version (agent speaks %u-%u, we speak %u-%u)",
	    link_label(pe->link), f->version_min, f->version_max, CONTROL_VERSION_MIN,
	    CONTROL_VERSION_MAX);
}

/* A newer link of the same agent takes over: end the old one and free its ports now. */
static void
peer_supersede_old(struct peer *pe)
{
	struct peer *old, *next;

	for (old = LIST_FIRST(&pe->srv->peers); old != NULL; old = next) {
		next = LIST_NEXT(old, entry);
		if (old == pe || old->state != PEER_UP || strcmp(old->name, pe->name) != 0)
			continue;
		log_info("%s: superseded by a new link from %s", link_label(old->link),
		    link_peer(pe->link));
		link_close(old->link, FRAME_CODE_SUPERSEDED, "superseded by a new link");
		/* link_close() freed old through server_link_closed(); next is still valid. */
	}
}

/* The agent proved the token and the session answered with our proof. */
static void
peer_session_up(void *arg, const char *name, uint32_t peer_window)
{
	struct peer *pe = arg;
	char labels[512];

	authlimit_success(pe->srv->authlimit, (const struct sockaddr *)&pe->from.ss);
	peer_supersede_old(pe);
	pe->state = PEER_UP;
	pe->since = ev_now(pe->srv->loop);
	ev_timer_stop(pe->srv->loop, &pe->handshake_w);
	log_info("%s: authenticated", link_label(pe->link));
	(*pe->srv->links_up)++;
	(*pe->srv->auth_ok)++;
	pe->decl = decl_agent_new(pe->srv->decl, pe->link, pe->name);
	link_set_rtt_gauge(pe->link, metrics_gauge(pe->srv->metrics, "rtund_heartbeat_rtt_seconds",
	    "Round-trip time of the last heartbeat, per agent.",
	    declare_labels(pe->name, NULL, labels, sizeof(labels))));
}

static const struct session_ops peer_session_ops = {
	.hello = peer_session_hello,
	.up = peer_session_up,
	.failed = peer_session_failed,
};

static void
server_link_control(struct link *l, Rtun__Control *msg)
{
	struct peer *pe = link_owner(l);

	/* The session may have closed the link and freed pe: touch neither. */
	if (session_control(pe->session, msg)) {
		control_free(msg);
		return;
	}
	if (pe->state == PEER_UP && msg->msg_case == RTUN__CONTROL__MSG_DECLARE)
		decl_agent_declare(pe->decl, msg->declare);
	else if (pe->state == PEER_UP && msg->msg_case == RTUN__CONTROL__MSG_PUNCH_REQUEST)
		rendezvous_request(pe->srv->rendezvous, l, pe->name, msg->punch_request);
	else if (pe->state == PEER_UP && msg->msg_case == RTUN__CONTROL__MSG_PUNCH_DONE)
		rendezvous_done(pe->srv->rendezvous, l, msg->punch_done);
	else if (msg->msg_case == RTUN__CONTROL__MSG_ERROR) {
		log_warn("%s: agent reported error %u: %s", link_label(l), msg->error->code,
		    msg->error->message);
		link_close(l, FRAME_CODE_NONE, "agent reported an error");
	} else
		link_protocol_error(l, "unexpected %s", control_name(msg));
	control_free(msg);
}

/* An agent opened a stream: a visitor with no direct link, relayed to "AGENT/SERVICE". */
static void
server_link_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const char *connect)
{
	struct peer *pe = link_owner(l);

	relayset_open(pe->srv->relays, l, pe->name, id, service, peer, dest);
}

static void
peer_handshake_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct peer *pe = w->data;

	log_warn("%s: no authentication within %.1fs; dropping", link_label(pe->link),
	    pe->srv->conf->handshake_timeout);
	link_close(pe->link, FRAME_CODE_NONE, "handshake timeout");
}

/* An agent connection whose transport is established: start the rtun handshake on it. */
static void
server_transport_cb(void *arg, struct transport *t, const struct net_addr *from,
    const char *stack, double left)
{
	struct server *srv = arg;
	const struct config_common *c = &srv->conf->common;
	struct link_params params = {
		.heartbeat_interval = c->heartbeat_interval,
		.heartbeat_timeout = c->heartbeat_timeout,
		.stream_window = c->stream_window,
		.max_streams = c->max_streams,
		.role = LINK_SERVER,
		.counters = &srv->lc,
	};
	struct peer *pe;

	pe = xcalloc(1, sizeof(*pe));
	pe->srv = srv;
	pe->state = PEER_HANDSHAKE;
	pe->from = *from;
	pe->link = link_new(srv->loop, t, from, &params, &server_link_ops, pe);
	pe->session = session_new(pe->link, srv->conf->token, NULL, &peer_session_ops, pe);
	/* Absolute: what the sniffing and the TLS or WebSocket handshakes left of it. */
	ev_timer_init(&pe->handshake_w, peer_handshake_timeout_cb, left, 0.0);
	pe->handshake_w.data = pe;
	ev_timer_start(srv->loop, &pe->handshake_w);
	LIST_INSERT_HEAD(&srv->peers, pe, entry);
	log_debug("%s: agent connection over %s", link_peer(pe->link), stack);
}

static void
server_accept_cb(struct listener *li, int fd, const struct net_addr *from)
{
	struct server *srv = li->data;
	char host[NET_ADDRSTRLEN];
	double left;

	left = authlimit_blocked(srv->authlimit, (const struct sockaddr *)&from->ss,
	    ev_now(srv->loop));
	if (left > 0) {
		log_warn("refusing agent connection from %s: repeated authentication failures "
		    "(%.0fs left)", net_host_str((const struct sockaddr *)&from->ss, host), left);
		(*srv->auth_blocked)++;
		close(fd);
		return;
	}
	acceptor_start(&srv->acceptors, srv->loop, fd, from, &srv->accept_conf,
	    server_transport_cb, srv);
}

/* A punch probe on the agent port: the rendezvous reads it. */
static void
server_probe_cb(void *arg, int fd, const struct net_addr *from)
{
	struct server *srv = arg;

	rendezvous_probe(srv->rendezvous, fd, from);
}

/* The link of the authenticated agent called name, for its routes (see server-route.h). */
static struct link *
server_agent_link(void *arg, const char *name, int *unable)
{
	struct server *srv = arg;
	struct peer *pe;

	*unable = 0;
	LIST_FOREACH(pe, &srv->peers, entry) {
		if (pe->state != PEER_UP || strcmp(pe->name, name) != 0)
			continue;
		*unable = !decl_agent_routes(pe->decl);
		return *unable ? NULL : pe->link;
	}
	return NULL;
}

static void
relay_limits_of(const struct server_conf *conf, struct relay_limits *lim)
{
	lim->enabled = conf->relay;
	lim->max_streams = conf->relay_max_streams;
	lim->open_timeout = conf->open_timeout;
}

/* What the agent port accepts: TLS only with a certificate, the rest as configured. */
static int
server_accept_setup(struct server *srv)
{
	const struct server_conf *conf = srv->conf;
	char err[256];

	srv->accept_conf.ws_path = conf->ws_path;
	srv->accept_conf.transports = conf->transports;
	srv->accept_conf.timeout = conf->handshake_timeout;
	srv->accept_conf.probe = server_probe_cb;
	srv->accept_conf.probe_arg = srv;
	if (conf->tls_cert == NULL)
		return 0;
	srv->accept_conf.tls = tls_server_ctx_new(conf->tls_cert, conf->tls_key, err, sizeof(err));
	if (srv->accept_conf.tls == NULL) {
		log_error("TLS: %s", err);
		return -1;
	}
	return 0;
}

static void
server_register_metrics(struct server *srv)
{
	struct metrics *m = srv->metrics;

	srv->links_up = metrics_gauge(m, "rtund_links_up", "Authenticated agent links.", "");
	srv->auth_ok = metrics_counter(m, "rtund_agent_auth_total",
	    "Successful agent authentications (first connects and reconnects).", "");
	srv->auth_failures = metrics_counter(m, "rtund_auth_failures_total",
	    "Failed agent authentications.", "");
	srv->auth_blocked = metrics_counter(m, "rtund_auth_blocked_total",
	    "Agent connections refused after repeated authentication failures from their address.",
	    "");
	srv->lc.streams_open = metrics_gauge(m, "rtund_streams_open", "Open streams.", "");
	srv->lc.streams_total = metrics_counter(m, "rtund_streams_total",
	    "Streams opened since start.", "");
	srv->lc.open_timeouts = metrics_counter(m, "rtund_open_timeouts_total",
	    "User connections closed because the agent did not answer OPEN in time.", "");
	srv->lc.protocol_errors = metrics_counter(m, "rtund_protocol_errors_total",
	    "Links dropped for breaking the protocol.", "");
	srv->lc.idle_timeouts = metrics_counter(m, "rtund_idle_timeouts_total",
	    "Streams ended after idle_timeout without traffic.", "");
}

struct server *
server_new(struct ev_loop *loop, const struct server_conf *conf, struct metrics *metrics)
{
	struct relay_limits lim;
	struct server *srv;

	srv = xcalloc(1, sizeof(*srv));
	srv->loop = loop;
	srv->conf = conf;
	srv->metrics = metrics;
	srv->authlimit = authlimit_new();
	srv->refusals = refusals_new();
	srv->started = ev_now(loop);
	server_register_metrics(srv);
	LIST_INIT(&srv->peers);
	acceptor_set_init(&srv->acceptors);
	if (server_accept_setup(srv) == -1)
		goto fail;
	srv->listener = listener_new(loop, &conf->listen_addr, server_accept_cb, srv);
	if (srv->listener == NULL) {
		log_error("cannot listen on %s: %s", conf->listen, strerror(errno));
		SSL_CTX_free(srv->accept_conf.tls);
		goto fail;
	}
	srv->ports = ports_new(loop);
	srv->p2p = p2pdir_new();
	srv->rendezvous = rendezvous_new(loop, srv->p2p, conf->p2p, metrics);
	relay_limits_of(conf, &lim);
	srv->relays = relayset_new(loop, srv->p2p, &lim, metrics);
	srv->routes = routeset_new(loop, srv->ports, metrics, server_agent_link, srv);
	if ((srv->web = web_new(loop, conf, metrics)) == NULL) {
		server_free(srv);
		return NULL;
	}
	srv->decl = declare_new(loop, conf, metrics, srv->ports, srv->web, srv->p2p,
	    srv->refusals);
	log_info("listening for agents on %s; allow_ports %s", conf->listen,
	    conf->allow_ports_str);
	routeset_apply(srv->routes, conf);
	return srv;
fail:
	authlimit_free(srv->authlimit);
	refusals_free(srv->refusals);
	free(srv);
	return NULL;
}


static const struct status_col server_cols[] = {
	{ "version", "VERSION", STATUS_TEXT },
	{ "pid", "PID", STATUS_COUNT },
	{ "uptime_seconds", "UPTIME", STATUS_SECONDS },
	{ "listen", "LISTEN", STATUS_TEXT },
	{ "agents", "AGENTS", STATUS_COUNT },
	{ "streams", "STREAMS", STATUS_COUNT },
};

static const struct status_col link_cols[] = {
	{ "agent", "AGENT", STATUS_TEXT },
	{ "address", "ADDRESS", STATUS_TEXT },
	{ "transport", "TRANSPORT", STATUS_TEXT },
	{ "uptime_seconds", "UPTIME", STATUS_SECONDS },
	{ "rtt_ms", "RTT", STATUS_MS },
	{ "streams", "STREAMS", STATUS_COUNT },
};

static void
report_links(struct server *srv, struct status *st)
{
	double now = ev_now(srv->loop);
	struct peer *pe;

	status_table(st, "links", link_cols, STATUS_NCOLS(link_cols));
	LIST_FOREACH(pe, &srv->peers, entry) {
		if (pe->state != PEER_UP)
			continue;
		status_text(st, pe->name);
		status_text(st, link_peer(pe->link));
		status_text(st, link_transport(pe->link));
		status_num(st, now - pe->since);
		status_rtt(st, link_rtt(pe->link));
		status_num(st, link_nstreams(pe->link));
	}
}

void
server_report(struct server *srv, struct status *st)
{
	double now = ev_now(srv->loop);

	status_table(st, "server", server_cols, STATUS_NCOLS(server_cols));
	status_text(st, PACKAGE_VERSION);
	status_num(st, getpid());
	status_num(st, now - srv->started);
	status_text(st, srv->conf->listen);
	status_num(st, *srv->links_up);
	status_num(st, *srv->lc.streams_open);
	report_links(srv, st);
	declare_report(srv->decl, st);
	routeset_report(srv->routes, st);
	rendezvous_report(srv->rendezvous, now, st);
	relayset_report(srv->relays, st);
	refusals_report(srv->refusals, now, st);
}

void
server_drain(struct server *srv)
{
	listener_free(srv->listener);
	srv->listener = NULL;
	acceptor_set_clear(&srv->acceptors);
	ports_stop(srv->ports);
	declare_drain(srv->decl);
	web_stop(srv->web);
}

int
server_busy(const struct server *srv)
{
	const struct peer *pe;

	LIST_FOREACH(pe, &srv->peers, entry) {
		if (link_nstreams(pe->link) > 0)
			return 1;
	}
	return routeset_busy(srv->routes);
}

/* Two optional settings are the same (both unset, or equal). */
static int
same_text(const char *a, const char *b)
{
	return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

void
server_reload(struct server *srv, const struct server_conf *conf)
{
	const struct server_conf *old = srv->conf;
	struct relay_limits lim;

	if (strcmp(old->listen, conf->listen) != 0 || strcmp(old->bind_addr, conf->bind_addr) != 0 ||
	    old->transports != conf->transports || (old->tls_cert == NULL) != (conf->tls_cert == NULL))
		log_warn("reload: listen, bind_addr, transports and TLS changes take effect after "
		    "a restart");
	if (!same_text(old->http_listen, conf->http_listen) ||
	    !same_text(old->https_listen, conf->https_listen))
		log_warn("reload: http_listen and https_listen changes take effect after a restart");
	srv->conf = conf;
	srv->accept_conf.ws_path = conf->ws_path;
	srv->accept_conf.timeout = conf->handshake_timeout;
	rendezvous_set_enabled(srv->rendezvous, conf->p2p);
	relay_limits_of(conf, &lim);
	relayset_set_limits(srv->relays, &lim);
	declare_reload(srv->decl, conf);
	routeset_apply(srv->routes, conf);
	log_info("configuration reloaded from %s; allow_ports %s", conf->path,
	    conf->allow_ports_str);
}

void
server_free(struct server *srv)
{
	struct peer *pe;

	listener_free(srv->listener);
	acceptor_set_clear(&srv->acceptors);
	while ((pe = LIST_FIRST(&srv->peers)) != NULL)
		link_close(pe->link, FRAME_CODE_NONE, "server shutting down");
	routeset_free(srv->routes);
	declare_free(srv->decl);
	web_free(srv->web);
	refusals_free(srv->refusals);
	ports_free(srv->ports);
	rendezvous_free(srv->rendezvous);
	relayset_free(srv->relays);
	p2pdir_free(srv->p2p);
	SSL_CTX_free(srv->accept_conf.tls);
	authlimit_free(srv->authlimit);
	free(srv);
}
