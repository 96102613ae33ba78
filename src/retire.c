/*
 * The retired metric slots of one daemon role (server or agent), kept until
 * the streams that copied them are gone. Sweeps are rare (a declaration, a
 * reload, a link's end) and the list is short (one entry per slot, and only
 * slots that live streams still use survive a sweep), so a linear scan of the
 * link's streams per slot is enough.
 */
#include "rtun-build.h"

#include <stdlib.h>

#include "link.h"
#include "metrics.h"
#include "retire.h"
#include "stream.h"
#include "xmalloc.h"

struct slot_use {
	const uint64_t *slot;
	int used;
};

static void
check_stream(struct stream *s, void *arg)
{
	const struct stream_counters *c = stream_counters(s);
	struct slot_use *u = arg;

	if (c->local_read == u->slot || c->local_written == u->slot ||
	    c->connect_failed == u->slot)
		u->used = 1;
}

static int
slot_in_use(const struct link *l, const uint64_t *slot)
{
	struct slot_use u = { slot, 0 };

	if (l == NULL || link_nstreams(l) == 0)
		return 0;
	link_each_stream(l, check_stream, &u);
	return u.used;
}

void
retire_init(struct retire *r)
{
	r->slots = NULL;
	r->n = r->cap = 0;
}

/* Keep slot's reference; one per slot is enough, so a second is dropped at once. */
static void
retire_add(struct retire *r, struct metrics *m, uint64_t *slot)
{
	size_t i;

	if (slot == NULL)
		return;
	for (i = 0; i < r->n; i++) {
		if (r->slots[i] == slot) {
			metrics_release(m, slot);
			return;
		}
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 8;
		r->slots = xreallocarray(r->slots, r->cap, sizeof(*r->slots));
	}
	r->slots[r->n++] = slot;
}

void
retire_counters(
    struct retire *r, struct metrics *m, const struct link *l, const struct stream_counters *ctr)
{
	retire_add(r, m, ctr->local_read);
	retire_add(r, m, ctr->local_written);
	retire_add(r, m, ctr->connect_failed);
	retire_sweep(r, m, l);
}

void
retire_sweep(struct retire *r, struct metrics *m, const struct link *l)
{
	size_t i, kept = 0;

	for (i = 0; i < r->n; i++) {
		if (slot_in_use(l, r->slots[i]))
			r->slots[kept++] = r->slots[i];
		else
			metrics_release(m, r->slots[i]);
	}
	r->n = kept;
}

void
retire_free(struct retire *r, struct metrics *m)
{
	retire_sweep(r, m, NULL);
	free(r->slots);
	retire_init(r);
}
