/*
 * The local HTTP/1.1 endpoint that serves a metrics registry to Prometheus:
 * GET /metrics (any query) answers the registry in the text format, GET / the
 * daemon's status page once one is set, other paths 404, other methods 405.
 * Requests are parsed with http-parser; each connection is bounded in size and
 * time, and their number is capped.
 */
#ifndef RTUN_METRICS_HTTP_H
#define RTUN_METRICS_HTTP_H

#include <ev.h>

#include "net.h"
#include "status.h"

struct metrics;
struct metrics_http;

/* Serve m on addr until metrics_http_free(); NULL with errno if it cannot listen. */
struct metrics_http *metrics_http_new(
    struct ev_loop *loop, const struct net_addr *addr, struct metrics *m);
/* Serve role's status page, made by fill, on "/"; fill NULL stops it (h NULL: ignored). */
void metrics_http_set_status(struct metrics_http *h, const char *role, status_fill_fn *fill,
    void *arg);
/* Stop listening and close every connection; m must outlive this (NULL is ignored). */
void metrics_http_free(struct metrics_http *h);

#endif
