#!/bin/bash
# Peers that flood while never reading, over raw TCP and TLS, before and after
# authentication, cost rtund a bounded amount of memory and are dropped with a logged
# reason, while a real tunnel on the same rtund keeps moving data intact.  A fake rtund
# that floods the agent gets the same treatment from the agent.  handshake_timeout is
# absolute: a peer that keeps talking without authenticating is dropped on time, counted
# from its TCP connect.  Two thousand idle half-handshakes cost rtund (almost) no CPU.
# (WebSocket floods: t23-ws-flood.sh.)
IT_NUM=27
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null 2>&1 || fail "openssl is needed (scripts/deps.sh installs it)"
certs=$IT_DIR/certs
"$TOOLS/mkcerts.sh" "$certs" "$IT_ADDR" >/dev/null || hard_error "mkcerts.sh failed"
flood() {
	"${IT_EXEC[@]}" "$PYTHON" "$TOOLS/flood.py" "$@"
}
link=$IT_ADDR:$(port 0)
rss_slack_kb=$((16 * 1024))

start_tool svc sha-server --listen "$IT_ADDR:$(port 1)" --send 64M --seed 3
tunnel_up "server:tls_cert=$certs/server.pem" "server:tls_key=$certs/server.key" \
	server:heartbeat_interval=1s server:heartbeat_timeout=3s server:handshake_timeout=2s \
	"svc:bulk=$IT_ADDR:$(port 1),$(port 10)"
rtund_pid=$(pid_of rtund)

# transfer NAME: a 64 MiB download through the tunnel, checked byte for byte; prints MB/s.
transfer() {
	local n t0 ms
	n=$(($(grep -c result= "$IT_DIR/svc.out") + 1))
	t0=$(now_ms)
	tcptool sha-client --connect "$IT_ADDR:$(port 10)" --send 0 --timeout 60 \
		>"$IT_DIR/xfer-$1.out" ||
		fail "$1: transfer through the tunnel failed: $(cat "$IT_DIR/xfer-$1.out")"
	ms=$(($(now_ms) - t0))
	expect_intact "xfer-$1" svc "$n" >&2
	echo $((64 * 1000 / (ms > 0 ? ms : 1)))
}

# watch_rss PID FILE: samples PID's RSS every 0.1 s into FILE until killed.
watch_rss() {
	while pid_alive "$1"; do
		rss_kb "$1" >>"$2"
		sleep 0.1
	done
}

base_mbs=$(transfer warmup) || exit 1
base_mbs=$(transfer baseline) || exit 1
rss0=$(rss_kb "$rtund_pid")
note "baseline: tunnel $base_mbs MB/s, rtund RSS $rss0 KiB"

# case NAME EXPECT_LOG ARGS...: a flood from ARGS against rtund while a transfer runs.
case_flood() {
	local name=$1 expect=$2 max peak mbs
	shift 2
	: >"$IT_DIR/rss-$name"
	start_bg "rss-$name" watch_rss "$rtund_pid" "$IT_DIR/rss-$name"
	start_bg "flood-$name" "$PYTHON" "$TOOLS/flood.py" "$@"
	mbs=$(transfer "during-$name") || exit 1
	wait_exit "$(pid_of "flood-$name")" 30 || fail "$name: flood still running"
	[ "$EXIT_STATUS" = 0 ] || fail "$name: $(cat "$IT_DIR/flood-$name.log")"
	kill "$(pid_of "rss-$name")" 2>/dev/null
	wait_exit "$(pid_of "rss-$name")" 5
	peak=$(sort -n "$IT_DIR/rss-$name" | tail -n 1)
	max=$((rss0 + rss_slack_kb))
	note "$name: $(cat "$IT_DIR/flood-$name.out" | tr '\n' ' '); rtund peak RSS $peak KiB; tunnel $mbs MB/s"
	[ "${peak:-0}" -le "$max" ] || fail "$name: rtund grew to $peak KiB (from $rss0)"
	wait_for_log rtund "$expect" 5 || fail "$name: rtund logged no '$expect'"
	expect_alive rtund
}

case_flood raw-preauth "before authentication" ping-flood --connect "$link" --timeout 20
case_flood tls-preauth "before authentication" ping-flood --connect "$link" --tls --timeout 20
case_flood raw-authed "peer does not read" ping-flood --connect "$link" --auth \
	--token "$IT_TOKEN" --name flooder1 --timeout 25
case_flood tls-authed "peer does not read" ping-flood --connect "$link" --tls --auth \
	--token "$IT_TOKEN" --name flooder2 --timeout 25
[ "$(log_count rtund "peer does not read")" -ge 2 ] || fail "authenticated floods not both dropped"

note "handshake_timeout (2s) counts from the TCP connect, TLS handshake included"
for tls in "" --tls; do
	out=$(flood trickle --connect "$link" $tls --delay 1.2 --timeout 10) ||
		fail "trickle${tls:+ $tls}: $out"
	after=$(echo "$out" | sed -n -E 's/.*after=([0-9.]+).*/\1/p')
	note "trickle${tls:+ $tls}: $out"
	awk -v a="$after" 'BEGIN { exit !(a >= 1.8 && a <= 2.8) }' ||
		fail "trickle${tls:+ $tls}: dropped after ${after}s, want about 2s from connect"
done

# agent_flood NAME EXPECT TRANSPORT ARGS...: the agent (over TRANSPORT) against a fake rtund
# started with ARGS that floods it; the agent drops the link with EXPECT and stays small.
agent_flood() {
	local name=$1 expect=$2 transport=$3 agent_pid arss0 apeak
	shift 3
	agent_conf "$IT_DIR/rtun-$name.conf" "server=$IT_ADDR:$(port 5)" heartbeat_interval=1s \
		heartbeat_timeout=3s reconnect_min=30s reconnect_max=30s "transport=$transport" \
		"ca_file=$certs/ca.pem" "server_name=localhost" \
		"svc:bulk=$IT_ADDR:$(port 1),$(port 11)"
	start_bg "fake-$name" "$PYTHON" "$TOOLS/flood.py" server-flood --listen "$IT_ADDR:$(port 5)" \
		--token "$IT_TOKEN" --timeout 30 "$@"
	wait_for_file "$IT_DIR/fake-$name.out" "listening=" 10 || fail "$name: fake rtund did not listen"
	start_rtun "rtun-$name" "$IT_DIR/rtun-$name.conf"
	agent_pid=$(pid_of "rtun-$name")
	# Against the agent of the real tunnel, which has moved 64 MiB downloads by now.
	arss0=$(rss_kb "$(pid_of rtun)")
	: >"$IT_DIR/rss-a-$name"
	start_bg "rss-a-$name" watch_rss "$agent_pid" "$IT_DIR/rss-a-$name"
	wait_exit "$(pid_of "fake-$name")" 30 || fail "$name: fake rtund still flooding"
	[ "$EXIT_STATUS" = 0 ] || fail "$name: fake rtund: $(cat "$IT_DIR/fake-$name.log")"
	kill "$(pid_of "rss-a-$name")" 2>/dev/null
	wait_exit "$(pid_of "rss-a-$name")" 5
	apeak=$(sort -n "$IT_DIR/rss-a-$name" | tail -n 1)
	note "agent $name: $(tr '\n' ' ' <"$IT_DIR/fake-$name.out"); peak RSS $apeak KiB (tunnel agent: $arss0)"
	[ "${apeak:-0}" -le $((arss0 + rss_slack_kb)) ] || fail "$name: the agent grew to $apeak KiB"
	wait_for_log "rtun-$name" "$expect" 5 || fail "$name: the agent logged no '$expect'"
	stop_pid "$agent_pid" "rtun-$name"
}

note "the agent against a fake rtund that floods it"
agent_flood tcp-preauth "before authentication" tcp --preauth
agent_flood tcp-authed "peer does not read" tcp
agent_flood tls-preauth "before authentication" tls --preauth --tls "$certs/server.pem" "$certs/server.key"
agent_flood tls-authed "peer does not read" tls --tls "$certs/server.pem" "$certs/server.key"

note "2000 idle half-handshakes (half a preface, half a ClientHello) cost no CPU"
ulimit -n 8192 2>/dev/null || true
idle=$IT_ADDR:$(port 6)
server_conf "$IT_DIR/rtund-idle.conf" "listen=$idle" "tls_cert=$certs/server.pem" \
	"tls_key=$certs/server.key" handshake_timeout=30s
start_rtund rtund-idle "$IT_DIR/rtund-idle.conf"
idle_pid=$(pid_of rtund-idle)
# stat fields 14 and 15: utime and stime in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}
for kind in preface tls; do
	start_bg "idle-$kind" "$PYTHON" "$TOOLS/flood.py" partial --connect "$idle" --conns 1000 \
		--kind "$kind" --hold 4
done
wait_for_file "$IT_DIR/idle-preface.out" "ready=" 20 || fail "idle clients not connected"
wait_for_file "$IT_DIR/idle-tls.out" "ready=" 20 || fail "idle clients not connected"
c0=$(cpu_ticks "$idle_pid")
sleep 2
c1=$(cpu_ticks "$idle_pid")
hz=$(getconf CLK_TCK)
note "rtund spent $((c1 - c0)) ticks (of $hz/s) in 2 s with 2000 idle half-handshakes"
for kind in preface tls; do
	wait_exit "$(pid_of "idle-$kind")" 20 || fail "idle clients did not finish"
	note "idle $kind: $(tail -n 1 "$IT_DIR/idle-$kind.out")"
done
# Waiting costs nothing: allow 5% of a core for the loop's own timers and the test's noise.
[ $((c1 - c0)) -le $((hz / 10)) ] || fail "rtund burned $((c1 - c0)) ticks in 2 s on idle peers"
[ "$(kv open "$IT_DIR/idle-preface.out")" = 1000 ] || fail "rtund dropped idle preface clients early"
mbs=$(transfer after) || exit 1
note "after everything: tunnel $mbs MB/s (baseline $base_mbs)"
expect_alive rtund
exit 0
