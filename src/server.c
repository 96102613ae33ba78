/*
 * rtund: accepts agent links, runs the server side of the handshake, binds
 * the ports agents declare (when allowed and free) and turns every user
 * connection on such a port into a stream on the owning agent's link. The
 * routes of its own config live in server-route.c, which finds their agents
 * here.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdarg.h>
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
#include "retire.h"
#include "server-p2p.h"
#include "server-ports.h"
#include "server-relay.h"
#include "server-rendezvous.h"
#include "server-route.h"
#include "server-status.h"
#include "server-web.h"
#include "server-udp.h"
#include "server.h"
#include "session.h"
#include "status.h"
#include "stream-sock.h"
#include "stream-udp.h"
#include "stream.h"
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
	int routes;              /* its last Declare said it serves route streams */
	ev_tstamp since;         /* when it authenticated */
	ev_timer handshake_w;
	struct retire retired;   /* counters of its former ports that streams may still use */
	LIST_ENTRY(peer) entry;
};

/* Why a declared port was refused, as the rtund_ports_refused_total label. */
static const char *const refusal_names[] = {
	[RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED] = "not_allowed",
	[RTUN__SERVICE_STATUS__SERVICE_IN_USE] = "in_use",
	[RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR] = "bind_error",
	[RTUN__SERVICE_STATUS__SERVICE_INVALID] = "invalid",
};
#define REFUSAL_COUNT (sizeof(refusal_names) / sizeof(refusal_names[0]))

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
	uint64_t *refused[REFUSAL_COUNT];
	LIST_HEAD(, peer) peers;
	struct ports *ports;
	struct p2pdir *p2p;
	struct rendezvous *rendezvous;
	struct relayset *relays;
	struct routeset *routes;
	struct web *web;
	struct refusals *refusals;
	ev_tstamp started;
};

static void server_link_control(struct link *l, Rtun__Control *msg);
static void server_link_closed(struct link *l, const char *reason);
static void server_link_open(struct link *l, uint32_t id, const char *service, const char *peer,
    const char *dest, const char *connect);
static const char *agent_labels(const struct peer *pe, const char *service, char *out,
    size_t outlen);

static const struct link_ops server_link_ops = {
	.control = server_link_control,
	.open = server_link_open,
	.closed = server_link_closed,
};

static void peer_log_result(struct peer *pe, const Rtun__ServiceResult *res);
static void server_refused(struct server *srv, const char *who, const char *why,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/*
 * A port of pe's goes: streams still counting into its slots keep them until
 * they end. A UDP port's flows need its socket, so they end with it.
 */
static void
peer_port_released(struct port *p)
{
	struct peer *pe = port_owner_arg(p);

	if (port_proto(p) == PORT_UDP) {
		udpport_free(port_data(p));
		return;
	}
	retire_counters(&pe->retired, pe->srv->metrics, pe->link, port_counters(p));
}

static void
release_port(struct port *p, void *arg)
{
	struct peer *pe = arg;

	log_info("%s: released port %u (service %s)", link_label(pe->link), port_number(p),
	    port_service(p));
	port_close(p);
}

/* Release every port a peer holds. */
static void
peer_release_ports(struct peer *pe)
{
	ports_each_of(pe->srv->ports, pe, release_port, pe);
}

static void
server_link_closed(struct link *l, const char *reason)
{
	struct peer *pe = link_owner(l);

	if (pe->state == PEER_UP) {
		log_info("%s: link closed: %s", link_label(l), reason);
		(*pe->srv->links_up)--;
	} else if (pe->state != PEER_FAILED)
		log_info("%s: connection closed during handshake: %s", link_label(l), reason);
	peer_release_ports(pe);
	web_forget(pe->srv->web, l);
	rendezvous_forget(pe->srv->rendezvous, l);
	p2pdir_forget(pe->srv->p2p, l);
	/* The link's streams are gone: nothing counts into the agent's series any more. */
	retire_free(&pe->retired, pe->srv->metrics);
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
	server_refused(pe->srv, pe->name, block > 0 ? "authentication failed; address blocked" :
	    "authentication failed", "link from %s", host);
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
	link_set_rtt_gauge(pe->link, metrics_gauge(pe->srv->metrics, "rtund_heartbeat_rtt_seconds",
	    "Round-trip time of the last heartbeat, per agent.",
	    agent_labels(pe, NULL, labels, sizeof(labels))));
}

static const struct session_ops peer_session_ops = {
	.hello = peer_session_hello,
	.up = peer_session_up,
	.failed = peer_session_failed,
};

/* Metric labels `agent="NAME"`, plus `,service="S"` when service is given. */
static const char *
agent_labels(const struct peer *pe, const char *service, char *out, size_t outlen)
{
	char a[4 * CONFIG_NAME_MAX + 1], v[4 * CONFIG_NAME_MAX + 1];

	metrics_label_value(pe->name, a, sizeof(a));
	if (service == NULL) {
		snprintf(out, outlen, "agent=\"%s\"", a);
		return out;
	}
	metrics_label_value(service, v, sizeof(v));
	snprintf(out, outlen, "agent=\"%s\",service=\"%s\"", a, v);
	return out;
}

static void
udp_limits_of(const struct server_conf *conf, struct udp_limits *lim)
{
	lim->max_flows = conf->udp_max_flows;
	lim->idle_timeout = conf->udp_idle_timeout;
	lim->open_timeout = conf->open_timeout;
}

/* A UDP port's flows count into rtund_udp_*{agent,service}; start serving it if new. */
static void
peer_udp_counters(struct port *p, const char *labels)
{
	struct peer *pe = port_owner_arg(p);
	struct stream_udp_stats *st = stream_udp_stats_new(pe->srv->metrics, "rtund", labels, 1);
	struct udp_limits lim;

	if (port_data(p) != NULL) {
		udpport_set_stats(port_data(p), st);
		return;
	}
	udp_limits_of(pe->srv->conf, &lim);
	port_set_data(p, udpport_new(pe->srv->loop, p, pe->link, &lim, st));
}

/*
 * Point a port's byte counters at its agent's and service's slots (again after
 * a rename); streams opened before keep counting into the old ones.
 */
static void
port_set_counters(struct port *p)
{
	struct peer *pe = port_owner_arg(p);
	struct metrics *m = pe->srv->metrics;
	struct stream_counters *ctr = port_counters(p), old = *ctr;
	char labels[1024];

	agent_labels(pe, port_service(p), labels, sizeof(labels));
	if (port_proto(p) == PORT_UDP) {
		peer_udp_counters(p, labels);
		return;
	}
	ctr->local_read = metrics_counter(m, "rtund_service_bytes_in_total",
	    "Bytes from users to the service.", labels);
	ctr->local_written = metrics_counter(m, "rtund_service_bytes_out_total",
	    "Bytes from the service to users.", labels);
	retire_counters(&pe->retired, m, pe->link, &old);
}

/* A user connected to one of pe's ports: a stream on its link. */
static void
peer_port_accept(struct port *p, int fd, const struct net_addr *from)
{
	struct peer *pe = port_owner_arg(p);
	struct link *l = pe->link;
	char addr[NET_ADDRSTRLEN], dest[NET_ADDRSTRLEN];
	struct stream_conf c = {
		.service = port_service(p),
		.peer = addr,
		.dest = net_local_str(fd, dest),
		.ctr = port_counters(p),
		.timeout = pe->srv->conf->open_timeout,
	};

	net_addr_str((const struct sockaddr *)&from->ss, addr);
	if (link_nstreams(l) >= link_params(l)->max_streams) {
		log_warn("%s: service %s: refusing %s: max_streams (%u) reached", link_label(l),
		    port_service(p), addr, link_params(l)->max_streams);
		server_refused(pe->srv, pe->name, "max_streams reached", "user of service %s",
		    port_service(p));
		net_set_abortive(fd, 1);
		close(fd);
		return;
	}
	log_debug("%s: service %s: user %s connected", link_label(l), port_service(p), addr);
	stream_open(l, stream_sock_accepted(pe->srv->loop, fd), &c);
}

/* Bind one declared service; fills status and reason. */
static void
peer_bind_service(struct peer *pe, const Rtun__Service *svc, Rtun__ServiceResult *res,
    char *reason, size_t rlen)
{
	struct server *srv = pe->srv;
	const struct port_owner owner = {
		.kind = PORT_OWNER_AGENT,
		.arg = pe,
		.accept = peer_port_accept,
		.released = peer_port_released,
	};
	uint16_t number = (uint16_t)svc->remote_port;
	enum port_proto proto = svc->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? PORT_UDP : PORT_TCP;
	const char *what = proto == PORT_UDP ? "udp port" : "port";
	struct port *p;

	switch (ports_claim(srv->ports, proto, number, pe,
	    portset_contains(&srv->conf->allow_ports, number))) {
	case PORT_CLAIM_CLOSED:
		res->status = RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR;
		snprintf(reason, rlen, "bind error: rtund is shutting down");
		return;
	case PORT_CLAIM_IN_USE:
		res->status = RTUN__SERVICE_STATUS__SERVICE_IN_USE;
		p = ports_find(srv->ports, proto, number);
		if (port_owner_kind(p) == PORT_OWNER_ROUTE)
			snprintf(reason, rlen, "in use: %s %u is held by route %s", what, number,
			    port_service(p));
		else
			snprintf(reason, rlen, "in use: %s %u is held by another agent", what,
			    number);
		return;
	case PORT_CLAIM_NOT_ALLOWED:
		res->status = RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED;
		snprintf(reason, rlen, "not allowed: %s %u is not in allow_ports (%s)", what, number,
		    srv->conf->allow_ports_str);
		return;
	case PORT_CLAIM_OURS:
		/* A re-declaration: keep the socket, maybe rename. */
		p = ports_find(srv->ports, proto, number);
		port_set_marked(p, 0);
		port_set_service(p, svc->name);
		port_set_counters(p);
		return;
	case PORT_CLAIM_FREE:
		break;
	}
	p = ports_open(srv->ports, &srv->conf->bind_ip, proto, number, svc->name, &owner);
	if (p == NULL) {
		res->status = RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR;
		snprintf(reason, rlen, "bind error: %s:%u%s: %s", srv->conf->bind_addr, number,
		    proto == PORT_UDP ? "/udp" : "", strerror(errno));
		return;
	}
	port_set_counters(p);
}

/* Check a declared service against the others in the same declaration. */
static int
service_valid(const Rtun__Declare *d, size_t i, char *reason, size_t rlen)
{
	const Rtun__Service *svc = d->services[i];
	size_t j;

	if (!control_name_valid(svc->name)) {
		snprintf(reason, rlen, "invalid: bad service name");
		return 0;
	}
	/* A kind of service a newer agent knows and we do not: refused alone, the link stays. */
	if (!control_service_type_known(svc->type)) {
		snprintf(reason, rlen, "invalid: unknown service type %u", (unsigned)svc->type);
		return 0;
	}
	if (web_service(svc) != (svc->n_hosts > 0)) {
		snprintf(reason, rlen, web_service(svc) ? "invalid: no hosts" :
		    "invalid: hosts on a service that is not http or https");
		return 0;
	}
	if (web_service(svc) && svc->remote_port != 0) {
		snprintf(reason, rlen, "invalid: a %s service has hosts, not a port",
		    control_service_type_name(svc->type));
		return 0;
	}
	if (svc->remote_port == 0 && (svc->p2p || web_service(svc)))
		return 1;   /* no public port: visitors only, or host names */
	if (svc->remote_port < 1 || svc->remote_port > 65535) {
		snprintf(reason, rlen, "invalid: port %u out of range", svc->remote_port);
		return 0;
	}
	for (j = 0; j < i; j++) {
		/* TCP and UDP ports of one number are two ports. */
		if ((svc->remote_port != 0 && d->services[j]->remote_port == svc->remote_port &&
		    d->services[j]->type == svc->type) ||
		    strcmp(d->services[j]->name, svc->name) == 0) {
			snprintf(reason, rlen, "invalid: duplicate service name or port");
			return 0;
		}
	}
	return 1;
}

static void
peer_log_result(struct peer *pe, const Rtun__ServiceResult *res)
{
	const char *type = control_service_type_name(res->type);

	if (res->status == RTUN__SERVICE_STATUS__SERVICE_OK && res->remote_port == 0 &&
	    (res->type == RTUN__SERVICE_TYPE__SERVICE_HTTP ||
	    res->type == RTUN__SERVICE_TYPE__SERVICE_HTTPS)) {
		log_info("%s: service %s on %s_listen", link_label(pe->link), res->name, type);
		return;
	}
	if (res->status != RTUN__SERVICE_STATUS__SERVICE_OK && res->remote_port == 0) {
		log_warn("%s: %s service %s refused: %s", link_label(pe->link), type, res->name,
		    res->reason);
		server_refused(pe->srv, pe->name, res->reason, "%s service %s", type, res->name);
		if ((size_t)res->status < REFUSAL_COUNT && pe->srv->refused[res->status] != NULL)
			(*pe->srv->refused[res->status])++;
		return;
	}
	if (res->status == RTUN__SERVICE_STATUS__SERVICE_OK && res->remote_port == 0) {
		log_info("%s: service %s for visitors only", link_label(pe->link), res->name);
		return;
	}
	if (res->status == RTUN__SERVICE_STATUS__SERVICE_OK) {
		log_info("%s: service %s on %sport %u", link_label(pe->link), res->name,
		    res->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? "udp " : "", res->remote_port);
		return;
	}
	log_warn("%s: service %s %sport %u refused: %s", link_label(pe->link), res->name,
	    res->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? "udp " : "", res->remote_port,
	    res->reason);
	server_refused(pe->srv, pe->name, res->reason, "service %s %sport %u", res->name,
	    res->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? "udp " : "", res->remote_port);
	if ((size_t)res->status < REFUSAL_COUNT && pe->srv->refused[res->status] != NULL)
		(*pe->srv->refused[res->status])++;
}

static void
drop_if_stale(struct port *p, void *arg)
{
	struct peer *pe = arg;

	if (!port_marked(p))
		return;
	log_info("%s: service %s on port %u withdrawn", link_label(pe->link), port_service(p),
	    port_number(p));
	port_close(p);
}

static void
mark_stale(struct port *p, void *arg)
{
	port_set_marked(p, 1);
}

static void
peer_on_declare(struct peer *pe, const Rtun__Declare *d)
{
	Rtun__ServiceResult *results, **ptrs;
	char (*reasons)[256];
	size_t i, n = d->n_services;

	results = xcalloc(n + 1, sizeof(*results));
	ptrs = xcalloc(n + 1, sizeof(*ptrs));
	reasons = xcalloc(n + 1, sizeof(*reasons));
	pe->routes = d->routes;
	ports_each_of(pe->srv->ports, pe, mark_stale, NULL);
	web_declare_begin(pe->srv->web, pe->link);
	for (i = 0; i < n; i++) {
		rtun__service_result__init(&results[i]);
		ptrs[i] = &results[i];
		results[i].name = d->services[i]->name;
		results[i].remote_port = d->services[i]->remote_port;
		results[i].type = d->services[i]->type;
		if (!service_valid(d, i, reasons[i], sizeof(reasons[i])))
			results[i].status = RTUN__SERVICE_STATUS__SERVICE_INVALID;
		else if (web_service(d->services[i]))
			web_claim(pe->srv->web, pe->link, pe->name, d->services[i], &results[i],
			    reasons[i], sizeof(reasons[i]));
		else if (d->services[i]->remote_port != 0)
			peer_bind_service(pe, d->services[i], &results[i], reasons[i],
			    sizeof(reasons[i]));
		results[i].reason = reasons[i];
		peer_log_result(pe, &results[i]);
		/* DeclareResult carries valid names only: a bad one is not echoed. */
		if (!control_name_valid(results[i].name))
			results[i].name = "";
	}
	ports_each_of(pe->srv->ports, pe, drop_if_stale, pe);
	web_declare_end(pe->srv->web, pe->link, pe->name);
	p2pdir_declare(pe->srv->p2p, pe->link, pe->name, d);
	retire_sweep(&pe->retired, pe->srv->metrics, pe->link);
	control_send_declare_result(pe->link, ptrs, n);
	free(results);
	free(ptrs);
	free(reasons);
}

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
		peer_on_declare(pe, msg->declare);
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
	retire_init(&pe->retired);
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
		*unable = !pe->routes;
		return pe->routes ? pe->link : NULL;
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
	char labels[64];
	size_t i;

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
	for (i = 0; i < REFUSAL_COUNT; i++) {
		if (refusal_names[i] == NULL)
			continue;
		snprintf(labels, sizeof(labels), "reason=\"%s\"", refusal_names[i]);
		srv->refused[i] = metrics_counter(m, "rtund_ports_refused_total",
		    "Declared service ports refused, by reason.", labels);
	}
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

static void
server_refused(struct server *srv, const char *who, const char *why, const char *fmt, ...)
{
	char what[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	refusals_add(srv->refusals, ev_now(srv->loop), who, what, why);
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
report_port(struct port *p, void *arg)
{
	struct status *st = arg;
	struct peer *pe = port_owner_arg(p);
	char public[32];

	snprintf(public, sizeof(public), "%s %u", port_proto(p) == PORT_UDP ? "udp port" : "port",
	    port_number(p));
	if (port_proto(p) == PORT_UDP) {
		const struct udpport *up = port_data(p);

		server_status_service(st, pe->name, port_service(p), "udp", public,
		    (uint32_t)udpport_flows(up), &udpport_stats(up)->bytes);
		return;
	}
	server_status_service(st, pe->name, port_service(p), "tcp", public,
	    stream_count_with(pe->link, port_counters(p)), port_counters(p));
}

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
		status_num(st, link_rtt(pe->link) > 0 ? link_rtt(pe->link) * 1000 : -1);
		status_num(st, link_nstreams(pe->link));
	}
}

void
server_report(struct server *srv, struct status *st)
{
	double now = ev_now(srv->loop);
	struct peer *pe;

	status_table(st, "server", server_cols, STATUS_NCOLS(server_cols));
	status_text(st, PACKAGE_VERSION);
	status_num(st, getpid());
	status_num(st, now - srv->started);
	status_text(st, srv->conf->listen);
	status_num(st, *srv->links_up);
	status_num(st, *srv->lc.streams_open);
	report_links(srv, st);
	server_status_services(st);
	LIST_FOREACH(pe, &srv->peers, entry) {
		if (pe->state == PEER_UP)
			ports_each_of(srv->ports, pe, report_port, st);
	}
	web_report(srv->web, st);
	routeset_report(srv->routes, st);
	rendezvous_report(srv->rendezvous, now, st);
	relayset_report(srv->relays, st);
	refusals_report(srv->refusals, now, st);
}

/* A UDP flow has no end of its own but silence: at the drain, its end is now. */
static void
udp_drain(struct port *p, void *arg)
{
	if (port_proto(p) == PORT_UDP && port_data(p) != NULL)
		udpport_drain(port_data(p));
}

void
server_drain(struct server *srv)
{
	listener_free(srv->listener);
	srv->listener = NULL;
	acceptor_set_clear(&srv->acceptors);
	ports_stop(srv->ports);
	ports_each(srv->ports, udp_drain, NULL);
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

/* Tell a port's agent that its service was withdrawn by the server. */
static void
port_revoke(struct port *p, const char *reason)
{
	struct peer *pe = port_owner_arg(p);
	Rtun__ServiceResult res = RTUN__SERVICE_RESULT__INIT, *ptr = &res;

	res.name = (char *)port_service(p);
	res.remote_port = port_number(p);
	res.type = port_proto(p) == PORT_UDP ? RTUN__SERVICE_TYPE__SERVICE_UDP :
	    RTUN__SERVICE_TYPE__SERVICE_TCP;
	res.status = RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED;
	res.reason = (char *)reason;
	control_send_declare_result(pe->link, &ptr, 1);
	peer_log_result(pe, &res);
	port_close(p);
}

/* A web service whose host names the new allow_hosts no longer allows is revoked. */
static void
web_revoke(struct link *l, const char *service, uint32_t type, const char *reason)
{
	Rtun__ServiceResult res = RTUN__SERVICE_RESULT__INIT, *ptr = &res;

	res.name = (char *)service;
	res.type = type;
	res.status = RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED;
	res.reason = (char *)reason;
	control_send_declare_result(l, &ptr, 1);
	peer_log_result(link_owner(l), &res);
}

/* An agent's port the new allow_ports no longer holds is revoked. */
static void
revoke_if_disallowed(struct port *p, void *arg)
{
	const struct server_conf *conf = arg;
	char reason[256];

	if (port_owner_kind(p) != PORT_OWNER_AGENT ||
	    portset_contains(&conf->allow_ports, port_number(p)))
		return;
	snprintf(reason, sizeof(reason), "not allowed: port %u is no longer in allow_ports (%s)",
	    port_number(p), conf->allow_ports_str);
	port_revoke(p, reason);
}

/* A UDP port takes the reloaded udp_max_flows and udp_idle_timeout. */
static void
udp_set_limits(struct port *p, void *arg)
{
	struct udp_limits lim;

	if (port_proto(p) != PORT_UDP || port_data(p) == NULL)
		return;
	udp_limits_of(arg, &lim);
	udpport_set_limits(port_data(p), &lim);
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
	ports_each(srv->ports, revoke_if_disallowed, (void *)conf);
	routeset_apply(srv->routes, conf);
	ports_each(srv->ports, udp_set_limits, (void *)conf);
	web_reload(srv->web, conf, web_revoke);
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
