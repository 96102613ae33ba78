/*
 * The table of addresses with recent authentication failures. It is small and
 * bounded, and only failures (each a full handshake) add to it, so a plain
 * array scanned in order is fast enough and never rehashes under attack.
 */
#include "rtun-build.h"

#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "authlimit.h"
#include "xmalloc.h"

/* An address as the table keys it: IPv4, or the /64 of an IPv6 address. */
struct key {
	uint8_t len;
	uint8_t bytes[8];
};

struct entry {
	struct key key;
	unsigned int failures; /* within the window that began at window_start */
	unsigned int blocks;   /* blocks so far: the next lasts 2^blocks times the first */
	double window_start;
	double last_failure;
	double blocked_until;
};

struct authlimit {
	struct entry *entries;
	unsigned int n;
};

/* The key of addr; 0 for a family we do not track. */
static int
key_of(const struct sockaddr *addr, struct key *k)
{
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
	const uint8_t *b;

	memset(k, 0, sizeof(*k));
	if (addr->sa_family == AF_INET) {
		k->len = 4;
		memcpy(k->bytes, &((const struct sockaddr_in *)addr)->sin_addr, 4);
		return 1;
	}
	if (addr->sa_family != AF_INET6)
		return 0;
	b = sin6->sin6_addr.s6_addr;
	if (IN6_IS_ADDR_V4MAPPED(&sin6->sin6_addr)) {
		k->len = 4;
		memcpy(k->bytes, b + 12, 4);
	} else {
		k->len = 8;
		memcpy(k->bytes, b, 8);
	}
	return 1;
}

static struct entry *
find(const struct authlimit *al, const struct key *k)
{
	unsigned int i;

	for (i = 0; i < al->n; i++) {
		if (memcmp(&al->entries[i].key, k, sizeof(*k)) == 0)
			return &al->entries[i];
	}
	return NULL;
}

/* How much an entry is worth keeping at now: blocked ones most, by how long; then recency. */
static double
worth(const struct entry *e, double now)
{
	if (e->blocked_until > now)
		return AUTHLIMIT_FORGET + (e->blocked_until - now);
	return e->last_failure - now;
}

/* A fresh entry for k, making room if the table is full. */
static struct entry *
insert(struct authlimit *al, const struct key *k, double now)
{
	unsigned int i, victim = 0;
	struct entry *e;

	if (al->n < AUTHLIMIT_ENTRIES) {
		e = &al->entries[al->n++];
	} else {
		for (i = 1; i < al->n; i++) {
			if (worth(&al->entries[i], now) < worth(&al->entries[victim], now))
				victim = i;
		}
		e = &al->entries[victim];
	}
	memset(e, 0, sizeof(*e));
	e->key = *k;
	e->window_start = now;
	return e;
}

static void
remove_entry(struct authlimit *al, struct entry *e)
{
	*e = al->entries[--al->n];
}

struct authlimit *
authlimit_new(void)
{
	struct authlimit *al = xcalloc(1, sizeof(*al));

	al->entries = xcalloc(AUTHLIMIT_ENTRIES, sizeof(*al->entries));
	return al;
}

void
authlimit_free(struct authlimit *al)
{
	if (al == NULL)
		return;
	free(al->entries);
	free(al);
}

double
authlimit_blocked(const struct authlimit *al, const struct sockaddr *addr, double now)
{
	const struct entry *e;
	struct key k;

	if (!key_of(addr, &k) || (e = find(al, &k)) == NULL || e->blocked_until <= now)
		return 0;
	return e->blocked_until - now;
}

/* The length of block number n (0 is the first): doubling, at most AUTHLIMIT_BLOCK_MAX. */
static double
block_length(unsigned int n)
{
	double b = AUTHLIMIT_BLOCK_MIN;

	while (n-- > 0 && b < AUTHLIMIT_BLOCK_MAX)
		b *= 2;
	return b < AUTHLIMIT_BLOCK_MAX ? b : AUTHLIMIT_BLOCK_MAX;
}

double
authlimit_failure(struct authlimit *al, const struct sockaddr *addr, double now)
{
	struct entry *e;
	struct key k;

	if (!key_of(addr, &k))
		return 0;
	if ((e = find(al, &k)) != NULL && now - e->last_failure > AUTHLIMIT_FORGET) {
		/* Quiet long enough: start over, as a new address would. */
		remove_entry(al, e);
		e = NULL;
	}
	if (e == NULL)
		e = insert(al, &k, now);
	if (now - e->window_start > AUTHLIMIT_WINDOW) {
		e->window_start = now;
		e->failures = 0;
	}
	e->failures++;
	e->last_failure = now;
	/* Once blocked, a single failure blocks again: the first block is the only grace. */
	if (e->failures < AUTHLIMIT_FAILURES && e->blocks == 0)
		return 0;
	e->blocked_until = now + block_length(e->blocks);
	e->blocks++;
	e->failures = 0;
	e->window_start = now;
	return e->blocked_until - now;
}

void
authlimit_success(struct authlimit *al, const struct sockaddr *addr)
{
	struct entry *e;
	struct key k;

	if (key_of(addr, &k) && (e = find(al, &k)) != NULL)
		remove_entry(al, e);
}

unsigned int
authlimit_count(const struct authlimit *al)
{
	return al->n;
}
