#!/bin/bash
# The metrics endpoints of both daemons, scraped with curl: well-formed Prometheus text,
# 404 and 405 for anything but GET /metrics, and counters that follow real events: traffic
# through a tunnel, an agent with a wrong token, a refused port, rtund restarting under the
# agent, heartbeats.
IT_NUM=12
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl not installed"

SMET="$IT_ADDR:$(port 90)"
AMET="$IT_ADDR:$(port 91)"

# scrape ADDR FILE: GET /metrics into FILE (headers into FILE.hdr); fails unless 200.
scrape() {
	local code
	code=$(curl -sS --max-time 5 -D "$2.hdr" -o "$2" -w '%{http_code}' "http://$1/metrics") ||
		fail "curl http://$1/metrics failed"
	[ "$code" = 200 ] || fail "GET http://$1/metrics: status $code"
}

# metric FILE NAME [LABEL...]: the value of the first sample of NAME whose labels contain
# every LABEL (e.g. service=\"echo\"); fails when there is none.
metric() {
	local file=$1 name=$2 line l
	shift 2
	while read -r line; do
		case $line in
		"$name "* | "$name{"*) ;;
		*) continue ;;
		esac
		for l in "$@"; do
			case $line in
			*"$l"*) ;;
			*) continue 2 ;;
			esac
		done
		echo "${line##* }"
		return 0
	done <"$file"
	fail "no sample $name${*:+ with $*} in ${file##*/}"
}

# expect FILE OP VALUE NAME [LABEL...]: the sample compares to VALUE (awk OP: >=, >, ==).
expect() {
	local file=$1 op=$2 want=$3 got
	shift 3
	got=$(metric "$file" "$@") || exit 1
	awk -v a="$got" -v b="$want" "BEGIN { exit !(a + 0 $op b + 0) }" ||
		fail "$* = $got, expected $op $want (${file##*/})"
	echo "    $* = $got"
}

# wait_metric ADDR FILE SECONDS OP VALUE NAME [LABEL...]: scrape until the sample compares.
wait_metric() {
	local addr=$1 file=$2 secs=$3 i
	shift 3
	for ((i = 0; i < secs * 5; i++)); do
		scrape "$addr" "$file"
		(expect "$file" "$@") >/dev/null 2>&1 && break
		sleep 0.2
	done
	expect "$file" "$@"
}

# lint FILE: every sample line is "name[{labels}] value" of a metric with HELP and TYPE, and
# FILE.hdr has the exposition format's Content-Type.
lint() {
	local label='[a-zA-Z_][a-zA-Z0-9_]*="([^"\\]|\\.)*"'
	SAMPLE_RE="^[a-zA-Z_:][a-zA-Z0-9_:]*(\\{$label(,$label)*\\})? [-+0-9.eEInfNa]+\$" awk '
	/^# HELP / { help[$3] = 1; next }
	/^# TYPE / {
		if (!help[$3] || ($4 != "counter" && $4 != "gauge"))
			bad = bad " " NR
		type[$3] = 1
		next
	}
	{
		name = $0
		sub(/[{ ].*/, "", name)
		if (!type[name] || $0 !~ ENVIRON["SAMPLE_RE"])
			bad = bad " " NR
	}
	END { if (bad != "") { print "bad lines:" bad; exit 1 } }' "$1" ||
		fail "${1##*/} is not valid exposition text"
	grep -q -i '^Content-Type: text/plain; version=0.0.4' "$1.hdr" ||
		fail "${1##*/}: wrong Content-Type: $(grep -i '^Content-Type' "$1.hdr")"
}

# http_status METHOD URL: the status code of one request.
http_status() {
	curl -sS --max-time 5 -o /dev/null -w '%{http_code}' -X "$1" "$2"
}

# check_http ADDR: 404 and 405 (with Allow: GET) for what is not GET /metrics.
check_http() {
	local s
	s=$(http_status GET "http://$1/other") || fail "curl http://$1/other failed"
	[ "$s" = 404 ] || fail "GET http://$1/other: status $s, expected 404"
	s=$(http_status POST "http://$1/metrics") || fail "curl -X POST http://$1/metrics failed"
	[ "$s" = 405 ] || fail "POST http://$1/metrics: status $s, expected 405"
	curl -sS --max-time 5 -D - -o /dev/null -X DELETE "http://$1/metrics" | grep -q '^Allow: GET' ||
		fail "405 from $1 has no 'Allow: GET'"
	s=$(http_status GET "http://$1/metrics?x=1") || fail "curl http://$1/metrics?x=1 failed"
	[ "$s" = 200 ] || fail "GET http://$1/metrics?x=1: status $s, expected 200"
}

S=$IT_DIR/rtund.prom
A=$IT_DIR/rtun.prom
ECHO_LABELS=("agent=\"agent$IT_NUM\"" 'service="echo"')

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
server_conf "$IT_DIR/rtund.conf" "metrics_listen=$SMET" heartbeat_interval=1s \
	shutdown_timeout=2s
start_rtund rtund "$IT_DIR/rtund.conf"
wait_port "$SMET" 5 || fail "rtund's metrics port $SMET is not open"

note "rtund before any agent"
scrape "$SMET" "$S"
lint "$S"
expect "$S" == 0 rtund_links_up
expect "$S" == 0 rtund_ports_refused_total 'reason="not_allowed"'
check_http "$SMET"

agent_conf "$IT_DIR/rtun.conf" "metrics_listen=$AMET" heartbeat_interval=1s \
	reconnect_min=1s reconnect_max=2s \
	"svc:echo=$IT_ADDR:$(port 1),$(port 10)" "svc:bad=$IT_ADDR:$(port 1),$(port 60)"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_for_log rtun "service echo: remote port $(port 10) ready" 10 || fail "service echo never ready"
wait_for_log rtun "service bad: remote port $(port 60) refused: not allowed" 5 ||
	fail "service bad was not refused"
wait_port "$AMET" 5 || fail "rtun's metrics port $AMET is not open"
check_http "$AMET"

note "link up, one refusal"
scrape "$SMET" "$S"
lint "$S"
expect "$S" == 1 rtund_links_up
expect "$S" '>=' 1 rtund_agent_auth_total
expect "$S" == 1 rtund_ports_refused_total 'reason="not_allowed"'
scrape "$AMET" "$A"
lint "$A"
expect "$A" == 1 rtun_link_up
expect "$A" '>=' 1 rtun_ports_refused_total

note "traffic: 4 connections echoing 1 MiB each"
conns=4
bytes=$((conns * 1048576))
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns "$conns" --bytes 1M --timeout 60 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err" || fail "echo failed: $(cat "$IT_DIR/client.err")"
scrape "$SMET" "$S"
expect "$S" '>=' "$conns" rtund_streams_total
expect "$S" '>=' "$bytes" rtund_service_bytes_in_total "${ECHO_LABELS[@]}"
expect "$S" '>=' "$bytes" rtund_service_bytes_out_total "${ECHO_LABELS[@]}"
scrape "$AMET" "$A"
expect "$A" '>=' "$conns" rtun_streams_total
expect "$A" '>=' "$bytes" rtun_service_bytes_in_total 'service="echo"'
expect "$A" '>=' "$bytes" rtun_service_bytes_out_total 'service="echo"'
wait_metric "$SMET" "$S" 10 == 0 rtund_streams_open
wait_metric "$AMET" "$A" 10 == 0 rtun_streams_open

note "heartbeat round trips"
wait_metric "$AMET" "$A" 10 '>' 0 rtun_heartbeat_rtt_seconds
wait_metric "$SMET" "$S" 10 '>' 0 rtund_heartbeat_rtt_seconds "agent=\"agent$IT_NUM\""

note "an agent with a wrong token"
before=$(metric "$S" rtund_auth_failures_total) || exit 1
agent_conf "$IT_DIR/intruder.conf" name=intruder token=not-the-token reconnect_min=30s \
	reconnect_max=60s "svc:sneak=$IT_ADDR:$(port 1),$(port 12)"
start_rtun intruder "$IT_DIR/intruder.conf"
wait_for_log intruder "authentication failed" 10 || fail "the intruder was not refused"
wait_metric "$SMET" "$S" 5 '>' "$before" rtund_auth_failures_total
expect "$S" == 1 rtund_links_up
stop_pid "$(pid_of intruder)" intruder

note "rtund restarts under the agent"
scrape "$AMET" "$A"
before=$(metric "$A" rtun_reconnects_total) || exit 1
kill_wait TERM rtund 10 || fail "rtund did not exit on SIGTERM"
wait_metric "$AMET" "$A" 10 == 0 rtun_link_up
start_rtund rtund2 "$IT_DIR/rtund.conf"
wait_for_log rtun "service echo: remote port $(port 10) ready" 15 2 ||
	fail "the agent did not come back after rtund restarted"
wait_metric "$AMET" "$A" 5 '>' "$before" rtun_reconnects_total
wait_metric "$AMET" "$A" 5 == 1 rtun_link_up
scrape "$SMET" "$S"
lint "$S"
expect "$S" == 1 rtund_links_up
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns 2 --timeout 20 >/dev/null ||
	fail "echo after the restart failed"
expect_alive rtund2
expect_alive rtun
exit 0
