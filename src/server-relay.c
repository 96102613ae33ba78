/*
 * The relay's policy: who may relay to whom, how many relayed streams one
 * visiting agent may hold, and the counters. The bytes themselves move
 * through stream-relay.c.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "control.h"
#include "frame.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "server-p2p.h"
#include "server-relay.h"
#include "status.h"
#include "stream-relay.h"
#include "stream.h"
#include "xmalloc.h"

/* Relayed streams of one visiting agent, by name: a new link of it shares the count. */
struct relay_quota {
	char name[CONTROL_NAME_MAX + 1];
	uint32_t n;
	double *open;            /* the set's gauge: relays end from the loop, maybe after the set */
	int orphan;              /* the set is gone: the last relay frees it */
	LIST_ENTRY(relay_quota) entry;
};

struct relayset {
	struct ev_loop *loop;
	struct p2pdir *dir;
	struct relay_limits lim;
	LIST_HEAD(, relay_quota) quotas;
	struct stream_counters visitor_ctr;   /* bytes relayed, counted once, on the visitor side */
	struct stream_counters target_ctr;    /* the target side's, not served */
	uint64_t target_bytes;
	double *open;
	uint64_t *total;
	uint64_t *refused;
};

static struct relay_quota *
quota_get(struct relayset *r, const char *name)
{
	struct relay_quota *q;

	LIST_FOREACH(q, &r->quotas, entry) {
		if (strcmp(q->name, name) == 0)
			return q;
	}
	q = xcalloc(1, sizeof(*q));
	q->open = r->open;
	snprintf(q->name, sizeof(q->name), "%s", name);
	LIST_INSERT_HEAD(&r->quotas, q, entry);
	return q;
}

static void
quota_put(struct relay_quota *q)
{
	if (q->n > 0)
		return;
	if (!q->orphan)
		LIST_REMOVE(q, entry);
	free(q);
}

/* Both streams of a relay are gone. */
static void
relay_ended(void *arg)
{
	struct relay_quota *q = arg;

	(*q->open)--;
	q->n--;
	quota_put(q);
}

static void
relay_refuse(struct relayset *r, struct link *l, uint32_t id, enum frame_code code,
    const char *why)
{
	log_warn("%s: relay refused: %s", link_label(l), why);
	(*r->refused)++;
	link_send_reset(l, id, code, why);
}

void
relayset_open(struct relayset *r, struct link *l, const char *visitor, uint32_t id,
    const char *to, const char *peer, const char *dest)
{
	char agent[CONTROL_NAME_MAX + 1], why[FRAME_TEXT_MAX];
	const char *slash = strchr(to, '/'), *service;
	struct relay_quota *q;
	struct link *target;

	if (slash == NULL || (size_t)(slash - to) > CONTROL_NAME_MAX) {
		relay_refuse(r, l, id, FRAME_CODE_UNKNOWN_SERVICE, "unknown service");
		return;
	}
	snprintf(agent, sizeof(agent), "%.*s", (int)(slash - to), to);
	service = slash + 1;
	if (!r->lim.enabled) {
		relay_refuse(r, l, id, FRAME_CODE_REFUSED, "relay is disabled on this server");
		return;
	}
	if ((target = p2pdir_check(r->dir, agent, service, visitor, why, sizeof(why))) == NULL) {
		relay_refuse(r, l, id, FRAME_CODE_UNKNOWN_SERVICE, why);
		return;
	}
	q = quota_get(r, visitor);
	if (q->n >= r->lim.max_streams) {
		snprintf(why, sizeof(why), "relay_max_streams (%u) reached", r->lim.max_streams);
		relay_refuse(r, l, id, FRAME_CODE_REFUSED, why);
		quota_put(q);
		return;
	}
	if (link_nstreams(target) >= link_params(target)->max_streams) {
		snprintf(why, sizeof(why), "agent %s has max_streams (%u) open", agent,
		    link_params(target)->max_streams);
		relay_refuse(r, l, id, FRAME_CODE_REFUSED, why);
		quota_put(q);
		return;
	}
	q->n++;
	(*r->open)++;
	(*r->total)++;
	log_debug("%s: stream %u relayed to agent %s service %s", link_label(l), id, agent,
	    service);
	stream_relay_join(l, id, &(struct stream_conf){
	    .service = to, .peer = peer, .dest = dest, .ctr = &r->visitor_ctr,
	    .timeout = r->lim.open_timeout,
	}, target, &(struct stream_conf){
	    .service = service, .peer = peer, .dest = dest, .ctr = &r->target_ctr,
	    .timeout = r->lim.open_timeout,
	}, relay_ended, q);
}

struct relayset *
relayset_new(struct ev_loop *loop, struct p2pdir *dir, const struct relay_limits *lim,
    struct metrics *m)
{
	struct relayset *r = xcalloc(1, sizeof(*r));
	uint64_t *bytes;

	r->loop = loop;
	r->dir = dir;
	r->lim = *lim;
	LIST_INIT(&r->quotas);
	bytes = metrics_counter(m, "rtund_relayed_bytes_total",
	    "Bytes relayed between agents, both directions.", "");
	r->visitor_ctr.local_read = r->visitor_ctr.local_written = bytes;
	r->target_ctr.local_read = r->target_ctr.local_written = &r->target_bytes;
	r->open = metrics_gauge(m, "rtund_relayed_streams_open", "Relayed streams open.", "");
	r->total = metrics_counter(m, "rtund_relayed_streams_total",
	    "Streams relayed between agents since start.", "");
	r->refused = metrics_counter(m, "rtund_relay_refused_total",
	    "Relayed streams refused (not allowed, target absent, relay off, limits).", "");
	return r;
}

void
relayset_set_limits(struct relayset *r, const struct relay_limits *lim)
{
	r->lim = *lim;
}

static const struct status_col relay_cols[] = {
	{ "visitor", "VISITOR", STATUS_TEXT },
	{ "streams", "STREAMS", STATUS_COUNT },
};

void
relayset_report(const struct relayset *r, struct status *st)
{
	const struct relay_quota *q;

	status_table(st, "relays", relay_cols, STATUS_NCOLS(relay_cols));
	LIST_FOREACH(q, &r->quotas, entry) {
		status_text(st, q->name);
		status_num(st, q->n);
	}
}

void
relayset_free(struct relayset *r)
{
	struct relay_quota *q;

	/* Relays of the closed links end from the loop: their quotas go with the last. */
	while ((q = LIST_FIRST(&r->quotas)) != NULL) {
		LIST_REMOVE(q, entry);
		q->orphan = 1;
		if (q->n == 0)
			free(q);
	}
	free(r);
}
