/*
 * Agents' declarations on rtund (server-declare.h): each service checked,
 * then bound to a port, claimed as host names, or offered to visitors, and
 * the answer sent; ports a reload no longer allows are revoked.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>

#include "control.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "portset.h"
#include "refusals.h"
#include "retire.h"
#include "server-declare.h"
#include "server-p2p.h"
#include "server-ports.h"
#include "server-status.h"
#include "server-udp.h"
#include "server-web.h"
#include "status.h"
#include "stream-sock.h"
#include "stream-udp.h"
#include "stream.h"
#include "xmalloc.h"

/* Why a declared port was refused, as the rtund_ports_refused_total label. */
static const char *const refusal_names[] = {
	[RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED] = "not_allowed",
	[RTUN__SERVICE_STATUS__SERVICE_IN_USE] = "in_use",
	[RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR] = "bind_error",
	[RTUN__SERVICE_STATUS__SERVICE_INVALID] = "invalid",
};
#define REFUSAL_COUNT (sizeof(refusal_names) / sizeof(refusal_names[0]))

struct declare {
	struct ev_loop *loop;
	const struct server_conf *conf;
	struct metrics *metrics;
	struct ports *ports;
	struct web *web;
	struct p2pdir *p2p;
	struct refusals *refusals;
	uint64_t *refused[REFUSAL_COUNT];
	LIST_HEAD(, decl_agent) agents;
};

/* One authenticated agent's services. */
struct decl_agent {
	struct declare *dc;
	struct link *link;
	char name[CONFIG_NAME_MAX + 1];
	int routes;              /* its last Declare said it serves route streams */
	struct retire retired;   /* counters of its former ports that streams may still use */
	LIST_ENTRY(decl_agent) entry;
};

/*
 * A port of da's goes: streams still counting into its slots keep them until
 * they end. A UDP port's flows need its socket, so they end with it.
 */
static void
agent_port_released(struct port *p)
{
	struct decl_agent *da = port_owner_arg(p);

	if (port_proto(p) == PORT_UDP) {
		udpport_free(port_data(p));
		return;
	}
	retire_counters(&da->retired, da->dc->metrics, da->link, port_counters(p));
}

static void
release_port(struct port *p, void *arg)
{
	struct decl_agent *da = arg;

	log_info("%s: released port %u (service %s)", link_label(da->link), port_number(p),
	    port_service(p));
	port_close(p);
}

/* Release every port the agent holds. */
static void
release_ports(struct decl_agent *da)
{
	ports_each_of(da->dc->ports, da, release_port, da);
}

const char *
declare_labels(const char *agent, const char *service, char *out, size_t outlen)
{
	char a[4 * CONFIG_NAME_MAX + 1], v[4 * CONFIG_NAME_MAX + 1];

	metrics_label_value(agent, a, sizeof(a));
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
port_udp_counters(struct port *p, const char *labels)
{
	struct decl_agent *da = port_owner_arg(p);
	struct stream_udp_stats *st = stream_udp_stats_new(da->dc->metrics, "rtund", labels, 1);
	struct udp_limits lim;

	if (port_data(p) != NULL) {
		udpport_set_stats(port_data(p), st);
		return;
	}
	udp_limits_of(da->dc->conf, &lim);
	port_set_data(p, udpport_new(da->dc->loop, p, da->link, &lim, st));
}

/*
 * Point a port's byte counters at its agent's and service's slots (again after
 * a rename); streams opened before keep counting into the old ones.
 */
static void
port_set_counters(struct port *p)
{
	struct decl_agent *da = port_owner_arg(p);
	struct metrics *m = da->dc->metrics;
	struct stream_counters *ctr = port_counters(p), old = *ctr;
	char labels[1024];

	declare_labels(da->name, port_service(p), labels, sizeof(labels));
	if (port_proto(p) == PORT_UDP) {
		port_udp_counters(p, labels);
		return;
	}
	ctr->local_read = metrics_counter(m, "rtund_service_bytes_in_total",
	    "Bytes from users to the service.", labels);
	ctr->local_written = metrics_counter(m, "rtund_service_bytes_out_total",
	    "Bytes from the service to users.", labels);
	retire_counters(&da->retired, m, da->link, &old);
}

/* A user connected to one of da's ports: a stream on its link. */
static void
agent_port_accept(struct port *p, int fd, const struct net_addr *from)
{
	struct decl_agent *da = port_owner_arg(p);
	struct link *l = da->link;
	char addr[NET_ADDRSTRLEN], dest[NET_ADDRSTRLEN];
	struct stream_conf c = {
		.service = port_service(p),
		.peer = addr,
		.dest = net_local_str(fd, dest),
		.ctr = port_counters(p),
		.timeout = da->dc->conf->open_timeout,
	};

	net_addr_str((const struct sockaddr *)&from->ss, addr);
	if (link_nstreams(l) >= link_params(l)->max_streams) {
		log_warn("%s: service %s: refusing %s: max_streams (%u) reached", link_label(l),
		    port_service(p), addr, link_params(l)->max_streams);
		refusals_add(da->dc->refusals, ev_now(da->dc->loop), da->name, "max_streams reached", "user of service %s",
		    port_service(p));
		net_set_abortive(fd, 1);
		close(fd);
		return;
	}
	log_debug("%s: service %s: user %s connected", link_label(l), port_service(p), addr);
	stream_open(l, stream_sock_accepted(da->dc->loop, fd), &c);
}

/* Bind one declared service; fills status and reason. */
static void
bind_service(struct decl_agent *da, const Rtun__Service *svc, Rtun__ServiceResult *res,
    char *reason, size_t rlen)
{
	struct declare *dc = da->dc;
	const struct port_owner owner = {
		.kind = PORT_OWNER_AGENT,
		.arg = da,
		.accept = agent_port_accept,
		.released = agent_port_released,
	};
	uint16_t number = (uint16_t)svc->remote_port;
	enum port_proto proto = svc->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? PORT_UDP : PORT_TCP;
	const char *what = proto == PORT_UDP ? "udp port" : "port";
	struct port *p;

	switch (ports_claim(dc->ports, proto, number, da,
	    portset_contains(&dc->conf->allow_ports, number))) {
	case PORT_CLAIM_CLOSED:
		res->status = RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR;
		snprintf(reason, rlen, "bind error: rtund is shutting down");
		return;
	case PORT_CLAIM_IN_USE:
		res->status = RTUN__SERVICE_STATUS__SERVICE_IN_USE;
		p = ports_find(dc->ports, proto, number);
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
		    dc->conf->allow_ports_str);
		return;
	case PORT_CLAIM_OURS:
		/* A re-declaration: keep the socket, maybe rename. */
		p = ports_find(dc->ports, proto, number);
		port_set_marked(p, 0);
		port_set_service(p, svc->name);
		port_set_counters(p);
		return;
	case PORT_CLAIM_FREE:
		break;
	}
	p = ports_open(dc->ports, &dc->conf->bind_ip, proto, number, svc->name, &owner);
	if (p == NULL) {
		res->status = RTUN__SERVICE_STATUS__SERVICE_BIND_ERROR;
		snprintf(reason, rlen, "bind error: %s:%u%s: %s", dc->conf->bind_addr, number,
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
	if (control_service_type_web(svc->type) != (svc->n_hosts > 0)) {
		snprintf(reason, rlen, control_service_type_web(svc->type) ? "invalid: no hosts" :
		    "invalid: hosts on a service that is not http or https");
		return 0;
	}
	if (control_service_type_web(svc->type) && svc->remote_port != 0) {
		snprintf(reason, rlen, "invalid: a %s service has hosts, not a port",
		    control_service_type_name(svc->type));
		return 0;
	}
	if (svc->remote_port == 0 && (svc->p2p || control_service_type_web(svc->type)))
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
log_result(struct decl_agent *da, const Rtun__ServiceResult *res)
{
	const char *type = control_service_type_name(res->type);

	if (res->status == RTUN__SERVICE_STATUS__SERVICE_OK && res->remote_port == 0 &&
	    control_service_type_web(res->type)) {
		log_info("%s: service %s on %s_listen", link_label(da->link), res->name, type);
		return;
	}
	if (res->status != RTUN__SERVICE_STATUS__SERVICE_OK && res->remote_port == 0) {
		log_warn("%s: %s service %s refused: %s", link_label(da->link), type, res->name,
		    res->reason);
		refusals_add(da->dc->refusals, ev_now(da->dc->loop), da->name, res->reason, "%s service %s", type, res->name);
		if ((size_t)res->status < REFUSAL_COUNT && da->dc->refused[res->status] != NULL)
			(*da->dc->refused[res->status])++;
		return;
	}
	if (res->status == RTUN__SERVICE_STATUS__SERVICE_OK && res->remote_port == 0) {
		log_info("%s: service %s for visitors only", link_label(da->link), res->name);
		return;
	}
	if (res->status == RTUN__SERVICE_STATUS__SERVICE_OK) {
		log_info("%s: service %s on %sport %u", link_label(da->link), res->name,
		    res->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? "udp " : "", res->remote_port);
		return;
	}
	log_warn("%s: service %s %sport %u refused: %s", link_label(da->link), res->name,
	    res->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? "udp " : "", res->remote_port,
	    res->reason);
	refusals_add(da->dc->refusals, ev_now(da->dc->loop), da->name, res->reason, "service %s %sport %u", res->name,
	    res->type == RTUN__SERVICE_TYPE__SERVICE_UDP ? "udp " : "", res->remote_port);
	if ((size_t)res->status < REFUSAL_COUNT && da->dc->refused[res->status] != NULL)
		(*da->dc->refused[res->status])++;
}

static void
drop_if_stale(struct port *p, void *arg)
{
	struct decl_agent *da = arg;

	if (!port_marked(p))
		return;
	log_info("%s: service %s on port %u withdrawn", link_label(da->link), port_service(p),
	    port_number(p));
	port_close(p);
}

static void
mark_stale(struct port *p, void *arg)
{
	port_set_marked(p, 1);
}

void
decl_agent_declare(struct decl_agent *da, const Rtun__Declare *d)
{
	Rtun__ServiceResult *results, **ptrs;
	char (*reasons)[256];
	size_t i, n = d->n_services;

	results = xcalloc(n + 1, sizeof(*results));
	ptrs = xcalloc(n + 1, sizeof(*ptrs));
	reasons = xcalloc(n + 1, sizeof(*reasons));
	da->routes = d->routes;
	ports_each_of(da->dc->ports, da, mark_stale, NULL);
	web_declare_begin(da->dc->web, da->link);
	for (i = 0; i < n; i++) {
		rtun__service_result__init(&results[i]);
		ptrs[i] = &results[i];
		results[i].name = d->services[i]->name;
		results[i].remote_port = d->services[i]->remote_port;
		results[i].type = d->services[i]->type;
		if (!service_valid(d, i, reasons[i], sizeof(reasons[i])))
			results[i].status = RTUN__SERVICE_STATUS__SERVICE_INVALID;
		else if (control_service_type_web(d->services[i]->type))
			web_claim(da->dc->web, da->link, da->name, d->services[i], &results[i],
			    reasons[i], sizeof(reasons[i]));
		else if (d->services[i]->remote_port != 0)
			bind_service(da, d->services[i], &results[i], reasons[i],
			    sizeof(reasons[i]));
		results[i].reason = reasons[i];
		log_result(da, &results[i]);
		/* DeclareResult carries valid names only: a bad one is not echoed. */
		if (!control_name_valid(results[i].name))
			results[i].name = "";
	}
	ports_each_of(da->dc->ports, da, drop_if_stale, da);
	web_declare_end(da->dc->web, da->link, da->name);
	p2pdir_declare(da->dc->p2p, da->link, da->name, d);
	retire_sweep(&da->retired, da->dc->metrics, da->link);
	control_send_declare_result(da->link, ptrs, n);
	free(results);
	free(ptrs);
	free(reasons);
}

/* Tell a port's agent that its service was withdrawn by the server. */
static void
port_revoke(struct port *p, const char *reason)
{
	struct decl_agent *da = port_owner_arg(p);
	Rtun__ServiceResult res = RTUN__SERVICE_RESULT__INIT, *ptr = &res;

	res.name = (char *)port_service(p);
	res.remote_port = port_number(p);
	res.type = port_proto(p) == PORT_UDP ? RTUN__SERVICE_TYPE__SERVICE_UDP :
	    RTUN__SERVICE_TYPE__SERVICE_TCP;
	res.status = RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED;
	res.reason = (char *)reason;
	control_send_declare_result(da->link, &ptr, 1);
	log_result(da, &res);
	port_close(p);
}

/* A web service whose host names the new allow_hosts no longer allows is revoked. */
static void
web_revoke(void *arg, struct link *l, const char *service, uint32_t type, const char *reason)
{
	struct declare *dc = arg;
	struct decl_agent *da;
	Rtun__ServiceResult res = RTUN__SERVICE_RESULT__INIT, *ptr = &res;

	res.name = (char *)service;
	res.type = type;
	res.status = RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED;
	res.reason = (char *)reason;
	control_send_declare_result(l, &ptr, 1);
	LIST_FOREACH(da, &dc->agents, entry) {
		if (da->link == l)
			log_result(da, &res);
	}
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

static void
report_port(struct port *p, void *arg)
{
	struct status *st = arg;
	struct decl_agent *da = port_owner_arg(p);
	char public[32];

	snprintf(public, sizeof(public), "%s %u", port_proto(p) == PORT_UDP ? "udp port" : "port",
	    port_number(p));
	if (port_proto(p) == PORT_UDP) {
		const struct udpport *up = port_data(p);

		server_status_service(st, da->name, port_service(p), "udp", public,
		    (uint32_t)udpport_flows(up), &udpport_stats(up)->bytes);
		return;
	}
	server_status_service(st, da->name, port_service(p), "tcp", public,
	    stream_count_with(da->link, port_counters(p)), port_counters(p));
}

/* A UDP flow has no end of its own but silence: at the drain, its end is now. */
static void
udp_drain(struct port *p, void *arg)
{
	if (port_proto(p) == PORT_UDP && port_data(p) != NULL)
		udpport_drain(port_data(p));
}

struct declare *
declare_new(struct ev_loop *loop, const struct server_conf *conf, struct metrics *m,
    struct ports *ports, struct web *web, struct p2pdir *p2p, struct refusals *refusals)
{
	struct declare *dc = xcalloc(1, sizeof(*dc));
	char labels[64];
	size_t i;

	dc->loop = loop;
	dc->conf = conf;
	dc->metrics = m;
	dc->ports = ports;
	dc->web = web;
	dc->p2p = p2p;
	dc->refusals = refusals;
	LIST_INIT(&dc->agents);
	for (i = 0; i < REFUSAL_COUNT; i++) {
		if (refusal_names[i] == NULL)
			continue;
		snprintf(labels, sizeof(labels), "reason=\"%s\"", refusal_names[i]);
		dc->refused[i] = metrics_counter(m, "rtund_ports_refused_total",
		    "Declared service ports refused, by reason.", labels);
	}
	return dc;
}

void
declare_reload(struct declare *dc, const struct server_conf *conf)
{
	dc->conf = conf;
	ports_each(dc->ports, revoke_if_disallowed, (void *)conf);
	ports_each(dc->ports, udp_set_limits, (void *)conf);
	web_reload(dc->web, conf, web_revoke, dc);
}

void
declare_drain(struct declare *dc)
{
	ports_each(dc->ports, udp_drain, NULL);
}

void
declare_report(struct declare *dc, struct status *st)
{
	struct decl_agent *da;

	server_status_services(st);
	LIST_FOREACH(da, &dc->agents, entry)
		ports_each_of(dc->ports, da, report_port, st);
	web_report(dc->web, st);
}

void
declare_free(struct declare *dc)
{
	size_t i;

	if (dc == NULL)
		return;
	for (i = 0; i < REFUSAL_COUNT; i++)
		metrics_release(dc->metrics, dc->refused[i]);
	free(dc);
}

struct decl_agent *
decl_agent_new(struct declare *dc, struct link *l, const char *name)
{
	struct decl_agent *da = xcalloc(1, sizeof(*da));

	da->dc = dc;
	da->link = l;
	snprintf(da->name, sizeof(da->name), "%s", name);
	retire_init(&da->retired);
	LIST_INSERT_HEAD(&dc->agents, da, entry);
	return da;
}

int
decl_agent_routes(const struct decl_agent *da)
{
	return da->routes;
}

void
decl_agent_free(struct decl_agent *da)
{
	if (da == NULL)
		return;
	release_ports(da);
	web_forget(da->dc->web, da->link);
	p2pdir_forget(da->dc->p2p, da->link);
	/* The link's streams are gone: nothing counts into the agent's series any more. */
	retire_free(&da->retired, da->dc->metrics);
	LIST_REMOVE(da, entry);
	free(da);
}
