/*
 * Status reports and their three renderings. Peer-supplied strings (agent and
 * service names, host names, reasons) reach every form, so each form escapes
 * for itself: control bytes never reach a terminal, JSON stays valid whatever
 * the bytes, and HTML cannot be injected.
 */
#include "rtun-build.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "log.h"
#include "status.h"
#include "xmalloc.h"

struct cell {
	char *s;        /* STATUS_TEXT (NULL: none) */
	double v;       /* every other kind */
};

struct table {
	const char *name;
	const struct status_col *cols;
	size_t ncols;
	struct cell *cells;   /* row-major */
	size_t ncells;
	size_t cap;
};

struct status {
	char role[16];
	struct table *tables;
	size_t ntables;
	time_t at;
};

struct status *
status_new(const char *role)
{
	struct status *st = xcalloc(1, sizeof(*st));

	snprintf(st->role, sizeof(st->role), "%s", role);
	st->at = time(NULL);
	return st;
}

void
status_free(struct status *st)
{
	size_t i, j;

	if (st == NULL)
		return;
	for (i = 0; i < st->ntables; i++) {
		for (j = 0; j < st->tables[i].ncells; j++)
			free(st->tables[i].cells[j].s);
		free(st->tables[i].cells);
	}
	free(st->tables);
	free(st);
}

void
status_table(struct status *st, const char *name, const struct status_col *cols, size_t ncols)
{
	struct table *t;

	st->tables = xreallocarray(st->tables, st->ntables + 1, sizeof(*st->tables));
	t = &st->tables[st->ntables++];
	memset(t, 0, sizeof(*t));
	t->name = name;
	t->cols = cols;
	t->ncols = ncols;
}

static struct cell *
next_cell(struct status *st)
{
	struct table *t = &st->tables[st->ntables - 1];

	if (t->ncells == t->cap) {
		t->cap = t->cap == 0 ? 16 : t->cap * 2;
		t->cells = xreallocarray(t->cells, t->cap, sizeof(*t->cells));
	}
	memset(&t->cells[t->ncells], 0, sizeof(t->cells[0]));
	return &t->cells[t->ncells++];
}

void
status_text(struct status *st, const char *s)
{
	next_cell(st)->s = s != NULL ? xstrdup(s) : NULL;
}

void
status_num(struct status *st, double v)
{
	next_cell(st)->v = v;
}

void
status_rtt(struct status *st, double seconds)
{
	status_num(st, seconds > 0 ? seconds * 1000 : -1);
}

size_t
status_rows(const struct status *st)
{
	const struct table *t = &st->tables[st->ntables - 1];

	return t->ncells / t->ncols;
}

static size_t
table_rows(const struct table *t)
{
	return t->ncells / t->ncols;
}

/* "3d04h", "1h02m", "4m05s", "12s": two units are enough to tell how long. */
static void
format_seconds(double v, char *out, size_t len)
{
	unsigned long s = v > 0 ? (unsigned long)v : 0;

	if (s >= 86400)
		snprintf(out, len, "%lud%02luh", s / 86400, s % 86400 / 3600);
	else if (s >= 3600)
		snprintf(out, len, "%luh%02lum", s / 3600, s % 3600 / 60);
	else if (s >= 60)
		snprintf(out, len, "%lum%02lus", s / 60, s % 60);
	else
		snprintf(out, len, "%lus", s);
}

static void
format_bytes(double v, char *out, size_t len)
{
	static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
	size_t i = 0;

	if (v < 1024) {
		snprintf(out, len, "%.0f B", v);
		return;
	}
	v /= 1024;
	while (v >= 1024 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024;
		i++;
	}
	snprintf(out, len, "%.1f %s", v, units[i]);
}

/* A cell as people read it (text and HTML); a text cell is escaped for the log rules. */
static const char *
format_cell(const struct status_col *col, const struct cell *c, char *out, size_t len)
{
	switch (col->kind) {
	case STATUS_TEXT:
		if (c->s == NULL)
			return "-";
		log_escape(c->s, strlen(c->s), out, len);
		return out;
	case STATUS_COUNT:
		snprintf(out, len, "%.0f", c->v);
		return out;
	case STATUS_BYTES:
		format_bytes(c->v, out, len);
		return out;
	case STATUS_SECONDS:
		format_seconds(c->v, out, len);
		return out;
	case STATUS_MS:
		if (c->v < 0)
			return "-";
		snprintf(out, len, "%.2f ms", c->v);
		return out;
	}
	return "-";
}

#define CELL_MAX 1024

static int
right_aligned(enum status_kind kind)
{
	return kind != STATUS_TEXT;
}

/* One cell padded to width; the last of a line is not padded on the right, and ends it. */
static void
text_cell(struct buf *b, const char *s, size_t width, int right, int last)
{
	if (right)
		buf_printf(b, "  %*s", (int)width, s);
	else if (last)
		buf_printf(b, "  %s", s);
	else
		buf_printf(b, "  %-*s", (int)width, s);
	if (last)
		buf_printf(b, "\n");
}

static void
text_table(struct buf *b, const struct table *t)
{
	size_t *width = xcalloc(t->ncols, sizeof(*width));
	size_t rows = table_rows(t), r, i;
	char tmp[CELL_MAX];

	buf_printf(b, "%s:%s\n", t->name, rows == 0 ? " none" : "");
	if (rows == 0) {
		free(width);
		return;
	}
	for (i = 0; i < t->ncols; i++)
		width[i] = strlen(t->cols[i].head);
	for (r = 0; r < rows; r++)
		for (i = 0; i < t->ncols; i++) {
			size_t n = strlen(format_cell(&t->cols[i], &t->cells[r * t->ncols + i], tmp,
			    sizeof(tmp)));
			if (n > width[i])
				width[i] = n;
		}
	for (i = 0; i < t->ncols; i++)
		text_cell(b, t->cols[i].head, width[i], right_aligned(t->cols[i].kind),
		    i + 1 == t->ncols);
	for (r = 0; r < rows; r++) {
		for (i = 0; i < t->ncols; i++)
			text_cell(b, format_cell(&t->cols[i], &t->cells[r * t->ncols + i], tmp,
			    sizeof(tmp)), width[i], right_aligned(t->cols[i].kind), i + 1 == t->ncols);
	}
	free(width);
}

char *
status_render_text(const struct status *st)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	for (i = 0; i < st->ntables; i++) {
		if (i > 0)
			buf_printf(&b, "\n");
		text_table(&b, &st->tables[i]);
	}
	return buf_take_string(&b);
}

/* A JSON string; every byte outside printable ASCII as \u00XX, so any input stays valid. */
static void
json_string(struct buf *b, const char *s)
{
	const unsigned char *p;

	buf_printf(b, "\"");
	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\')
			buf_printf(b, "\\%c", *p);
		else if (*p < 0x20 || *p >= 0x7f)
			buf_printf(b, "\\u%04x", *p);
		else
			buf_append(b, p, 1);
	}
	buf_printf(b, "\"");
}

static void
json_cell(struct buf *b, const struct status_col *col, const struct cell *c)
{
	switch (col->kind) {
	case STATUS_TEXT:
		if (c->s == NULL)
			buf_printf(b, "null");
		else
			json_string(b, c->s);
		return;
	case STATUS_COUNT:
	case STATUS_BYTES:
		buf_printf(b, "%.0f", c->v);
		return;
	case STATUS_SECONDS:
	case STATUS_MS:
		if (c->v < 0)
			buf_printf(b, "null");
		else
			buf_printf(b, "%.3f", c->v);
		return;
	}
}

static void
json_table(struct buf *b, const struct table *t)
{
	size_t rows = table_rows(t), r, i;

	json_string(b, t->name);
	buf_printf(b, ": [");
	for (r = 0; r < rows; r++) {
		buf_printf(b, "%s\n    {", r > 0 ? "," : "");
		for (i = 0; i < t->ncols; i++) {
			buf_printf(b, "%s", i > 0 ? ", " : "");
			json_string(b, t->cols[i].key);
			buf_printf(b, ": ");
			json_cell(b, &t->cols[i], &t->cells[r * t->ncols + i]);
		}
		buf_printf(b, "}");
	}
	buf_printf(b, "%s]", rows > 0 ? "\n  " : "");
}

char *
status_render_json(const struct status *st)
{
	struct buf b;
	size_t i;

	buf_init(&b);
	buf_printf(&b, "{\n  \"role\": \"%s\",\n  \"time\": %lld", st->role, (long long)st->at);
	for (i = 0; i < st->ntables; i++) {
		buf_printf(&b, ",\n  ");
		json_table(&b, &st->tables[i]);
	}
	buf_printf(&b, "\n}\n");
	return buf_take_string(&b);
}

/* HTML text: markup characters and every non-ASCII byte as character references. */
static void
html_text(struct buf *b, const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p != '\0'; p++) {
		if (*p == '<')
			buf_printf(b, "&lt;");
		else if (*p == '>')
			buf_printf(b, "&gt;");
		else if (*p == '&')
			buf_printf(b, "&amp;");
		else if (*p == '"')
			buf_printf(b, "&quot;");
		else if (*p == '\'')
			buf_printf(b, "&#39;");
		else if (*p < 0x20 || *p >= 0x7f)
			buf_printf(b, "&#x%02x;", *p);
		else
			buf_append(b, p, 1);
	}
}

static void
html_table(struct buf *b, const struct table *t)
{
	size_t rows = table_rows(t), r, i;

	buf_printf(b, "<h2>");
	html_text(b, t->name);
	buf_printf(b, "</h2>\n");
	if (rows == 0) {
		buf_printf(b, "<p class=\"none\">none</p>\n");
		return;
	}
	buf_printf(b, "<table id=\"");
	html_text(b, t->name);
	buf_printf(b, "\">\n<tr>");
	for (i = 0; i < t->ncols; i++) {
		buf_printf(b, "<th>");
		html_text(b, t->cols[i].head);
		buf_printf(b, "</th>");
	}
	buf_printf(b, "</tr>\n");
	for (r = 0; r < rows; r++) {
		buf_printf(b, "<tr>");
		for (i = 0; i < t->ncols; i++) {
			const struct cell *c = &t->cells[r * t->ncols + i];
			char tmp[CELL_MAX];

			buf_printf(b, right_aligned(t->cols[i].kind) ? "<td class=\"n\">" : "<td>");
			/* The raw string, escaped for HTML only: the page shows what the peer sent. */
			if (t->cols[i].kind == STATUS_TEXT && c->s != NULL)
				html_text(b, c->s);
			else
				html_text(b, format_cell(&t->cols[i], c, tmp, sizeof(tmp)));
			buf_printf(b, "</td>");
		}
		buf_printf(b, "</tr>\n");
	}
	buf_printf(b, "</table>\n");
}

static const char html_style[] =
    "body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222;background:#fff}"
    "h1{font-size:1.3em;margin:0 0 .2em}h2{font-size:1.05em;margin:1.4em 0 .4em}"
    "table{border-collapse:collapse}th,td{padding:.25em .8em;border-bottom:1px solid #ddd;"
    "text-align:left;white-space:nowrap}th{background:#f3f3f3;font-weight:600}"
    "td.n{text-align:right;font-variant-numeric:tabular-nums}"
    ".none,.meta{color:#777}";

char *
status_render_html(const struct status *st, int refresh)
{
	struct buf b;
	char host[256] = "";
	char when[64];
	struct tm tm;
	size_t i;

	gethostname(host, sizeof(host) - 1);
	gmtime_r(&st->at, &tm);
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
	buf_init(&b);
	buf_printf(&b, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	    "<meta http-equiv=\"refresh\" content=\"%d\">\n<title>%s status: ", refresh, st->role);
	html_text(&b, host);
	buf_printf(&b, "</title>\n<style>%s</style>\n</head>\n<body>\n<h1>%s on ", html_style,
	    st->role);
	html_text(&b, host);
	buf_printf(&b, "</h1>\n<p class=\"meta\">%s, reloads every %d s; "
	    "<a href=\"/metrics\">metrics</a></p>\n", when, refresh);
	for (i = 0; i < st->ntables; i++)
		html_table(&b, &st->tables[i]);
	buf_printf(&b, "</body>\n</html>\n");
	return buf_take_string(&b);
}
