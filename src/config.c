/*
 * Loading rtund.conf and rtun.conf. inih splits key = value lines and strips
 * comments; the rest is ours. Debian's inih gives the handler no line number
 * and only reports the first malformed line, so a reader of our own feeds it:
 * the reader counts lines, rejects over-long and malformed ones, and follows
 * section headers itself (inih would also truncate long names). A table of
 * keys per section then drives parsing, defaults and cross-checks, and every
 * problem becomes one "file:line: message" so the user sees all of them.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
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

#include "config.h"
#include "log.h"
#include "net.h"
#include "portset.h"
#include "transport-tls.h"
#include "xmalloc.h"

#define KEYS_MAX 32
#define SECTIONS_MAX 4
#define TITLE_MAX 256
#define MAX_STREAMS_LIMIT 1000000
#define DURATION_MIN 0.001
#define DURATION_MAX 86400.0
#define NAME_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-"
#define UTF8_BOM "\xef\xbb\xbf"
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

struct loader;
struct key;

/* Parse val into field (base + offset); reports its own error and returns -1. */
typedef int key_set_fn(struct loader *, const struct key *, const char *val, void *field);

struct key {
	const char *name;
	key_set_fn *set;
	size_t off;
	int required;
	int optional;                            /* no default: left unset when absent */
	int multi;                               /* may repeat; each value is appended */
	const char *dflt;                        /* default text, parsed like a value */
	double ndflt;                            /* numeric default, when dflt is NULL */
	const char *(*dflt_fn)(char *, size_t);  /* computed default text */
	uint64_t lo, hi;                         /* accepted range of counts and sizes */
};

struct section {
	const char *name;
	const struct key *keys;
	size_t nkeys;
	int named;                               /* [name ARG] rather than [name] */
	/* Start a section; returns the struct its keys fill, NULL to skip it. */
	void *(*open)(struct loader *, const char *arg);
	/* Checks across keys, run when the section had no other error. */
	void (*close)(struct loader *);
};

struct loader {
	const char *path;
	FILE *fp;
	int line;                   /* line just read */
	int errline;                /* line errors from key_set_fn are reported on */
	int read_errno;
	size_t nerrs;               /* errors this load reported */
	char *buf;
	size_t bufsz;
	struct config_errors *errs;
	void *conf;                 /* struct server_conf or struct agent_conf */
	const struct section *sections;
	size_t nsections;
	int first[SECTIONS_MAX];    /* header line of each section kind's first use */
	int in_section;             /* a header was seen, known or not */
	const struct section *cur;  /* NULL outside a section or in a skipped one */
	char title[TITLE_MAX];      /* "service web", for messages */
	int sec_line;
	size_t sec_errs;            /* nerrs when the section began */
	void *base;
	int seen[KEYS_MAX];         /* line each key of cur was set on, 0 if not */
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

static void __attribute__((format(printf, 3, 4)))
loader_error(struct loader *ld, int line, const char *fmt, ...)
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
static int __attribute__((format(printf, 3, 4)))
key_error(struct loader *ld, const struct key *k, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	loader_error(ld, ld->errline, "%s: %s", k->name, msg);
	return -1;
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

static int
name_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 1 && n <= CONFIG_NAME_MAX && strspn(s, NAME_CHARS) == n;
}

static int
set_string(struct loader *ld, const struct key *k, const char *val, void *field)
{
	if (*val == '\0')
		return key_error(ld, k, "must not be empty");
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_duration(struct loader *ld, const struct key *k, const char *val, void *field)
{
	double d;

	if (config_parse_duration(val, &d) == -1)
		return key_error(ld, k, "\"%s\" is not a duration (e.g. 30s, 500ms, 2m)", val);
	if (d < DURATION_MIN || d > DURATION_MAX)
		return key_error(ld, k, "\"%s\" is out of range (1ms to 24h)", val);
	*(double *)field = d;
	return 0;
}

static int
check_range(struct loader *ld, const struct key *k, const char *val, uint64_t v)
{
	if (v >= k->lo && v <= k->hi)
		return 0;
	return key_error(ld, k, "\"%s\" is out of range (%llu to %llu)", val,
	    (unsigned long long)k->lo, (unsigned long long)k->hi);
}

static int
set_size(struct loader *ld, const struct key *k, const char *val, void *field)
{
	uint64_t v;

	if (config_parse_size(val, &v) == -1)
		return key_error(ld, k, "\"%s\" is not a size (e.g. 65536, 64K, 1M)", val);
	if (check_range(ld, k, val, v) == -1)
		return -1;
	*(uint32_t *)field = (uint32_t)v;
	return 0;
}

static int
set_count(struct loader *ld, const struct key *k, const char *val, void *field)
{
	uint64_t v;

	if (parse_uint(val, &v) == -1)
		return key_error(ld, k, "\"%s\" is not a whole number", val);
	if (check_range(ld, k, val, v) == -1)
		return -1;
	*(uint32_t *)field = (uint32_t)v;
	return 0;
}

static int
set_port(struct loader *ld, const struct key *k, const char *val, void *field)
{
	uint64_t v;

	if (parse_uint(val, &v) == -1 || v < 1 || v > 65535)
		return key_error(ld, k, "\"%s\" is not a port (1-65535)", val);
	*(uint16_t *)field = (uint16_t)v;
	return 0;
}

static int
set_log_level(struct loader *ld, const struct key *k, const char *val, void *field)
{
	int level;

	if ((level = log_level_parse(val)) == -1)
		return key_error(ld, k, "\"%s\" is not a log level (error, warn, info, debug)",
		    val);
	*(int *)field = level;
	return 0;
}

static int
set_log_target(struct loader *ld, const struct key *k, const char *val, void *field)
{
	if (strcmp(val, "stderr") != 0 && strcmp(val, "syslog") != 0)
		return key_error(ld, k, "\"%s\" is not a log target (stderr, syslog)", val);
	*(int *)field = strcmp(val, "syslog") == 0;
	return 0;
}

static int
set_proxy_protocol(struct loader *ld, const struct key *k, const char *val, void *field)
{
	static const char *const names[] = { "none", "v1", "v2" };
	size_t i;

	for (i = 0; i < NELEM(names); i++) {
		if (strcmp(val, names[i]) == 0) {
			*(int *)field = (int)i;
			return 0;
		}
	}
	return key_error(ld, k, "\"%s\" is not a PROXY protocol version (none, v1, v2)", val);
}

static const char *const transport_names[] = { "tcp", "tls", "ws", "wss" };

/* "tcp" -> CONFIG_TRANSPORT_TCP ...; 0 if unknown. */
static int
transport_bit(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < NELEM(transport_names); i++) {
		if (strlen(transport_names[i]) == len && strncmp(s, transport_names[i], len) == 0)
			return 1 << i;
	}
	return 0;
}

const char *
config_transport_name(int transport)
{
	size_t i;

	for (i = 0; i < NELEM(transport_names); i++) {
		if (transport == 1 << i)
			return transport_names[i];
	}
	return "?";
}

static int
set_transport(struct loader *ld, const struct key *k, const char *val, void *field)
{
	if ((*(int *)field = transport_bit(val, strlen(val))) == 0)
		return key_error(ld, k, "\"%s\" is not a transport (tcp, tls, ws, wss)", val);
	return 0;
}

/* A list such as "tcp, tls, wss" into a bit set. */
static int
set_transports(struct loader *ld, const struct key *k, const char *val, void *field)
{
	const char *p = val;
	size_t len;
	int bits = 0, bit;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if ((len = strcspn(p, " \t,")) == 0)
			break;
		if ((bit = transport_bit(p, len)) == 0)
			return key_error(ld, k, "\"%.*s\" is not a transport (tcp, tls, ws, wss)",
			    (int)len, p);
		bits |= bit;
		p += len;
	}
	if (bits == 0)
		return key_error(ld, k, "no transport listed");
	*(int *)field = bits;
	return 0;
}

static int
set_bool(struct loader *ld, const struct key *k, const char *val, void *field)
{
	if (strcmp(val, "yes") == 0 || strcmp(val, "true") == 0 || strcmp(val, "1") == 0)
		*(int *)field = 1;
	else if (strcmp(val, "no") == 0 || strcmp(val, "false") == 0 || strcmp(val, "0") == 0)
		*(int *)field = 0;
	else
		return key_error(ld, k, "\"%s\" is not yes or no", val);
	return 0;
}

static int
set_file(struct loader *ld, const struct key *k, const char *val, void *field)
{
	if (access(val, R_OK) == -1)
		return key_error(ld, k, "\"%s\": %s", val, strerror(errno));
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_ws_path(struct loader *ld, const struct key *k, const char *val, void *field)
{
	if (val[0] != '/' || strpbrk(val, " \t\r\n") != NULL)
		return key_error(ld, k, "\"%s\" is not a path (it starts with /, no spaces)", val);
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_fingerprint(struct loader *ld, const struct key *k, const char *val, void *field)
{
	uint8_t fp[TLS_FINGERPRINT_LEN];

	if (tls_fingerprint_parse(val, fp) == -1)
		return key_error(ld, k, "\"%s\" is not sha256:<64 hex digits>", val);
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_ws_header(struct loader *ld, const struct key *k, const char *val, void *field)
{
	struct agent_conf *ac = ld->base;
	const char *colon = strchr(val, ':');

	if (colon == NULL || colon == val || strpbrk(val, "\r\n") != NULL ||
	    strcspn(val, " \t:") != (size_t)(colon - val))
		return key_error(ld, k, "\"%s\" is not a header line \"Name: value\"", val);
	ac->ws_headers = xreallocarray(ac->ws_headers, ac->nws_headers + 1,
	    sizeof(*ac->ws_headers));
	ac->ws_headers[ac->nws_headers++] = xstrdup(val);
	return 0;
}

static int
set_name(struct loader *ld, const struct key *k, const char *val, void *field)
{
	if (!name_valid(val))
		return key_error(ld, k, "\"%s\" is not a valid name (1-%d of A-Z a-z 0-9 . _ -)",
		    val, CONFIG_NAME_MAX);
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_bind_addr(struct loader *ld, const struct key *k, const char *val, void *field)
{
	unsigned char a[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, val, a) != 1 && inet_pton(AF_INET6, val, a) != 1)
		return key_error(ld, k, "\"%s\" is not a numeric IPv4 or IPv6 address", val);
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_ports(struct loader *ld, const struct key *k, const char *val, void *field)
{
	struct server_conf *sc = ld->base;
	const char *why;

	if (portset_parse(val, &sc->allow_ports, &why) == -1)
		return key_error(ld, k, "\"%s\": %s", val, why);
	*(char **)field = xstrdup(val);
	return 0;
}

/* Split and resolve "host:port" into *text and *addr. */
static int
set_address(struct loader *ld, const struct key *k, const char *val, int passive,
    char **text, struct net_addr *addr)
{
	char *host, *port, err[256];
	const char *why;
	int r;

	if (net_split_hostport(val, &host, &port, &why) == -1)
		return key_error(ld, k, "\"%s\": %s", val, why);
	if ((r = net_resolve(host, port, passive, addr, err, sizeof(err))) == -1)
		key_error(ld, k, "\"%s\": %s", val, err);
	else
		*text = xstrdup(val);
	free(host);
	free(port);
	return r;
}

static int
set_listen(struct loader *ld, const struct key *k, const char *val, void *field)
{
	struct server_conf *sc = ld->base;

	return set_address(ld, k, val, 1, field, &sc->listen_addr);
}

static int
set_metrics_listen(struct loader *ld, const struct key *k, const char *val, void *field)
{
	struct config_common *c = (struct config_common *)((char *)field -
	    offsetof(struct config_common, metrics_listen));

	return set_address(ld, k, val, 1, field, &c->metrics_addr);
}

static int
set_local(struct loader *ld, const struct key *k, const char *val, void *field)
{
	struct service_conf *svc = ld->base;

	return set_address(ld, k, val, 0, field, &svc->local_addr);
}

/* The agent resolves the server when it dials, so DNS changes are followed. */
static int
set_server(struct loader *ld, const struct key *k, const char *val, void *field)
{
	struct agent_conf *ac = ld->base;
	const char *why;

	if (net_split_hostport(val, &ac->server_host, &ac->server_port, &why) == -1)
		return key_error(ld, k, "\"%s\": %s", val, why);
	if (*ac->server_host == '\0') {
		free(ac->server_host);
		free(ac->server_port);
		ac->server_host = ac->server_port = NULL;
		return key_error(ld, k, "\"%s\": a host name or address is needed", val);
	}
	*(char **)field = xstrdup(val);
	return 0;
}

static const char *
default_hostname(char *buf, size_t len)
{
	if (gethostname(buf, len) == -1)
		return "";
	buf[len - 1] = '\0';
	return buf;
}

#define COMMON_KEYS(type)                                                                          \
	{ "heartbeat_interval", set_duration, offsetof(type, common.heartbeat_interval),          \
	    .ndflt = CONFIG_DEFAULT_HEARTBEAT_INTERVAL },                                          \
	{ "heartbeat_timeout", set_duration, offsetof(type, common.heartbeat_timeout),            \
	    .ndflt = CONFIG_DEFAULT_HEARTBEAT_TIMEOUT },                                           \
	{ "stream_window", set_size, offsetof(type, common.stream_window),                        \
	    .ndflt = CONFIG_DEFAULT_STREAM_WINDOW, .lo = CONFIG_WINDOW_MIN,                        \
	    .hi = CONFIG_WINDOW_MAX },                                                             \
	{ "max_streams", set_count, offsetof(type, common.max_streams),                           \
	    .ndflt = CONFIG_DEFAULT_MAX_STREAMS, .lo = 1, .hi = MAX_STREAMS_LIMIT },               \
	{ "log_level", set_log_level, offsetof(type, common.log_level), .dflt = "info" },       \
	{ "log", set_log_target, offsetof(type, common.log_syslog), .dflt = "stderr" },          \
	{ "shutdown_timeout", set_duration, offsetof(type, common.shutdown_timeout),              \
	    .ndflt = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT },                                            \
	{ "metrics_listen", set_metrics_listen, offsetof(type, common.metrics_listen),            \
	    .optional = 1 }

#define SERVER(f) offsetof(struct server_conf, f)
static const struct key server_keys[] = {
	{ "listen", set_listen, SERVER(listen), .dflt = CONFIG_DEFAULT_LISTEN },
	{ "token", set_string, SERVER(token), .required = 1 },
	{ "allow_ports", set_ports, SERVER(allow_ports_str), .required = 1 },
	{ "bind_addr", set_bind_addr, SERVER(bind_addr), .dflt = CONFIG_DEFAULT_BIND_ADDR },
	{ "handshake_timeout", set_duration, SERVER(handshake_timeout),
	    .ndflt = CONFIG_DEFAULT_HANDSHAKE_TIMEOUT },
	{ "open_timeout", set_duration, SERVER(open_timeout),
	    .ndflt = CONFIG_DEFAULT_OPEN_TIMEOUT },
	{ "tls_cert", set_file, SERVER(tls_cert), .optional = 1 },
	{ "tls_key", set_file, SERVER(tls_key), .optional = 1 },
	{ "ws_path", set_ws_path, SERVER(ws_path), .dflt = CONFIG_DEFAULT_WS_PATH },
	{ "transports", set_transports, SERVER(transports), .optional = 1 },
	COMMON_KEYS(struct server_conf),
};

#define AGENT(f) offsetof(struct agent_conf, f)
static const struct key agent_keys[] = {
	{ "server", set_server, AGENT(server), .required = 1 },
	{ "token", set_string, AGENT(token), .required = 1 },
	{ "name", set_name, AGENT(name), .dflt_fn = default_hostname },
	{ "connect_timeout", set_duration, AGENT(connect_timeout),
	    .ndflt = CONFIG_DEFAULT_CONNECT_TIMEOUT },
	{ "reconnect_min", set_duration, AGENT(reconnect_min),
	    .ndflt = CONFIG_DEFAULT_RECONNECT_MIN },
	{ "reconnect_max", set_duration, AGENT(reconnect_max),
	    .ndflt = CONFIG_DEFAULT_RECONNECT_MAX },
	{ "transport", set_transport, AGENT(transport), .dflt = "tcp" },
	{ "server_name", set_string, AGENT(server_name), .optional = 1 },
	{ "ca_file", set_file, AGENT(ca_file), .optional = 1 },
	{ "fingerprint", set_fingerprint, AGENT(fingerprint), .optional = 1 },
	{ "insecure", set_bool, AGENT(insecure), .dflt = "no" },
	{ "ws_path", set_ws_path, AGENT(ws_path), .dflt = CONFIG_DEFAULT_WS_PATH },
	{ "ws_host", set_string, AGENT(ws_host), .optional = 1 },
	{ "ws_header", set_ws_header, 0, .optional = 1, .multi = 1 },
	COMMON_KEYS(struct agent_conf),
};

#define SERVICE(f) offsetof(struct service_conf, f)
static const struct key service_keys[] = {
	{ "local", set_local, SERVICE(local), .required = 1 },
	{ "remote_port", set_port, SERVICE(remote_port), .required = 1 },
	{ "proxy_protocol", set_proxy_protocol, SERVICE(proxy_protocol), .dflt = "none" },
};

_Static_assert(NELEM(server_keys) <= KEYS_MAX, "raise KEYS_MAX");
_Static_assert(NELEM(agent_keys) <= KEYS_MAX, "raise KEYS_MAX");

/* Line a key was set on, or the section header's when it was left to its default. */
static int
key_line(const struct loader *ld, const char *name)
{
	size_t i;

	for (i = 0; i < ld->cur->nkeys; i++) {
		if (strcmp(ld->cur->keys[i].name, name) == 0 && ld->seen[i] != 0)
			return ld->seen[i];
	}
	return ld->sec_line;
}

static int
later_line(const struct loader *ld, const char *a, const char *b)
{
	int la = key_line(ld, a), lb = key_line(ld, b);

	return la > lb ? la : lb;
}

static void
common_check(struct loader *ld, const struct config_common *c)
{
	if (c->heartbeat_timeout > c->heartbeat_interval)
		return;
	loader_error(ld, later_line(ld, "heartbeat_interval", "heartbeat_timeout"),
	    "heartbeat_timeout (%gs) must be greater than heartbeat_interval (%gs)",
	    c->heartbeat_timeout, c->heartbeat_interval);
}

static void *
main_open(struct loader *ld, const char *arg)
{
	return ld->conf;
}

/* TLS needs a certificate and key together; transports default to all that can work. */
static void
server_tls_check(struct loader *ld, struct server_conf *sc)
{
	int tls_bits = CONFIG_TRANSPORT_TLS | CONFIG_TRANSPORT_WSS;

	if ((sc->tls_cert == NULL) != (sc->tls_key == NULL)) {
		loader_error(ld, ld->sec_line, "tls_cert and tls_key go together: set both or neither");
		return;
	}
	if (sc->transports == 0)
		sc->transports = CONFIG_TRANSPORT_TCP | CONFIG_TRANSPORT_WS |
		    (sc->tls_cert != NULL ? tls_bits : 0);
	else if ((sc->transports & tls_bits) != 0 && sc->tls_cert == NULL)
		loader_error(ld, ld->sec_line, "transports lists tls or wss but no tls_cert is set");
}

static void
server_close(struct loader *ld)
{
	struct server_conf *sc = ld->conf;

	common_check(ld, &sc->common);
	server_tls_check(ld, sc);
}

static void
agent_close(struct loader *ld)
{
	struct agent_conf *ac = ld->conf;

	common_check(ld, &ac->common);
	if (ac->server_name == NULL && ac->server_host != NULL)
		ac->server_name = xstrdup(ac->server_host);
	if (ac->ws_host == NULL && ac->server != NULL)
		ac->ws_host = xstrdup(ac->server);
	if (ac->reconnect_max >= ac->reconnect_min)
		return;
	loader_error(ld, later_line(ld, "reconnect_min", "reconnect_max"),
	    "reconnect_max (%gs) must not be less than reconnect_min (%gs)",
	    ac->reconnect_max, ac->reconnect_min);
}

static void *
service_open(struct loader *ld, const char *name)
{
	struct agent_conf *ac = ld->conf;
	struct service_conf *svc;
	size_t i;

	if (!name_valid(name)) {
		loader_error(ld, ld->line, "bad service name \"%s\" (1-%d of A-Z a-z 0-9 . _ -)",
		    name, CONFIG_NAME_MAX);
		return NULL;
	}
	for (i = 0; i < ac->nservices; i++) {
		if (strcmp(ac->services[i].name, name) == 0) {
			loader_error(ld, ld->line, "duplicate [service %s] (first on line %d)",
			    name, ac->services[i].line);
			return NULL;
		}
	}
	ac->services = xreallocarray(ac->services, ac->nservices + 1, sizeof(*ac->services));
	svc = &ac->services[ac->nservices++];
	memset(svc, 0, sizeof(*svc));
	svc->name = xstrdup(name);
	svc->line = ld->line;
	return svc;
}

static void
service_close(struct loader *ld)
{
	struct agent_conf *ac = ld->conf;
	const struct service_conf *svc = ld->base, *other;

	for (other = ac->services; other < svc; other++) {
		if (other->remote_port != svc->remote_port)
			continue;
		loader_error(ld, key_line(ld, "remote_port"),
		    "remote_port %u is already used by [service %s] on line %d",
		    svc->remote_port, other->name, other->line);
		return;
	}
}

static const struct section server_sections[] = {
	{ "server", server_keys, NELEM(server_keys), 0, main_open, server_close },
};

static const struct section agent_sections[] = {
	{ "agent", agent_keys, NELEM(agent_keys), 0, main_open, agent_close },
	{ "service", service_keys, NELEM(service_keys), 1, service_open, service_close },
};

_Static_assert(NELEM(agent_sections) <= SECTIONS_MAX, "raise SECTIONS_MAX");

static const char *
key_default(const struct key *k, char *buf, size_t len)
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
section_defaults(struct loader *ld)
{
	char buf[HOST_NAME_MAX + 1];
	size_t i;

	ld->errline = ld->sec_line;
	for (i = 0; i < ld->cur->nkeys; i++) {
		const struct key *k = &ld->cur->keys[i];
		if (ld->seen[i] != 0)
			continue;
		if (k->required)
			loader_error(ld, ld->sec_line, "missing required key \"%s\" in [%s]",
			    k->name, ld->title);
		else if (!k->optional)
			k->set(ld, k, key_default(k, buf, sizeof(buf)), (char *)ld->base + k->off);
	}
}

static void
section_end(struct loader *ld)
{
	if (ld->cur == NULL)
		return;
	section_defaults(ld);
	if (ld->nerrs == ld->sec_errs && ld->cur->close != NULL)
		ld->cur->close(ld);
	ld->cur = NULL;
	ld->base = NULL;
}

static const struct section *
section_find(struct loader *ld, const char *kind, const char *arg)
{
	const struct section *s;

	for (s = ld->sections; s < ld->sections + ld->nsections; s++) {
		if (strcmp(s->name, kind) != 0)
			continue;
		if (s->named && *arg == '\0')
			loader_error(ld, ld->line, "[%s] needs a name: [%s NAME]", kind, kind);
		else if (!s->named && *arg != '\0')
			loader_error(ld, ld->line, "[%s] takes no name", kind);
		else if (!s->named && ld->first[s - ld->sections] != 0)
			loader_error(ld, ld->line, "duplicate [%s] section (first on line %d)",
			    kind, ld->first[s - ld->sections]);
		else
			return s;
		return NULL;
	}
	loader_error(ld, ld->line, "unknown section [%s]", ld->title);
	return NULL;
}

/* A "[kind arg]" header; title is the text between the brackets, trimmed. */
static void
section_begin(struct loader *ld, char *title)
{
	const struct section *s;
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
header_line(struct loader *ld, char *p)
{
	char *close, *rest;

	if ((close = strchr(p, ']')) == NULL) {
		loader_error(ld, ld->line, "syntax error: section header without ']'");
		section_end(ld);
		ld->in_section = 1;
		return;
	}
	*close = '\0';
	rest = close + 1 + strspn(close + 1, " \t\r\n");
	if (*rest != '\0' && *rest != ';' && *rest != '#')
		loader_error(ld, ld->line, "syntax error: unexpected text after ']'");
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
line_filter(struct loader *ld, size_t n, size_t max)
{
	char *p = ld->buf;

	if (strlen(p) != n) {
		loader_error(ld, ld->line, "line contains a NUL byte");
		return "";
	}
	if (n > 0 && p[n - 1] == '\n')
		n--;
	if (n + 3 > max) {
		loader_error(ld, ld->line, "line is too long (more than %zu characters)", max - 3);
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
		loader_error(ld, ld->line, "syntax error: expected \"key = value\"");
	else
		return p;
	return "";
}

/* An ini_reader: fgets() that sees whole lines, whatever their length. */
static char *
read_line(char *str, int num, void *stream)
{
	struct loader *ld = stream;
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

static const struct key *
key_find(const struct section *s, const char *name)
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
	struct loader *ld = user;
	const struct key *k;
	size_t i;

	if (ld->cur == NULL) {
		if (!ld->in_section)
			loader_error(ld, ld->line, "\"%s\" is outside any section", name);
		return 1;
	}
	if ((k = key_find(ld->cur, name)) == NULL) {
		loader_error(ld, ld->line, "unknown key \"%s\" in [%s]", name, ld->title);
		return 1;
	}
	i = (size_t)(k - ld->cur->keys);
	if (ld->seen[i] != 0 && !k->multi) {
		loader_error(ld, ld->line, "duplicate key \"%s\" in [%s] (first set on line %d)",
		    name, ld->title, ld->seen[i]);
		return 1;
	}
	ld->seen[i] = ld->errline = ld->line;
	k->set(ld, k, value, (char *)ld->base + k->off);
	return 1;
}

static void
parse_stream(struct loader *ld)
{
	size_t i;
	int r;

	r = ini_parse_stream(read_line, ld, on_value, ld);
	section_end(ld);
	/* Our reader passes inih only lines it accepts; this catches any it still rejects. */
	if (r > 0)
		loader_error(ld, r, "syntax error");
	else if (r < 0)
		loader_error(ld, 0, "cannot parse (inih error %d)", r);
	if (ld->read_errno != 0)
		loader_error(ld, 0, "cannot read: %s", strerror(ld->read_errno));
	for (i = 0; i < ld->nsections; i++) {
		if (!ld->sections[i].named && ld->first[i] == 0)
			loader_error(ld, 0, "missing [%s] section", ld->sections[i].name);
	}
}

static int
load_file(const char *path, const struct section *sections, size_t nsections, void *conf,
    struct config_errors *errs)
{
	struct loader ld;

	memset(&ld, 0, sizeof(ld));
	ld.path = path;
	ld.errs = errs;
	ld.conf = conf;
	ld.sections = sections;
	ld.nsections = nsections;
	if ((ld.fp = fopen(path, "r")) == NULL) {
		loader_error(&ld, 0, "cannot open: %s", strerror(errno));
		return -1;
	}
	parse_stream(&ld);
	fclose(ld.fp);
	free(ld.buf);
	return ld.nerrs > 0 ? -1 : 0;
}

int
config_load_server(const char *path, struct server_conf *conf, struct config_errors *errs)
{
	memset(conf, 0, sizeof(*conf));
	conf->path = xstrdup(path);
	if (load_file(path, server_sections, NELEM(server_sections), conf, errs) == 0)
		return 0;
	config_free_server(conf);
	return -1;
}

int
config_load_agent(const char *path, struct agent_conf *conf, struct config_errors *errs)
{
	memset(conf, 0, sizeof(*conf));
	conf->path = xstrdup(path);
	if (load_file(path, agent_sections, NELEM(agent_sections), conf, errs) == 0)
		return 0;
	config_free_agent(conf);
	return -1;
}

/* Tokens are secrets: wipe them before the memory goes back to malloc. */
static void
free_secret(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

void
config_free_server(struct server_conf *conf)
{
	free(conf->path);
	free(conf->listen);
	free_secret(conf->token);
	free(conf->allow_ports_str);
	portset_free(&conf->allow_ports);
	free(conf->bind_addr);
	free(conf->tls_cert);
	free(conf->tls_key);
	free(conf->ws_path);
	free(conf->common.metrics_listen);
	memset(conf, 0, sizeof(*conf));
}

void
config_free_agent(struct agent_conf *conf)
{
	size_t i;

	free(conf->path);
	free(conf->server);
	free(conf->server_host);
	free(conf->server_port);
	free_secret(conf->token);
	free(conf->name);
	for (i = 0; i < conf->nservices; i++) {
		free(conf->services[i].name);
		free(conf->services[i].local);
	}
	free(conf->services);
	free(conf->server_name);
	free(conf->ca_file);
	free(conf->fingerprint);
	free(conf->ws_path);
	free(conf->ws_host);
	for (i = 0; i < conf->nws_headers; i++)
		free(conf->ws_headers[i]);
	free(conf->ws_headers);
	free(conf->common.metrics_listen);
	memset(conf, 0, sizeof(*conf));
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
