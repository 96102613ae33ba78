#!/bin/bash
# contrib/grafana/rtun.json against the real daemons and a real Prometheus.  rtund (routes,
# http_listen, P2P and relay) and two agents with every kind of service: alpha (TCP, UDP
# and web services, allow_connect for a route, a visitor in mode direct and one in mode
# relay) and beta (the P2P service, and a port rtund refuses).  The test moves traffic
# through each (a punched direct link, the relay, the route, UDP datagrams, web requests)
# and makes the rare events happen (a wrong token, an unknown host name, an empty
# datagram rtund drops).  Then:
#   - promtool accepts the three /metrics, now with every series there is;
#   - every metric name in the dashboard's expressions (panels and template variables) is
#     exported by a running daemon, and every exported metric is on the dashboard;
#   - a real Prometheus scraping the three runs every expression, with the variables
#     replaced by '.*', and each parses and has data; with real values (rtund and alpha's
#     addresses, agent alpha, service echo) each still parses;
#   - the panels for punching, relay, routes, UDP, web and refusals show the events.
# DASHBOARD=FILE checks another dashboard.
IT_NUM=46
IT_TIMEOUT=${IT_TIMEOUT:-240}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=prom.sh
. "$(dirname "$0")/prom.sh"
# shellcheck source-path=SCRIPTDIR source=udp.sh
. "$(dirname "$0")/udp.sh"

DASHBOARD=${DASHBOARD:-$(dirname "$0")/../../contrib/grafana/rtun.json}
[ -f "$DASHBOARD" ] || hard_error "no dashboard at $DASHBOARD"
A=$IT_ADDR
SMET=$A:$(port 90)
AMET=$A:$(port 91)
BMET=$A:$(port 92)
HTTP=$A:$(port 60)

note "the services, rtund, beta (P2P target) and alpha (visitor)"
start_tool echo echo-server --listen "$A:$(port 1)"
start_udptool uecho echo-server --listen "$A:$(port 2)"
mkdir -p "$IT_DIR/www"
echo "hello from the web service" >"$IT_DIR/www/index.html"
start_bg web "$PYTHON" -m http.server --bind "$A" --directory "$IT_DIR/www" "$(port 3)"
wait_port "$A:$(port 3)" 10 || fail "the web server did not listen"
conf=$IT_DIR/rtund.conf
server_conf "$conf" "metrics_listen=$SMET" heartbeat_interval=1s p2p=yes relay=yes \
	"http_listen=$HTTP" "allow_hosts=*.apps.test"
printf '\n[route r-echo]\nport = %s\nconnect = %s\nagent = alpha\n' "$(port 50)" \
	"$A:$(port 1)" >>"$conf"
start_rtund rtund "$conf"
agent_conf "$IT_DIR/beta.conf" name=beta "metrics_listen=$BMET" heartbeat_interval=1s \
	punch_timeout=5s "svc:bad=$A:$(port 1),$(port 70)"
printf '\n[service pe]\nlocal = %s\np2p = yes\nallow_peers = alpha\n' "$A:$(port 1)" \
	>>"$IT_DIR/beta.conf"
start_rtun beta "$IT_DIR/beta.conf"
wait_for_log beta "service pe: ready for visitors" 15 || fail "beta's P2P service never ready"
wait_for_log beta "service bad: remote port $(port 70) refused: not allowed" 5 ||
	fail "beta's service on port $(port 70) was not refused"
agent_conf "$IT_DIR/alpha.conf" name=alpha "metrics_listen=$AMET" heartbeat_interval=1s \
	punch_timeout=5s "allow_connect=$A:$(port 1)" "svc:echo=$A:$(port 1),$(port 10)" \
	"svc:dns=$A:$(port 2),$(port 11),type=udp"
{
	printf '\n[service web]\ntype = http\nlocal = %s\nhosts = www.apps.test\n' "$A:$(port 3)"
	# Visitors of beta's pe: vd in mode direct on port 4, vr in mode relay on port 5.
	printf '\n[visitor %s]\npeer = beta\nservice = pe\nlocal = %s\nmode = %s\n' \
		vd "$A:$(port 4)" direct vr "$A:$(port 5)" relay
} >>"$IT_DIR/alpha.conf"
start_rtun alpha "$IT_DIR/alpha.conf"
wait_for_log alpha "service echo: remote port $(port 10) ready" 15 || fail "alpha's echo never ready"
wait_for_log alpha "service dns: remote port $(port 11) ready" 5 || fail "alpha's dns never ready"
wait_for_log alpha "service web: host names ready" 5 || fail "alpha's web service never ready"
wait_for_log alpha "direct link to beta up" 15 || fail "alpha never punched a direct link to beta"

note "traffic on every path"
tcptool echo-client --connect "$A:$(port 10)" --conns 2 --bytes 256K --timeout 30 ||
	fail "echo through alpha's service failed"
tcptool echo-client --connect "$A:$(port 50)" --conns 2 --bytes 128K --timeout 30 ||
	fail "echo through route r-echo failed"
tcptool echo-client --connect "$A:$(port 4)" --conns 2 --bytes 128K --timeout 30 ||
	fail "echo through visitor vd (direct) failed"
tcptool echo-client --connect "$A:$(port 5)" --conns 2 --bytes 128K --timeout 30 ||
	fail "echo through visitor vr (relay) failed"
wait_for_log alpha "over the direct link" 5 || fail "visitor vd did not use the direct link"
wait_for_log alpha "relayed through rtund" 5 || fail "visitor vr was not relayed"
udptool flows --connect "$A:$(port 11)" --flows 2 --count 5 --timeout 20 >"$IT_DIR/flows.out" ||
	fail "UDP through alpha's dns failed"
body=$(curl -sS --max-time 10 -H 'Host: www.apps.test' "http://$HTTP/") ||
	fail "GET http://www.apps.test/ through http_listen failed"
[ "$body" = "hello from the web service" ] || fail "the web service answered: $body"

note "the rare events: a wrong token, an unknown host name, an empty datagram"
agent_conf "$IT_DIR/intruder.conf" name=intruder token=not-the-token reconnect_min=30s \
	reconnect_max=60s
start_rtun intruder "$IT_DIR/intruder.conf"
wait_for_log intruder "authentication failed" 10 || fail "the intruder was not refused"
stop_pid "$(pid_of intruder)" intruder
curl -sS --max-time 10 -o /dev/null -H 'Host: nobody.apps.test' "http://$HTTP/" ||
	fail "rtund did not answer a request for an unknown host"
"$PYTHON" -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.sendto(b"", (sys.argv[1], int(sys.argv[2])))' "$A" "$(port 11)" || fail "cannot send a datagram"
wait_metric "$SMET" rtund_udp_dropped_total 'reason="empty"' '>=' 1 5 ||
	fail "rtund did not count the empty datagram"

note "promtool, with every series the daemons have"
promtool_check rtund "$SMET"
promtool_check alpha "$AMET"
promtool_check beta "$BMET"

note "every metric of the dashboard is exported, and every exported one is on it"
promapi exprs "$DASHBOARD" >"$IT_DIR/exprs.txt" || fail "cannot read the expressions of $DASHBOARD"
promapi exposed "$IT_DIR/rtund.prom" "$IT_DIR/alpha.prom" "$IT_DIR/beta.prom" |
	sort -u >"$IT_DIR/exported.txt"
while IFS=$'\t' read -r where expr; do
	promapi names "$expr" | sed "s/\$/\t$where/" || fail "cannot parse the names of $where"
done <"$IT_DIR/exprs.txt" >"$IT_DIR/used.txt"
[ -s "$IT_DIR/used.txt" ] || fail "no metric names found in $DASHBOARD"
missing=$(cut -f1 "$IT_DIR/used.txt" | sort -u | comm -23 - "$IT_DIR/exported.txt")
if [ -n "$missing" ]; then
	for m in $missing; do
		grep -F "$m"$'\t' "$IT_DIR/used.txt" | sed 's/^\([^\t]*\)\t\(.*\)/    \2 uses \1/' >&2
	done
	fail "the dashboard names metrics no daemon exports: ${missing//$'\n'/ }"
fi
unused=$(cut -f1 "$IT_DIR/used.txt" | sort -u | comm -13 - "$IT_DIR/exported.txt")
[ -z "$unused" ] || fail "exported metrics not on the dashboard: ${unused//$'\n'/ }"
note "$(wc -l <"$IT_DIR/exprs.txt") expressions use $(cut -f1 "$IT_DIR/used.txt" | sort -u | wc -l)" \
	"metric names, all exported; the daemons export $(wc -l <"$IT_DIR/exported.txt")"

note "a real Prometheus runs every expression"
prom_start "$A:$(port 95)" "rtund=$SMET" "rtun=$AMET,$BMET"
# rate() over the dashboard's windows needs two samples of every series.
prom_wait 'min(count_over_time(rtun_link_up[1m]))' '>=' 3 15
promapi check --api "$PROM_API" --nonempty <"$IT_DIR/exprs.txt" >"$IT_DIR/check-all.out" ||
	fail "dashboard expressions failed with every variable '.*':"$'\n'"$(cat "$IT_DIR/check-all.out")"
note "variables '.*': $(tail -n 1 "$IT_DIR/check-all.out")"
promapi exprs "$DASHBOARD" --var "rtund=$SMET" --var agent=alpha --var service=echo \
	--var "rtun=$AMET" | promapi check --api "$PROM_API" >"$IT_DIR/check-real.out" ||
	fail "dashboard expressions failed with real values:"$'\n'"$(cat "$IT_DIR/check-real.out")"
note "real values: $(tail -n 1 "$IT_DIR/check-real.out")"
while read -r name; do
	printf 'metric %s\tgroup(%s)\n' "$name" "$name"
done <"$IT_DIR/exported.txt" | promapi check --api "$PROM_API" --nonempty \
	>"$IT_DIR/check-names.out" ||
	fail "Prometheus lacks exported series:"$'\n'"$(cat "$IT_DIR/check-names.out")"

note "the panels show the events"
prom_wait 'sum(rtund_links_up)' == 2
prom_wait "rtun_punch_success_total{instance=\"$AMET\"}" '>=' 1
prom_wait "rtun_direct_links_up{instance=\"$AMET\"}" == 1
prom_wait 'rtund_punch_total{result="direct"}' '>=' 1
prom_wait 'sum(rtun_visitor_connections_total{visitor="vd",path="direct"})' == 2
prom_wait 'sum(rtun_visitor_connections_total{visitor="vr",path="relay"})' == 2
prom_wait 'rtund_relayed_streams_total' == 2
prom_wait 'rtund_relayed_bytes_total' '>=' $((2 * 2 * 131072))
prom_wait 'rtund_route_bytes_in_total{route="r-echo"}' '>=' $((2 * 131072))
prom_wait 'rtund_udp_datagrams_in_total{agent="alpha",service="dns"}' '>=' 10
prom_wait 'rtund_udp_dropped_total{agent="alpha",service="dns",reason="empty"}' == 1
prom_wait 'sum(rtund_vhost_connections_total{host="www.apps.test"})' == 1
prom_wait 'rtund_vhost_refused_total{listener="http",reason="unknown_host"}' == 1
prom_wait 'rtund_ports_refused_total{reason="not_allowed"}' == 1
prom_wait 'rtund_auth_failures_total' '>=' 1
prom_wait "rtun_ports_refused_total{instance=\"$BMET\"}" == 1
stop_pid "$(pid_of prometheus)" prometheus
expect_alive rtund
expect_alive alpha
expect_alive beta
exit 0
