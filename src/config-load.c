/*
 * The INI loader engine. inih splits key = value lines and strips comments;
 * the rest is ours. Debian's inih gives the handler no line number and only
 * reports the first malformed line, so a reader of our own feeds it: the
 * reader counts lines, rejects over-long and malformed ones, and follows
 * section headers itself (inih would also truncate long names). The schema's
 * table of keys per section then drives parsing, defaults and cross-checks,
 * and every problem becomes one "file:line: message" so the user sees all of
 * them. The generic value setters live here too; the schemas in config.c add
 * the ones only they need.
 */
#include "rtun-build.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ini.h>

#include "config-load.h"
#include "net.h"
#include "xmalloc.h"

#define TITLE_MAX 256
#define DURATION_MIN 0.001
#define DURATION_MAX 86400.0
#define UTF8_BOM "\xef\xbb\xbf"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct config_loader {
	const char *path;
	FILE *fp;
	int line;                   /* line just read */
	int errline;                /* line errors from setters are reported on */
	int read_errno;
	size_t nerrs;               /* errors this load reported */
	char *buf;
	size_t bufsz;
	struct config_errors *errs;
	void *conf;                 /* what the schema fills */
	const struct config_section *sections;
	size_t nsections;
	int first[CONFIG_SECTIONS_MAX];    /* header line of each section kind's first use */
	int in_section;             /* a header was seen, known or not */
	const struct config_section *cur;  /* NULL outside a section or in a skipped one */
	char title[TITLE_MAX];      /* "service web", for messages */
	int sec_line;
	size_t sec_errs;            /* nerrs when the section began */
	void *base;
	int seen[CONFIG_KEYS_MAX];         /* line each key of cur was set on, 0 if not */
};

struct unit {
	const char *suffix;
	uint64_t mult;
};

/* Durations are scaled in milliseconds so the table holds integers. */
static const struct unit duration_units[] = {
	{ "", 1000 }, { "s", 1000 }, { "ms", 1 }, { "m", 60000 }, { "h", 3600000 },
};

static const struct unit size_units[] = {
	{ "", 1 }, { "k", 1 << 10 }, { "K", 1 << 10 }, { "KiB", 1 << 10 },
	{ "m", 1 << 20 }, { "M", 1 << 20 }, { "MiB", 1 << 20 },
	{ "g", 1 << 30 }, { "G", 1 << 30 }, { "GiB", 1 << 30 },
};

void
config_error(struct config_loader *ld, int line, const char *fmt, ...)
{
	struct config_errors *errs = ld->errs;
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ld->nerrs++;
	errs->msgs = xreallocarray(errs->msgs, errs->n + 1, sizeof(*errs->msgs));
	if (line > 0)
		errs->msgs[errs->n++] = xasprintf("%s:%d: %s", ld->path, line, msg);
	else
		errs->msgs[errs->n++] = xasprintf("%s: %s", ld->path, msg);
}

/* Report a bad value as "KEY: message" on the line being applied; returns -1. */
int
config_key_error(struct config_loader *ld, const struct config_key *k, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	config_error(ld, ld->errline, "%s: %s", k->name, msg);
	return -1;
}

void *
config_loader_conf(const struct config_loader *ld)
{
	return ld->conf;
}

void *
config_loader_base(const struct config_loader *ld)
{
	return ld->base;
}

int
config_loader_line(const struct config_loader *ld)
{
	return ld->line;
}

int
config_section_line(const struct config_loader *ld)
{
	return ld->sec_line;
}

/* Exactly n decimal digits into *out; -1 on anything else or overflow. */
static int
parse_digits(const char *s, size_t n, uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || strspn(s, "0123456789") < n)
		return -1;
	for (i = 0; i < n; i++) {
		uint64_t d = (uint64_t)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

static int
parse_uint(const char *s, uint64_t *out)
{
	return parse_digits(s, strlen(s), out);
}

static int
unit_find(const struct unit *units, size_t n, const char *suffix, uint64_t *mult)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(units[i].suffix, suffix) == 0) {
			*mult = units[i].mult;
			return 0;
		}
	}
	return -1;
}

int
config_parse_duration(const char *s, double *out)
{
	size_t n = strspn(s, "0123456789.");
	uint64_t ms;
	char *end;
	double v;

	if (n == 0 || unit_find(duration_units, NELEM(duration_units), s + n, &ms) == -1)
		return -1;
	v = strtod(s, &end);
	if (end != s + n || !isfinite(v * (double)ms))
		return -1;
	*out = v * (double)ms / 1000.0;
	return 0;
}

int
config_parse_size(const char *s, uint64_t *out)
{
	size_t n = strspn(s, "0123456789");
	uint64_t v, mult;

	if (unit_find(size_units, NELEM(size_units), s + n, &mult) == -1 ||
	    parse_digits(s, n, &v) == -1 || v > UINT64_MAX / mult)
		return -1;
	*out = v * mult;
	return 0;
}

static char *
trim(char *s)
{
	char *end;

	s += strspn(s, " \t\r\n");
	end = s + strlen(s);
	while (end > s && strchr(" \t\r\n", end[-1]) != NULL)
		*--end = '\0';
	return s;
}

int
config_set_string(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	if (*val == '\0')
		return config_key_error(ld, k, "must not be empty");
	*(char **)field = xstrdup(val);
	return 0;
}

int
config_set_duration(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	double d;

	if (config_parse_duration(val, &d) == -1)
		return config_key_error(ld, k,
		    "\"%s\" is not a duration (e.g. 30s, 500ms, 2m)", val);
	if (d < DURATION_MIN || d > DURATION_MAX)
		return config_key_error(ld, k, "\"%s\" is out of range (1ms to 24h)", val);
	*(double *)field = d;
	return 0;
}

int
config_set_idle(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	double d;

	if (strcmp(val, "off") == 0) {
		*(double *)field = 0;
		return 0;
	}
	if (config_parse_duration(val, &d) == -1)
		return config_key_error(ld, k, "\"%s\" is neither off nor a duration (e.g. 80s, 5m)",
		    val);
	return config_set_duration(ld, k, val, field);
}

static int
check_range(struct config_loader *ld, const struct config_key *k, const char *val, uint64_t v)
{
	if (v >= k->lo && v <= k->hi)
		return 0;
	return config_key_error(ld, k, "\"%s\" is out of range (%llu to %llu)", val,
	    (unsigned long long)k->lo, (unsigned long long)k->hi);
}

int
config_set_size(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	uint64_t v;

	if (config_parse_size(val, &v) == -1)
		return config_key_error(ld, k, "\"%s\" is not a size (e.g. 65536, 64K, 1M)", val);
	if (check_range(ld, k, val, v) == -1)
		return -1;
	*(uint32_t *)field = (uint32_t)v;
	return 0;
}

int
config_set_count(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	uint64_t v;

	if (parse_uint(val, &v) == -1)
		return config_key_error(ld, k, "\"%s\" is not a whole number", val);
	if (check_range(ld, k, val, v) == -1)
		return -1;
	*(uint32_t *)field = (uint32_t)v;
	return 0;
}

int
config_set_port(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	uint64_t v;

	if (parse_uint(val, &v) == -1 || v < 1 || v > 65535)
		return config_key_error(ld, k, "\"%s\" is not a port (1-65535)", val);
	*(uint16_t *)field = (uint16_t)v;
	return 0;
}

int
config_set_bool(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
		*(int *)field = 1;
	else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
		*(int *)field = 0;
	else
		return config_key_error(ld, k, "\"%s\" is not yes or no", val);
	return 0;
}

int
config_set_file(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	if (access(val, R_OK) == -1)
		return config_key_error(ld, k, "\"%s\": %s", val, strerror(errno));
	*(char **)field = xstrdup(val);
	return 0;
}

int
config_set_address(struct config_loader *ld, const struct config_key *k, const char *val,
    int passive, char **text, struct net_addr *addr)
{
	char *host, *port, err[256];
	const char *why;
	int r;

	if (net_split_hostport(val, &host, &port, &why) == -1)
		return config_key_error(ld, k, "\"%s\": %s", val, why);
	if ((r = net_resolve(host, port, passive, addr, err, sizeof(err))) == -1)
		config_key_error(ld, k, "\"%s\": %s", val, err);
	else
		*text = xstrdup(val);
	free(host);
	free(port);
	return r;
}

/* Line a key was set on, or the section header's when it was left to its default. */
int
config_key_line(const struct config_loader *ld, const char *name)
{
	size_t i;

	for (i = 0; i < ld->cur->nkeys; i++) {
		if (strcmp(ld->cur->keys[i].name, name) == 0 && ld->seen[i] != 0)
			return ld->seen[i];
	}
	return ld->sec_line;
}

int
config_later_line(const struct config_loader *ld, const char *a, const char *b)
{
	int la = config_key_line(ld, a), lb = config_key_line(ld, b);

	return la > lb ? la : lb;
}

static const char *
key_default(const struct config_key *k, char *buf, size_t len)
{
	if (k->dflt_fn != NULL)
		return k->dflt_fn(buf, len);
	if (k->dflt != NULL)
		return k->dflt;
	snprintf(buf, len, "%.17g", k->ndflt);
	return buf;
}

/* The one place defaults are filled in, and required keys are found missing. */
static void
section_defaults(struct config_loader *ld)
{
	char buf[HOST_NAME_MAX + 1];
	size_t i;

	ld->errline = ld->sec_line;
	for (i = 0; i < ld->cur->nkeys; i++) {
		const struct config_key *k = &ld->cur->keys[i];
		if (ld->seen[i] != 0)
			continue;
		if (k->required)
			config_error(ld, ld->sec_line, "missing required key \"%s\" in [%s]",
			    k->name, ld->title);
		else if (!k->optional)
			k->set(ld, k, key_default(k, buf, sizeof(buf)), (char *)ld->base + k->off);
	}
}

static void
section_end(struct config_loader *ld)
{
	if (ld->cur == NULL)
		return;
	section_defaults(ld);
	if (ld->nerrs == ld->sec_errs && ld->cur->close != NULL)
		ld->cur->close(ld);
	ld->cur = NULL;
	ld->base = NULL;
}

static const struct config_section *
section_find(struct config_loader *ld, const char *kind, const char *arg)
{
	const struct config_section *s;

	for (s = ld->sections; s < ld->sections + ld->nsections; s++) {
		if (strcmp(s->name, kind) != 0)
			continue;
		if (s->named && *arg == '\0')
			config_error(ld, ld->line, "[%s] needs a name: [%s NAME]", kind, kind);
		else if (!s->named && *arg != '\0')
			config_error(ld, ld->line, "[%s] takes no name", kind);
		else if (!s->named && ld->first[s - ld->sections] != 0)
			config_error(ld, ld->line, "duplicate [%s] section (first on line %d)",
			    kind, ld->first[s - ld->sections]);
		else
			return s;
		return NULL;
	}
	config_error(ld, ld->line, "unknown section [%s]", ld->title);
	return NULL;
}

/* A "[kind arg]" header; title is the text between the brackets, trimmed. */
static void
section_begin(struct config_loader *ld, char *title)
{
	const struct config_section *s;
	char *arg;

	section_end(ld);
	ld->in_section = 1;
	ld->sec_line = ld->line;
	ld->sec_errs = ld->nerrs;
	snprintf(ld->title, sizeof(ld->title), "%s", title);
	arg = title + strcspn(title, " \t");
	if (*arg != '\0')
		*arg++ = '\0';
	arg = trim(arg);
	if ((s = section_find(ld, title, arg)) == NULL)
		return;
	if (ld->first[s - ld->sections] == 0)
		ld->first[s - ld->sections] = ld->line;
	if (s->named)
		snprintf(ld->title, sizeof(ld->title), "%s %s", title, arg);
	if ((ld->base = s->open(ld, arg)) == NULL)
		return;
	ld->cur = s;
	memset(ld->seen, 0, sizeof(ld->seen));
}

/*
 * A line starting with '['. A malformed header still ends the section before
 * it, so the keys under it are not blamed on the wrong section.
 */
static void
header_line(struct config_loader *ld, char *p)
{
	char *close, *rest;

	if ((close = strchr(p, ']')) == NULL) {
		config_error(ld, ld->line, "syntax error: section header without ']'");
		section_end(ld);
		ld->in_section = 1;
		return;
	}
	*close = '\0';
	rest = close + 1 + strspn(close + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		config_error(ld, ld->line, "syntax error: unexpected text after ']'");
	section_begin(ld, trim(p + 1));
}

/* True when inih will find a '=' or ':' before an inline comment; p[0] is never ';'. */
static int
has_separator(const char *p)
{
	for (; *p != '\0'; p++) {
		if (*p == '=' || *p == ':')
			return 1;
		if (*p == ';' && (p[-1] == ' ' || p[-1] == '\t'))
			return 0;
	}
	return 0;
}

/* The text inih gets for the line in ld->buf: "" for lines handled or rejected here. */
static const char *
line_filter(struct config_loader *ld, size_t n, size_t max)
{
	char *p = ld->buf;

	if (strlen(p) != n) {
		config_error(ld, ld->line, "line contains a NUL byte");
		return "";
	}
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n + 3 > max) {
		config_error(ld, ld->line, "line is too long (more than %zu characters)", max - 3);
		return "";
	}
	if (ld->line == 1 && strncmp(p, UTF8_BOM, 3) == 0)
		p += 3;
	/* Leading blanks are dropped so inih never joins an indented line to the last value. */
	p += strspn(p, " \t");
	if (*p == '[')
		header_line(ld, p);
	else if (*p == ';' || *p == '#' || *p == '\r' || *p == '\n' || *p == '\0')
		return "";
	else if (!has_separator(p))
		config_error(ld, ld->line, "syntax error: expected \"key = value\"");
	else
		return p;
	return "";
}

/* An ini_reader: fgets() that sees whole lines, whatever their length. */
static char *
read_line(char *str, int num, void *stream)
{
	struct config_loader *ld = stream;
	ssize_t n;

	if ((n = getline(&ld->buf, &ld->bufsz, ld->fp)) == -1) {
		if (ferror(ld->fp))
			ld->read_errno = errno;
		return NULL;
	}
	ld->line++;
	snprintf(str, (size_t)num, "%s", line_filter(ld, (size_t)n, (size_t)num));
	return str;
}

static const struct config_key *
key_find(const struct config_section *s, const char *name)
{
	size_t i;

	for (i = 0; i < s->nkeys; i++) {
		if (strcmp(s->keys[i].name, name) == 0)
			return &s->keys[i];
	}
	return NULL;
}

/* The ini_handler; never fails, so inih goes on and every problem is reported. */
static int
on_value(void *user, const char *section, const char *name, const char *value)
{
	struct config_loader *ld = user;
	const struct config_key *k;
	size_t i;

	if (ld->cur == NULL) {
		if (!ld->in_section)
			config_error(ld, ld->line, "\"%s\" is outside any section", name);
		return 1;
	}
	if ((k = key_find(ld->cur, name)) == NULL) {
		config_error(ld, ld->line, "unknown key \"%s\" in [%s]", name, ld->title);
		return 1;
	}
	i = (size_t)(k - ld->cur->keys);
	if (ld->seen[i] != 0 && !k->multi) {
		config_error(ld, ld->line, "duplicate key \"%s\" in [%s] (first set on line %d)",
		    name, ld->title, ld->seen[i]);
		return 1;
	}
	ld->seen[i] = ld->errline = ld->line;
	k->set(ld, k, value, (char *)ld->base + k->off);
	return 1;
}

static void
parse_stream(struct config_loader *ld)
{
	size_t i;
	int r;

	r = ini_parse_stream(read_line, ld, on_value, ld);
	section_end(ld);
	/* Our reader passes inih only lines it accepts; this catches any it still rejects. */
	if (r > 0)
		config_error(ld, r, "syntax error");
	else if (r < 0)
		config_error(ld, 0, "cannot parse (inih error %d)", r);
	if (ld->read_errno != 0)
		config_error(ld, 0, "cannot read: %s", strerror(ld->read_errno));
	for (i = 0; i < ld->nsections; i++) {
		if (!ld->sections[i].named && ld->first[i] == 0)
			config_error(ld, 0, "missing [%s] section", ld->sections[i].name);
	}
}

int
config_load_file(const char *path, const struct config_section *sections, size_t nsections,
    void *conf, struct config_errors *errs)
{
	struct config_loader ld;

	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.errs = errs;
	ld.conf = conf;
	ld.sections = sections;
	ld.nsections = nsections;
	if ((ld.fp = fopen(path, "r")) == NULL) {
		config_error(&ld, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	parse_stream(&ld);
	fclose(ld.fp);
	free(ld.buf);
	return ld.nerrs > 0 ? -1 : 0;
}

void
config_errors_free(struct config_errors *errs)
{
	size_t i;

	for (i = 0; i < errs->n; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	errs->msgs = NULL;
	errs->n = 0;
}
