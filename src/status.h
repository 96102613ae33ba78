/*
 * A status report: what a daemon is doing now, as named tables of rows
 * (links, services, visitors, refusals...). The daemon fills one per request
 * and renders it for whoever asked: an aligned text table for people, JSON for
 * scripts, an HTML page for a browser. Cells hold what the daemon knows
 * exactly (bytes, seconds); only the text and HTML forms round them.
 */
#ifndef RTUN_STATUS_H
#define RTUN_STATUS_H

#include <stddef.h>

/* How a column's values are kept and shown. */
enum status_kind {
	STATUS_TEXT,     /* a string; NULL shows as "-" (null in JSON) */
	STATUS_COUNT,    /* a whole number */
	STATUS_BYTES,    /* a byte count: "12.5 MiB" for people, exact in JSON */
	STATUS_SECONDS,  /* a duration: "1h02m" for people, seconds in JSON */
	STATUS_MS,       /* a short time in milliseconds: "0.42 ms" */
};

struct status_col {
	const char *key;    /* JSON member name, e.g. "rtt_ms" */
	const char *head;   /* text and HTML column heading, e.g. "RTT" */
	enum status_kind kind;
};

struct status;

/* Columns in a static array of struct status_col. */
#define STATUS_NCOLS(a) (sizeof(a) / sizeof((a)[0]))

/* Fill a fresh report with what the daemon is doing now. */
typedef void status_fill_fn(void *arg, struct status *st);

/* An empty report of daemon role ("rtund" or "rtun"). */
struct status *status_new(const char *role);
/* Free the report. */
void status_free(struct status *st);
/* Start table name with these columns (cols must outlive st); cells follow, row by row. */
void status_table(struct status *st, const char *name, const struct status_col *cols,
    size_t ncols);
/* The next cell of the current table, for a STATUS_TEXT column (s is copied; NULL allowed). */
void status_text(struct status *st, const char *s);
/* The next cell, for a numeric column. */
void status_num(struct status *st, double v);
/* The next cell, for a STATUS_MS column: a round trip in seconds, 0 when none was measured. */
void status_rtt(struct status *st, double seconds);
/* The rows of the current table so far. */
size_t status_rows(const struct status *st);

/* The report as aligned text tables; caller frees. */
char *status_render_text(const struct status *st);
/* The report as one JSON object, a member per table holding an array of row objects; caller frees. */
char *status_render_json(const struct status *st);
/* The report as a whole HTML page that reloads itself every refresh seconds; caller frees. */
char *status_render_html(const struct status *st, int refresh);

#endif
