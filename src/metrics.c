/*
 * The metrics registry and its Prometheus text rendering. The registry is a
 * list of metrics in registration order, each with a list of label-set
 * slots; every slot is its own allocation, so the pointers handed to hot
 * paths stay valid while their holders keep a reference. Series of departed
 * agents and removed services must not pile up (agents come and go under
 * ever new names), so a slot nobody references goes: a gauge at once, a
 * counter after METRICS_IDLE_MAX younger idle counters, so that an agent that
 * reconnects finds its byte counts where it left them. metrics-http.c serves
 * what metrics_render() writes.
 */
#include "rtun-build.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "log.h"
#include "metrics.h"
#include "xmalloc.h"

enum metric_type {
	METRIC_COUNTER,
	METRIC_GAUGE,
};

/* One label set of a metric. */
struct slot {
	struct slot *next;
	char *labels;
	uint64_t count;
	double value;
	unsigned int refs;
	uint64_t idle_since;     /* 0 while referenced; else when it went idle (a sequence) */
};

struct metric {
	struct metric *next;
	char *name;
	char *help;
	enum metric_type type;
	struct slot *slots;
	struct slot **slots_tail;
};

struct metrics {
	struct metric *metrics;
	struct metric **metrics_tail;
	uint64_t idle_seq;       /* last idle_since handed out */
	size_t nidle;            /* counters with no reference */
};

/* The escape for c in label values (quote too) or HELP text (no quote); NULL if none. */
static const char *
escape_of(char c, int quote)
{
	if (c == '\\')
		return "\\\\";
	if (c == '\n')
		return "\\n";
	if (c == '"' && quote)
		return "\\\"";
	return NULL;
}

/* Append s with HELP escaping. */
static void
sb_help(struct buf *sb, const char *s)
{
	const char *e;

	for (; *s != '\0'; s++) {
		if ((e = escape_of(*s, 0)) != NULL)
			buf_append(sb, e, strlen(e));
		else
			buf_append(sb, s, 1);
	}
}

const char *
metrics_label_value(const char *value, char *out, size_t outlen)
{
	const char *e;
	size_t n = 0, k;
	char one[2] = { 0, 0 };

	if (outlen == 0)
		return out;
	/* Truncate rather than overflow, and never in the middle of an escape. */
	for (; *value != '\0'; value++) {
		if ((e = escape_of(*value, 1)) == NULL) {
			one[0] = *value;
			e = one;
		}
		k = strlen(e);
		if (n + k >= outlen)
			break;
		memcpy(out + n, e, k);
		n += k;
	}
	out[n] = '\0';
	return out;
}

/* A gauge as Prometheus reads it: the shortest decimal that reads back exactly. */
static void
sb_double(struct buf *sb, double v)
{
	char tmp[32];
	int prec;

	if (isnan(v)) {
		buf_printf(sb, "NaN");
		return;
	}
	if (isinf(v)) {
		buf_printf(sb, "%s", v > 0 ? "+Inf" : "-Inf");
		return;
	}
	for (prec = 1; prec < 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
		if (strtod(tmp, NULL) == v)
			break;
	}
	buf_printf(sb, "%.*g", prec, v);
}

static void
render_metric(struct buf *sb, const struct metric *mt)
{
	const struct slot *s;

	buf_printf(sb, "# HELP %s ", mt->name);
	sb_help(sb, mt->help);
	buf_printf(sb, "\n# TYPE %s %s\n", mt->name,
	    mt->type == METRIC_COUNTER ? "counter" : "gauge");
	for (s = mt->slots; s != NULL; s = s->next) {
		if (s->labels[0] == '\0')
			buf_printf(sb, "%s ", mt->name);
		else
			buf_printf(sb, "%s{%s} ", mt->name, s->labels);
		if (mt->type == METRIC_COUNTER)
			buf_printf(sb, "%" PRIu64 "\n", s->count);
		else {
			sb_double(sb, s->value);
			buf_printf(sb, "\n");
		}
	}
}

char *
metrics_render(const struct metrics *m)
{
	struct buf b;
	const struct metric *mt;

	buf_init(&b);
	for (mt = m->metrics; mt != NULL; mt = mt->next)
		render_metric(&b, mt);
	return buf_take_string(&b);
}

/* The slot for name and labels, creating the metric and the slot as needed. */
static struct slot *
metrics_slot(struct metrics *m, const char *name, const char *help, const char *labels,
    enum metric_type type)
{
	struct metric *mt;
	struct slot *s;

	if (labels == NULL)
		labels = "";
	for (mt = m->metrics; mt != NULL && strcmp(mt->name, name) != 0; mt = mt->next)
		;
	if (mt == NULL) {
		mt = xcalloc(1, sizeof(*mt));
		mt->name = xstrdup(name);
		mt->help = xstrdup(help != NULL ? help : "");
		mt->type = type;
		mt->slots_tail = &mt->slots;
		*m->metrics_tail = mt;
		m->metrics_tail = &mt->next;
	} else if (mt->type != type) {
		/* A bug in the caller, and one every test run would hit. */
		log_error("metrics: %s registered both as a counter and as a gauge", name);
		abort();
	}
	for (s = mt->slots; s != NULL; s = s->next) {
		if (strcmp(s->labels, labels) == 0)
			break;
	}
	if (s == NULL) {
		s = xcalloc(1, sizeof(*s));
		s->labels = xstrdup(labels);
		*mt->slots_tail = s;
		mt->slots_tail = &s->next;
	} else if (s->refs == 0) {
		s->idle_since = 0;
		m->nidle--;
	}
	s->refs++;
	return s;
}

/* Unlink s from mt and free it. */
static void
slot_free(struct metric *mt, struct slot *s)
{
	struct slot **pp;

	for (pp = &mt->slots; *pp != s; pp = &(*pp)->next)
		;
	*pp = s->next;
	if (mt->slots_tail == &s->next)
		mt->slots_tail = pp;
	free(s->labels);
	free(s);
}

/* Free the counter that has been idle longest. */
static void
evict_oldest_idle(struct metrics *m)
{
	struct metric *mt, *in = NULL;
	struct slot *s, *old = NULL;

	for (mt = m->metrics; mt != NULL; mt = mt->next) {
		for (s = mt->slots; s != NULL; s = s->next) {
			if (s->idle_since != 0 && (old == NULL || s->idle_since < old->idle_since)) {
				old = s;
				in = mt;
			}
		}
	}
	if (old == NULL)
		return;
	slot_free(in, old);
	m->nidle--;
}

/* The slot whose count or value is at p, and its metric in *mtp; NULL if none. */
static struct slot *
slot_of(const struct metrics *m, const void *p, struct metric **mtp)
{
	struct metric *mt;
	struct slot *s;

	for (mt = m->metrics; mt != NULL; mt = mt->next) {
		for (s = mt->slots; s != NULL; s = s->next) {
			if ((const void *)&s->count == p || (const void *)&s->value == p) {
				*mtp = mt;
				return s;
			}
		}
	}
	return NULL;
}

void
metrics_release(struct metrics *m, const void *slot)
{
	struct metric *mt = NULL;
	struct slot *s;

	if (slot == NULL)
		return;
	if ((s = slot_of(m, slot, &mt)) == NULL || s->refs == 0) {
		/* A bug in the caller: releasing what it does not hold. */
		log_error("metrics: release of a slot that is not held");
		abort();
	}
	if (--s->refs > 0)
		return;
	if (mt->type == METRIC_GAUGE) {
		slot_free(mt, s);
		return;
	}
	s->idle_since = ++m->idle_seq;
	if (++m->nidle > METRICS_IDLE_MAX)
		evict_oldest_idle(m);
}

uint64_t *
metrics_counter(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return &metrics_slot(m, name, help, labels, METRIC_COUNTER)->count;
}

double *
metrics_gauge(struct metrics *m, const char *name, const char *help, const char *labels)
{
	return &metrics_slot(m, name, help, labels, METRIC_GAUGE)->value;
}

struct metrics *
metrics_new(void)
{
	struct metrics *m = xcalloc(1, sizeof(*m));

	m->metrics_tail = &m->metrics;
	return m;
}

void
metrics_free(struct metrics *m)
{
	struct metric *mt;
	struct slot *s;

	if (m == NULL)
		return;
	while ((mt = m->metrics) != NULL) {
		m->metrics = mt->next;
		while ((s = mt->slots) != NULL) {
			mt->slots = s->next;
			free(s->labels);
			free(s);
		}
		free(mt->name);
		free(mt->help);
		free(mt);
	}
	free(m);
}

