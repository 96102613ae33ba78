/*
 * Counters and gauges, and an HTTP/1.1 endpoint that serves them in the
 * Prometheus text format. Hot paths hold a pointer to their slot and bump it
 * directly; slots live as long as the registry, so a pointer never dangles.
 */
#ifndef RTUN_METRICS_H
#define RTUN_METRICS_H

#include <stdint.h>

#include <ev.h>

#include "net.h"

struct metrics;

/* An empty registry; metric names are used as given (e.g. "rtund_streams_total"). */
struct metrics *metrics_new(void);
/* Stop serving and free every slot. */
void metrics_free(struct metrics *m);
/*
 * Serve GET /metrics on addr (HTTP/1.1, parsed with http-parser); -1 with errno
 * if it cannot listen. Other paths get 404, other methods 405.
 */
int metrics_listen(struct metrics *m, struct ev_loop *loop, const struct net_addr *addr);
/*
 * The counter slot for name with the given labels ("" or `service="ssh",agent="nas"`,
 * values escaped with metrics_label_value()); created at 0 on first use. help is
 * the # HELP text, the same for every label set of a name.
 */
uint64_t *metrics_counter(struct metrics *m, const char *name, const char *help,
    const char *labels);
/* The gauge slot for name and labels, as metrics_counter(). */
double *metrics_gauge(struct metrics *m, const char *name, const char *help, const char *labels);
/* Escape a label value (backslash, double quote, newline) into out; returns out. */
const char *metrics_label_value(const char *value, char *out, size_t outlen);
/* The whole registry in Prometheus text format (exposition 0.0.4); caller frees. */
char *metrics_render(const struct metrics *m);

#endif
