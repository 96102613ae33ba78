/*
 * Metric slots given up by their owner (a withdrawn, renamed or removed
 * service) while streams of a link may still count into them: a stream copies
 * its service's slot pointers when it opens and is never told when the service
 * goes. Each slot keeps its reference here until no stream of the link points
 * at it any more; only then is it released (see metrics.h).
 */
#ifndef RTUN_RETIRE_H
#define RTUN_RETIRE_H

#include <stddef.h>
#include <stdint.h>

struct link;
struct metrics;
struct stream_counters;

struct retire {
	uint64_t **slots;
	size_t n;
	size_t cap;
};

/* An empty list. */
void retire_init(struct retire *r);
/* Take over the references of ctr's slots (NULL ones skipped), then sweep. */
void retire_counters(
    struct retire *r, struct metrics *m, const struct link *l, const struct stream_counters *ctr);
/* Release every slot no stream of l uses; every slot when l is NULL or has no streams. */
void retire_sweep(struct retire *r, struct metrics *m, const struct link *l);
/* Release every slot and free the list. */
void retire_free(struct retire *r, struct metrics *m);

#endif
