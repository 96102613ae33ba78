/*
 * Port sets ("22,6000-6999"). rtund checks every declared remote_port
 * against its allow_ports set, so a lookup is a scan of a few ranges; the
 * parser says which rule an entry broke, for the config error it becomes.
 */
#include "rtun-build.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "portset.h"
#include "xmalloc.h"

#define BLANKS     " \t\r\n"
#define WHY_SYNTAX "expected ports or ranges like 22,6000-6999"
#define WHY_RANGE  "ports must be from 1 to 65535"

/* One port, digits with optional blanks around them. */
static int
port_parse(const char *s, uint16_t *port, const char **why)
{
	size_t lead = strspn(s, BLANKS), digits = strspn(s + lead, "0123456789");
	const char *tail = s + lead + digits;
	unsigned long long v;

	if (digits == 0 || tail[strspn(tail, BLANKS)] != '\0') {
		*why = WHY_SYNTAX;
		return -1;
	}
	errno = 0;
	v = strtoull(s + lead, NULL, 10);
	/* A number too long for 64 bits is not a port at all, rather than one out of range. */
	if (errno == ERANGE) {
		*why = WHY_SYNTAX;
		return -1;
	}
	if (v < 1 || v > 65535) {
		*why = WHY_RANGE;
		return -1;
	}
	*port = (uint16_t)v;
	return 0;
}

/* One "22" or "6000-6999" entry; item is modified. */
static int
range_parse(char *item, struct portrange *r, const char **why)
{
	char *dash;

	if ((dash = strchr(item, '-')) != NULL)
		*dash++ = '\0';
	if (port_parse(item, &r->lo, why) == -1)
		return -1;
	r->hi = r->lo;
	if (dash != NULL && port_parse(dash, &r->hi, why) == -1)
		return -1;
	if (r->lo > r->hi) {
		*why = "range start is greater than its end";
		return -1;
	}
	return 0;
}

int
portset_parse(const char *s, struct portset *set, const char **why)
{
	char *copy, *item, *next;
	struct portrange r;

	memset(set, 0, sizeof(*set));
	copy = xstrdup(s);
	for (item = copy; item != NULL; item = next) {
		if ((next = strchr(item, ',')) != NULL)
			*next++ = '\0';
		if (range_parse(item, &r, why) == -1) {
			free(copy);
			portset_free(set);
			return -1;
		}
		set->ranges = xreallocarray(set->ranges, set->n + 1, sizeof(*set->ranges));
		set->ranges[set->n++] = r;
	}
	free(copy);
	return 0;
}

int
portset_contains(const struct portset *set, uint16_t port)
{
	size_t i;

	for (i = 0; i < set->n; i++) {
		if (port >= set->ranges[i].lo && port <= set->ranges[i].hi)
			return 1;
	}
	return 0;
}

void
portset_free(struct portset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->n = 0;
}
