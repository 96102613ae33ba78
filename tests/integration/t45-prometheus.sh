#!/bin/bash
# The metrics as Prometheus itself sees them.  rtund and two agents, alpha (an echo
# service, and a service on a port rtund refuses) and beta (a sink service), with traffic
# moving and one stream held open:
#   - promtool check metrics accepts /metrics of rtund and of both agents without a word;
#   - a real Prometheus scraping the three every second has every target up, and the values
#     it scraped are the daemons': links up 2, streams open 1, streams opened, bytes of each
#     service at least what the test sent (and equal to what the daemon serves once the
#     traffic stopped), the refused port counted by rtund and by alpha, a heartbeat RTT per
#     agent;
#   - Prometheus is stopped by its PID and exits.
IT_NUM=45
IT_TIMEOUT=${IT_TIMEOUT:-180}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=prom.sh
. "$(dirname "$0")/prom.sh"

SMET=$IT_ADDR:$(port 90)
AMET=$IT_ADDR:$(port 91)
BMET=$IT_ADDR:$(port 92)
ECHO_SVC=("agent=\"alpha\"" 'service="echo"')
SINK_SVC=("agent=\"beta\"" 'service="sink"')

# same EXPR FILE NAME [LABEL...]: Prometheus comes to hold for EXPR the value the daemon
# served in FILE for NAME{LABEL...}; prints it.
same() {
	local expr=$1 want
	shift
	want=$(daemon_value "$@") || exit 1
	prom_wait "$expr" == "$want" 10
}

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
start_tool sink sha-server --listen "$IT_ADDR:$(port 2)" --send 1M
server_conf "$IT_DIR/rtund.conf" "metrics_listen=$SMET" heartbeat_interval=1s
start_rtund rtund "$IT_DIR/rtund.conf"
agent_conf "$IT_DIR/alpha.conf" name=alpha "metrics_listen=$AMET" heartbeat_interval=1s \
	"svc:echo=$IT_ADDR:$(port 1),$(port 10)" "svc:bad=$IT_ADDR:$(port 1),$(port 60)"
agent_conf "$IT_DIR/beta.conf" name=beta "metrics_listen=$BMET" heartbeat_interval=1s \
	"svc:sink=$IT_ADDR:$(port 2),$(port 11)"
start_rtun alpha "$IT_DIR/alpha.conf"
start_rtun beta "$IT_DIR/beta.conf"
wait_for_log alpha "service echo: remote port $(port 10) ready" 15 || fail "alpha's echo never ready"
wait_for_log alpha "service bad: remote port $(port 60) refused: not allowed" 5 ||
	fail "alpha's service on port $(port 60) was not refused"
wait_for_log beta "service sink: remote port $(port 11) ready" 15 || fail "beta's sink never ready"
wait_port "$AMET" 5 || fail "alpha's metrics port is not open"
wait_port "$BMET" 5 || fail "beta's metrics port is not open"

note "traffic: 4 x 1 MiB echoed through alpha, 2 MiB up and 1 MiB down through beta"
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns 4 --bytes 1M --timeout 60 \
	>"$IT_DIR/echo-client.out" 2>"$IT_DIR/echo-client.err" ||
	fail "echo through alpha failed: $(cat "$IT_DIR/echo-client.err")"
tcptool sha-client --connect "$IT_ADDR:$(port 11)" --send 2M --timeout 60 \
	>"$IT_DIR/sink-client.out" 2>"$IT_DIR/sink-client.err" ||
	fail "transfer through beta failed: $(cat "$IT_DIR/sink-client.err")"
expect_intact sink-client sink
start_tool hold hold --connect "$IT_ADDR:$(port 10)" --max-wait 120
wait_for_file "$IT_DIR/hold.out" "ready=1" 10 || fail "the held connection never echoed"

note "promtool check metrics"
promtool_check rtund "$SMET"
promtool_check alpha "$AMET"
promtool_check beta "$BMET"

note "a real Prometheus scrapes the three daemons"
prom_start "$IT_ADDR:$(port 95)" "rtund=$SMET" "rtun=$AMET,$BMET"
S=$IT_DIR/rtund.prom
A=$IT_DIR/alpha.prom
B=$IT_DIR/beta.prom
scrape "$SMET" "$S"
scrape "$AMET" "$A"
scrape "$BMET" "$B"
prom_wait 'rtund_links_up{job="rtund"}' == 2
same 'rtund_links_up' "$S" rtund_links_up
prom_wait 'sum(rtun_link_up{job="rtun"})' == 2
prom_wait 'count(rtun_link_up{job="rtun"})' == 2
prom_wait 'rtund_streams_open' == 1
prom_wait "rtun_streams_open{instance=\"$AMET\"}" == 1
prom_wait "rtun_streams_open{instance=\"$BMET\"}" == 0
prom_wait 'rtund_streams_total' '>=' 6
same 'rtund_streams_total' "$S" rtund_streams_total
same "rtun_streams_total{instance=\"$AMET\"}" "$A" rtun_streams_total
same "rtun_streams_total{instance=\"$BMET\"}" "$B" rtun_streams_total
echo_bytes=$((4 * 1048576))
prom_wait 'rtund_service_bytes_in_total{agent="alpha",service="echo"}' '>=' "$echo_bytes"
prom_wait 'rtund_service_bytes_out_total{agent="alpha",service="echo"}' '>=' "$echo_bytes"
same 'rtund_service_bytes_in_total{agent="alpha",service="echo"}' "$S" \
	rtund_service_bytes_in_total "${ECHO_SVC[@]}"
same 'rtund_service_bytes_out_total{agent="alpha",service="echo"}' "$S" \
	rtund_service_bytes_out_total "${ECHO_SVC[@]}"
prom_wait 'rtund_service_bytes_in_total{agent="beta",service="sink"}' '>=' $((2 * 1048576))
prom_wait 'rtund_service_bytes_out_total{agent="beta",service="sink"}' '>=' 1048576
same 'rtund_service_bytes_in_total{agent="beta",service="sink"}' "$S" \
	rtund_service_bytes_in_total "${SINK_SVC[@]}"
same "rtun_service_bytes_in_total{instance=\"$BMET\",service=\"sink\"}" "$B" \
	rtun_service_bytes_in_total 'service="sink"'
same "rtun_service_bytes_out_total{instance=\"$BMET\",service=\"sink\"}" "$B" \
	rtun_service_bytes_out_total 'service="sink"'
same "rtun_service_bytes_in_total{instance=\"$AMET\",service=\"echo\"}" "$A" \
	rtun_service_bytes_in_total 'service="echo"'
prom_wait 'rtund_ports_refused_total{reason="not_allowed"}' == 1
prom_wait 'sum(rtund_ports_refused_total)' == 1
prom_wait "rtun_ports_refused_total{instance=\"$AMET\"}" == 1
prom_wait "rtun_ports_refused_total{instance=\"$BMET\"}" == 0
prom_wait 'count(rtund_heartbeat_rtt_seconds > 0)' == 2
prom_wait 'count(rtun_heartbeat_rtt_seconds > 0)' == 2

note "Prometheus stops on SIGTERM, by its PID"
pid=$(pid_of prometheus)
kill -TERM "$pid"
wait_exit "$pid" 10 || fail "prometheus did not exit within 10 s of SIGTERM"
[ "$EXIT_STATUS" = 0 ] || fail "prometheus exited with status $EXIT_STATUS"
expect_alive rtund
expect_alive alpha
expect_alive beta
exit 0
