/*
 * The agent's UDP services (agent-udp.h). Flow counts come from the
 * rtun_udp_flows_open gauge of the service: its slot is shared by every
 * stats object of that service name, so the limit holds across a reload
 * while flows of the old config still run.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent-udp.h"
#include "control.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "rtun.pb-c.h"
#include "stream-udp.h"
#include "stream.h"
#include "xmalloc.h"

_Static_assert((int)SERVICE_TYPE_TCP == (int)RTUN__SERVICE_TYPE__SERVICE_TCP &&
    (int)SERVICE_TYPE_UDP == (int)RTUN__SERVICE_TYPE__SERVICE_UDP,
    "enum service_type is rtun.ServiceType");

struct agent_udp {
	struct ev_loop *loop;
	const struct agent_conf *conf;
	struct stream_udp_stats **st;   /* per service of conf; NULL for TCP services */
	int *full;                      /* per service: refusing flows, logged once */
};

struct agent_udp *
agent_udp_new(struct ev_loop *loop, struct metrics *m, const struct agent_conf *conf)
{
	struct agent_udp *u = xcalloc(1, sizeof(*u));
	char name[4 * CONFIG_NAME_MAX + 1], labels[sizeof(name) + 16];
	size_t i;

	u->loop = loop;
	u->conf = conf;
	u->st = xcalloc(conf->nservices + 1, sizeof(*u->st));
	u->full = xcalloc(conf->nservices + 1, sizeof(*u->full));
	for (i = 0; i < conf->nservices; i++) {
		if (conf->services[i].type != SERVICE_TYPE_UDP)
			continue;
		metrics_label_value(conf->services[i].name, name, sizeof(name));
		snprintf(labels, sizeof(labels), "service=\"%s\"", name);
		u->st[i] = stream_udp_stats_new(m, "rtun", labels, 0);
	}
	return u;
}

const struct stream_udp_stats *
agent_udp_stats(const struct agent_udp *u, const struct service_conf *svc)
{
	return u->st[svc - u->conf->services];
}

void
agent_udp_free(struct agent_udp *u)
{
	size_t i;

	for (i = 0; i < u->conf->nservices; i++)
		stream_udp_stats_unref(u->st[i]);
	free(u->st);
	free(u->full);
	free(u);
}

void
agent_udp_serve(struct agent_udp *u, struct link *l, uint32_t id, const struct service_conf *svc,
    const char *peer, const char *dest)
{
	size_t i = (size_t)(svc - u->conf->services);
	struct stream_udp_stats *st = u->st[i];
	struct stream_conf c = {
		.service = svc->name,
		.peer = peer,
		.dest = dest,
		.ctr = &st->bytes,
		.timeout = u->conf->connect_timeout,
		.datagram = 1,
		.idle_timeout = svc->udp_idle_timeout,
	};
	char addr[NET_ADDRSTRLEN], why[FRAME_TEXT_MAX];
	struct stream_end *end;

	if (*st->flows_open >= svc->udp_max_flows) {
		if (!u->full[i])
			log_warn("%s: service %s: udp_max_flows (%u) reached; refusing new flows",
			    link_label(l), svc->name, svc->udp_max_flows);
		u->full[i] = 1;
		stream_udp_drop(st, UDP_DROP_FLOWS);
		link_send_reset(l, id, FRAME_CODE_REFUSED, "too many UDP flows");
		return;
	}
	u->full[i] = 0;
	if ((end = stream_udp_connect(u->loop, &svc->local_addr, st)) == NULL) {
		net_addr_str((const struct sockaddr *)&svc->local_addr.ss, addr);
		snprintf(why, sizeof(why), "udp socket to %s: %s", addr, strerror(errno));
		log_warn("%s: service %s: %s", link_label(l), svc->name, why);
		link_send_reset(l, id, FRAME_CODE_CONNECT, why);
		return;
	}
	log_debug("%s: stream %u: udp flow from %s for service %s", link_label(l), id, peer,
	    svc->name);
	stream_accept(l, id, end, 0, &c);
}
