/*
 * Counters and gauges, and their Prometheus text format (metrics-http.h
 * serves it over HTTP). Hot paths hold a pointer to their slot and bump it
 * directly. Every lookup takes a reference to the slot and metrics_release()
 * drops one: a slot stays valid while its holder keeps its reference. With
 * none left, a gauge is removed at once; a counter stays (and is served, and
 * found again by the next lookup) until the oldest of too many idle counters
 * is removed, so per-agent series cannot grow without bound.
 */
#ifndef RTUN_METRICS_H
#define RTUN_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct metrics;

/* Unreferenced counters kept (and served) before the oldest is freed. */
#define METRICS_IDLE_MAX 256

/* An empty registry; metric names are used as given (e.g. "rtund_streams_total"). */
struct metrics *metrics_new(void);
/* Free every slot; whatever serves m must be freed first. */
void metrics_free(struct metrics *m);
/*
 * The counter slot for name with the given labels ("" or `service="ssh",agent="nas"`,
 * values escaped with metrics_label_value()), with a reference for the caller;
 * created at 0 on first use. help is the # HELP text, the same for every label
 * set of a name.
 */
uint64_t *metrics_counter(struct metrics *m, const char *name, const char *help,
    const char *labels);
/* The gauge slot for name and labels, as metrics_counter(). */
double *metrics_gauge(struct metrics *m, const char *name, const char *help, const char *labels);
/* Drop one reference to a counter or gauge slot (NULL is ignored); see above for when it goes. */
void metrics_release(struct metrics *m, const void *slot);
/* Escape a label value (backslash, double quote, newline) into out; returns out. */
const char *metrics_label_value(const char *value, char *out, size_t outlen);
/* The whole registry in Prometheus text format (exposition 0.0.4); caller frees. */
char *metrics_render(const struct metrics *m);

#endif
