/*
 * The configuration files of both daemons: rtund's [server] and [route NAME]
 * sections and rtun's [agent], [service NAME] and [visitor NAME]. Every key
 * has a default or is required; every problem is reported as
 * "file:line: message" and all of them are collected before the caller exits
 * with EX_CONFIG (78). The schemas are tables for the loader engine in
 * config-load.h.
 */
#ifndef RTUN_CONFIG_H
#define RTUN_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "config-load.h"
#include "dest.h"
#include "net.h"
#include "portset.h"
#include "transport-tls.h"
#include "transport.h"

/* Exit status for a bad configuration (sysexits.h EX_CONFIG). */
#define CONFIG_EXIT_BAD 78

/* Defaults, documented in README.md and the man pages. */
#define CONFIG_DEFAULT_LISTEN "0.0.0.0:7000"
#define CONFIG_DEFAULT_BIND_ADDR "0.0.0.0"
#define CONFIG_DEFAULT_HEARTBEAT_INTERVAL 10.0
#define CONFIG_DEFAULT_HEARTBEAT_TIMEOUT 30.0
#define CONFIG_DEFAULT_HANDSHAKE_TIMEOUT 10.0
#define CONFIG_DEFAULT_OPEN_TIMEOUT 10.0
#define CONFIG_DEFAULT_CONNECT_TIMEOUT 10.0
#define CONFIG_DEFAULT_RECONNECT_MIN 1.0
#define CONFIG_DEFAULT_RECONNECT_MAX 30.0
#define CONFIG_DEFAULT_STREAM_WINDOW (256 * 1024)
#define CONFIG_DEFAULT_MAX_STREAMS 4096
#define CONFIG_DEFAULT_SHUTDOWN_TIMEOUT 10.0
#define CONFIG_DEFAULT_WS_PATH "/rtun"
#define CONFIG_DEFAULT_PUNCH_TIMEOUT 10.0
#define CONFIG_DEFAULT_RELAY_MAX_STREAMS 256
#define CONFIG_DEFAULT_UDP_IDLE_TIMEOUT 60.0
#define CONFIG_DEFAULT_UDP_MAX_FLOWS 1024
/* Where the status sockets are when the config names none (systemd: RuntimeDirectory=rtun). */
#define CONFIG_DEFAULT_STATUS_DIR "/run/rtun"
#define CONFIG_ALLOW_PEERS_MAX 64   /* names in one service's allow_peers */
#define CONFIG_HOSTS_MAX 256        /* names in allow_hosts, or in one service's hosts */

/* What a service's public port carries; the values of rtun.ServiceType. */
enum service_type {
	SERVICE_TYPE_TCP = 0,
	SERVICE_TYPE_UDP = 1,
	SERVICE_TYPE_HTTP = 2,      /* host names on rtund's http_listen */
	SERVICE_TYPE_HTTPS = 3,     /* host names on rtund's https_listen */
};

/* How a visitor reaches its peer's service: direct when it can, else relayed; or one only. */
enum visitor_mode { VISITOR_AUTO, VISITOR_DIRECT, VISITOR_RELAY };

/* Transports, as a bit set for rtund's `transports` and a value for rtun's `transport`. */
enum config_transport {
	CONFIG_TRANSPORT_TCP = 1 << TRANSPORT_TCP,
	CONFIG_TRANSPORT_TLS = 1 << TRANSPORT_TLS,
	CONFIG_TRANSPORT_WS = 1 << TRANSPORT_WS,
	CONFIG_TRANSPORT_WSS = 1 << TRANSPORT_WSS,
};
#define CONFIG_WINDOW_MIN (16 * 1024)
#define CONFIG_WINDOW_MAX (16 * 1024 * 1024)
#define CONFIG_NAME_MAX 64     /* agent and service names, as control_name_valid() has them */

/* Settings both daemons share. */
struct config_common {
	double heartbeat_interval;  /* seconds between PINGs */
	double heartbeat_timeout;   /* silence after which a link is dead */
	uint32_t stream_window;     /* receive window granted per stream, bytes */
	uint32_t max_streams;       /* concurrent streams per link */
	int log_level;              /* enum log_level */
	int log_syslog;             /* log = syslog (else stderr) */
	double shutdown_timeout;    /* SIGTERM: how long open streams may finish */
	char *metrics_listen;       /* as written, NULL when metrics are off */
	struct net_addr metrics_addr;
	char *status_socket;        /* as written ("off" or a path), NULL: the default */
};

/* A route: a public port of rtund whose users go to a destination, through an agent or not. */
struct route_conf {
	char *name;                 /* [route NAME] */
	uint16_t port;              /* public port on bind_addr */
	char *agent;                /* the agent whose link carries it; NULL: rtund connects */
	char *connect;              /* the destination as written, "host:port" */
	struct dest dest;           /* connect parsed */
	double idle_timeout;        /* reset a connection idle this long; 0: never */
	int line;                   /* line of the [route NAME] header */
	int port_line;              /* line of its port key, once the section is complete */
};

struct server_conf {
	char *path;
	char *listen;               /* as written, e.g. "0.0.0.0:7000" */
	struct net_addr listen_addr;
	char *token;
	char *allow_ports_str;      /* as written, for logs */
	struct portset allow_ports;
	char *bind_addr;            /* numeric address service ports listen on, as written */
	struct net_addr bind_ip;    /* bind_addr parsed, port 0: each service port copies it */
	double handshake_timeout;   /* agent must authenticate within this */
	double open_timeout;        /* agent must answer OPEN within this */
	char *tls_cert;             /* PEM certificate chain, or NULL */
	char *tls_key;              /* PEM private key, or NULL */
	char *ws_path;              /* WebSocket request path */
	int transports;             /* enum config_transport bits accepted on listen */
	int p2p;                    /* rendezvous for direct agent links (default yes) */
	int relay;                  /* relay visitor streams between agents (default yes) */
	uint32_t relay_max_streams; /* relayed streams per visiting agent */
	char *http_listen;          /* shared HTTP port routed by Host, as written, or NULL */
	struct net_addr http_addr;
	char *https_listen;         /* shared HTTPS port routed by SNI, as written, or NULL */
	struct net_addr https_addr;
	char **allow_hosts;         /* host names agents may claim ("*", "*.a.b", "a.b") */
	size_t nallow_hosts;
	double udp_idle_timeout;    /* a UDP flow with no datagram either way this long ends */
	uint32_t udp_max_flows;     /* UDP flows per UDP port */
	struct config_common common;
	struct route_conf *routes;
	size_t nroutes;
};

struct service_conf {
	char *name;
	char *local;                /* as written, e.g. "127.0.0.1:22" */
	struct net_addr local_addr; /* resolved when the config is loaded */
	uint16_t remote_port;       /* 0: no public port, only allowed with p2p */
	int proxy_protocol;         /* enum proxyproto_version: none, v1, v2 */
	int p2p;                    /* p2p = yes: allowed agents may visit it directly or by relay */
	char **allow_peers;         /* agent names that may visit, with p2p */
	size_t nallow_peers;
	int type;                   /* enum service_type */
	char **hosts;               /* http, https: the names claimed ("a.b", "*.a.b") */
	size_t nhosts;
	int forwarded_headers;      /* http: rtund adds X-Forwarded-For and -Proto */
	double udp_idle_timeout;    /* type udp: a flow with no datagram either way this long ends */
	uint32_t udp_max_flows;     /* type udp: flows at once; further OPENs are refused */
	double idle_timeout;        /* reset a stream silent this long; 0: off */
	int line;                   /* line of the [service NAME] header */
};

/* A service of another agent that this agent makes reachable on a local port. */
struct visitor_conf {
	char *name;                 /* [visitor NAME] */
	char *peer;                 /* the other agent's name */
	char *service;              /* its service */
	char *local;                /* as written, e.g. "127.0.0.1:2222" */
	struct net_addr local_addr; /* where this agent accepts user connections */
	int mode;                   /* enum visitor_mode */
	double idle_timeout;        /* reset a stream silent this long; 0: off */
	int line;                   /* line of the [visitor NAME] header */
};

struct agent_conf {
	char *path;
	char *server;               /* as written, "host:port" */
	char *server_host;
	char *server_port;
	char *token;
	char *name;                 /* default: the host name */
	double connect_timeout;     /* dialling the server and local targets */
	double reconnect_min;       /* first reconnect delay */
	double reconnect_max;       /* reconnect delay cap */
	int transport;              /* one enum config_transport value */
	char *server_name;          /* TLS SNI and verification name */
	char *ca_file;              /* PEM CA bundle, or NULL for the system store */
	char *fingerprint;          /* "sha256:HEX" pin as written, or NULL */
	uint8_t pin[TLS_FINGERPRINT_LEN]; /* fingerprint parsed, when pinned */
	int pinned;                 /* a fingerprint is set */
	int insecure;               /* skip TLS verification (warned about) */
	char *ws_path;
	char *ws_host;              /* Host header, default: the server value */
	char **ws_headers;          /* extra "Name: value" request headers */
	size_t nws_headers;
	double punch_timeout;       /* how long one punch attempt may take */
	struct dest_rules allow_connect; /* where routes of rtund may make this agent connect */
	struct config_common common;
	struct service_conf *services;
	size_t nservices;
	struct visitor_conf *visitors;
	size_t nvisitors;
};

/* Load and validate rtund's config; 0 on success, -1 with errs filled. */
int config_load_server(const char *path, struct server_conf *conf, struct config_errors *errs);
/* Load and validate rtun's config; 0 on success, -1 with errs filled. */
int config_load_agent(const char *path, struct agent_conf *conf, struct config_errors *errs);
/* Free everything a loaded server config owns. */
void config_free_server(struct server_conf *conf);
/* Free everything a loaded agent config owns. */
void config_free_agent(struct agent_conf *conf);

/* The [route NAME] of conf, or NULL. */
const struct route_conf *config_route(const struct server_conf *conf, const char *name);
/* The [service NAME] of conf, or NULL. */
const struct service_conf *config_service(const struct agent_conf *conf, const char *name);
/* True when svc is p2p and lists agent visitor in allow_peers. */
int config_service_allows(const struct service_conf *svc, const char *visitor);
/* The transport_names[] entry of one enum config_transport value, "?" if none. */
const char *config_transport_name(int transport);
/*
 * The status socket of role ("rtund" or "rtun"): the path the config names, or the
 * default written into buf (then *dflt = 1); NULL when it is off.
 */
const char *config_status_socket(const struct config_common *c, const char *role, char *buf,
    size_t len, int *dflt);

#endif
