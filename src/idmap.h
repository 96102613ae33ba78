/*
 * Map from stream id to object: open addressing with linear probing and
 * backward-shift deletion, so lookups on the data path never chase pointers
 * and deletions leave no tombstones.
 */
#ifndef RTUN_IDMAP_H
#define RTUN_IDMAP_H

#include <stddef.h>
#include <stdint.h>

struct idmap {
	struct idmap_slot {
		uint32_t id;     /* 0 marks an empty slot; stream ids are never 0 */
		void *ptr;
	} *slots;
	size_t cap;          /* power of two, or 0 */
	size_t n;
};

/* An empty map. */
void idmap_init(struct idmap *m);
/* Free the table (not the objects). */
void idmap_free(struct idmap *m);
/* Object for id, or NULL. */
void *idmap_get(const struct idmap *m, uint32_t id);
/* Insert id (non-zero, not present). */
void idmap_put(struct idmap *m, uint32_t id, void *ptr);
/* Remove id if present. */
void idmap_del(struct idmap *m, uint32_t id);
/* Call fn for every object; fn must not modify the map. */
void idmap_each(const struct idmap *m, void (*fn)(void *ptr, void *arg), void *arg);

#endif
