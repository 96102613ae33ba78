/*
 * rtund's web services: the http_listen and https_listen listeners
 * (server-vhost.c) and the host names agents claim on them (hostmap.c), with
 * the declaration rules: a service of type http or https claims all its hosts
 * or none; each must be allowed by allow_hosts and not held by another
 * connected agent. A claimed name's connections become streams on the
 * claiming agent's link.
 */
#ifndef RTUN_SERVER_WEB_H
#define RTUN_SERVER_WEB_H

#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "rtun.pb-c.h"

struct link;
struct metrics;
struct server_conf;
struct status;
struct web;

/* The listeners conf asks for (none is fine); NULL when one cannot listen (logged). */
struct web *web_new(struct ev_loop *loop, const struct server_conf *conf, struct metrics *m);
/* Close the listeners and forget every claim. */
void web_free(struct web *w);
/* Add a row to the current (services) table of st for every host name claimed. */
void web_report(struct web *w, struct status *st);
/* Stop accepting (the drain). */
void web_stop(struct web *w);
/*
 * A new configuration: a service with a name allow_hosts no longer allows
 * loses all its names, and revoke (given arg) tells its agent why.
 */
void web_reload(struct web *w, const struct server_conf *conf,
    void (*revoke)(void *arg, struct link *l, const char *service, uint32_t type,
    const char *reason), void *arg);
/* Before link l's declaration is processed: its claims are stale until claimed again. */
void web_declare_begin(struct web *w, struct link *l);
/*
 * Claim the hosts of svc for link l of agent: res->status and reason say how
 * it went (SERVICE_OK, NOT_ALLOWED, IN_USE, INVALID).
 */
void web_claim(struct web *w, struct link *l, const char *agent, const Rtun__Service *svc,
    Rtun__ServiceResult *res, char *reason, size_t rlen);
/* After the declaration: claims it did not renew are dropped. */
void web_declare_end(struct web *w, struct link *l, const char *agent);
/* Link l is gone: its names answer "not connected" until claimed again. */
void web_forget(struct web *w, struct link *l);

#endif
