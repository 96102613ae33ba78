#!/bin/bash
# rtund is not running when the agent starts: the agent keeps retrying with backoff and
# connects and serves once rtund comes up.
IT_NUM=10
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

wait_port_closed "$IT_ADDR:$(port 0)" 2 || hard_error "something listens on $IT_ADDR:$(port 0)"
start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
agent_conf "$IT_DIR/rtun.conf" reconnect_min=1s reconnect_max=2s connect_timeout=2s \
	"svc:echo=$IT_ADDR:$(port 1),$(port 10)"
start_rtun rtun "$IT_DIR/rtun.conf"

wait_for_log rtun "reconnecting in" 10 2 || fail "the agent did not retry twice within 10 s"
sleep 1
expect_alive rtun
note "agent retries: $(log_count rtun "reconnecting in")"
grep -F "reconnecting in" "$IT_DIR/rtun.log" | head -n 3

server_conf "$IT_DIR/rtund.conf"
start_rtund rtund "$IT_DIR/rtund.conf"
t0=$(now_ms)
wait_for_log rtun "authenticated to" 10 || fail "the agent did not connect within 10 s of rtund starting"
wait_for_log rtun "service echo: remote port $(port 10) ready" 5 || fail "service never ready"
note "connected $(($(now_ms) - t0)) ms after rtund started"
tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns 3 --timeout 10 >/dev/null ||
	fail "echo through the late tunnel failed"
expect_alive rtund
expect_alive rtun
exit 0
