/*
 * rtund's web services (server-web.h): declarations of http and https
 * services become host-name claims, and connections routed to a claim become
 * streams on its agent's link. Per link it keeps the counter slots of claims
 * that were withdrawn while streams of the link may still count into them.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <unistd.h>

#include "config.h"
#include "control.h"
#include "hostmap.h"
#include "hostname.h"
#include "link.h"
#include "log.h"
#include "metrics.h"
#include "retire.h"
#include "server-status.h"
#include "server-vhost.h"
#include "server-web.h"
#include "stream-sock.h"
#include "stream.h"
#include "xmalloc.h"

/* A link that holds claims. */
struct webpeer {
	struct web *w;
	struct link *l;
	struct retire retired;
	LIST_ENTRY(webpeer) entry;
};

struct web {
	struct ev_loop *loop;
	const struct server_conf *conf;
	struct metrics *metrics;
	struct hostmap *map;
	struct vhost *vh[2];     /* by enum vhost_scheme; NULL when that listener is off */
	LIST_HEAD(, webpeer) peers;
};

static const char *const scheme_keys[] = { "http_listen", "https_listen" };

static enum vhost_scheme
scheme_of(const Rtun__Service *svc)
{
	return svc->type == RTUN__SERVICE_TYPE__SERVICE_HTTPS ? VHOST_HTTPS : VHOST_HTTP;
}

static struct webpeer *
webpeer_of(struct web *w, const struct link *l, int create)
{
	struct webpeer *wp;

	LIST_FOREACH(wp, &w->peers, entry) {
		if (wp->l == l)
			return wp;
	}
	if (!create)
		return NULL;
	wp = xcalloc(1, sizeof(*wp));
	wp->w = w;
	wp->l = (struct link *)l;
	retire_init(&wp->retired);
	LIST_INSERT_HEAD(&w->peers, wp, entry);
	return wp;
}

/* A claim goes (withdrawn, revoked, offline): its slots retire once no stream uses them. */
static void
claim_released(struct hostclaim *c, void *arg)
{
	struct web *w = arg;
	struct webpeer *wp = webpeer_of(w, hostclaim_arg(c), 1);
	uint64_t **routed = hostclaim_routed(c);

	retire_counters(&wp->retired, w->metrics, wp->l, hostclaim_counters(c));
	metrics_release(w->metrics, *routed);
	*routed = NULL;
}

/* A connection for claim c: a stream on its agent's link. */
static void
web_open(void *arg, struct hostclaim *c, int fd, const struct net_addr *from, const void *head,
    size_t len, const struct sock_answers *answers)
{
	struct web *w = arg;
	struct link *l = hostclaim_arg(c);
	char addr[NET_ADDRSTRLEN], dest[NET_ADDRSTRLEN];
	struct stream_conf sc = {
		.service = hostclaim_service(c),
		.peer = net_addr_str((const struct sockaddr *)&from->ss, addr),
		.dest = net_local_str(fd, dest),
		.ctr = hostclaim_counters(c),
		.timeout = w->conf->open_timeout,
	};

	if (link_nstreams(l) >= link_params(l)->max_streams) {
		log_warn("%s: service %s: refusing %s: max_streams (%u) reached", link_label(l),
		    hostclaim_service(c), addr, link_params(l)->max_streams);
		net_set_abortive(fd, 1);
		close(fd);
		return;
	}
	(**hostclaim_routed(c))++;
	log_debug("%s: service %s: user %s for %s", link_label(l), hostclaim_service(c), addr,
	    hostclaim_pattern(c));
	stream_open(l, stream_sock_routed(w->loop, fd, head, len, answers), &sc);
}

/* The claim's counter slots, labelled by its agent, service and name. */
static void
claim_set_counters(struct web *w, struct hostclaim *c)
{
	char a[4 * CONFIG_NAME_MAX + 1], v[4 * CONFIG_NAME_MAX + 1], h[4 * HOSTNAME_MAX + 1];
	char labels[sizeof(a) + sizeof(v) + sizeof(h) + 32];
	struct stream_counters *ctr = hostclaim_counters(c);
	uint64_t **routed = hostclaim_routed(c);

	if (ctr->local_read != NULL)
		return;   /* a re-declaration keeps them */
	metrics_label_value(hostclaim_agent(c), a, sizeof(a));
	metrics_label_value(hostclaim_service(c), v, sizeof(v));
	metrics_label_value(hostclaim_pattern(c), h, sizeof(h));
	snprintf(labels, sizeof(labels), "agent=\"%s\",service=\"%s\",host=\"%s\"", a, v, h);
	ctr->local_read = metrics_counter(w->metrics, "rtund_vhost_bytes_in_total",
	    "Bytes from users to a web service, per claimed host name.", labels);
	ctr->local_written = metrics_counter(w->metrics, "rtund_vhost_bytes_out_total",
	    "Bytes from a web service to users, per claimed host name.", labels);
	*routed = metrics_counter(w->metrics, "rtund_vhost_connections_total",
	    "Connections routed to a web service, per claimed host name.", labels);
}

struct web *
web_new(struct ev_loop *loop, const struct server_conf *conf, struct metrics *m)
{
	const struct net_addr *addr[] = { &conf->http_addr, &conf->https_addr };
	const char *val[] = { conf->http_listen, conf->https_listen };
	struct web *w = xcalloc(1, sizeof(*w));
	int i;

	w->loop = loop;
	w->conf = conf;
	w->metrics = m;
	w->map = hostmap_new(claim_released, w);
	LIST_INIT(&w->peers);
	for (i = 0; i < 2; i++) {
		if (val[i] == NULL)
			continue;
		w->vh[i] = vhost_new(loop, (enum vhost_scheme)i, addr[i], w->map, m,
		    conf->handshake_timeout, web_open, w);
		if (w->vh[i] == NULL) {
			log_error("cannot listen on %s %s: %s", scheme_keys[i], val[i],
			    strerror(errno));
			web_free(w);
			return NULL;
		}
		log_info("serving web services on %s (%s)", val[i], i == VHOST_HTTP ?
		    "HTTP, by Host" : "HTTPS, by TLS server name");
	}
	return w;
}

static void
report_claim(struct hostclaim *c, void *arg)
{
	struct status *st = arg;
	struct link *l = hostclaim_arg(c);
	char public[HOSTNAME_MAX + 32];

	snprintf(public, sizeof(public), "host %s%s", hostclaim_pattern(c),
	    l == NULL ? " (agent away)" : "");
	server_status_service(st, hostclaim_agent(c), hostclaim_service(c),
	    hostclaim_scheme(c) == VHOST_HTTPS ? "https" : "http", public,
	    stream_count_with(l, hostclaim_counters(c)), hostclaim_counters(c));
}

void
web_report(struct web *w, struct status *st)
{
	hostmap_each(w->map, report_claim, st);
}

void
web_free(struct web *w)
{
	struct webpeer *wp;

	if (w == NULL)
		return;
	vhost_free(w->vh[VHOST_HTTP]);
	vhost_free(w->vh[VHOST_HTTPS]);
	while ((wp = LIST_FIRST(&w->peers)) != NULL)
		web_forget(w, wp->l);
	hostmap_free(w->map);
	free(w);
}

void
web_stop(struct web *w)
{
	if (w->vh[VHOST_HTTP] != NULL)
		vhost_stop(w->vh[VHOST_HTTP]);
	if (w->vh[VHOST_HTTPS] != NULL)
		vhost_stop(w->vh[VHOST_HTTPS]);
}

void
web_declare_begin(struct web *w, struct link *l)
{
	hostmap_mark(w->map, l);
}

/* One host of a declared service: 0 if it can be claimed, else status and reason set. */
static int
host_check(struct web *w, struct link *l, const Rtun__Service *svc, const char *host,
    char norm[HOSTNAME_MAX + 1], Rtun__ServiceResult *res, char *reason, size_t rlen)
{
	struct hostclaim *c;

	res->status = RTUN__SERVICE_STATUS__SERVICE_INVALID;
	if (hostname_pattern_normalize(host, strlen(host), norm) == -1) {
		snprintf(reason, rlen, "invalid: bad host name");
		return -1;
	}
	if (!hostname_allowed(w->conf->allow_hosts, w->conf->nallow_hosts, norm)) {
		res->status = RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED;
		snprintf(reason, rlen, "not allowed: %s is not in allow_hosts", norm);
		return -1;
	}
	if ((c = hostmap_find(w->map, scheme_of(svc), norm)) == NULL || hostclaim_arg(c) == NULL)
		return 0;
	if (hostclaim_arg(c) != l) {
		res->status = RTUN__SERVICE_STATUS__SERVICE_IN_USE;
		snprintf(reason, rlen, "in use: %s is held by agent %s", norm, hostclaim_agent(c));
		return -1;
	}
	/* Ours, and already claimed again by this declaration: by another service, or twice. */
	if (!hostclaim_marked(c)) {
		snprintf(reason, rlen, "invalid: host %s is declared twice", norm);
		return -1;
	}
	return 0;
}

void
web_claim(struct web *w, struct link *l, const char *agent, const Rtun__Service *svc,
    Rtun__ServiceResult *res, char *reason, size_t rlen)
{
	enum vhost_scheme s = scheme_of(svc);
	char norm[HOSTNAME_MAX + 1];
	const char *holder;
	struct hostclaim *c;
	size_t i, j;

	if (w->vh[s] == NULL) {
		res->status = RTUN__SERVICE_STATUS__SERVICE_NOT_ALLOWED;
		snprintf(reason, rlen, "not allowed: rtund has no %s", scheme_keys[s]);
		return;
	}
	for (i = 0; i < svc->n_hosts; i++) {
		if (host_check(w, l, svc, svc->hosts[i], norm, res, reason, rlen) == -1)
			return;
		for (j = 0; j < i; j++) {
			if (strcasecmp(svc->hosts[j], svc->hosts[i]) == 0) {
				res->status = RTUN__SERVICE_STATUS__SERVICE_INVALID;
				snprintf(reason, rlen, "invalid: host %s is listed twice", norm);
				return;
			}
		}
	}
	res->status = RTUN__SERVICE_STATUS__SERVICE_OK;
	for (i = 0; i < svc->n_hosts; i++) {
		hostname_pattern_normalize(svc->hosts[i], strlen(svc->hosts[i]), norm);
		/* A name that moves to another service of the agent counts under its new label. */
		if ((c = hostmap_find(w->map, s, norm)) != NULL && hostclaim_arg(c) == l &&
		    strcmp(hostclaim_service(c), svc->name) != 0) {
			claim_released(c, w);
			memset(hostclaim_counters(c), 0, sizeof(struct stream_counters));
		}
		hostmap_claim(w->map, s, norm, l, agent, svc->name, &c, &holder);
		claim_set_counters(w, c);
		hostclaim_set_flags(c, svc->forwarded_headers ? HOSTCLAIM_FORWARDED : 0);
	}
}

void
web_declare_end(struct web *w, struct link *l, const char *agent)
{
	struct webpeer *wp;

	hostmap_sweep(w->map, l, agent);
	if ((wp = webpeer_of(w, l, 0)) != NULL)
		retire_sweep(&wp->retired, w->metrics, l);
}

void
web_forget(struct web *w, struct link *l)
{
	struct webpeer *wp;

	hostmap_offline(w->map, l);
	if ((wp = webpeer_of(w, l, 0)) == NULL)
		return;
	retire_free(&wp->retired, w->metrics);
	LIST_REMOVE(wp, entry);
	free(wp);
}

void
web_reload(struct web *w, const struct server_conf *conf,
    void (*revoke)(void *arg, struct link *l, const char *service, uint32_t type,
    const char *reason), void *arg)
{
	struct hostclaim *c;
	char reason[FRAME_TEXT_MAX], service[CONFIG_NAME_MAX + 1];
	struct link *l;
	uint32_t type;
	int i;

	w->conf = conf;
	for (i = 0; i < 2; i++) {
		if (w->vh[i] != NULL)
			vhost_set_timeout(w->vh[i], conf->handshake_timeout);
	}
	/* One service at a time: revoking it drops all its names, so look again after each. */
	while ((c = hostmap_first_disallowed(w->map, conf->allow_hosts, conf->nallow_hosts)) !=
	    NULL) {
		l = hostclaim_arg(c);
		type = hostclaim_scheme(c) == VHOST_HTTPS ? RTUN__SERVICE_TYPE__SERVICE_HTTPS :
		    RTUN__SERVICE_TYPE__SERVICE_HTTP;
		snprintf(service, sizeof(service), "%s", hostclaim_service(c));
		snprintf(reason, sizeof(reason), "not allowed: %s is no longer in allow_hosts",
		    hostclaim_pattern(c));
		hostmap_drop_service(w->map, l, service);
		revoke(arg, l, service, type, reason);
	}
}
