#!/bin/bash
# SIGTERM: each daemon stops accepting, lets streams in flight finish intact, and exits 0;
# streams still open when shutdown_timeout passes are closed and the exit is still 0.
IT_NUM=15
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool svc sha-server --listen "$IT_ADDR:$(port 1)" --send 24M --seed 3 --rate 6M
start_tool echo echo-server --listen "$IT_ADDR:$(port 2)"

# transfer_during_term DAEMON SERVER: a 4 s transfer is in flight when DAEMON (rtund or
# the agent; SERVER names the running rtund) gets SIGTERM.
transfer_during_term() {
	local who=$1 server=$2 user=user_$1 t0 pid n
	n=$(($(grep -c recv_sha256= "$IT_DIR/svc.out") + 1))
	start_tool "$user" sha-client --connect "$IT_ADDR:$(port 10)" --send 24M --seed 4 \
		--rate 6M --timeout 60
	sleep 1
	t0=$(now_ms)
	pid=$(pid_of "$who")
	note "SIGTERM to $who (pid $pid) with a transfer in flight"
	kill -TERM "$pid"
	if [ "$who" = rtund ]; then
		wait_port_closed "$IT_ADDR:$(port 10)" 3 || fail "rtund still accepts users after SIGTERM"
	else
		wait_for_log "$server" "withdrawn" 5 || fail "the agent did not withdraw its services"
		wait_port_closed "$IT_ADDR:$(port 11)" 3 || fail "port still open after the agent's SIGTERM"
	fi
	expect_intact "$user" svc "$n"
	wait_exit "$pid" 10 || fail "$who did not exit after its streams finished"
	[ "$EXIT_STATUS" = 0 ] || fail "$who exited $EXIT_STATUS after SIGTERM, want 0"
	note "$who exited 0, $(($(now_ms) - t0)) ms after SIGTERM, transfer intact"
}

tunnel_up shutdown_timeout=20s "svc:bulk=$IT_ADDR:$(port 1),$(port 10)" \
	"svc:echo=$IT_ADDR:$(port 2),$(port 11)"
transfer_during_term rtund rtund

note "restart rtund; the agent reconnects; now SIGTERM the agent mid-transfer"
start_rtund rtund2 "$IT_DIR/rtund.conf"
wait_for_log rtun "remote port $(port 10) ready" 15 2 || fail "agent did not come back"
transfer_during_term rtun rtund2

note "shutdown_timeout passes with a stream still open: closed, exit 0"
stop_pid "$(pid_of rtund2)" rtund2
server_conf "$IT_DIR/rtund-short.conf" "shutdown_timeout=1s"
start_rtund rtund3 "$IT_DIR/rtund-short.conf"
start_rtun rtun3 "$IT_DIR/rtun.conf"
wait_for_log rtun3 "remote port $(port 11) ready" 15 || fail "agent 3 never ready"
start_tool held hold --connect "$IT_ADDR:$(port 11)" --max-wait 30
wait_for_file "$IT_DIR/held.out" "ready=1" 10 || fail "held connection never ready"
t0=$(now_ms)
kill -TERM "$(pid_of rtund3)"
wait_exit "$(pid_of rtund3)" 10 || fail "rtund did not exit after shutdown_timeout"
[ "$EXIT_STATUS" = 0 ] || fail "rtund exited $EXIT_STATUS, want 0"
dt=$(($(now_ms) - t0))
[ "$dt" -ge 900 ] || fail "rtund exited after $dt ms, before shutdown_timeout (1 s)"
wait_for_file "$IT_DIR/held.out" "closed=" 5 || fail "held user connection not closed"
note "rtund exited 0 after $dt ms; the held connection was closed"
exit 0
