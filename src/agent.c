/*
 * rtun: dials the server, proves the token, checks the server's proof,
 * declares the services, and connects each stream the server opens to the
 * service's local target. Anything that ends a link schedules the next
 * attempt; only a bad config makes the agent give up.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "agent-declared.h"
#include "agent-direct.h"
#include "agent-route.h"
#include "agent-udp.h"
#include "agent-visitor.h"
#include "agent.h"
#include "control.h"
#include "dial.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "refusals.h"
#include "retire.h"
#include "session.h"
#include "status.h"
#include "stream-sock.h"
#include "stream-udp.h"
#include "stream.h"
#include "transport-tls.h"
#include "transport-ws.h"
#include "xmalloc.h"

enum agent_state {
	AGENT_WAITING,      /* retry timer running */
	AGENT_DIALING,      /* resolve, connect, TLS / WebSocket handshake */
	AGENT_SESSION,      /* hello and authentication */
	AGENT_UP,
};

struct agent {
	struct ev_loop *loop;
	const struct agent_conf *conf;
	enum agent_state state;
	struct link *link;
	struct session *session;        /* while the link is up */
	struct dial *dial;              /* while dialling */
	SSL_CTX *tls;                   /* for transport tls and wss */
	ev_timer timeout_w;             /* the session's deadline */
	ev_timer retry_w;
	double backoff;
	int stopping;                   /* agent_free() under way: no more retries */
	int was_up;                     /* a link has been up before: the next is a reconnect */
	struct metrics *metrics;
	struct link_counters lc;
	double *link_up;
	double *rtt;
	uint64_t *reconnects;
	uint64_t *auth_failures;
	uint64_t *ports_refused;
	struct stream_counters *svc_ctr;  /* per service of conf, in its order */
	struct retire retired;            /* counters of removed services streams may still use */
	struct directset *direct;         /* links to other agents */
	struct visitorset *visitors;
	struct agent_routes *routes;      /* streams of rtund's routes */
	struct agent_udp *udp;            /* the UDP services of conf */
	struct declared *declared;        /* what rtund answered for each service of conf */
	struct refusals *refusals;
	ev_tstamp started;
	ev_tstamp up_since;               /* when the link authenticated */
};

static void agent_link_control(struct link *l, Rtun__Control *msg);
static void agent_link_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const char *connect);
static void agent_link_closed(struct link *l, const char *reason);
static void agent_connect(struct agent *a);
static void agent_declare(struct agent *a);

static const struct link_ops agent_link_ops = {
	.control = agent_link_control,
	.open = agent_link_open,
	.closed = agent_link_closed,
};

/* Schedule the next attempt: backoff doubles up to reconnect_max, times a jitter in [0.5, 1]. */
static void
agent_retry(struct agent *a, const char *why)
{
	double delay;

	ev_timer_stop(a->loop, &a->timeout_w);
	delay = a->backoff * (0.5 + 0.5 * (double)arc4random_uniform(1000001) / 1000000.0);
	a->backoff *= 2;
	if (a->backoff > a->conf->reconnect_max)
		a->backoff = a->conf->reconnect_max;
	log_warn("%s; reconnecting in %.1fs", why, delay);
	a->state = AGENT_WAITING;
	ev_timer_set(&a->retry_w, delay, 0.0);
	ev_timer_start(a->loop, &a->retry_w);
}

/* Both sides proved the token: declare the services. */
static void
agent_session_up(void *arg, const char *peer_name, uint32_t peer_window)
{
	struct agent *a = arg;

	ev_timer_stop(a->loop, &a->timeout_w);
	a->state = AGENT_UP;
	a->up_since = ev_now(a->loop);
	a->backoff = a->conf->reconnect_min;
	*a->link_up = 1;
	if (a->was_up)
		(*a->reconnects)++;
	a->was_up = 1;
	log_info("authenticated to %s as %s", a->conf->server, a->conf->name);
	agent_declare(a);
	directset_server_up(a->direct);
}

/* The session failed; it closes the link, which schedules the next attempt. */
static void
agent_session_failed(void *arg, const struct session_failure *f)
{
	struct agent *a = arg;

	if (f->code == SESSION_ERR_REFUSED) {
		(*a->auth_failures)++;
		log_error("%s: authentication failed: %s (check token and name)",
		    link_label(a->link), f->message);
		refusals_add(a->refusals, ev_now(a->loop), a->conf->server, f->message,
		    "authentication");
	} else if (f->code == SESSION_ERR_PROOF)
		log_error("%s: the server could not prove it knows the token", link_label(a->link));
	/* A version the server should not have chosen is logged as a protocol error. */
}

static const struct session_ops agent_session_ops = {
	.up = agent_session_up,
	.failed = agent_session_failed,
};

/* The link is up over an established transport: start the rtun handshake. */
static void
agent_link_up(struct agent *a, struct transport *t, const struct net_addr *addr)
{
	const struct config_common *c = &a->conf->common;
	struct link_params params = {
		.heartbeat_interval = c->heartbeat_interval,
		.heartbeat_timeout = c->heartbeat_timeout,
		.stream_window = c->stream_window,
		.max_streams = c->max_streams,
		.role = LINK_CLIENT,
		.counters = &a->lc,
	};

	a->link = link_new(a->loop, t, addr, &params, &agent_link_ops, a);
	link_set_rtt_gauge(a->link, a->rtt);
	link_set_label(a->link, "server %s", a->conf->server);
	log_info("connected to %s (%s) over %s", a->conf->server, link_peer(a->link),
	    config_transport_name(a->conf->transport));
	a->session = session_new(a->link, a->conf->token, a->conf->name, &agent_session_ops, a);
	a->state = AGENT_SESSION;
	/* The handshake must finish within connect_timeout too. */
	ev_timer_stop(a->loop, &a->timeout_w);
	ev_timer_set(&a->timeout_w, a->conf->connect_timeout, 0.0);
	ev_timer_start(a->loop, &a->timeout_w);
}

static void
agent_dialed(void *arg, struct transport *t, const struct net_addr *addr, const char *error)
{
	struct agent *a = arg;

	a->dial = NULL;
	if (t == NULL) {
		agent_retry(a, error);
		return;
	}
	agent_link_up(a, t, addr);
}

/* TLS client options from the config; fp receives the pinned fingerprint, if any. */
static void
agent_tls_opts(const struct agent_conf *c, uint8_t *fp, struct tls_client_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->server_name = c->server_name;
	o->ca_file = c->ca_file;
	if (c->pinned) {
		memcpy(fp, c->pin, TLS_FINGERPRINT_LEN);
		o->fingerprint = fp;
	}
	o->insecure = c->insecure;
	o->alpn = c->transport == CONFIG_TRANSPORT_WSS ? TLS_ALPN_HTTP : TLS_ALPN_RTUN;
}

static void
agent_connect(struct agent *a)
{
	const struct agent_conf *c = a->conf;
	uint8_t fp[TLS_FINGERPRINT_LEN];
	struct tls_client_opts tls;
	struct ws_client_opts ws = {
		.host = c->ws_host,
		.path = c->ws_path,
		.headers = (const char *const *)c->ws_headers,
		.nheaders = c->nws_headers,
	};
	struct dial_params p = {
		.host = c->server_host,
		.port = c->server_port,
		.label = c->server,
		.timeout = c->connect_timeout,
		.tls = a->tls,
		.tls_opts = &tls,
		.ws = c->transport == CONFIG_TRANSPORT_WS || c->transport == CONFIG_TRANSPORT_WSS ?
		    &ws : NULL,
	};

	agent_tls_opts(c, fp, &tls);
	a->state = AGENT_DIALING;
	a->dial = dial_start(a->loop, &p, agent_dialed, a);
}

static void
agent_retry_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	agent_connect(w->data);
}

/* Abandon a dial under way. */
static void
agent_abort_attempt(struct agent *a)
{
	if (a->dial != NULL) {
		dial_cancel(a->dial);
		a->dial = NULL;
	}
}

static void
agent_timeout_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct agent *a = w->data;

	/* agent_link_closed() schedules the retry. */
	if (a->link != NULL)
		link_close(a->link, FRAME_CODE_NONE, "handshake timed out");
}

static void
agent_declare(struct agent *a)
{
	Rtun__Service *svcs, **ptrs;
	size_t i, n = a->conf->nservices;

	svcs = xcalloc(n + 1, sizeof(*svcs));
	ptrs = xcalloc(n + 1, sizeof(*ptrs));
	for (i = 0; i < n; i++) {
		const struct service_conf *sc = &a->conf->services[i];

		rtun__service__init(&svcs[i]);
		svcs[i].name = sc->name;
		svcs[i].remote_port = sc->remote_port;
		svcs[i].p2p = sc->p2p != 0;
		svcs[i].allow_peers = sc->allow_peers;
		svcs[i].n_allow_peers = sc->nallow_peers;
		svcs[i].type = (Rtun__ServiceType)sc->type;
		svcs[i].hosts = sc->hosts;
		svcs[i].n_hosts = sc->nhosts;
		svcs[i].forwarded_headers = sc->forwarded_headers != 0;
		ptrs[i] = &svcs[i];
	}
	control_send_declare(a->link, ptrs, n);
	free(svcs);
	free(ptrs);
}

static void
agent_on_declare_result(struct agent *a, const Rtun__DeclareResult *dr)
{
	size_t i;

	for (i = 0; i < dr->n_results; i++) {
		const Rtun__ServiceResult *r = dr->results[i];
		int web = control_service_type_web(r->type);

		if (declared_note(a->declared, r) && r->status != RTUN__SERVICE_STATUS__SERVICE_OK)
			refusals_add(a->refusals, ev_now(a->loop), a->conf->server, r->reason,
			    "%s", r->name);
		if (web && r->status == RTUN__SERVICE_STATUS__SERVICE_OK)
			log_info("service %s: host names ready on the server's %s_listen", r->name,
			    control_service_type_name(r->type));
		else if (web) {
			log_warn("service %s: %s host names refused: %s", r->name,
			    control_service_type_name(r->type), r->reason);
			(*a->ports_refused)++;
		} else if (r->status == RTUN__SERVICE_STATUS__SERVICE_OK && r->remote_port == 0)
			log_info("service %s: ready for visitors", r->name);
		else if (r->status == RTUN__SERVICE_STATUS__SERVICE_OK)
			log_info("service %s: remote port %u ready%s", r->name, r->remote_port,
			    r->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? " (udp)" : "");
		else {
			log_warn("service %s: remote %sport %u refused: %s", r->name,
			    r->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? "udp " : "", r->remote_port,
			    r->reason);
			(*a->ports_refused)++;
		}
	}
}

static void
agent_link_control(struct link *l, Rtun__Control *msg)
{
	struct agent *a = link_owner(l);

	/* The session may have closed the link: do not touch it. */
	if (session_control(a->session, msg)) {
		control_free(msg);
		return;
	}
	if (a->state == AGENT_UP && msg->msg_case == RTUN__CONTROL__MSG_DECLARE_RESULT)
		agent_on_declare_result(a, msg->declare_result);
	else if (a->state == AGENT_UP && directset_control(a->direct, msg))
		;
	else if (msg->msg_case == RTUN__CONTROL__MSG_ERROR) {
		log_error("%s: server error: %s", link_label(l), msg->error->message);
		link_close(l, FRAME_CODE_NONE, "server reported an error");
	} else
		link_protocol_error(l, "unexpected %s", control_name(msg));
	control_free(msg);
}

/* Connect stream id to svc's local target; the stream reports how that went. */
static void
agent_serve(struct agent *a, struct link *l, uint32_t id, const struct service_conf *svc,
    const struct stream_counters *ctr, const char *peer, const char *dest)
{
	struct stream_conf c = {
		.service = svc->name,
		.peer = peer,
		.dest = dest,
		.ctr = ctr,
		.timeout = a->conf->connect_timeout,
		.idle_timeout = svc->idle_timeout,
	};
	char addr[NET_ADDRSTRLEN], why[FRAME_TEXT_MAX];
	struct stream_end *end;

	end = stream_sock_connect(a->loop, &svc->local_addr,
	    (enum proxyproto_version)svc->proxy_protocol, peer, dest);
	if (end == NULL) {
		net_addr_str((const struct sockaddr *)&svc->local_addr.ss, addr);
		snprintf(why, sizeof(why), "connect to %s: %s", addr, strerror(errno));
		log_warn("%s: service %s: %s", link_label(l), svc->name, why);
		(*ctr->connect_failed)++;
		link_send_reset(l, id, FRAME_CODE_CONNECT, why);
		return;
	}
	stream_accept(l, id, end, 1, &c);
}

void
agent_serve_open(struct agent *a, struct link *l, uint32_t id, const char *service,
    const char *peer, const char *dest, const char *visitor)
{
	const struct service_conf *svc = config_service(a->conf, service);

	/* Over a direct link the visitor gets no more than allow_peers gives it. */
	if (svc == NULL || (visitor != NULL && !config_service_allows(svc, visitor))) {
		log_warn("%s: stream %u for %s service '%s'", link_label(l), id,
		    svc == NULL ? "unknown" : "not allowed", service);
		link_send_reset(l, id, FRAME_CODE_UNKNOWN_SERVICE, "unknown service");
		return;
	}
	/* On the link to rtund, the port it bound tells a connection from a flow. */
	if (visitor == NULL && !declared_type_ok(a->declared, svc)) {
		log_warn("%s: stream %u for service %s, whose port rtund did not bind as %s",
		    link_label(l), id, service, control_service_type_name((uint32_t)svc->type));
		link_send_reset(l, id, FRAME_CODE_UNKNOWN_SERVICE, "service type mismatch");
		return;
	}
	if (svc->type == SERVICE_TYPE_UDP) {
		agent_udp_serve(a->udp, l, id, svc, peer, dest);
		return;
	}
	log_debug("%s: stream %u: user %s for service %s", link_label(l), id, peer, service);
	agent_serve(a, l, id, svc, &a->svc_ctr[svc - a->conf->services], peer, dest);
}

struct link *
agent_server_link(const struct agent *a)
{
	return a->state == AGENT_UP ? a->link : NULL;
}

static void
agent_link_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const char *connect)
{
	struct agent *a = link_owner(l);

	if (connect != NULL)
		agent_routes_open(a->routes, l, id, service, peer, dest, connect);
	else
		agent_serve_open(a, l, id, service, peer, dest, NULL);
}

/* The counter slots of every service of conf, each with a reference of its own. */
static struct stream_counters *
agent_svc_counters(struct agent *a, const struct agent_conf *conf)
{
	struct stream_counters *ctr = xcalloc(conf->nservices + 1, sizeof(*ctr));
	char name[4 * CONFIG_NAME_MAX + 1], labels[sizeof(name) + 16];
	size_t i;

	for (i = 0; i < conf->nservices; i++) {
		metrics_label_value(conf->services[i].name, name, sizeof(name));
		snprintf(labels, sizeof(labels), "service=\"%s\"", name);
		ctr[i].local_read = metrics_counter(a->metrics, "rtun_service_bytes_out_total",
		    "Bytes from the service to users.", labels);
		ctr[i].local_written = metrics_counter(a->metrics, "rtun_service_bytes_in_total",
		    "Bytes from users to the service.", labels);
		ctr[i].connect_failed = metrics_counter(a->metrics,
		    "rtun_connect_failures_total",
		    "Connections to a service's local target that failed.", labels);
	}
	return ctr;
}

/* Switch to the counters of conf; streams opened before keep counting into the old ones. */
static void
agent_set_svc_counters(struct agent *a, const struct agent_conf *conf)
{
	struct stream_counters *old = a->svc_ctr;
	size_t i, n = a->conf->nservices;

	a->svc_ctr = agent_svc_counters(a, conf);
	if (old == NULL)
		return;
	for (i = 0; i < n; i++)
		retire_counters(&a->retired, a->metrics, a->link, &old[i]);
	free(old);
}

static void
agent_link_closed(struct link *l, const char *reason)
{
	struct agent *a = link_owner(l);
	char why[512];

	a->link = NULL;
	session_free(a->session);
	a->session = NULL;
	*a->link_up = 0;
	a->state = AGENT_WAITING;
	declared_forget(a->declared);
	directset_server_down(a->direct);
	/* The link's streams are gone, and with them the last users of retired counters. */
	retire_sweep(&a->retired, a->metrics, NULL);
	if (a->stopping)
		return;
	if (link_goaway_code(l) == FRAME_CODE_SUPERSEDED) {
		/* Another live agent uses our name; back off fully rather than fight it. */
		log_warn("another agent connected as '%s' and took over our ports; two agents "
		    "must not share a name", a->conf->name);
		a->backoff = a->conf->reconnect_max;
	}
	snprintf(why, sizeof(why), "link lost: %s", reason);
	agent_retry(a, why);
}

static void
agent_register_metrics(struct agent *a)
{
	struct metrics *m = a->metrics;

	a->link_up = metrics_gauge(m, "rtun_link_up", "1 while the link is authenticated.", "");
	a->reconnects = metrics_counter(m, "rtun_reconnects_total",
	    "Links re-established after one was lost.", "");
	a->lc.streams_open = metrics_gauge(m, "rtun_streams_open", "Open streams.", "");
	a->lc.streams_total = metrics_counter(m, "rtun_streams_total",
	    "Streams opened since start.", "");
	a->ports_refused = metrics_counter(m, "rtun_ports_refused_total",
	    "Declared services the server refused.", "");
	a->auth_failures = metrics_counter(m, "rtun_auth_failures_total",
	    "Authentications the server refused.", "");
	a->rtt = metrics_gauge(m, "rtun_heartbeat_rtt_seconds",
	    "Round-trip time of the last heartbeat.", "");
	a->lc.open_timeouts = metrics_counter(m, "rtun_connect_timeouts_total",
	    "Connections to local targets that timed out.", "");
	a->lc.protocol_errors = metrics_counter(m, "rtun_protocol_errors_total",
	    "Links dropped for breaking the protocol.", "");
	a->lc.idle_timeouts = metrics_counter(m, "rtun_idle_timeouts_total",
	    "Streams ended after idle_timeout without traffic.", "");
}

/* A TLS context for conf (when its transport needs one) in *ctx; -1 (logged) on failure. */
static int
agent_tls_context(const struct agent_conf *conf, SSL_CTX **ctx)
{
	uint8_t fp[TLS_FINGERPRINT_LEN];
	struct tls_client_opts o;
	char err[256];

	*ctx = NULL;
	if (conf->transport != CONFIG_TRANSPORT_TLS && conf->transport != CONFIG_TRANSPORT_WSS)
		return 0;
	agent_tls_opts(conf, fp, &o);
	if ((*ctx = tls_client_ctx_new(&o, err, sizeof(err))) == NULL) {
		log_error("TLS: %s", err);
		return -1;
	}
	return 0;
}

/* The direct link to a peer changed: visitors holding connections for it act. */
static void
agent_direct_changed(void *arg, const char *peer, struct link *l, const char *why)
{
	struct agent *a = arg;

	if (a->visitors != NULL)
		visitorset_direct_changed(a->visitors, peer, l, why);
}

static const struct direct_ops agent_direct_ops = {
	.changed = agent_direct_changed,
};

struct agent *
agent_new(struct ev_loop *loop, const struct agent_conf *conf, struct metrics *metrics)
{
	SSL_CTX *tls;

	if (agent_tls_context(conf, &tls) == -1)
		return NULL;
	struct agent *a;

	a = xcalloc(1, sizeof(*a));
	a->loop = loop;
	a->conf = conf;
	a->tls = tls;
	a->metrics = metrics;
	a->started = ev_now(loop);
	a->refusals = refusals_new();
	a->declared = declared_new(conf, NULL);
	agent_register_metrics(a);
	retire_init(&a->retired);
	agent_set_svc_counters(a, conf);
	a->udp = agent_udp_new(loop, metrics, conf);
	a->backoff = conf->reconnect_min;
	a->routes = agent_routes_new(loop, conf, metrics, a->refusals);
	a->direct = directset_new(loop, a, conf, metrics, &agent_direct_ops, a);
	if (a->direct == NULL || (a->visitors = visitorset_new(loop, a, conf, a->direct,
	    metrics)) == NULL) {
		if (a->direct != NULL)
			directset_free(a->direct);
		agent_routes_free(a->routes);
		agent_set_svc_counters(a, &(const struct agent_conf){ .nservices = 0 });
		free(a->svc_ctr);
		retire_free(&a->retired, metrics);
		agent_udp_free(a->udp);
		SSL_CTX_free(tls);
		refusals_free(a->refusals);
		declared_free(a->declared);
		free(a);
		return NULL;
	}
	ev_init(&a->timeout_w, agent_timeout_cb);
	ev_init(&a->retry_w, agent_retry_cb);
	a->timeout_w.data = a->retry_w.data = a;
	log_info("agent %s starting: server %s, %zu service(s), %zu visitor(s)", conf->name,
	    conf->server, conf->nservices, conf->nvisitors);
	agent_connect(a);
	return a;
}

void
agent_drain(struct agent *a)
{
	const struct agent_conf empty = { .nservices = 0 };
	const struct agent_conf *conf = a->conf;

	a->stopping = 1;
	agent_abort_attempt(a);
	ev_timer_stop(a->loop, &a->retry_w);
	visitorset_stop(a->visitors);
	if (a->link == NULL || a->state != AGENT_UP)
		return;
	/* An empty declaration makes the server release our ports: no new users. */
	a->conf = &empty;
	agent_declare(a);
	a->conf = conf;
}

int
agent_busy(const struct agent *a)
{
	return (a->link != NULL && link_nstreams(a->link) > 0) || directset_busy(a->direct);
}

static int
streq_null(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Two services claim the same host names, in the same order. */
static int
same_hosts(const struct service_conf *a, const struct service_conf *b)
{
	size_t i;

	if (a->nhosts != b->nhosts || a->forwarded_headers != b->forwarded_headers)
		return 0;
	for (i = 0; i < a->nhosts; i++) {
		if (strcmp(a->hosts[i], b->hosts[i]) != 0)
			return 0;
	}
	return 1;
}

/* One log line per added, removed or changed service. */
static void
agent_log_changes(const struct agent_conf *old, const struct agent_conf *new)
{
	const struct service_conf *o, *n;
	size_t i;

	for (i = 0; i < new->nservices; i++) {
		n = &new->services[i];
		if ((o = config_service(old, n->name)) == NULL)
			log_info("reload: service %s added (port %u -> %s)", n->name,
			    n->remote_port, n->local);
		else if (o->remote_port != n->remote_port || strcmp(o->local, n->local) != 0 ||
		    o->proxy_protocol != n->proxy_protocol || o->type != n->type ||
		    !same_hosts(o, n))
			log_info("reload: service %s changed (port %u -> %s)", n->name,
			    n->remote_port, n->local);
	}
	for (i = 0; i < old->nservices; i++) {
		if (config_service(new, old->services[i].name) == NULL)
			log_info("reload: service %s removed", old->services[i].name);
	}
}

/* True when conf changes how the agent reaches or proves itself to the server. */
static int
agent_needs_relink(const struct agent_conf *old, const struct agent_conf *conf)
{
	return strcmp(old->server, conf->server) != 0 || strcmp(old->name, conf->name) != 0 ||
	    strcmp(old->token, conf->token) != 0 || old->transport != conf->transport ||
	    !streq_null(old->server_name, conf->server_name) ||
	    !streq_null(old->ca_file, conf->ca_file) ||
	    !streq_null(old->fingerprint, conf->fingerprint) || old->insecure != conf->insecure ||
	    !streq_null(old->ws_path, conf->ws_path) || !streq_null(old->ws_host, conf->ws_host);
}

int
agent_reload(struct agent *a, const struct agent_conf *conf)
{
	const struct agent_conf *old = a->conf;
	int relink = agent_needs_relink(old, conf);
	struct agent_udp *old_udp;
	struct declared *old_declared;
	SSL_CTX *tls;

	if (agent_tls_context(conf, &tls) == -1)
		return -1;
	if (visitorset_set_conf(a->visitors, conf) == -1) {
		SSL_CTX_free(tls);
		return -1;
	}
	directset_set_conf(a->direct, conf);
	agent_routes_set_conf(a->routes, conf);
	SSL_CTX_free(a->tls);
	a->tls = tls;

	agent_log_changes(old, conf);
	agent_set_svc_counters(a, conf);
	old_udp = a->udp;
	a->udp = agent_udp_new(a->loop, a->metrics, conf);
	agent_udp_free(old_udp);
	/* Services kept by name stay served until the next DeclareResult says otherwise. */
	old_declared = a->declared;
	a->declared = declared_new(conf, old_declared);
	declared_free(old_declared);
	a->conf = conf;
	log_info("configuration reloaded from %s", conf->path);
	if (relink && a->link != NULL) {
		log_info("reload: the server, name, token or transport changed; connecting again");
		a->backoff = conf->reconnect_min;
		link_close(a->link, FRAME_CODE_NONE, "configuration changed");
		return 0;
	}
	if (relink && a->dial != NULL) {
		/* A dial under way uses the old settings: start again with the new ones. */
		log_info("reload: the server, name, token or transport changed; connecting again");
		a->backoff = conf->reconnect_min;
		agent_abort_attempt(a);
		agent_connect(a);
		return 0;
	}
	if (a->link != NULL && a->state == AGENT_UP)
		agent_declare(a);
	return 0;
}

void
agent_free(struct agent *a)
{
	agent_abort_attempt(a);
	ev_timer_stop(a->loop, &a->timeout_w);
	ev_timer_stop(a->loop, &a->retry_w);
	a->stopping = 1;
	visitorset_free(a->visitors);
	a->visitors = NULL;
	/* agent_link_closed() tells the directset: it goes after the link. */
	if (a->link != NULL)
		link_close(a->link, FRAME_CODE_NONE, "agent shutting down");
	directset_free(a->direct);
	agent_routes_free(a->routes);
	agent_set_svc_counters(a, &(const struct agent_conf){ .nservices = 0 });
	free(a->svc_ctr);
	retire_free(&a->retired, a->metrics);
	agent_udp_free(a->udp);
	SSL_CTX_free(a->tls);
	refusals_free(a->refusals);
	declared_free(a->declared);
	free(a);
}

static const char *const state_names[] = {
	[AGENT_WAITING] = "waiting to reconnect",
	[AGENT_DIALING] = "connecting",
	[AGENT_SESSION] = "authenticating",
	[AGENT_UP] = "up",
};

static const struct status_col agent_cols[] = {
	{ "agent", "AGENT", STATUS_TEXT },
	{ "version", "VERSION", STATUS_TEXT },
	{ "pid", "PID", STATUS_COUNT },
	{ "uptime_seconds", "UPTIME", STATUS_SECONDS },
	{ "server", "SERVER", STATUS_TEXT },
	{ "transport", "TRANSPORT", STATUS_TEXT },
	{ "state", "STATE", STATUS_TEXT },
	{ "link_seconds", "LINK UP", STATUS_SECONDS },
	{ "rtt_ms", "RTT", STATUS_MS },
	{ "streams", "STREAMS", STATUS_COUNT },
};

static const struct status_col service_cols[] = {
	{ "service", "SERVICE", STATUS_TEXT },
	{ "type", "TYPE", STATUS_TEXT },
	{ "local", "LOCAL", STATUS_TEXT },
	{ "public", "PUBLIC", STATUS_TEXT },
	{ "state", "STATE", STATUS_TEXT },
	{ "streams", "STREAMS", STATUS_COUNT },
	{ "bytes_in", "IN", STATUS_BYTES },
	{ "bytes_out", "OUT", STATUS_BYTES },
};

/* Where users reach sc: "port 2222", "udp port 53", "hosts a.b, c.d", "visitors only". */
static void
service_public(const struct service_conf *sc, char *out, size_t len)
{
	size_t i, n;

	if (sc->nhosts > 0) {
		n = (size_t)snprintf(out, len, "host%s ", sc->nhosts > 1 ? "s" : "");
		for (i = 0; i < sc->nhosts && n < len; i++)
			n += (size_t)snprintf(out + n, len - n, "%s%s", i > 0 ? ", " : "", sc->hosts[i]);
	} else if (sc->remote_port != 0)
		snprintf(out, len, "%sport %u", sc->type == SERVICE_TYPE_UDP ? "udp " : "",
		    sc->remote_port);
	else
		snprintf(out, len, "visitors only");
}

static void
report_services(const struct agent *a, struct status *st)
{
	char public[1024];
	size_t i;

	status_table(st, "services", service_cols, STATUS_NCOLS(service_cols));
	for (i = 0; i < a->conf->nservices; i++) {
		const struct service_conf *sc = &a->conf->services[i];
		const struct stream_udp_stats *us = agent_udp_stats(a->udp, sc);
		/* A UDP service's flows count into its own slots. */
		const struct stream_counters *ctr = us != NULL ? &us->bytes : &a->svc_ctr[i];

		service_public(sc, public, sizeof(public));
		status_text(st, sc->name);
		status_text(st, control_service_type_name((uint32_t)sc->type));
		status_text(st, sc->local);
		status_text(st, public);
		status_text(st, declared_state(a->declared, sc));
		status_num(st, us != NULL ? *us->flows_open : stream_count_with(a->link, ctr));
		/* In is towards the service, as rtund counts it. */
		status_num(st, (double)*ctr->local_written);
		status_num(st, (double)*ctr->local_read);
	}
}

void
agent_report(struct agent *a, struct status *st)
{
	double now = ev_now(a->loop);
	int up = a->state == AGENT_UP && a->link != NULL;

	status_table(st, "agent", agent_cols, STATUS_NCOLS(agent_cols));
	status_text(st, a->conf->name);
	status_text(st, PACKAGE_VERSION);
	status_num(st, getpid());
	status_num(st, now - a->started);
	status_text(st, a->conf->server);
	status_text(st, config_transport_name(a->conf->transport));
	status_text(st, state_names[a->state]);
	status_num(st, up ? now - a->up_since : 0);
	status_rtt(st, up ? link_rtt(a->link) : 0);
	status_num(st, a->link != NULL ? link_nstreams(a->link) : 0);
	report_services(a, st);
	visitorset_report(a->visitors, st);
	directset_report(a->direct, now, st);
	refusals_report(a->refusals, now, st);
}
