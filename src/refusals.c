/*
 * A ring of the latest refusals. Entries are copied in: what a peer sent
 * (names, reasons) is kept as bytes and escaped by whichever form the report
 * takes.
 */
#include "rtun-build.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "refusals.h"
#include "status.h"
#include "xmalloc.h"

struct refusal {
	double first;
	double last;
	unsigned long count;
	char who[64];
	char what[320];
	char why[256];
};

struct refusals {
	struct refusal ring[REFUSALS_MAX];
	size_t head;     /* next slot to write */
	size_t n;
};

struct refusals *
refusals_new(void)
{
	return xcalloc(1, sizeof(struct refusals));
}

void
refusals_free(struct refusals *r)
{
	free(r);
}

static struct refusal *
newest(struct refusals *r)
{
	return r->n == 0 ? NULL : &r->ring[(r->head + REFUSALS_MAX - 1) % REFUSALS_MAX];
}

void
refusals_add(struct refusals *r, double now, const char *who, const char *why,
    const char *fmt, ...)
{
	struct refusal *e = newest(r), fresh;
	va_list ap;

	memset(&fresh, 0, sizeof(fresh));
	snprintf(fresh.who, sizeof(fresh.who), "%s", who != NULL ? who : "");
	va_start(ap, fmt);
	vsnprintf(fresh.what, sizeof(fresh.what), fmt, ap);
	va_end(ap);
	snprintf(fresh.why, sizeof(fresh.why), "%s", why);
	if (e != NULL && strcmp(e->who, fresh.who) == 0 && strcmp(e->what, fresh.what) == 0 &&
	    strcmp(e->why, fresh.why) == 0) {
		e->last = now;
		e->count++;
		return;
	}
	fresh.first = fresh.last = now;
	fresh.count = 1;
	r->ring[r->head] = fresh;
	r->head = (r->head + 1) % REFUSALS_MAX;
	if (r->n < REFUSALS_MAX)
		r->n++;
}

static const struct status_col refusal_cols[] = {
	{ "ago_seconds", "AGO", STATUS_SECONDS },
	{ "who", "WHO", STATUS_TEXT },
	{ "what", "WHAT", STATUS_TEXT },
	{ "reason", "REASON", STATUS_TEXT },
	{ "count", "COUNT", STATUS_COUNT },
};

void
refusals_report(const struct refusals *r, double now, struct status *st)
{
	size_t i;

	status_table(st, "refusals", refusal_cols, sizeof(refusal_cols) / sizeof(refusal_cols[0]));
	for (i = 1; i <= r->n; i++) {
		const struct refusal *e = &r->ring[(r->head + REFUSALS_MAX - i) % REFUSALS_MAX];

		status_num(st, now - e->last);
		status_text(st, *e->who != '\0' ? e->who : NULL);
		status_text(st, e->what);
		status_text(st, e->why);
		status_num(st, (double)e->count);
	}
}
