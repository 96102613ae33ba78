/*
 * Stream-id map. Ids are allocated sequentially, so a multiplicative hash
 * spreads them well enough for linear probing.
 */
#include "rtun-build.h"

#include <stdlib.h>

#include "idmap.h"
#include "xmalloc.h"

static size_t
slot_of(const struct idmap *m, uint32_t id)
{
	return (size_t)((id * 2654435761U) & (m->cap - 1));
}

void
idmap_init(struct idmap *m)
{
	m->slots = NULL;
	m->cap = m->n = 0;
}

void
idmap_free(struct idmap *m)
{
	free(m->slots);
	idmap_init(m);
}

void *
idmap_get(const struct idmap *m, uint32_t id)
{
	size_t i;

	if (m->cap == 0)
		return NULL;
	for (i = slot_of(m, id); m->slots[i].id != 0; i = (i + 1) & (m->cap - 1)) {
		if (m->slots[i].id == id)
			return m->slots[i].ptr;
	}
	return NULL;
}

static void
idmap_grow(struct idmap *m)
{
	struct idmap old = *m;
	size_t i;

	m->cap = old.cap ? old.cap * 2 : 16;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
	m->n = 0;
	for (i = 0; i < old.cap; i++) {
		if (old.slots[i].id != 0)
			idmap_put(m, old.slots[i].id, old.slots[i].ptr);
	}
	free(old.slots);
}

void
idmap_put(struct idmap *m, uint32_t id, void *ptr)
{
	size_t i;

	/* Keep the load factor under 1/2 so probe runs stay short. */
	if ((m->n + 1) * 2 > m->cap)
		idmap_grow(m);
	for (i = slot_of(m, id); m->slots[i].id != 0; i = (i + 1) & (m->cap - 1))
		;
	m->slots[i].id = id;
	m->slots[i].ptr = ptr;
	m->n++;
}

void
idmap_del(struct idmap *m, uint32_t id)
{
	size_t i, j, home, mask = m->cap - 1;

	if (m->cap == 0)
		return;
	for (i = slot_of(m, id); m->slots[i].id != id; i = (i + 1) & mask) {
		if (m->slots[i].id == 0)
			return;
	}
	/* Shift later members of the probe run back so no gap breaks a lookup. */
	for (j = (i + 1) & mask; m->slots[j].id != 0; j = (j + 1) & mask) {
		home = slot_of(m, m->slots[j].id);
		if (((j - home) & mask) >= ((j - i) & mask)) {
			m->slots[i] = m->slots[j];
			i = j;
		}
	}
	m->slots[i].id = 0;
	m->slots[i].ptr = NULL;
	m->n--;
}

void
idmap_each(const struct idmap *m, void (*fn)(void *ptr, void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < m->cap; i++) {
		if (m->slots[i].id != 0)
			fn(m->slots[i].ptr, arg);
	}
}
