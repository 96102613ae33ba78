/*
 * Unit tests of src/config.c and the engine under it, src/config-load.c:
 * both config files loaded from real files in a temporary directory,
 * defaults, every kind of error with its exact "file:line: message", and the
 * duration and size parsers.
 */
#include "rtun-build.h"

#include <arpa/inet.h>
#include <check.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "xmalloc.h"

static char tmpdir[256];
static char path[512];
static struct config_errors errs;
static struct server_conf sconf;
static struct agent_conf aconf;

static void
setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "%s/rtun-test-config-XXXXXX",
	    getenv("TMPDIR") != NULL ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	memset(&errs, 0, sizeof(errs));
}

static void
teardown(void)
{
	config_free_server(&sconf);
	config_free_agent(&aconf);
	config_errors_free(&errs);
	unlink(path);
	rmdir(tmpdir);
}

/* Write len bytes of text to tmpdir/name and leave its path in path. */
static void
write_file(const char *name, const char *text, size_t len)
{
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	ck_assert_ptr_nonnull(fp = fopen(path, "w"));
	ck_assert_uint_eq(fwrite(text, 1, len, fp), len);
	ck_assert_int_eq(fclose(fp), 0);
}

static int
load_server(const char *text)
{
	write_file("rtund.conf", text, strlen(text));
	return config_load_server(path, &sconf, &errs);
}

static int
load_agent(const char *text)
{
	write_file("rtun.conf", text, strlen(text));
	return config_load_agent(path, &aconf, &errs);
}

/* Error i is exactly "path:line: msg" ("path: msg" for line 0). */
static void
assert_error(size_t i, int line, const char *msg)
{
	char *want;

	ck_assert_uint_gt(errs.n, i);
	if (line > 0)
		want = xasprintf("%s:%d: %s", path, line, msg);
	else
		want = xasprintf("%s: %s", path, msg);
	ck_assert_str_eq(errs.msgs[i], want);
	free(want);
}

/* A load failed with exactly one error, "path:line: msg", and freed the config. */
static void
assert_only_error(int r, int line, const char *msg)
{
	ck_assert_int_eq(r, -1);
	assert_error(0, line, msg);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_null(sconf.path);
	ck_assert_ptr_null(aconf.path);
}

static void
server_fails(const char *text, int line, const char *msg)
{
	assert_only_error(load_server(text), line, msg);
}

static void
agent_fails(const char *text, int line, const char *msg)
{
	assert_only_error(load_agent(text), line, msg);
}

static uint16_t
port_of(const struct net_addr *a)
{
	return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
}

static void
assert_common_defaults(const struct config_common *c)
{
	ck_assert_double_eq(c->heartbeat_interval, CONFIG_DEFAULT_HEARTBEAT_INTERVAL);
	ck_assert_double_eq(c->heartbeat_timeout, CONFIG_DEFAULT_HEARTBEAT_TIMEOUT);
	ck_assert_uint_eq(c->stream_window, CONFIG_DEFAULT_STREAM_WINDOW);
	ck_assert_uint_eq(c->max_streams, CONFIG_DEFAULT_MAX_STREAMS);
	ck_assert_int_eq(c->log_level, LOG_LEVEL_INFO);
}

START_TEST(server_defaults)
{
	char text[NET_ADDRSTRLEN];

	ck_assert_int_eq(load_server("[server]\ntoken = s3cret\nallow_ports = 22,6000-6999\n"), 0);
	ck_assert_uint_eq(errs.n, 0);
	ck_assert_str_eq(sconf.path, path);
	ck_assert_str_eq(sconf.listen, CONFIG_DEFAULT_LISTEN);
	ck_assert_int_eq(sconf.listen_addr.ss.ss_family, AF_INET);
	ck_assert_uint_eq(port_of(&sconf.listen_addr), 7000);
	ck_assert_str_eq(sconf.token, "s3cret");
	ck_assert_str_eq(sconf.allow_ports_str, "22,6000-6999");
	ck_assert_int_eq(portset_contains(&sconf.allow_ports, 22), 1);
	ck_assert_int_eq(portset_contains(&sconf.allow_ports, 6999), 1);
	ck_assert_int_eq(portset_contains(&sconf.allow_ports, 23), 0);
	ck_assert_str_eq(sconf.bind_addr, CONFIG_DEFAULT_BIND_ADDR);
	ck_assert_str_eq(net_addr_str((struct sockaddr *)&sconf.bind_ip.ss, text), "0.0.0.0:0");
	ck_assert_uint_eq(sconf.bind_ip.len, sizeof(struct sockaddr_in));
	ck_assert_double_eq(sconf.handshake_timeout, CONFIG_DEFAULT_HANDSHAKE_TIMEOUT);
	ck_assert_double_eq(sconf.open_timeout, CONFIG_DEFAULT_OPEN_TIMEOUT);
	ck_assert_double_eq(sconf.udp_idle_timeout, CONFIG_DEFAULT_UDP_IDLE_TIMEOUT);
	ck_assert_double_eq(sconf.udp_idle_timeout, 60);
	ck_assert_uint_eq(sconf.udp_max_flows, CONFIG_DEFAULT_UDP_MAX_FLOWS);
	ck_assert_uint_eq(sconf.udp_max_flows, 1024);
	assert_common_defaults(&sconf.common);
}
END_TEST

START_TEST(server_all_keys)
{
	char text[NET_ADDRSTRLEN];

	ck_assert_int_eq(load_server("\xef\xbb\xbf; rtund test config, after a UTF-8 BOM\r\n"
	    "# comments of both kinds\n"
	    "\n"
	    "[ server ] ; trailing comment\n"
	    "  listen = 127.0.0.1:7100\n"
	    "token=abc ; inline comment\n"
	    "allow_ports = 80\n"
	    "bind_addr = ::1\r\n"
	    "handshake_timeout = 1.5s\n"
	    "open_timeout = 500ms\n"
	    "heartbeat_interval = 2m\n"
	    "heartbeat_timeout = 1h\n"
	    "stream_window = 64KiB\n"
	    "max_streams = 1000000\n"
	    "log_level = debug\n"),
	    0);
	ck_assert_str_eq(sconf.listen, "127.0.0.1:7100");
	ck_assert_uint_eq(port_of(&sconf.listen_addr), 7100);
	ck_assert_str_eq(sconf.token, "abc");
	ck_assert_str_eq(sconf.bind_addr, "::1");
	ck_assert_str_eq(net_addr_str((struct sockaddr *)&sconf.bind_ip.ss, text), "[::1]:0");
	ck_assert_uint_eq(sconf.bind_ip.len, sizeof(struct sockaddr_in6));
	ck_assert_double_eq(sconf.handshake_timeout, 1.5);
	ck_assert_double_eq(sconf.open_timeout, 0.5);
	ck_assert_double_eq(sconf.common.heartbeat_interval, 120);
	ck_assert_double_eq(sconf.common.heartbeat_timeout, 3600);
	ck_assert_uint_eq(sconf.common.stream_window, 65536);
	ck_assert_uint_eq(sconf.common.max_streams, 1000000);
	ck_assert_int_eq(sconf.common.log_level, LOG_LEVEL_DEBUG);
}
END_TEST

START_TEST(agent_defaults)
{
	char host[HOST_NAME_MAX + 1];

	ck_assert_int_eq(load_agent("[agent]\nserver = rtun.example.com:7000\ntoken = t\n"), 0);
	ck_assert_str_eq(aconf.server, "rtun.example.com:7000");
	ck_assert_str_eq(aconf.server_host, "rtun.example.com");
	ck_assert_str_eq(aconf.server_port, "7000");
	ck_assert_str_eq(aconf.token, "t");
	ck_assert_int_eq(gethostname(host, sizeof(host)), 0);
	ck_assert_str_eq(aconf.name, host);
	ck_assert_double_eq(aconf.connect_timeout, CONFIG_DEFAULT_CONNECT_TIMEOUT);
	ck_assert_double_eq(aconf.reconnect_min, CONFIG_DEFAULT_RECONNECT_MIN);
	ck_assert_double_eq(aconf.reconnect_max, CONFIG_DEFAULT_RECONNECT_MAX);
	assert_common_defaults(&aconf.common);
	ck_assert_uint_eq(aconf.nservices, 0);
}
END_TEST

START_TEST(agent_services)
{
	ck_assert_int_eq(load_agent("[agent]\n"
	    "server = [::1]:7000\n"
	    "token = t\n"
	    "name = edge-01.lab_b\n"
	    "connect_timeout = 3\n"
	    "reconnect_min = 500ms\n"
	    "reconnect_max = 500ms\n"
	    "log_level = warn\n"
	    "[service ssh]\n"
	    "local = 127.0.0.1:22\n"
	    "remote_port = 6022\n"
	    "\n"
	    "[service  web]\n"
	    "remote_port = 6080\n"
	    "local = [::1]:8080\n"),
	    0);
	ck_assert_str_eq(aconf.server_host, "::1");
	ck_assert_str_eq(aconf.name, "edge-01.lab_b");
	ck_assert_double_eq(aconf.connect_timeout, 3);
	ck_assert_double_eq(aconf.reconnect_min, 0.5);
	ck_assert_double_eq(aconf.reconnect_max, 0.5);
	ck_assert_int_eq(aconf.common.log_level, LOG_LEVEL_WARN);
	ck_assert_uint_eq(aconf.nservices, 2);
	ck_assert_str_eq(aconf.services[0].name, "ssh");
	ck_assert_str_eq(aconf.services[0].local, "127.0.0.1:22");
	ck_assert_int_eq(aconf.services[0].local_addr.ss.ss_family, AF_INET);
	ck_assert_uint_eq(port_of(&aconf.services[0].local_addr), 22);
	ck_assert_uint_eq(aconf.services[0].remote_port, 6022);
	ck_assert_int_eq(aconf.services[0].line, 9);
	ck_assert_str_eq(aconf.services[1].name, "web");
	ck_assert_int_eq(aconf.services[1].local_addr.ss.ss_family, AF_INET6);
	ck_assert_uint_eq(aconf.services[1].remote_port, 6080);
	ck_assert_int_eq(aconf.services[1].line, 13);
}
END_TEST

#define SERVER_OK "[server]\ntoken = t\nallow_ports = 22\n"
#define AGENT_OK "[agent]\nserver = h:1\ntoken = t\n"

/* Transport and operations keys: defaults, values, and the checks between them. */
START_TEST(transport_defaults)
{
	ck_assert_int_eq(load_agent(AGENT_OK), 0);
	ck_assert_int_eq(aconf.transport, CONFIG_TRANSPORT_TCP);
	ck_assert_str_eq(aconf.server_name, "h");
	ck_assert_str_eq(aconf.ws_host, "h:1");
	ck_assert_str_eq(aconf.ws_path, CONFIG_DEFAULT_WS_PATH);
	ck_assert_int_eq(aconf.insecure, 0);
	ck_assert_ptr_null(aconf.fingerprint);
	ck_assert_int_eq(aconf.pinned, 0);
	ck_assert_ptr_null(aconf.common.metrics_listen);
	ck_assert_double_eq(aconf.common.shutdown_timeout, CONFIG_DEFAULT_SHUTDOWN_TIMEOUT);
	ck_assert_int_eq(load_server(SERVER_OK), 0);
	ck_assert_int_eq(sconf.transports, CONFIG_TRANSPORT_TCP | CONFIG_TRANSPORT_WS);
	ck_assert_int_eq(sconf.common.log_syslog, 0);
}
END_TEST

/* 103 bytes: with "/tmp/", one more than a unix socket path holds. */
#define LONG_NAME "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
	"aaaaaaaaaaaaaaaa"

/* status_socket: the default by role, a path, off, and the paths that cannot be. */
START_TEST(status_socket_values)
{
	char buf[128];
	int dflt;

	ck_assert_int_eq(load_server(SERVER_OK), 0);
	ck_assert_str_eq(config_status_socket(&sconf.common, "rtund", buf, sizeof(buf), &dflt),
	    "/run/rtun/rtund.sock");
	ck_assert_int_eq(dflt, 1);
	config_free_server(&sconf);
	ck_assert_int_eq(load_agent(AGENT_OK "status_socket = /tmp/a b.sock\n"), 0);
	ck_assert_str_eq(config_status_socket(&aconf.common, "rtun", buf, sizeof(buf), &dflt),
	    "/tmp/a b.sock");
	ck_assert_int_eq(dflt, 0);
	config_free_agent(&aconf);
	ck_assert_int_eq(load_agent(AGENT_OK "status_socket = off\n"), 0);
	ck_assert_ptr_null(config_status_socket(&aconf.common, "rtun", buf, sizeof(buf), &dflt));
	ck_assert_int_eq(dflt, 0);
	config_free_agent(&aconf);
	agent_fails(AGENT_OK "status_socket = run/rtun.sock\n", 4,
	    "status_socket: \"run/rtun.sock\": an absolute path or off");
	config_errors_free(&errs);
	server_fails(SERVER_OK "status_socket = /tmp/" LONG_NAME "\n", 4,
	    "status_socket: \"/tmp/" LONG_NAME "\": longer than a unix socket path can be (107)");
}
END_TEST

START_TEST(transport_values)
{
	static const uint8_t pin[TLS_FINGERPRINT_LEN] = {
		0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd,
		0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
		0xcc, 0xdd, 0xee, 0xff,
	};

	ck_assert_int_eq(load_agent(AGENT_OK "transport = wss\nserver_name = tunnel.example\n"
	    "insecure = yes\nws_header = X-A: 1\nws_header = X-B: two words\n"
	    "fingerprint = sha256:" "00112233445566778899aabbccddeeff"
	    "00112233445566778899AABBCCDDEEFF\nlog = syslog\nmetrics_listen = 127.0.0.1:9100\n"
	    "\n[service s]\nlocal = 127.0.0.1:22\nremote_port = 6022\nproxy_protocol = v2\n"), 0);
	ck_assert_int_eq(aconf.transport, CONFIG_TRANSPORT_WSS);
	ck_assert_str_eq(aconf.server_name, "tunnel.example");
	ck_assert_int_eq(aconf.insecure, 1);
	ck_assert_int_eq(aconf.pinned, 1);
	ck_assert_mem_eq(aconf.pin, pin, sizeof(pin));
	ck_assert_uint_eq(aconf.nws_headers, 2);
	ck_assert_str_eq(aconf.ws_headers[1], "X-B: two words");
	ck_assert_int_eq(aconf.common.log_syslog, 1);
	ck_assert_uint_eq(port_of(&aconf.common.metrics_addr), 9100);
	ck_assert_int_eq(aconf.services[0].proxy_protocol, 2);
}
END_TEST

START_TEST(transport_errors)
{
	agent_fails(AGENT_OK "transport = quic\n", 4,
	    "transport: \"quic\" is not a transport (tcp, tls, ws, wss)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "fingerprint = sha256:abcd\n", 4,
	    "fingerprint: \"sha256:abcd\" is not sha256:<64 hex digits>");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "ws_header = no colon\n", 4,
	    "ws_header: \"no colon\" is not a header line \"Name: value\"");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "ws_path = rtun\n", 4,
	    "ws_path: \"rtun\" is not a path (it starts with /, no spaces)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "insecure = maybe\n", 4, "insecure: \"maybe\" is not yes or no");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "\n[service s]\nlocal = 127.0.0.1:22\nremote_port = 1\n"
	    "proxy_protocol = v3\n", 8,
	    "proxy_protocol: \"v3\" is not a PROXY protocol version (none, v1, v2)");
}
END_TEST

START_TEST(server_tls_errors)
{
	server_fails(SERVER_OK "transports = tcp, tls\n", 1,
	    "transports lists tls or wss but no tls_cert is set");
	config_errors_free(&errs);
	server_fails(SERVER_OK "transports = tcp, smtp\n", 4,
	    "transports: \"smtp\" is not a transport (tcp, tls, ws, wss)");
	config_errors_free(&errs);
	server_fails(SERVER_OK "tls_cert = /nonexistent/cert.pem\n", 4,
	    "tls_cert: \"/nonexistent/cert.pem\": No such file or directory");
	config_errors_free(&errs);
	server_fails(SERVER_OK "log = journald\n", 4,
	    "log: \"journald\" is not a log target (stderr, syslog)");
}
END_TEST

START_TEST(server_tls_pair)
{
	char *text;

	/* The config file itself stands in for a readable PEM file. */
	write_file("rtund.conf", "", 0);
	text = xasprintf(SERVER_OK "tls_cert = %s\n", path);

	server_fails(text, 1, "tls_cert and tls_key go together: set both or neither");
	free(text);
}
END_TEST

START_TEST(missing_file)
{
	snprintf(path, sizeof(path), "%s/%s", tmpdir, "nonexistent.conf");
	ck_assert_int_eq(config_load_server(path, &sconf, &errs), -1);
	assert_error(0, 0, "cannot open: No such file or directory");
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_int_eq(config_load_agent(path, &aconf, &errs), -1);
	assert_error(1, 0, "cannot open: No such file or directory");
}
END_TEST

START_TEST(missing_section)
{
	server_fails("# nothing\n", 0, "missing [server] section");
}
END_TEST

START_TEST(missing_required_key)
{
	server_fails("\n[server]\nallow_ports = 22\n", 2,
	    "missing required key \"token\" in [server]");
}
END_TEST

START_TEST(missing_service_key)
{
	agent_fails(AGENT_OK "[service ssh]\nlocal = 127.0.0.1:22\n", 4,
	    "missing required key \"remote_port\" in [service ssh]");
}
END_TEST

START_TEST(unknown_section)
{
	/* Keys of an unknown section are skipped, not reported one by one. */
	server_fails(SERVER_OK "[client]\nfoo = 1\n", 4, "unknown section [client]");
}
END_TEST

START_TEST(unknown_key)
{
	server_fails("[server]\nallow_ports = 22\ntoken = t\ntokn = x\n", 4,
	    "unknown key \"tokn\" in [server]");
}
END_TEST

START_TEST(key_outside_section)
{
	server_fails("token = t\n" SERVER_OK, 1, "\"token\" is outside any section");
}
END_TEST

START_TEST(duplicate_key)
{
	server_fails(SERVER_OK "token = u\n", 4,
	    "duplicate key \"token\" in [server] (first set on line 2)");
}
END_TEST

START_TEST(duplicate_section)
{
	server_fails(SERVER_OK "[server]\nlog_level = debug\n", 4,
	    "duplicate [server] section (first on line 1)");
}
END_TEST

START_TEST(bad_duration)
{
	server_fails(SERVER_OK "open_timeout = soon\n", 4,
	    "open_timeout: \"soon\" is not a duration (e.g. 30s, 500ms, 2m)");
}
END_TEST

START_TEST(zero_duration)
{
	server_fails(SERVER_OK "handshake_timeout = 0s\n", 4,
	    "handshake_timeout: \"0s\" is out of range (1ms to 24h)");
}
END_TEST

START_TEST(bad_size)
{
	server_fails(SERVER_OK "stream_window = 64 KB\n", 4,
	    "stream_window: \"64 KB\" is not a size (e.g. 65536, 64K, 1M)");
}
END_TEST

START_TEST(size_out_of_range)
{
	server_fails(SERVER_OK "stream_window = 1K\n", 4,
	    "stream_window: \"1K\" is out of range (16384 to 16777216)");
}
END_TEST

START_TEST(count_out_of_range)
{
	server_fails(SERVER_OK "max_streams = 0\n", 4,
	    "max_streams: \"0\" is out of range (1 to 1000000)");
}
END_TEST

START_TEST(bad_log_level)
{
	server_fails(SERVER_OK "log_level = verbose\n", 4,
	    "log_level: \"verbose\" is not a log level (error, warn, info, debug)");
}
END_TEST

START_TEST(bad_listen_port)
{
	server_fails(SERVER_OK "listen = 0.0.0.0:http\n", 4,
	    "listen: \"0.0.0.0:http\": port must be a number from 1 to 65535");
}
END_TEST

START_TEST(bad_bind_addr)
{
	server_fails(SERVER_OK "bind_addr = localhost\n", 4,
	    "bind_addr: \"localhost\" is not a numeric IPv4 or IPv6 address");
}
END_TEST

START_TEST(empty_token)
{
	server_fails("[server]\ntoken =\nallow_ports = 22\n", 2, "token: must not be empty");
}
END_TEST

START_TEST(bad_allow_ports)
{
	server_fails("[server]\ntoken = t\nallow_ports = 22,5-3\n", 3,
	    "allow_ports: \"22,5-3\": range start is greater than its end");
}
END_TEST

START_TEST(allow_ports_out_of_range)
{
	server_fails("[server]\ntoken = t\nallow_ports = 65536\n", 3,
	    "allow_ports: \"65536\": ports must be from 1 to 65535");
}
END_TEST

START_TEST(heartbeat_order)
{
	server_fails(SERVER_OK "heartbeat_interval = 30s\n\nheartbeat_timeout = 30\n", 6,
	    "heartbeat_timeout (30s) must be greater than heartbeat_interval (30s)");
}
END_TEST

START_TEST(heartbeat_order_default)
{
	/* Only the interval is set: the error is on its line. */
	agent_fails(AGENT_OK "heartbeat_interval = 1m\n", 4,
	    "heartbeat_timeout (30s) must be greater than heartbeat_interval (60s)");
}
END_TEST

START_TEST(reconnect_order)
{
	agent_fails(AGENT_OK "reconnect_max = 2s\nreconnect_min = 5s\n", 5,
	    "reconnect_max (2s) must not be less than reconnect_min (5s)");
}
END_TEST

START_TEST(bad_server)
{
	agent_fails("[agent]\nserver = rtun.example.com\ntoken = t\n", 2,
	    "server: \"rtun.example.com\": expected host:port");
}
END_TEST

START_TEST(server_without_host)
{
	agent_fails("[agent]\nserver = :7000\ntoken = t\n", 2,
	    "server: \":7000\": a host name or address is needed");
}
END_TEST

START_TEST(bad_agent_name)
{
	agent_fails(AGENT_OK "name = my host\n", 4,
	    "name: \"my host\" is not a valid name (1-64 of A-Z a-z 0-9 . _ -)");
}
END_TEST

START_TEST(bad_port)
{
	agent_fails(AGENT_OK "[service ssh]\nlocal = 127.0.0.1:22\nremote_port = ssh\n", 6,
	    "remote_port: \"ssh\" is not a port (1-65535)");
}
END_TEST

START_TEST(port_out_of_range)
{
	agent_fails(AGENT_OK "[service ssh]\nlocal = 127.0.0.1:22\nremote_port = 70000\n", 6,
	    "remote_port: \"70000\" is not a port (1-65535)");
}
END_TEST

START_TEST(unresolvable_local)
{
	char *want;

	ck_assert_int_eq(load_agent(AGENT_OK "[service x]\nlocal = no-such-host.invalid:22\n"
	    "remote_port = 6000\n"), -1);
	ck_assert_uint_eq(errs.n, 1);
	/* The resolver's own words follow; they differ between libcs. */
	want = xasprintf("%s:5: local: \"no-such-host.invalid:22\": cannot resolve "
	    "no-such-host.invalid: ", path);
	ck_assert_int_eq(strncmp(errs.msgs[0], want, strlen(want)), 0);
	free(want);
}
END_TEST

START_TEST(duplicate_service_port)
{
	agent_fails(AGENT_OK "[service a]\nlocal = 127.0.0.1:1\nremote_port = 6000\n"
	    "[service b]\nremote_port = 6000\nlocal = 127.0.0.1:2\n", 8,
	    "remote_port 6000 is already used by [service a] on line 4");
}
END_TEST

/* type = udp: a UDP port beside TCP ones (the same number too), with its own keys. */
START_TEST(udp_services)
{
	ck_assert_int_eq(load_agent(AGENT_OK "[service dns]\ntype = udp\nlocal = 127.0.0.1:53\n"
	    "remote_port = 5353\n"
	    "[service dns-tcp]\nlocal = 127.0.0.1:53\nremote_port = 5353\n"
	    "[service voip]\ntype = udp\nlocal = 127.0.0.1:5060\nremote_port = 5060\n"
	    "udp_idle_timeout = 2m\nudp_max_flows = 10\n"),
	    0);
	ck_assert_uint_eq(aconf.nservices, 3);
	ck_assert_int_eq(aconf.services[0].type, SERVICE_TYPE_UDP);
	ck_assert_double_eq(aconf.services[0].udp_idle_timeout, CONFIG_DEFAULT_UDP_IDLE_TIMEOUT);
	ck_assert_uint_eq(aconf.services[0].udp_max_flows, CONFIG_DEFAULT_UDP_MAX_FLOWS);
	ck_assert_int_eq(aconf.services[1].type, SERVICE_TYPE_TCP);
	ck_assert_int_eq(aconf.services[2].type, SERVICE_TYPE_UDP);
	ck_assert_double_eq(aconf.services[2].udp_idle_timeout, 120);
	ck_assert_uint_eq(aconf.services[2].udp_max_flows, 10);
	ck_assert_int_eq(load_server(SERVER_OK "udp_idle_timeout = 5s\nudp_max_flows = 1000000\n"),
	    0);
	ck_assert_double_eq(sconf.udp_idle_timeout, 5);
	ck_assert_uint_eq(sconf.udp_max_flows, 1000000);
}
END_TEST

#define UDP_SVC "[service dns]\nlocal = 127.0.0.1:53\nremote_port = 5353\ntype = udp\n"

START_TEST(udp_errors)
{
	agent_fails(AGENT_OK "[service dns]\nlocal = 127.0.0.1:53\nremote_port = 53\ntype = sctp\n",
	    7, "type: \"sctp\" is not a service type (tcp, udp, http, https)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK UDP_SVC "udp_idle_timeout = never\n", 8,
	    "udp_idle_timeout: \"never\" is not a duration (e.g. 30s, 500ms, 2m)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK UDP_SVC "udp_idle_timeout = 0\n", 8,
	    "udp_idle_timeout: \"0\" is out of range (1ms to 24h)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK UDP_SVC "udp_max_flows = 0\n", 8,
	    "udp_max_flows: \"0\" is out of range (1 to 1000000)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK UDP_SVC "udp_max_flows = lots\n", 8,
	    "udp_max_flows: \"lots\" is not a whole number");
	config_errors_free(&errs);
	/* Each key that a UDP service cannot have is named on its own line. */
	ck_assert_int_eq(load_agent(AGENT_OK UDP_SVC "p2p = yes\nallow_peers = laptop\n"), -1);
	assert_error(0, 8, "p2p is not supported with type = udp");
	assert_error(1, 9, "allow_peers is not supported with type = udp");
	ck_assert_uint_eq(errs.n, 2);
	config_errors_free(&errs);
	agent_fails(AGENT_OK UDP_SVC "proxy_protocol = v2\n", 8,
	    "proxy_protocol is not supported with type = udp");
	config_errors_free(&errs);
	agent_fails(AGENT_OK UDP_SVC "idle_timeout = 5m\n", 8,
	    "idle_timeout is not supported with type = udp");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service dns]\nlocal = 127.0.0.1:53\ntype = udp\n", 4,
	    "missing required key \"remote_port\" in [service dns]");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service dns]\nlocal = 127.0.0.1:53\nremote_port = 53\n"
	    "udp_max_flows = 5\n", 7, "udp_max_flows is only valid with type = udp");
	config_errors_free(&errs);
	agent_fails(AGENT_OK UDP_SVC "[service dns2]\ntype = udp\nlocal = 127.0.0.1:54\n"
	    "remote_port = 5353\n", 11, "remote_port 5353 is already used by [service dns] on line 4");
	config_errors_free(&errs);
	server_fails(SERVER_OK "udp_idle_timeout = soon\n", 4,
	    "udp_idle_timeout: \"soon\" is not a duration (e.g. 30s, 500ms, 2m)");
	config_errors_free(&errs);
	server_fails(SERVER_OK "udp_max_flows = 1000001\n", 4,
	    "udp_max_flows: \"1000001\" is out of range (1 to 1000000)");
}
END_TEST

START_TEST(duplicate_service_name)
{
	agent_fails(AGENT_OK "[service a]\nlocal = 127.0.0.1:1\nremote_port = 6000\n"
	    "[service a]\nlocal = 127.0.0.1:2\nremote_port = 6001\n", 7,
	    "duplicate [service a] (first on line 4)");
}
END_TEST

START_TEST(bad_service_name)
{
	agent_fails(AGENT_OK "[service a/b]\nlocal = 127.0.0.1:1\nremote_port = 6000\n", 4,
	    "bad service name \"a/b\" (1-64 of A-Z a-z 0-9 . _ -)");
}
END_TEST

START_TEST(service_name_lengths)
{
	char text[512];

	/* 64 characters is the limit; inih alone would cut section names at 49. */
	snprintf(text, sizeof(text), AGENT_OK "[service %064d]\nlocal = 127.0.0.1:1\n"
	    "remote_port = 6000\n[service %065d]\n", 1, 2);
	ck_assert_int_eq(load_agent(text), -1);
	ck_assert_uint_eq(errs.n, 1);
	ck_assert_ptr_nonnull(strstr(errs.msgs[0], ":7: bad service name \"00000"));
}
END_TEST

START_TEST(unnamed_service)
{
	agent_fails(AGENT_OK "[service]\nlocal = 127.0.0.1:1\n", 4,
	    "[service] needs a name: [service NAME]");
}
END_TEST

START_TEST(named_agent)
{
	agent_fails("[agent x]\nserver = h:1\ntoken = t\n[agent]\nserver = h:1\ntoken = t\n", 1,
	    "[agent] takes no name");
}
END_TEST

START_TEST(syntax_error)
{
	server_fails(SERVER_OK "log_level debug\n", 4, "syntax error: expected \"key = value\"");
}
END_TEST

START_TEST(header_without_bracket)
{
	server_fails(SERVER_OK "[server\n", 4, "syntax error: section header without ']'");
}
END_TEST

START_TEST(header_trailing_text)
{
	server_fails("[server] x\ntoken = t\nallow_ports = 22\n", 1,
	    "syntax error: unexpected text after ']'");
}
END_TEST

START_TEST(indented_line_is_not_a_continuation)
{
	/* inih would append an indented line to the previous value; we read it as a key. */
	server_fails(SERVER_OK "  more text\n", 4, "syntax error: expected \"key = value\"");
}
END_TEST

START_TEST(long_line)
{
	char text[1024], pad[251];

	memset(pad, 'x', sizeof(pad) - 1);
	pad[sizeof(pad) - 1] = '\0';
	snprintf(text, sizeof(text), SERVER_OK "token = %s\nbogus = 1\n", pad);
	ck_assert_int_eq(load_server(text), -1);
	assert_error(0, 4, "line is too long (more than 197 characters)");
	/* Lines after it are still counted right. */
	assert_error(1, 5, "unknown key \"bogus\" in [server]");
	ck_assert_uint_eq(errs.n, 2);
}
END_TEST

START_TEST(nul_byte)
{
	static const char text[] = SERVER_OK "log_level = in\0fo\n";

	write_file("rtund.conf", text, sizeof(text) - 1);
	ck_assert_int_eq(config_load_server(path, &sconf, &errs), -1);
	assert_error(0, 4, "line contains a NUL byte");
	ck_assert_uint_eq(errs.n, 1);
}
END_TEST

START_TEST(all_errors_collected)
{
	ck_assert_int_eq(load_agent("[agent]\n"
	    "server = h:1\n"
	    "heartbeat_interval = -1\n"
	    "what\n"
	    "[nope]\n"
	    "[service s]\n"
	    "local = 127.0.0.1:1\n"
	    "remote_port = 0\n"
	    "extra = 1\n"),
	    -1);
	assert_error(0, 3, "heartbeat_interval: \"-1\" is not a duration (e.g. 30s, 500ms, 2m)");
	assert_error(1, 4, "syntax error: expected \"key = value\"");
	assert_error(2, 1, "missing required key \"token\" in [agent]");
	assert_error(3, 5, "unknown section [nope]");
	assert_error(4, 8, "remote_port: \"0\" is not a port (1-65535)");
	assert_error(5, 9, "unknown key \"extra\" in [service s]");
	ck_assert_uint_eq(errs.n, 6);
	ck_assert_ptr_null(aconf.path);
}
END_TEST

/* The P2P keys: services visitors may reach, the visitors themselves, rtund's rendezvous. */
START_TEST(p2p_defaults)
{
	ck_assert_int_eq(load_agent(AGENT_OK "[service ssh]\nlocal = 127.0.0.1:22\n"
	    "remote_port = 6022\n"), 0);
	ck_assert_double_eq(aconf.punch_timeout, CONFIG_DEFAULT_PUNCH_TIMEOUT);
	ck_assert_uint_eq(aconf.nvisitors, 0);
	ck_assert_ptr_null(aconf.visitors);
	ck_assert_int_eq(aconf.services[0].p2p, 0);
	ck_assert_uint_eq(aconf.services[0].nallow_peers, 0);
	ck_assert_ptr_null(aconf.services[0].allow_peers);
	ck_assert_int_eq(load_server(SERVER_OK), 0);
	ck_assert_int_eq(sconf.p2p, 1);
	ck_assert_int_eq(sconf.relay, 1);
	ck_assert_uint_eq(sconf.relay_max_streams, CONFIG_DEFAULT_RELAY_MAX_STREAMS);
}
END_TEST

START_TEST(p2p_server_values)
{
	ck_assert_int_eq(load_server(SERVER_OK "p2p = no\nrelay = false\n"
	    "relay_max_streams = 1000000\n"), 0);
	ck_assert_int_eq(sconf.p2p, 0);
	ck_assert_int_eq(sconf.relay, 0);
	ck_assert_uint_eq(sconf.relay_max_streams, 1000000);
}
END_TEST

START_TEST(p2p_services)
{
	ck_assert_int_eq(load_agent(AGENT_OK "name = office\npunch_timeout = 2500ms\n"
	    "[service ssh]\nlocal = 127.0.0.1:22\np2p = yes\n"
	    "allow_peers = laptop,ci-runner , x.y_z\n"
	    "[service web]\nlocal = 127.0.0.1:80\nremote_port = 6080\np2p = yes\n"
	    "allow_peers = laptop\nidle_timeout = 80s\n"
	    "[service db]\nlocal = 127.0.0.1:5432\np2p = 1\nallow_peers = laptop\n"), 0);
	ck_assert_double_eq(aconf.punch_timeout, 2.5);
	ck_assert_uint_eq(aconf.nservices, 3);
	ck_assert_int_eq(aconf.services[0].p2p, 1);
	/* No remote_port: no public port, reachable by its visitors only. */
	ck_assert_uint_eq(aconf.services[0].remote_port, 0);
	ck_assert_uint_eq(aconf.services[0].nallow_peers, 3);
	ck_assert_str_eq(aconf.services[0].allow_peers[0], "laptop");
	ck_assert_str_eq(aconf.services[0].allow_peers[1], "ci-runner");
	ck_assert_str_eq(aconf.services[0].allow_peers[2], "x.y_z");
	ck_assert_uint_eq(aconf.services[1].remote_port, 6080);
	ck_assert_uint_eq(aconf.services[1].nallow_peers, 1);
	ck_assert_double_eq(aconf.services[1].idle_timeout, 80);
	ck_assert_double_eq(aconf.services[0].idle_timeout, 0);
	/* Two services without a public port do not clash over port 0. */
	ck_assert_uint_eq(aconf.services[2].remote_port, 0);
}
END_TEST

START_TEST(p2p_visitors)
{
	ck_assert_int_eq(load_agent("[visitor office-ssh]\npeer = office\nservice = ssh\n"
	    "local = 127.0.0.1:2222\n"
	    "[agent]\nserver = h:1\ntoken = t\nname = laptop\n"
	    "[visitor db]\npeer = office\nservice = db\nlocal = [::1]:5432\nmode = relay\n"
	    "[visitor web]\nmode = direct\npeer = nas\nservice = web\nlocal = 127.0.0.1:8080\n"
	    "[visitor any]\nmode = auto\npeer = nas\nservice = any\nlocal = 127.0.0.1:8081\n"
	    "idle_timeout = 2m\n"),
	    0);
	/* A visitor-only agent: no service at all. */
	ck_assert_uint_eq(aconf.nservices, 0);
	ck_assert_uint_eq(aconf.nvisitors, 4);
	ck_assert_str_eq(aconf.visitors[0].name, "office-ssh");
	ck_assert_str_eq(aconf.visitors[0].peer, "office");
	ck_assert_str_eq(aconf.visitors[0].service, "ssh");
	ck_assert_str_eq(aconf.visitors[0].local, "127.0.0.1:2222");
	ck_assert_int_eq(aconf.visitors[0].local_addr.ss.ss_family, AF_INET);
	ck_assert_uint_eq(port_of(&aconf.visitors[0].local_addr), 2222);
	ck_assert_int_eq(aconf.visitors[0].mode, VISITOR_AUTO);
	ck_assert_int_eq(aconf.visitors[0].line, 1);
	ck_assert_int_eq(aconf.visitors[1].local_addr.ss.ss_family, AF_INET6);
	ck_assert_int_eq(aconf.visitors[1].mode, VISITOR_RELAY);
	ck_assert_int_eq(aconf.visitors[1].line, 9);
	ck_assert_int_eq(aconf.visitors[2].mode, VISITOR_DIRECT);
	ck_assert_int_eq(aconf.visitors[3].mode, VISITOR_AUTO);
	ck_assert_double_eq(aconf.visitors[0].idle_timeout, 0);
	ck_assert_double_eq(aconf.visitors[3].idle_timeout, 120);
}
END_TEST

START_TEST(p2p_allow_peers_max)
{
	/* One-character names, so that 65 of them fit in a line. */
	static const char names[] = "0123456789abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ._-";
	char text[512];
	int n, i;

	n = snprintf(text, sizeof(text), AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = yes\n"
	    "allow_peers = ");
	for (i = 0; i < CONFIG_ALLOW_PEERS_MAX; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "%s%c", i > 0 ? "," : "",
		    names[i]);
	snprintf(text + n, sizeof(text) - (size_t)n, "\n");
	ck_assert_int_eq(load_agent(text), 0);
	ck_assert_uint_eq(aconf.services[0].nallow_peers, CONFIG_ALLOW_PEERS_MAX);
	ck_assert_str_eq(aconf.services[0].allow_peers[CONFIG_ALLOW_PEERS_MAX - 1], "_");
	config_free_agent(&aconf);
	snprintf(text + n, sizeof(text) - (size_t)n, ",%c\n", names[CONFIG_ALLOW_PEERS_MAX]);
	agent_fails(text, 7, "allow_peers: more than 64 names");
}
END_TEST

START_TEST(p2p_service_errors)
{
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = maybe\n"
	    "allow_peers = a\n", 6, "p2p: \"maybe\" is not yes or no");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = yes\n", 6,
	    "p2p = yes needs allow_peers, the agents that may visit");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\nremote_port = 6000\n"
	    "allow_peers = a\n", 7, "allow_peers is only valid with p2p = yes");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = no\nremote_port = 6000\n"
	    "allow_peers = a\n", 8, "allow_peers is only valid with p2p = yes");
	config_errors_free(&errs);
	/* Each of the two problems is reported. */
	ck_assert_int_eq(load_agent(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\n"
	    "allow_peers = a\n"), -1);
	assert_error(0, 4, "missing required key \"remote_port\" in [service s]");
	assert_error(1, 6, "allow_peers is only valid with p2p = yes");
	ck_assert_uint_eq(errs.n, 2);
	config_errors_free(&errs);
	/* Without p2p the public port is still required. */
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = no\n", 4,
	    "missing required key \"remote_port\" in [service s]");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = yes\n"
	    "allow_peers = laptop, lap top\n", 7,
	    "allow_peers: \"lap top\" is not a valid name (1-64 of A-Z a-z 0-9 . _ -)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = yes\n"
	    "allow_peers = laptop, ci, laptop\n", 7, "allow_peers: \"laptop\" is listed twice");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = yes\n"
	    "allow_peers = laptop,,ci\n", 7, "allow_peers: an empty name in the list");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = yes\n"
	    "allow_peers = , \n", 7, "allow_peers: an empty name in the list");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:1\np2p = yes\nremote_port = 0\n"
	    "allow_peers = a\n", 7, "remote_port: \"0\" is not a port (1-65535)");
	config_errors_free(&errs);
	/* Port 0 is "no public port"; two real ones still clash. */
	agent_fails(AGENT_OK "[service a]\nlocal = 127.0.0.1:1\np2p = yes\nallow_peers = x\n"
	    "[service b]\nlocal = 127.0.0.1:2\nremote_port = 6000\n"
	    "[service c]\nlocal = 127.0.0.1:3\nremote_port = 6000\n", 13,
	    "remote_port 6000 is already used by [service b] on line 8");
}
END_TEST

START_TEST(p2p_visitor_errors)
{
	agent_fails(AGENT_OK "[visitor]\npeer = a\n", 4, "[visitor] needs a name: [visitor NAME]");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor a/b]\npeer = a\nservice = s\nlocal = 127.0.0.1:1\n", 4,
	    "bad visitor name \"a/b\" (1-64 of A-Z a-z 0-9 . _ -)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nservice = s\nlocal = 127.0.0.1:1\n"
	    "[visitor v]\npeer = a\nservice = s\nlocal = 127.0.0.1:2\n", 8,
	    "duplicate [visitor v] (first on line 4)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\nservice = s\nlocal = 127.0.0.1:1\n", 4,
	    "missing required key \"peer\" in [visitor v]");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nlocal = 127.0.0.1:1\n", 4,
	    "missing required key \"service\" in [visitor v]");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nservice = s\n", 4,
	    "missing required key \"local\" in [visitor v]");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a b\nservice = s\nlocal = 127.0.0.1:1\n", 5,
	    "peer: \"a b\" is not a valid name (1-64 of A-Z a-z 0-9 . _ -)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nservice = s/t\nlocal = 127.0.0.1:1\n", 6,
	    "service: \"s/t\" is not a valid name (1-64 of A-Z a-z 0-9 . _ -)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nservice = s\nlocal = 127.0.0.1:1\n"
	    "mode = fast\n", 8, "mode: \"fast\" is not a visitor mode (auto, direct, relay)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nservice = s\nlocal = 127.0.0.1:x\n", 7,
	    "local: \"127.0.0.1:x\": port must be a number from 1 to 65535");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nservice = s\nlocal = 127.0.0.1:1\n"
	    "proxy_protocol = v1\n", 8, "unknown key \"proxy_protocol\" in [visitor v]");
}
END_TEST

START_TEST(p2p_visitor_conflicts)
{
	/* A visitor of this agent itself, with [agent] before and after it. */
	agent_fails(AGENT_OK "name = me\n[visitor v]\nservice = s\npeer = me\n"
	    "local = 127.0.0.1:1\n", 7, "peer \"me\" is this agent's own name");
	config_errors_free(&errs);
	agent_fails("[visitor v]\npeer = me\nservice = s\nlocal = 127.0.0.1:1\n" AGENT_OK
	    "name = me\n", 1, "[visitor v]: peer \"me\" is this agent's own name");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor a]\npeer = p\nservice = s\nlocal = 127.0.0.1:2222\n"
	    "[visitor b]\nlocal = 127.0.0.1:2222\npeer = p\nservice = t\n", 9,
	    "local \"127.0.0.1:2222\" is already used by [visitor a] on line 4");
	config_errors_free(&errs);
	/* The same address written another way is still the same address. */
	agent_fails(AGENT_OK "[visitor a]\npeer = p\nservice = s\nlocal = [::1]:2222\n"
	    "[visitor b]\npeer = p\nservice = t\nlocal = [0:0::1]:2222\n", 11,
	    "local \"[0:0::1]:2222\" is already used by [visitor a] on line 4");
	config_errors_free(&errs);
	/* The same port on another address is fine. */
	ck_assert_int_eq(load_agent(AGENT_OK "[visitor a]\npeer = p\nservice = s\n"
	    "local = 127.0.0.1:2222\n[visitor b]\npeer = p\nservice = t\n"
	    "local = 127.0.0.2:2222\n"), 0);
}
END_TEST

START_TEST(web_keys)
{
	ck_assert_int_eq(load_server(SERVER_OK "http_listen = 127.0.0.1:8080\n"
	    "https_listen = :8443\nallow_hosts = *.Apps.Example.com , example.org., *\n"), 0);
	ck_assert_str_eq(sconf.http_listen, "127.0.0.1:8080");
	ck_assert_uint_eq(port_of(&sconf.http_addr), 8080);
	ck_assert_uint_eq(port_of(&sconf.https_addr), 8443);
	ck_assert_uint_eq(sconf.nallow_hosts, 3);
	ck_assert_str_eq(sconf.allow_hosts[0], "*.apps.example.com");
	ck_assert_str_eq(sconf.allow_hosts[1], "example.org");
	ck_assert_str_eq(sconf.allow_hosts[2], "*");
	config_free_server(&sconf);
	ck_assert_int_eq(load_server(SERVER_OK), 0);
	ck_assert_ptr_null(sconf.http_listen);
	ck_assert_uint_eq(sconf.nallow_hosts, 0);
	ck_assert_int_eq(load_agent(AGENT_OK "[service web]\ntype = http\nlocal = 127.0.0.1:80\n"
	    "hosts = App.Example.com, *.dev.example.com\nforwarded_headers = yes\n"
	    "[service tls]\ntype = https\nlocal = 127.0.0.1:443\nhosts = app.example.com\n"
	    "proxy_protocol = v2\n"), 0);
	ck_assert_int_eq(aconf.services[0].type, SERVICE_TYPE_HTTP);
	ck_assert_uint_eq(aconf.services[0].nhosts, 2);
	ck_assert_str_eq(aconf.services[0].hosts[0], "app.example.com");
	ck_assert_str_eq(aconf.services[0].hosts[1], "*.dev.example.com");
	ck_assert_int_eq(aconf.services[0].forwarded_headers, 1);
	ck_assert_uint_eq(aconf.services[0].remote_port, 0);
	/* The same name on http and on https: two listeners, no clash. */
	ck_assert_int_eq(aconf.services[1].type, SERVICE_TYPE_HTTPS);
	ck_assert_str_eq(aconf.services[1].hosts[0], "app.example.com");
}
END_TEST

START_TEST(web_key_errors)
{
	server_fails(SERVER_OK "http_listen = 127.0.0.1:8080\n", 4,
	    "http_listen and https_listen need allow_hosts, the names agents may claim");
	config_errors_free(&errs);
	server_fails(SERVER_OK "allow_hosts = a.example\n", 4,
	    "allow_hosts is only valid with http_listen or https_listen");
	config_errors_free(&errs);
	server_fails(SERVER_OK "https_listen = 1.2.3.4:x\nallow_hosts = a.b\n", 4,
	    "https_listen: \"1.2.3.4:x\": port must be a number from 1 to 65535");
	config_errors_free(&errs);
	server_fails(SERVER_OK "http_listen = :80\nallow_hosts = a.b, a/b\n", 5,
	    "allow_hosts: \"a/b\" is not a host name or *.name");
	config_errors_free(&errs);
	server_fails(SERVER_OK "http_listen = :80\nallow_hosts = a.b, A.b\n", 5,
	    "allow_hosts: \"A.b\" is listed twice");
	config_errors_free(&errs);
	server_fails(SERVER_OK "listen = 127.0.0.1:7000\nallow_hosts = a.b\n"
	    "https_listen = 127.0.0.1:7000\n", 6,
	    "https_listen 127.0.0.1:7000 is the address of listen");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service w]\ntype = http\nlocal = 127.0.0.1:80\n", 4,
	    "missing required key \"hosts\" in [service w] (type = http)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service w]\ntype = http\nlocal = 127.0.0.1:80\nhosts = a.b\n"
	    "remote_port = 80\n", 8, "remote_port is not valid with type = http or https (they "
	    "share rtund's http_listen or https_listen by host name)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service w]\nlocal = 127.0.0.1:80\nremote_port = 80\n"
	    "hosts = a.b\n", 7, "hosts is only valid with type = http or https");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service w]\ntype = https\nlocal = 127.0.0.1:80\nhosts = a.b\n"
	    "forwarded_headers = yes\n", 8, "forwarded_headers is only valid with type = http");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service w]\ntype = http\nlocal = 127.0.0.1:80\nhosts = a b\n", 7,
	    "hosts: \"a b\" is not a host name or *.name");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service w]\ntype = http\nlocal = 127.0.0.1:80\nhosts = *\n", 7,
	    "hosts: \"*\" is not a host name or *.name");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service v]\ntype = http\nlocal = 127.0.0.1:80\nhosts = a.b, c.d\n"
	    "[service w]\ntype = http\nlocal = 127.0.0.1:81\nhosts = C.D\n", 11,
	    "host c.d is already claimed by [service v] on line 4");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service w]\ntype = gopher\nlocal = 127.0.0.1:80\n", 5,
	    "type: \"gopher\" is not a service type (tcp, udp, http, https)");
}
END_TEST

START_TEST(p2p_key_errors)
{
	agent_fails(AGENT_OK "punch_timeout = 0\n", 4,
	    "punch_timeout: \"0\" is out of range (1ms to 24h)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "punch_timeout = soon\n", 4,
	    "punch_timeout: \"soon\" is not a duration (e.g. 30s, 500ms, 2m)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[service s]\nlocal = 127.0.0.1:22\nremote_port = 2222\n"
	    "idle_timeout = soon\n", 7,
	    "idle_timeout: \"soon\" is neither off nor a duration (e.g. 80s, 5m)");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "[visitor v]\npeer = a\nservice = s\nlocal = 127.0.0.1:1\n"
	    "idle_timeout = 0\n", 8, "idle_timeout: \"0\" is out of range (1ms to 24h)");
	config_errors_free(&errs);
	server_fails(SERVER_OK "relay_max_streams = 0\n", 4,
	    "relay_max_streams: \"0\" is out of range (1 to 1000000)");
	config_errors_free(&errs);
	server_fails(SERVER_OK "relay_max_streams = 1000001\n", 4,
	    "relay_max_streams: \"1000001\" is out of range (1 to 1000000)");
	config_errors_free(&errs);
	server_fails(SERVER_OK "relay_max_streams = many\n", 4,
	    "relay_max_streams: \"many\" is not a whole number");
	config_errors_free(&errs);
	server_fails(SERVER_OK "p2p = perhaps\n", 4, "p2p: \"perhaps\" is not yes or no");
	config_errors_free(&errs);
	server_fails(SERVER_OK "relay = 2\n", 4, "relay: \"2\" is not yes or no");
}
END_TEST

START_TEST(durations)
{
	static const struct {
		const char *text;
		double secs;
	} good[] = {
		{ "10", 10 }, { "10s", 10 }, { "1.5s", 1.5 }, { "500ms", 0.5 }, { "2m", 120 },
		{ "1h", 3600 }, { ".25", 0.25 }, { "0", 0 },
	};
	static const char *const bad[] = { "", "s", "-1", "1x", "1.2.3", "1e3", " 1", "1 s", ".",
		"nan", "inf", "0x10", "10S", "1sec" };
	size_t i;
	double d;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		d = -1;
		ck_assert_msg(config_parse_duration(good[i].text, &d) == 0, "%s", good[i].text);
		ck_assert_double_eq(d, good[i].secs);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_duration(bad[i], &d) == -1, "\"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(sizes)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{ "65536", 65536 }, { "0", 0 }, { "64K", 65536 }, { "64k", 65536 },
		{ "64KiB", 65536 }, { "1M", 1048576 }, { "1MiB", 1048576 }, { "2G", 2147483648ULL },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad[] = { "", "K", "-1", "1.5K", "64 K", "64KB", "64kib", "1T",
		"18446744073709551616", "17179869184G" };
	size_t i;
	uint64_t v;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		v = 1;
		ck_assert_msg(config_parse_size(good[i].text, &v) == 0, "%s", good[i].text);
		ck_assert_uint_eq(v, good[i].bytes);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(config_parse_size(bad[i], &v) == -1, "\"%s\" accepted", bad[i]);
}
END_TEST

START_TEST(routes)
{
	char buf[NET_ADDRSTRLEN];

	/* A route may come before [server]; routes and their keys as written. */
	ck_assert_int_eq(load_server("[route office-ssh]\nport = 5122\nagent = office-nas\n"
	    "connect = 192.168.1.4:22\n"
	    SERVER_OK
	    "[route web]\nport = 8080\nconnect = web.internal:80\nidle_timeout = 5m\n"
	    "[route v6]\nconnect = [fd00::4]:443\nport = 443\nidle_timeout = off\n"), 0);
	ck_assert_uint_eq(sconf.nroutes, 3);
	ck_assert_str_eq(sconf.routes[0].name, "office-ssh");
	ck_assert_uint_eq(sconf.routes[0].port, 5122);
	ck_assert_str_eq(sconf.routes[0].agent, "office-nas");
	ck_assert_str_eq(sconf.routes[0].connect, "192.168.1.4:22");
	ck_assert_int_eq(sconf.routes[0].dest.kind, DEST_ADDR);
	ck_assert_double_eq(sconf.routes[0].idle_timeout, 0);
	ck_assert_double_eq(sconf.routes[2].idle_timeout, 0);
	ck_assert_int_eq(sconf.routes[0].line, 1);
	ck_assert_ptr_null(sconf.routes[1].agent);
	ck_assert_int_eq(sconf.routes[1].dest.kind, DEST_NAME);
	ck_assert_str_eq(sconf.routes[1].dest.host, "web.internal");
	ck_assert_str_eq(sconf.routes[1].dest.port, "80");
	ck_assert_double_eq(sconf.routes[1].idle_timeout, 300);
	ck_assert_str_eq(net_addr_str((struct sockaddr *)&sconf.routes[2].dest.addr.ss, buf),
	    "[fd00::4]:443");
	ck_assert_ptr_eq(config_route(&sconf, "web"), &sconf.routes[1]);
	ck_assert_ptr_null(config_route(&sconf, "nope"));
}
END_TEST

#define ROUTE_OK "[route r]\nport = 5000\nconnect = 10.0.0.1:22\n"

/* A server config with one error, and that error. */
static const struct {
	const char *text;
	int line;
	const char *msg;
} route_bad[] = {
	{ SERVER_OK "[route r]\nconnect = 10.0.0.1:22\n", 4,
	    "missing required key \"port\" in [route r]" },
	{ SERVER_OK "[route r]\nport = 5000\n", 4, "missing required key \"connect\" in [route r]" },
	{ SERVER_OK "[route r]\nport = 0\nconnect = 10.0.0.1:22\n", 5,
	    "port: \"0\" is not a port (1-65535)" },
	{ SERVER_OK "[route r]\nport = 5000\nconnect = 10.1:22\n", 6,
	    "connect: \"10.1:22\": not an address or a host name" },
	{ SERVER_OK "[route r]\nport = 5000\nconnect = 0.0.0.0:22\n", 6,
	    "connect: \"0.0.0.0:22\": the unspecified address is not a destination" },
	{ SERVER_OK "[route r]\nport = 5000\nconnect = host\n", 6,
	    "connect: \"host\": expected host:port" },
	{ SERVER_OK ROUTE_OK "agent = bad name\n", 7,
	    "agent: \"bad name\" is not a valid name (1-64 of A-Z a-z 0-9 . _ -)" },
	{ SERVER_OK ROUTE_OK "idle_timeout = soon\n", 7,
	    "idle_timeout: \"soon\" is neither off nor a duration (e.g. 80s, 5m)" },
	{ SERVER_OK ROUTE_OK "listen = 1.2.3.4:5\n", 7, "unknown key \"listen\" in [route r]" },
	{ SERVER_OK "[route]\nport = 5000\n", 4, "[route] needs a name: [route NAME]" },
	{ SERVER_OK "[route a b]\nport = 5000\n", 4,
	    "bad route name \"a b\" (1-64 of A-Z a-z 0-9 . _ -)" },
	{ SERVER_OK ROUTE_OK "[route r]\nport = 5001\nconnect = h:1\n", 7,
	    "duplicate [route r] (first on line 4)" },
	{ SERVER_OK ROUTE_OK "[route s]\nport = 5000\nconnect = h:1\n", 8,
	    "port 5000 is already used by [route r] on line 4" },
	/* A route's port clashes with what [server] claims, whichever comes first. */
	{ "[server]\ntoken = t\nallow_ports = 22,5000-5999\n" ROUTE_OK, 5,
	    "[route r]: port 5000 is in allow_ports (22,5000-5999), which agents claim; "
	    "a route needs a port of its own" },
	{ ROUTE_OK "[server]\ntoken = t\nallow_ports = 22,5000-5999\n", 2,
	    "[route r]: port 5000 is in allow_ports (22,5000-5999), which agents claim; "
	    "a route needs a port of its own" },
	{ SERVER_OK "[route r]\nport = 7000\nconnect = h:1\n", 5,
	    "[route r]: port 7000 is the agents' listen port" },
	{ "[route r]\nconnect = h:1\nport = 7001\n"
	    "[server]\ntoken = t\nallow_ports = 22\nlisten = 127.0.0.1:7001\n", 3,
	    "[route r]: port 7001 is the agents' listen port" },
	{ SERVER_OK "metrics_listen = 127.0.0.1:5000\n" ROUTE_OK, 6,
	    "[route r]: port 5000 is the metrics_listen port" },
	{ SERVER_OK "https_listen = 127.0.0.1:5000\nallow_hosts = a.example\n" ROUTE_OK, 7,
	    "[route r]: port 5000 is the port of https_listen" },
};

START_TEST(route_errors)
{
	server_fails(route_bad[_i].text, route_bad[_i].line, route_bad[_i].msg);
}
END_TEST

START_TEST(allow_connect)
{
	char buf[64];

	ck_assert_int_eq(load_agent(AGENT_OK), 0);
	ck_assert_uint_eq(aconf.allow_connect.n, 0);
	config_free_agent(&aconf);
	ck_assert_int_eq(load_agent(AGENT_OK
	    "allow_connect = 192.168.1.0/24:22, 10.0.0.5:80,127.0.0.1:*\n"
	    "allow_connect = [fd00::/8]:*, DB.internal:5432\n"), 0);
	ck_assert_uint_eq(aconf.allow_connect.n, 5);
	ck_assert_str_eq(dest_rule_str(&aconf.allow_connect.v[0], buf, sizeof(buf)),
	    "192.168.1.0/24:22");
	ck_assert_str_eq(dest_rule_str(&aconf.allow_connect.v[4], buf, sizeof(buf)),
	    "db.internal:5432");
}
END_TEST

START_TEST(allow_connect_errors)
{
	agent_fails(AGENT_OK "allow_connect = 192.168.1.4/24:22\n", 4,
	    "allow_connect: \"192.168.1.4/24:22\": host bits are set beyond the prefix length");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "allow_connect = 10.0.0.1:22\nallow_connect = 10.0.0.2\n", 5,
	    "allow_connect: \"10.0.0.2\": expected host:port");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "allow_connect = 10.0.0.1:22,,10.0.0.2:22\n", 4,
	    "allow_connect: an empty entry in the list");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "allow_connect =\n", 4, "allow_connect: an empty entry in the list");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "allow_connect = db:x\n", 4,
	    "allow_connect: \"db:x\": port must be a number from 1 to 65535 or *");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "allow_connect = [fd00::/129]:*\n", 4,
	    "allow_connect: \"[fd00::/129]:*\": prefix length must be 0 to 128");
	config_errors_free(&errs);
	agent_fails(AGENT_OK "allow_connect = 0.0.0.0:*\n", 4,
	    "allow_connect: \"0.0.0.0:*\": the unspecified address is never a destination");
}
END_TEST

/* More than DEST_RULES_MAX rules over several lines. */
START_TEST(allow_connect_max)
{
	char text[32768];
	int i, n;

	n = snprintf(text, sizeof(text), AGENT_OK);
	for (i = 0; i <= DEST_RULES_MAX; i++)
		n += snprintf(text + n, sizeof(text) - (size_t)n, "allow_connect = 10.0.%d.%d:1\n",
		    i / 250, i % 250);
	agent_fails(text, 4 + DEST_RULES_MAX, "allow_connect: more than 256 rules");
}
END_TEST

static TCase *
tcase(const char *name)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, setup, teardown);
	/* Resolving a name in .invalid may wait for a slow resolver. */
	tcase_set_timeout(tc, 30);
	return tc;
}

static Suite *
config_suite(void)
{
	Suite *s = suite_create("config");
	TCase *good = tcase("good"), *bad = tcase("errors"), *parse = tcase("parsers");

	tcase_add_test(good, server_defaults);
	tcase_add_test(good, udp_services);
	tcase_add_test(bad, udp_errors);
	tcase_add_test(good, server_all_keys);
	tcase_add_test(good, agent_defaults);
	tcase_add_test(good, agent_services);
	tcase_add_test(good, transport_defaults);
	tcase_add_test(good, status_socket_values);
	tcase_add_test(good, transport_values);
	tcase_add_test(bad, transport_errors);
	tcase_add_test(bad, server_tls_errors);
	tcase_add_test(bad, server_tls_pair);
	tcase_add_test(bad, missing_file);
	tcase_add_test(bad, missing_section);
	tcase_add_test(bad, missing_required_key);
	tcase_add_test(bad, missing_service_key);
	tcase_add_test(bad, unknown_section);
	tcase_add_test(bad, unknown_key);
	tcase_add_test(bad, key_outside_section);
	tcase_add_test(bad, duplicate_key);
	tcase_add_test(bad, duplicate_section);
	tcase_add_test(bad, bad_duration);
	tcase_add_test(bad, zero_duration);
	tcase_add_test(bad, bad_size);
	tcase_add_test(bad, size_out_of_range);
	tcase_add_test(bad, count_out_of_range);
	tcase_add_test(bad, bad_log_level);
	tcase_add_test(bad, bad_listen_port);
	tcase_add_test(bad, bad_bind_addr);
	tcase_add_test(bad, empty_token);
	tcase_add_test(bad, bad_allow_ports);
	tcase_add_test(bad, allow_ports_out_of_range);
	tcase_add_test(bad, heartbeat_order);
	tcase_add_test(bad, heartbeat_order_default);
	tcase_add_test(bad, reconnect_order);
	tcase_add_test(bad, bad_server);
	tcase_add_test(bad, server_without_host);
	tcase_add_test(bad, bad_agent_name);
	tcase_add_test(bad, bad_port);
	tcase_add_test(bad, port_out_of_range);
	tcase_add_test(bad, unresolvable_local);
	tcase_add_test(bad, duplicate_service_port);
	tcase_add_test(bad, duplicate_service_name);
	tcase_add_test(bad, bad_service_name);
	tcase_add_test(bad, service_name_lengths);
	tcase_add_test(bad, unnamed_service);
	tcase_add_test(bad, named_agent);
	tcase_add_test(bad, syntax_error);
	tcase_add_test(bad, header_without_bracket);
	tcase_add_test(bad, header_trailing_text);
	tcase_add_test(bad, indented_line_is_not_a_continuation);
	tcase_add_test(bad, long_line);
	tcase_add_test(bad, nul_byte);
	tcase_add_test(bad, all_errors_collected);
	tcase_add_test(good, p2p_defaults);
	tcase_add_test(good, p2p_server_values);
	tcase_add_test(good, p2p_services);
	tcase_add_test(good, p2p_visitors);
	tcase_add_test(good, web_keys);
	tcase_add_test(good, p2p_allow_peers_max);
	tcase_add_test(bad, p2p_service_errors);
	tcase_add_test(bad, p2p_visitor_errors);
	tcase_add_test(bad, p2p_visitor_conflicts);
	tcase_add_test(bad, p2p_key_errors);
	tcase_add_test(good, routes);
	tcase_add_loop_test(bad, route_errors, 0, sizeof(route_bad) / sizeof(route_bad[0]));
	tcase_add_test(good, allow_connect);
	tcase_add_test(bad, allow_connect_errors);
	tcase_add_test(bad, allow_connect_max);
	tcase_add_test(bad, web_key_errors);
	tcase_add_test(parse, durations);
	tcase_add_test(parse, sizes);
	suite_add_tcase(s, good);
	suite_add_tcase(s, bad);
	suite_add_tcase(s, parse);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(config_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
