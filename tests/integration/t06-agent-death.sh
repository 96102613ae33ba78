#!/bin/bash
# The agent dies (kill -9): users' open streams end promptly and the port is released.
# The agent hangs (SIGSTOP): rtund declares a heartbeat timeout within ~5 s and releases
# the port; after SIGCONT the agent reconnects and the service works again.
IT_NUM=6
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
tunnel_up server:heartbeat_interval=1s server:heartbeat_timeout=3s agent:name=victim \
	agent:reconnect_min=1s agent:reconnect_max=2s "svc:echo=$IT_ADDR:$(port 1),$(port 10)"
svc=$IT_ADDR:$(port 10)
ready="service echo: remote port $(port 10) ready"

note "part 1: kill -9 the agent under three open streams"
for i in 1 2 3; do
	start_tool "hold$i" hold --connect "$svc" --max-wait 20
done
for i in 1 2 3; do
	wait_for_file "$IT_DIR/hold$i.out" "ready=1" 10 || fail "user $i never got its stream up"
done
t0=$(now_ms)
kill_wait KILL rtun || fail "kill -9 did not end the agent"
for i in 1 2 3; do
	wait_exit "$(pid_of "hold$i")" 5 || fail "user $i still connected 5 s after the agent died"
	[ "$EXIT_STATUS" = 0 ] || fail "user $i: $(cat "$IT_DIR/hold$i.log")"
	note "user $i: $(tail -n 1 "$IT_DIR/hold$i.out")"
done
note "all streams ended $(($(now_ms) - t0)) ms after kill -9"
wait_port_closed "$svc" 3 || fail "rtund still accepts on $svc 3 s after the agent died"
expect_alive rtund

note "part 2: a fresh agent, then SIGSTOP"
start_rtun rtun2 "$IT_DIR/rtun.conf"
wait_for_log rtun2 "$ready" 10 || fail "service never ready on the second agent"
tcptool echo-client --connect "$svc" --conns 2 --timeout 10 >/dev/null || fail "echo failed"
# An idle healthy link outlives heartbeat_timeout: the PINGs keep it up.
sleep 4
[ "$(log_count rtund "heartbeat timeout")" = 0 ] || fail "rtund timed out a healthy link"
tcptool echo-client --connect "$svc" --conns 1 --timeout 10 >/dev/null ||
	fail "echo failed after 4 idle seconds"

t0=$(now_ms)
kill -STOP "$(pid_of rtun2)"
wait_for_log rtund "heartbeat timeout" 10 || fail "rtund never declared the stopped agent dead"
dt=$(($(now_ms) - t0))
note "heartbeat timeout logged $dt ms after SIGSTOP"
[ "$dt" -le 6000 ] || fail "heartbeat timeout took $dt ms, want about 3-5 s"
wait_port_closed "$svc" 3 || fail "rtund still accepts on $svc after the heartbeat timeout"
expect_alive rtund

note "part 3: SIGCONT; the agent reconnects by itself"
kill -CONT "$(pid_of rtun2)"
wait_for_log rtun2 "$ready" 15 2 || fail "the agent did not come back after SIGCONT"
tcptool echo-client --connect "$svc" --conns 4 --timeout 10 >/dev/null ||
	fail "echo failed after the agent came back"
expect_alive rtund
expect_alive rtun2
exit 0
