/*
 * The two schemas: rtund's [server] and [route NAME], and rtun's [agent],
 * [service NAME] and [visitor NAME].
 * Each is a table of keys for the loader engine (config-load.c), the setters
 * only these keys need, and the checks across keys that run once a section
 * is complete. config_load_server() and config_load_agent() are the entry
 * points; the daemons see only the filled structs.
 */
#include "rtun-build.h"

#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "config-load.h"
#include "config.h"
#include "control.h"
#include "hostname.h"
#include "log.h"
#include "net.h"
#include "portset.h"
#include "proxyproto.h"
#include "transport-tls.h"
#include "xmalloc.h"

#define MAX_STREAMS_LIMIT 1000000
#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A name the config accepts is one the wire accepts, and fits the buffers sized for it. */
_Static_assert(CONFIG_NAME_MAX == CONTROL_NAME_MAX, "CONFIG_NAME_MAX is CONTROL_NAME_MAX");

static int
set_log_level(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	int level;

	if ((level = log_level_parse(val)) == -1)
		return config_key_error(ld, k,
		    "\"%s\" is not a log level (error, warn, info, debug)", val);
	*(int *)field = level;
	return 0;
}

static int
set_log_target(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	if (strcmp(val, "stderr") != 0 && strcmp(val, "syslog") != 0)
		return config_key_error(ld, k, "\"%s\" is not a log target (stderr, syslog)", val);
	*(int *)field = strcmp(val, "syslog") == 0;
	return 0;
}

/* The index of val in names, or -1: for keys whose values are the names of an enum. */
static int
choice(const char *const *names, size_t n, const char *val)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(val, names[i]) == 0)
			return (int)i;
	}
	return -1;
}

static int
set_proxy_protocol(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	static const char *const names[] = { "none", "v1", "v2" };

	if ((*(int *)field = choice(names, NELEM(names), val)) == -1)
		return config_key_error(ld, k,
		    "\"%s\" is not a PROXY protocol version (none, v1, v2)", val);
	return 0;
}

static int
set_service_type(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	static const char *const names[] = {
		[SERVICE_TYPE_TCP] = "tcp", [SERVICE_TYPE_UDP] = "udp",
		[SERVICE_TYPE_HTTP] = "http", [SERVICE_TYPE_HTTPS] = "https",
	};

	if ((*(int *)field = choice(names, NELEM(names), val)) == -1)
		return config_key_error(ld, k,
		    "\"%s\" is not a service type (tcp, udp, http, https)", val);
	return 0;
}

static int
set_visitor_mode(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	static const char *const names[] = {
		[VISITOR_AUTO] = "auto", [VISITOR_DIRECT] = "direct", [VISITOR_RELAY] = "relay",
	};

	if ((*(int *)field = choice(names, NELEM(names), val)) == -1)
		return config_key_error(ld, k, "\"%s\" is not a visitor mode (auto, direct, relay)",
		    val);
	return 0;
}

/* "tcp" -> CONFIG_TRANSPORT_TCP ...; 0 if unknown. */
static int
transport_bit(const char *s, size_t len)
{
	int kind = transport_kind_parse(s, len);

	return kind == -1 ? 0 : 1 << kind;
}

const char *
config_transport_name(int transport)
{
	int kind;

	for (kind = 0; kind < TRANSPORT_KINDS; kind++) {
		if (transport == 1 << kind)
			return transport_names[kind];
	}
	return "?";
}

static int
set_transport(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	if ((*(int *)field = transport_bit(val, strlen(val))) == 0)
		return config_key_error(ld, k, "\"%s\" is not a transport (tcp, tls, ws, wss)",
		    val);
	return 0;
}

/* A list such as "tcp, tls, wss" into a bit set. */
static int
set_transports(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	const char *p = val;
	size_t len;
	int bits = 0, bit;

	while (*p != '\0') {
		p += strspn(p, " \t,");
		if ((len = strcspn(p, " \t,")) == 0)
			break;
		if ((bit = transport_bit(p, len)) == 0)
			return config_key_error(ld, k,
			    "\"%.*s\" is not a transport (tcp, tls, ws, wss)", (int)len, p);
		bits |= bit;
		p += len;
	}
	if (bits == 0)
		return config_key_error(ld, k, "no transport listed");
	*(int *)field = bits;
	return 0;
}

static int
set_ws_path(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	if (val[0] != '/' || strpbrk(val, " \t\r\n") != NULL)
		return config_key_error(ld, k, "\"%s\" is not a path (it starts with /, no spaces)",
		    val);
	*(char **)field = xstrdup(val);
	return 0;
}

/* Parsed once here, so that every reconnect uses the bytes and a bad pin is a config error. */
static int
set_fingerprint(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct agent_conf *ac = config_loader_base(ld);

	if (tls_fingerprint_parse(val, ac->pin) == -1)
		return config_key_error(ld, k, "\"%s\" is not sha256:<64 hex digits>", val);
	ac->pinned = 1;
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_ws_header(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct agent_conf *ac = config_loader_base(ld);
	const char *colon = strchr(val, ':');

	if (colon == NULL || colon == val || strpbrk(val, "\r\n") != NULL ||
	    strcspn(val, " \t:") != (size_t)(colon - val))
		return config_key_error(ld, k, "\"%s\" is not a header line \"Name: value\"", val);
	ac->ws_headers = xreallocarray(ac->ws_headers, ac->nws_headers + 1,
	    sizeof(*ac->ws_headers));
	ac->ws_headers[ac->nws_headers++] = xstrdup(val);
	return 0;
}

static int
set_name(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	if (!control_name_valid(val))
		return config_key_error(ld, k,
		    "\"%s\" is not a valid name (1-%d of A-Z a-z 0-9 . _ -)", val, CONFIG_NAME_MAX);
	*(char **)field = xstrdup(val);
	return 0;
}

static void
free_strings(char **v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* s without the blanks around it; s is modified. */
static char *
blank_trim(char *s)
{
	char *end;

	s += strspn(s, " \t");
	end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
		*--end = '\0';
	return s;
}

/* One entry of a comma-separated list, blanks trimmed; reports a bad one and returns -1. */
typedef int list_entry_fn(struct config_loader *ld, const struct config_key *k, const char *entry,
    void *arg);

/* Hand every entry of the comma-separated val to fn (empty ones too); -1 at the first bad one. */
static int
list_each(struct config_loader *ld, const struct config_key *k, const char *val,
    list_entry_fn *fn, void *arg)
{
	char *list = xstrdup(val), *rest = list, *entry;
	int r = 0;

	while (r == 0 && (entry = strsep(&rest, ",")) != NULL)
		r = fn(ld, k, blank_trim(entry), arg);
	free(list);
	return r;
}

/* allow_peers as it is read. */
struct peer_list {
	char **names;
	size_t n;
};

/* One entry of allow_peers, against the ones before it. */
static int
allow_peer_add(struct config_loader *ld, const struct config_key *k, const char *name, void *arg)
{
	struct peer_list *pl = arg;
	size_t i;

	if (pl->n == CONFIG_ALLOW_PEERS_MAX)
		return config_key_error(ld, k, "more than %d names", CONFIG_ALLOW_PEERS_MAX);
	if (*name == '\0')
		return config_key_error(ld, k, "an empty name in the list");
	if (!control_name_valid(name))
		return config_key_error(ld, k,
		    "\"%s\" is not a valid name (1-%d of A-Z a-z 0-9 . _ -)", name, CONFIG_NAME_MAX);
	for (i = 0; i < pl->n; i++) {
		if (strcmp(pl->names[i], name) == 0)
			return config_key_error(ld, k, "\"%s\" is listed twice", name);
	}
	pl->names = xreallocarray(pl->names, pl->n + 1, sizeof(*pl->names));
	pl->names[pl->n++] = xstrdup(name);
	return 0;
}

/*
 * "laptop, ci-runner" into the service's allow_peers. Each entry is an agent
 * name as the wire has it, listed once: a name written twice is most likely
 * a slip where another agent was meant, and is better caught here.
 */
static int
set_allow_peers(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct service_conf *svc = config_loader_base(ld);
	struct peer_list pl = { NULL, 0 };

	if (list_each(ld, k, val, allow_peer_add, &pl) == -1) {
		free_strings(pl.names, pl.n);
		return -1;
	}
	*(char ***)field = pl.names;
	svc->nallow_peers = pl.n;
	return 0;
}

/* One rule of allow_connect. */
static int
allow_connect_add(struct config_loader *ld, const struct config_key *k, const char *entry,
    void *arg)
{
	struct dest_rule rule;
	const char *why;

	if (*entry == '\0')
		return config_key_error(ld, k, "an empty entry in the list");
	if (dest_rule_parse(entry, &rule, &why) == -1)
		return config_key_error(ld, k, "\"%s\": %s", entry, why);
	if (dest_rules_append(arg, &rule) == -1)
		return config_key_error(ld, k, "more than %d rules", DEST_RULES_MAX);
	return 0;
}

/*
 * "192.168.1.0/24:22, db.internal:5432, 127.0.0.1:*": where a route of rtund
 * may make this agent connect. The key may repeat; every line adds rules.
 */
static int
set_allow_connect(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	return list_each(ld, k, val, allow_connect_add, field);
}

/* A route's destination: parsed here, so that the agent gets only what it can read. */
static int
set_route_connect(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct route_conf *rc = config_loader_base(ld);
	const char *why;

	if (dest_parse(val, &rc->dest, &why) == -1)
		return config_key_error(ld, k, "\"%s\": %s", val, why);
	*(char **)field = xstrdup(val);
	return 0;
}

/*
 * "*.apps.example.com, example.org" into a list of normalized host patterns
 * (each once); "*" alone stands for any name where star is set.
 */
static int
host_list_parse(struct config_loader *ld, const struct config_key *k, const char *val, int star,
    char ***out, size_t *nout)
{
	char *list = xstrdup(val), *rest = list, *item, **names = NULL, norm[HOSTNAME_MAX + 1];
	size_t n = 0, i;

	while ((item = strsep(&rest, ",")) != NULL) {
		item = blank_trim(item);
		if (n == CONFIG_HOSTS_MAX) {
			config_key_error(ld, k, "more than %d names", CONFIG_HOSTS_MAX);
			goto fail;
		}
		if (star && strcmp(item, "*") == 0)
			snprintf(norm, sizeof(norm), "*");
		else if (hostname_pattern_normalize(item, strlen(item), norm) == -1) {
			config_key_error(ld, k, "\"%s\" is not a host name or *.name", item);
			goto fail;
		}
		for (i = 0; i < n; i++) {
			if (strcmp(names[i], norm) == 0) {
				config_key_error(ld, k, "\"%s\" is listed twice", item);
				goto fail;
			}
		}
		names = xreallocarray(names, n + 1, sizeof(*names));
		names[n++] = xstrdup(norm);
	}
	free(list);
	*out = names;
	*nout = n;
	return 0;
fail:
	free_strings(names, n);
	free(list);
	return -1;
}

static int
set_hosts(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct service_conf *svc = config_loader_base(ld);

	return host_list_parse(ld, k, val, 0, field, &svc->nhosts);
}

static int
set_allow_hosts(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct server_conf *sc = config_loader_base(ld);

	return host_list_parse(ld, k, val, 1, field, &sc->nallow_hosts);
}

static int
set_http_listen(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct server_conf *sc = config_loader_base(ld);

	return config_set_address(ld, k, val, 1, field, &sc->http_addr);
}

static int
set_https_listen(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct server_conf *sc = config_loader_base(ld);

	return config_set_address(ld, k, val, 1, field, &sc->https_addr);
}

/* Parsed once here, so that binding a declared port never resolves anything. */
static int
set_bind_addr(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct server_conf *sc = config_loader_base(ld);

	if (net_parse_host(val, &sc->bind_ip) == -1)
		return config_key_error(ld, k, "\"%s\" is not a numeric IPv4 or IPv6 address", val);
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_ports(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct server_conf *sc = config_loader_base(ld);
	const char *why;

	if (portset_parse(val, &sc->allow_ports, &why) == -1)
		return config_key_error(ld, k, "\"%s\": %s", val, why);
	*(char **)field = xstrdup(val);
	return 0;
}

static int
set_listen(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct server_conf *sc = config_loader_base(ld);

	return config_set_address(ld, k, val, 1, field, &sc->listen_addr);
}

static int
set_metrics_listen(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct config_common *c = (struct config_common *)((char *)field -
	    offsetof(struct config_common, metrics_listen));

	return config_set_address(ld, k, val, 1, field, &c->metrics_addr);
}

/* A unix socket path: absolute, so that it does not depend on the directory of the start. */
static int
set_status_socket(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct sockaddr_un sun;

	if (strcmp(val, "off") != 0 && *val != '/')
		return config_key_error(ld, k, "\"%s\": an absolute path or off", val);
	if (strlen(val) >= sizeof(sun.sun_path))
		return config_key_error(ld, k, "\"%s\": longer than a unix socket path can be (%zu)",
		    val, sizeof(sun.sun_path) - 1);
	*(char **)field = xstrdup(val);
	return 0;
}

const char *
config_status_socket(const struct config_common *c, const char *role, char *buf, size_t len,
    int *dflt)
{
	*dflt = c->status_socket == NULL;
	if (c->status_socket != NULL)
		return strcmp(c->status_socket, "off") == 0 ? NULL : c->status_socket;
	snprintf(buf, len, "%s/%s.sock", CONFIG_DEFAULT_STATUS_DIR, role);
	return buf;
}

static int
set_local(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct service_conf *svc = config_loader_base(ld);

	return config_set_address(ld, k, val, 0, field, &svc->local_addr);
}

/* Resolved like a service's local, so that both read the same way in one file. */
static int
set_visitor_local(struct config_loader *ld, const struct config_key *k, const char *val,
    void *field)
{
	struct visitor_conf *v = config_loader_base(ld);

	return config_set_address(ld, k, val, 0, field, &v->local_addr);
}

/* The agent resolves the server when it dials, so DNS changes are followed. */
static int
set_server(struct config_loader *ld, const struct config_key *k, const char *val, void *field)
{
	struct agent_conf *ac = config_loader_base(ld);
	const char *why;

	if (net_split_hostport(val, &ac->server_host, &ac->server_port, &why) == -1)
		return config_key_error(ld, k, "\"%s\": %s", val, why);
	if (*ac->server_host == '\0') {
		free(ac->server_host);
		free(ac->server_port);
		ac->server_host = ac->server_port = NULL;
		return config_key_error(ld, k, "\"%s\": a host name or address is needed", val);
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
	{ "heartbeat_interval", config_set_duration, offsetof(type, common.heartbeat_interval),    \
	    .ndflt = CONFIG_DEFAULT_HEARTBEAT_INTERVAL },                                          \
	{ "heartbeat_timeout", config_set_duration, offsetof(type, common.heartbeat_timeout),      \
	    .ndflt = CONFIG_DEFAULT_HEARTBEAT_TIMEOUT },                                           \
	{ "stream_window", config_set_size, offsetof(type, common.stream_window),                  \
	    .ndflt = CONFIG_DEFAULT_STREAM_WINDOW, .lo = CONFIG_WINDOW_MIN,                        \
	    .hi = CONFIG_WINDOW_MAX },                                                             \
	{ "max_streams", config_set_count, offsetof(type, common.max_streams),                     \
	    .ndflt = CONFIG_DEFAULT_MAX_STREAMS, .lo = 1, .hi = MAX_STREAMS_LIMIT },               \
	{ "log_level", set_log_level, offsetof(type, common.log_level), .dflt = "info" },         \
	{ "log", set_log_target, offsetof(type, common.log_syslog), .dflt = "stderr" },            \
	{ "shutdown_timeout", config_set_duration, offsetof(type, common.shutdown_timeout),        \
	    .ndflt = CONFIG_DEFAULT_SHUTDOWN_TIMEOUT },                                            \
	{ "metrics_listen", set_metrics_listen, offsetof(type, common.metrics_listen),            \
	    .optional = 1 },                                                                        \
	{ "status_socket", set_status_socket, offsetof(type, common.status_socket), .optional = 1 }

#define SERVER(f) offsetof(struct server_conf, f)
static const struct config_key server_keys[] = {
	{ "listen", set_listen, SERVER(listen), .dflt = CONFIG_DEFAULT_LISTEN },
	{ "token", config_set_string, SERVER(token), .required = 1 },
	{ "allow_ports", set_ports, SERVER(allow_ports_str), .required = 1 },
	{ "bind_addr", set_bind_addr, SERVER(bind_addr), .dflt = CONFIG_DEFAULT_BIND_ADDR },
	{ "handshake_timeout", config_set_duration, SERVER(handshake_timeout),
	    .ndflt = CONFIG_DEFAULT_HANDSHAKE_TIMEOUT },
	{ "open_timeout", config_set_duration, SERVER(open_timeout),
	    .ndflt = CONFIG_DEFAULT_OPEN_TIMEOUT },
	{ "tls_cert", config_set_file, SERVER(tls_cert), .optional = 1 },
	{ "tls_key", config_set_file, SERVER(tls_key), .optional = 1 },
	{ "ws_path", set_ws_path, SERVER(ws_path), .dflt = CONFIG_DEFAULT_WS_PATH },
	{ "transports", set_transports, SERVER(transports), .optional = 1 },
	{ "p2p", config_set_bool, SERVER(p2p), .dflt = "yes" },
	{ "relay", config_set_bool, SERVER(relay), .dflt = "yes" },
	{ "relay_max_streams", config_set_count, SERVER(relay_max_streams),
	    .ndflt = CONFIG_DEFAULT_RELAY_MAX_STREAMS, .lo = 1, .hi = MAX_STREAMS_LIMIT },
	{ "http_listen", set_http_listen, SERVER(http_listen), .optional = 1 },
	{ "https_listen", set_https_listen, SERVER(https_listen), .optional = 1 },
	{ "allow_hosts", set_allow_hosts, SERVER(allow_hosts), .optional = 1 },
	{ "udp_idle_timeout", config_set_duration, SERVER(udp_idle_timeout),
	    .ndflt = CONFIG_DEFAULT_UDP_IDLE_TIMEOUT },
	{ "udp_max_flows", config_set_count, SERVER(udp_max_flows),
	    .ndflt = CONFIG_DEFAULT_UDP_MAX_FLOWS, .lo = 1, .hi = MAX_STREAMS_LIMIT },
	COMMON_KEYS(struct server_conf),
};

#define AGENT(f) offsetof(struct agent_conf, f)
static const struct config_key agent_keys[] = {
	{ "server", set_server, AGENT(server), .required = 1 },
	{ "token", config_set_string, AGENT(token), .required = 1 },
	{ "name", set_name, AGENT(name), .dflt_fn = default_hostname },
	{ "connect_timeout", config_set_duration, AGENT(connect_timeout),
	    .ndflt = CONFIG_DEFAULT_CONNECT_TIMEOUT },
	{ "reconnect_min", config_set_duration, AGENT(reconnect_min),
	    .ndflt = CONFIG_DEFAULT_RECONNECT_MIN },
	{ "reconnect_max", config_set_duration, AGENT(reconnect_max),
	    .ndflt = CONFIG_DEFAULT_RECONNECT_MAX },
	{ "transport", set_transport, AGENT(transport), .dflt = transport_names[TRANSPORT_TCP] },
	{ "server_name", config_set_string, AGENT(server_name), .optional = 1 },
	{ "ca_file", config_set_file, AGENT(ca_file), .optional = 1 },
	{ "fingerprint", set_fingerprint, AGENT(fingerprint), .optional = 1 },
	{ "insecure", config_set_bool, AGENT(insecure), .dflt = "no" },
	{ "ws_path", set_ws_path, AGENT(ws_path), .dflt = CONFIG_DEFAULT_WS_PATH },
	{ "ws_host", config_set_string, AGENT(ws_host), .optional = 1 },
	{ "ws_header", set_ws_header, 0, .optional = 1, .multi = 1 },
	{ "punch_timeout", config_set_duration, AGENT(punch_timeout),
	    .ndflt = CONFIG_DEFAULT_PUNCH_TIMEOUT },
	{ "allow_connect", set_allow_connect, AGENT(allow_connect), .optional = 1, .multi = 1 },
	COMMON_KEYS(struct agent_conf),
};

#define SERVICE(f) offsetof(struct service_conf, f)
static const struct config_key service_keys[] = {
	{ "local", set_local, SERVICE(local), .required = 1 },
	/* Required unless p2p = yes; service_close() checks. */
	{ "remote_port", config_set_port, SERVICE(remote_port), .optional = 1 },
	{ "proxy_protocol", set_proxy_protocol, SERVICE(proxy_protocol), .dflt = "none" },
	{ "p2p", config_set_bool, SERVICE(p2p), .dflt = "no" },
	{ "allow_peers", set_allow_peers, SERVICE(allow_peers), .optional = 1 },
	{ "type", set_service_type, SERVICE(type), .dflt = "tcp" },
	{ "hosts", set_hosts, SERVICE(hosts), .optional = 1 },
	{ "forwarded_headers", config_set_bool, SERVICE(forwarded_headers), .dflt = "no" },
	{ "udp_idle_timeout", config_set_duration, SERVICE(udp_idle_timeout),
	    .ndflt = CONFIG_DEFAULT_UDP_IDLE_TIMEOUT },
	{ "udp_max_flows", config_set_count, SERVICE(udp_max_flows),
	    .ndflt = CONFIG_DEFAULT_UDP_MAX_FLOWS, .lo = 1, .hi = MAX_STREAMS_LIMIT },
	{ "idle_timeout", config_set_idle, SERVICE(idle_timeout), .dflt = "off" },
};

#define VISITOR(f) offsetof(struct visitor_conf, f)
static const struct config_key visitor_keys[] = {
	{ "peer", set_name, VISITOR(peer), .required = 1 },
	{ "service", set_name, VISITOR(service), .required = 1 },
	{ "local", set_visitor_local, VISITOR(local), .required = 1 },
	{ "mode", set_visitor_mode, VISITOR(mode), .dflt = "auto" },
	{ "idle_timeout", config_set_idle, VISITOR(idle_timeout), .dflt = "off" },
};

#define ROUTE(f) offsetof(struct route_conf, f)
static const struct config_key route_keys[] = {
	{ "port", config_set_port, ROUTE(port), .required = 1 },
	{ "agent", set_name, ROUTE(agent), .optional = 1 },
	{ "connect", set_route_connect, ROUTE(connect), .required = 1 },
	{ "idle_timeout", config_set_idle, ROUTE(idle_timeout), .dflt = "off" },
};

_Static_assert(NELEM(server_keys) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");
_Static_assert(NELEM(agent_keys) <= CONFIG_KEYS_MAX, "raise CONFIG_KEYS_MAX");

static void
common_check(struct config_loader *ld, const struct config_common *c)
{
	if (c->heartbeat_timeout > c->heartbeat_interval)
		return;
	config_error(ld, config_later_line(ld, "heartbeat_interval", "heartbeat_timeout"),
	    "heartbeat_timeout (%gs) must be greater than heartbeat_interval (%gs)",
	    c->heartbeat_timeout, c->heartbeat_interval);
}

static void *
main_open(struct config_loader *ld, const char *arg)
{
	return config_loader_conf(ld);
}

/* TLS needs a certificate and key together; transports default to all that can work. */
static void
server_tls_check(struct config_loader *ld, struct server_conf *sc)
{
	int tls_bits = CONFIG_TRANSPORT_TLS | CONFIG_TRANSPORT_WSS;

	if ((sc->tls_cert == NULL) != (sc->tls_key == NULL)) {
		config_error(ld, config_section_line(ld),
		    "tls_cert and tls_key go together: set both or neither");
		return;
	}
	if (sc->transports == 0)
		sc->transports = CONFIG_TRANSPORT_TCP | CONFIG_TRANSPORT_WS |
		    (sc->tls_cert != NULL ? tls_bits : 0);
	else if ((sc->transports & tls_bits) != 0 && sc->tls_cert == NULL)
		config_error(ld, config_section_line(ld),
		    "transports lists tls or wss but no tls_cert is set");
}

/* The port of a "host:port" that has been checked, 0 for none. */
static uint16_t
port_of(const char *hostport)
{
	return hostport != NULL ? (uint16_t)atoi(strrchr(hostport, ':') + 1) : 0;
}

/*
 * A route's port against what [server] claims: allow_ports belongs to the
 * agents, and the agent and metrics ports are rtund's own. The routes before
 * [server] are checked when it is complete, those after it when they are.
 */
static void
route_server_check(struct config_loader *ld, const struct server_conf *sc,
    const struct route_conf *rc)
{
	if (rc->port_line == 0)
		return;
	if (sc->allow_ports_str != NULL && portset_contains(&sc->allow_ports, rc->port))
		config_error(ld, rc->port_line, "[route %s]: port %u is in allow_ports (%s), "
		    "which agents claim; a route needs a port of its own", rc->name, rc->port,
		    sc->allow_ports_str);
	if (rc->port == port_of(sc->listen))
		config_error(ld, rc->port_line, "[route %s]: port %u is the agents' listen port",
		    rc->name, rc->port);
	if (rc->port == port_of(sc->common.metrics_listen))
		config_error(ld, rc->port_line, "[route %s]: port %u is the metrics_listen port",
		    rc->name, rc->port);
	if (rc->port == port_of(sc->http_listen) || rc->port == port_of(sc->https_listen))
		config_error(ld, rc->port_line, "[route %s]: port %u is the port of %s", rc->name,
		    rc->port, rc->port == port_of(sc->http_listen) ? "http_listen" : "https_listen");
}

static int same_address(const struct net_addr *a, const struct net_addr *b);

/* Key a, set to an address, must not be the address of key b (if b is set). */
static void
address_clash(struct config_loader *ld, const char *a, const char *va, const struct net_addr *aa,
    const char *b, const char *vb, const struct net_addr *ab)
{
	if (va == NULL || vb == NULL || !same_address(aa, ab))
		return;
	config_error(ld, config_later_line(ld, a, b), "%s %s is the address of %s", a, va, b);
}

/* The web listeners need allow_hosts, and addresses of their own. */
static void
server_web_check(struct config_loader *ld, const struct server_conf *sc)
{
	const struct net_addr *m = &sc->common.metrics_addr;
	const char *mv = sc->common.metrics_listen;

	if ((sc->http_listen != NULL || sc->https_listen != NULL) && sc->nallow_hosts == 0)
		config_error(ld, config_later_line(ld, "http_listen", "https_listen"),
		    "http_listen and https_listen need allow_hosts, the names agents may claim");
	if (sc->nallow_hosts > 0 && sc->http_listen == NULL && sc->https_listen == NULL)
		config_error(ld, config_key_line(ld, "allow_hosts"),
		    "allow_hosts is only valid with http_listen or https_listen");
	address_clash(ld, "http_listen", sc->http_listen, &sc->http_addr, "listen", sc->listen,
	    &sc->listen_addr);
	address_clash(ld, "https_listen", sc->https_listen, &sc->https_addr, "listen", sc->listen,
	    &sc->listen_addr);
	address_clash(ld, "https_listen", sc->https_listen, &sc->https_addr, "http_listen",
	    sc->http_listen, &sc->http_addr);
	address_clash(ld, "http_listen", sc->http_listen, &sc->http_addr, "metrics_listen", mv, m);
	address_clash(ld, "https_listen", sc->https_listen, &sc->https_addr, "metrics_listen", mv,
	    m);
}

static void
server_close(struct config_loader *ld)
{
	struct server_conf *sc = config_loader_conf(ld);
	size_t i;

	common_check(ld, &sc->common);
	server_tls_check(ld, sc);
	for (i = 0; i < sc->nroutes; i++)
		route_server_check(ld, sc, &sc->routes[i]);
	server_web_check(ld, sc);
}


/*
 * A visitor of this agent itself is a mistake. The name is known only once
 * [agent] is complete, so the visitors before it are checked here and those
 * after it by visitor_close().
 */
static void
agent_visitors_check(struct config_loader *ld, const struct agent_conf *ac)
{
	const struct visitor_conf *v;

	for (v = ac->visitors; v < ac->visitors + ac->nvisitors; v++) {
		if (v->peer != NULL && ac->name != NULL && strcmp(v->peer, ac->name) == 0)
			config_error(ld, v->line, "[visitor %s]: peer \"%s\" is this agent's own name",
			    v->name, v->peer);
	}
}

static void
agent_close(struct config_loader *ld)
{
	struct agent_conf *ac = config_loader_conf(ld);

	common_check(ld, &ac->common);
	agent_visitors_check(ld, ac);
	if (ac->server_name == NULL && ac->server_host != NULL)
		ac->server_name = xstrdup(ac->server_host);
	if (ac->ws_host == NULL && ac->server != NULL)
		ac->ws_host = xstrdup(ac->server);
	if (ac->reconnect_max >= ac->reconnect_min)
		return;
	config_error(ld, config_later_line(ld, "reconnect_min", "reconnect_max"),
	    "reconnect_max (%gs) must not be less than reconnect_min (%gs)",
	    ac->reconnect_max, ac->reconnect_min);
}

/* The NAME of a [KIND NAME] header is a name the wire accepts; reports it if not. */
static int
section_name_valid(struct config_loader *ld, const char *kind, const char *name)
{
	if (control_name_valid(name))
		return 1;
	config_error(ld, config_loader_line(ld), "bad %s name \"%s\" (1-%d of A-Z a-z 0-9 . _ -)",
	    kind, name, CONFIG_NAME_MAX);
	return 0;
}

static void *
service_open(struct config_loader *ld, const char *name)
{
	struct agent_conf *ac = config_loader_conf(ld);
	struct service_conf *svc;
	size_t i;

	if (!section_name_valid(ld, "service", name))
		return NULL;
	for (i = 0; i < ac->nservices; i++) {
		if (strcmp(ac->services[i].name, name) == 0) {
			config_error(ld, config_loader_line(ld),
			    "duplicate [service %s] (first on line %d)", name,
			    ac->services[i].line);
			return NULL;
		}
	}
	ac->services = xreallocarray(ac->services, ac->nservices + 1, sizeof(*ac->services));
	svc = &ac->services[ac->nservices++];
	memset(svc, 0, sizeof(*svc));
	svc->name = xstrdup(name);
	svc->line = config_loader_line(ld);
	return svc;
}

/*
 * Without p2p a service is only reachable through its public port, so it
 * needs one; with p2p it needs the agents that may visit it, and may go
 * without a public port.
 */
static int
service_p2p_check(struct config_loader *ld, const struct service_conf *svc)
{
	int bad = 0;

	if (!svc->p2p && svc->remote_port == 0) {
		config_error(ld, config_section_line(ld),
		    "missing required key \"remote_port\" in [service %s]", svc->name);
		bad = 1;
	}
	if (!svc->p2p && svc->nallow_peers > 0) {
		config_error(ld, config_key_line(ld, "allow_peers"),
		    "allow_peers is only valid with p2p = yes");
		bad = 1;
	}
	if (svc->p2p && svc->nallow_peers == 0) {
		config_error(ld, config_key_line(ld, "p2p"),
		    "p2p = yes needs allow_peers, the agents that may visit");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* True when the current section set key itself (a defaulted key has the header's line). */
static int
key_set(struct config_loader *ld, const char *key)
{
	return config_key_line(ld, key) != config_section_line(ld);
}

/*
 * A UDP service is a public port and nothing else: no visitors, and no PROXY
 * header (a datagram has no stream to put one in front of); the udp_ keys
 * mean nothing to a TCP service. Each mistake is reported on its own line.
 */
static int
service_type_check(struct config_loader *ld, const struct service_conf *svc)
{
	static const char *const udp_keys[] = { "udp_idle_timeout", "udp_max_flows" };
	const struct {
		const char *key;
		int set;
	} tcp_only[] = {
		{ "p2p", svc->p2p },
		{ "allow_peers", svc->nallow_peers > 0 },
		{ "proxy_protocol", svc->proxy_protocol != PROXYPROTO_NONE },
		{ "idle_timeout", svc->idle_timeout > 0 },   /* a flow has udp_idle_timeout */
	};
	int bad = 0;
	size_t i;

	for (i = 0; svc->type != SERVICE_TYPE_UDP && i < NELEM(udp_keys); i++) {
		if (!key_set(ld, udp_keys[i]))
			continue;
		config_error(ld, config_key_line(ld, udp_keys[i]),
		    "%s is only valid with type = udp", udp_keys[i]);
		bad = 1;
	}
	if (svc->type != SERVICE_TYPE_UDP)
		return bad ? -1 : 0;
	for (i = 0; i < NELEM(tcp_only); i++) {
		if (!tcp_only[i].set)
			continue;
		config_error(ld, config_key_line(ld, tcp_only[i].key),
		    "%s is not supported with type = udp", tcp_only[i].key);
		bad = 1;
	}
	if (svc->remote_port == 0) {
		config_error(ld, config_section_line(ld),
		    "missing required key \"remote_port\" in [service %s]", svc->name);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/*
 * An http or https service claims host names instead of a port, so hosts and
 * remote_port exclude each other; visitors and forwarded headers each need a
 * service they make sense for.
 */
static int
service_web_check(struct config_loader *ld, const struct service_conf *svc)
{
	int web = control_service_type_web((uint32_t)svc->type), bad = 0;

	if (!web && svc->nhosts > 0) {
		config_error(ld, config_key_line(ld, "hosts"),
		    "hosts is only valid with type = http or https");
		bad = 1;
	}
	if (svc->forwarded_headers && svc->type != SERVICE_TYPE_HTTP) {
		config_error(ld, config_key_line(ld, "forwarded_headers"),
		    "forwarded_headers is only valid with type = http");
		bad = 1;
	}
	if (!web)
		return bad ? -1 : 0;
	if (svc->nhosts == 0) {
		config_error(ld, config_section_line(ld),
		    "missing required key \"hosts\" in [service %s] (type = %s)", svc->name,
		    svc->type == SERVICE_TYPE_HTTP ? "http" : "https");
		bad = 1;
	}
	if (svc->remote_port != 0) {
		config_error(ld, config_key_line(ld, "remote_port"),
		    "remote_port is not valid with type = http or https (they share rtund's "
		    "http_listen or https_listen by host name)");
		bad = 1;
	}
	if (svc->p2p) {
		config_error(ld, config_key_line(ld, "p2p"),
		    "p2p is only valid with type = tcp");
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* A host name claimed by two services of one type is a mistake: reported at the second. */
static void
service_hosts_unique(struct config_loader *ld, const struct agent_conf *ac,
    const struct service_conf *svc)
{
	const struct service_conf *other;
	size_t i, j;

	for (other = ac->services; other < svc; other++) {
		if (other->type != svc->type)
			continue;
		for (i = 0; i < svc->nhosts; i++) {
			for (j = 0; j < other->nhosts; j++) {
				if (strcmp(svc->hosts[i], other->hosts[j]) != 0)
					continue;
				config_error(ld, config_key_line(ld, "hosts"),
				    "host %s is already claimed by [service %s] on line %d",
				    svc->hosts[i], other->name, other->line);
				return;
			}
		}
	}
}

static void
service_close(struct config_loader *ld)
{
	struct agent_conf *ac = config_loader_conf(ld);
	const struct service_conf *svc = config_loader_base(ld), *other;

	if (service_web_check(ld, svc) == -1 || service_type_check(ld, svc) == -1)
		return;
	if (control_service_type_web((uint32_t)svc->type)) {
		service_hosts_unique(ld, ac, svc);
		return;
	}
	if (service_p2p_check(ld, svc) == -1 || svc->remote_port == 0)
		return;
	/* TCP and UDP ports of one number are two ports. */
	for (other = ac->services; other < svc; other++) {
		if (other->remote_port != svc->remote_port || other->type != svc->type)
			continue;
		config_error(ld, config_key_line(ld, "remote_port"),
		    "remote_port %u is already used by [service %s] on line %d",
		    svc->remote_port, other->name, other->line);
		return;
	}
}

static void *
visitor_open(struct config_loader *ld, const char *name)
{
	struct agent_conf *ac = config_loader_conf(ld);
	struct visitor_conf *v;
	size_t i;

	if (!section_name_valid(ld, "visitor", name))
		return NULL;
	for (i = 0; i < ac->nvisitors; i++) {
		if (strcmp(ac->visitors[i].name, name) == 0) {
			config_error(ld, config_loader_line(ld),
			    "duplicate [visitor %s] (first on line %d)", name, ac->visitors[i].line);
			return NULL;
		}
	}
	ac->visitors = xreallocarray(ac->visitors, ac->nvisitors + 1, sizeof(*ac->visitors));
	v = &ac->visitors[ac->nvisitors++];
	memset(v, 0, sizeof(*v));
	v->name = xstrdup(name);
	v->line = config_loader_line(ld);
	return v;
}

/* Two resolved addresses are the same, however each was written. */
static int
same_address(const struct net_addr *a, const struct net_addr *b)
{
	char ta[NET_ADDRSTRLEN], tb[NET_ADDRSTRLEN];

	return strcmp(net_addr_str((const struct sockaddr *)&a->ss, ta),
	    net_addr_str((const struct sockaddr *)&b->ss, tb)) == 0;
}

static void
visitor_close(struct config_loader *ld)
{
	struct agent_conf *ac = config_loader_conf(ld);
	const struct visitor_conf *v = config_loader_base(ld), *other;

	/* ac->name is set once [agent] is complete; agent_close() checks the visitors before it. */
	if (ac->name != NULL && strcmp(v->peer, ac->name) == 0)
		config_error(ld, config_key_line(ld, "peer"), "peer \"%s\" is this agent's own name",
		    v->peer);
	for (other = ac->visitors; other < v; other++) {
		if (!same_address(&other->local_addr, &v->local_addr))
			continue;
		config_error(ld, config_key_line(ld, "local"),
		    "local \"%s\" is already used by [visitor %s] on line %d", v->local, other->name,
		    other->line);
		return;
	}
}

static void *
route_open(struct config_loader *ld, const char *name)
{
	struct server_conf *sc = config_loader_conf(ld);
	struct route_conf *rc;
	const struct route_conf *other;

	if (!section_name_valid(ld, "route", name))
		return NULL;
	if ((other = config_route(sc, name)) != NULL) {
		config_error(ld, config_loader_line(ld), "duplicate [route %s] (first on line %d)",
		    name, other->line);
		return NULL;
	}
	sc->routes = xreallocarray(sc->routes, sc->nroutes + 1, sizeof(*sc->routes));
	rc = &sc->routes[sc->nroutes++];
	memset(rc, 0, sizeof(*rc));
	rc->name = xstrdup(name);
	rc->line = config_loader_line(ld);
	return rc;
}

static void
route_close(struct config_loader *ld)
{
	struct server_conf *sc = config_loader_conf(ld);
	struct route_conf *rc = config_loader_base(ld);
	const struct route_conf *other;

	rc->port_line = config_key_line(ld, "port");
	for (other = sc->routes; other < rc; other++) {
		if (other->port != rc->port)
			continue;
		config_error(ld, rc->port_line, "port %u is already used by [route %s] on line %d",
		    rc->port, other->name, other->line);
		return;
	}
	/* [server] is complete once its listen is set (by the key or its default). */
	if (sc->listen != NULL)
		route_server_check(ld, sc, rc);
}

static const struct config_section server_sections[] = {
	{ "server", server_keys, NELEM(server_keys), 0, main_open, server_close },
	{ "route", route_keys, NELEM(route_keys), 1, route_open, route_close },
};

static const struct config_section agent_sections[] = {
	{ "agent", agent_keys, NELEM(agent_keys), 0, main_open, agent_close },
	{ "service", service_keys, NELEM(service_keys), 1, service_open, service_close },
	{ "visitor", visitor_keys, NELEM(visitor_keys), 1, visitor_open, visitor_close },
};

_Static_assert(NELEM(agent_sections) <= CONFIG_SECTIONS_MAX, "raise CONFIG_SECTIONS_MAX");

int
config_load_server(const char *path, struct server_conf *conf, struct config_errors *errs)
{
	memset(conf, 0, sizeof(*conf));
	conf->path = xstrdup(path);
	if (config_load_file(path, server_sections, NELEM(server_sections), conf, errs) == 0)
		return 0;
	config_free_server(conf);
	return -1;
}

int
config_load_agent(const char *path, struct agent_conf *conf, struct config_errors *errs)
{
	memset(conf, 0, sizeof(*conf));
	conf->path = xstrdup(path);
	if (config_load_file(path, agent_sections, NELEM(agent_sections), conf, errs) == 0)
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
	size_t i;

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
	free(conf->common.status_socket);
	for (i = 0; i < conf->nroutes; i++) {
		free(conf->routes[i].name);
		free(conf->routes[i].agent);
		free(conf->routes[i].connect);
	}
	free(conf->routes);
	free(conf->http_listen);
	free(conf->https_listen);
	free_strings(conf->allow_hosts, conf->nallow_hosts);
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
		free_strings(conf->services[i].allow_peers, conf->services[i].nallow_peers);
		free_strings(conf->services[i].hosts, conf->services[i].nhosts);
	}
	free(conf->services);
	for (i = 0; i < conf->nvisitors; i++) {
		free(conf->visitors[i].name);
		free(conf->visitors[i].peer);
		free(conf->visitors[i].service);
		free(conf->visitors[i].local);
	}
	free(conf->visitors);
	free(conf->server_name);
	free(conf->ca_file);
	free(conf->fingerprint);
	free(conf->ws_path);
	free(conf->ws_host);
	free_strings(conf->ws_headers, conf->nws_headers);
	dest_rules_free(&conf->allow_connect);
	free(conf->common.metrics_listen);
	free(conf->common.status_socket);
	memset(conf, 0, sizeof(*conf));
}

const struct route_conf *
config_route(const struct server_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nroutes; i++) {
		if (strcmp(conf->routes[i].name, name) == 0)
			return &conf->routes[i];
	}
	return NULL;
}

const struct service_conf *
config_service(const struct agent_conf *conf, const char *name)
{
	size_t i;

	for (i = 0; i < conf->nservices; i++) {
		if (strcmp(conf->services[i].name, name) == 0)
			return &conf->services[i];
	}
	return NULL;
}

int
config_service_allows(const struct service_conf *svc, const char *visitor)
{
	size_t i;

	for (i = 0; svc->p2p && i < svc->nallow_peers; i++) {
		if (strcmp(svc->allow_peers[i], visitor) == 0)
			return 1;
	}
	return 0;
}
