#!/bin/bash
# idle_timeout: a user connection silent for a service's idle_timeout is reset at both
# ends (the user and the private service see a reset, never a clean end) with a log line
# naming it, while a connection that keeps talking stays open and ends cleanly; the same
# for a visitor's idle_timeout on a relayed visitor stream; streams of a service without
# idle_timeout are never cut.
IT_NUM=39
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v curl >/dev/null 2>&1 || skip "curl is needed to read the metrics"

# metric ADDR NAME: the value of the first sample of NAME on the metrics endpoint ADDR.
metric() {
	curl -sS --max-time 5 "http://$1/metrics" | awk -v n="$2" '$1 == n { print $2; exit }'
}

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)" --report
tunnel_up "agent:metrics_listen=$IT_ADDR:$(port 90)" \
	"svc:idle=$IT_ADDR:$(port 1),$(port 10),idle_timeout=1s" \
	"svc:plain=$IT_ADDR:$(port 1),$(port 11)"

# Three users at once: one falls silent, one talks every 0.3 s for 4 s, and one is silent
# on the service without idle_timeout.
tcptool hold --connect "$IT_ADDR:$(port 10)" --max-wait 10 >"$IT_DIR/silent.out" 2>&1 &
silent=$!
tcptool chatter --connect "$IT_ADDR:$(port 10)" --every 0.3 --for 4 >"$IT_DIR/chatty.out" 2>&1 &
chatty=$!
tcptool hold --connect "$IT_ADDR:$(port 11)" --max-wait 3 >"$IT_DIR/plain.out" 2>&1 &
plain=$!
wait "$silent" || fail "the silent user: $(cat "$IT_DIR/silent.out")"
wait "$chatty" || fail "the talking user was cut: $(cat "$IT_DIR/chatty.out")"
wait "$plain" && fail "a stream of a service without idle_timeout was closed: $(cat "$IT_DIR/plain.out")"
cat "$IT_DIR/silent.out" "$IT_DIR/chatty.out" "$IT_DIR/plain.out"

[ "$(kv closed "$IT_DIR/silent.out")" = reset ] ||
	fail "the silent user saw '$(kv closed "$IT_DIR/silent.out")', not a reset"
after=$(kv after "$IT_DIR/silent.out")
awk -v a="$after" 'BEGIN { exit !(a >= 0.9 && a < 3) }' ||
	fail "the silent user was cut after ${after}s, not about 1 s"
[ "$(kv messages "$IT_DIR/chatty.out")" -ge 10 ] || fail "the talking user sent too few messages"
[ "$(kv closed "$IT_DIR/plain.out")" = no ] ||
	fail "a stream without idle_timeout ended: $(kv closed "$IT_DIR/plain.out")"
# The service's own socket is reset too: the echo server logs how each connection ended.
wait_for_file "$IT_DIR/echo.out" "end=reset" 5 || fail "the private service did not see a reset of the idle stream"
wait_for_log rtun "idle for 1s (idle_timeout); reset" 5 && [ "$(grep -c "service idle: stream .*idle for 1s" "$IT_DIR/rtun.log")" = 1 ] ||
	fail "the agent did not log the idle stream"
[ "$(metric "$IT_ADDR:$(port 90)" rtun_idle_timeouts_total)" = 1 ] ||
	fail "rtun_idle_timeouts_total is not 1"

# A visitor's idle_timeout: a second agent visits "shared" by relay through rtund.
cat >>"$IT_DIR/rtun.conf" <<CONF

[service shared]
local = $IT_ADDR:$(port 1)
p2p = yes
allow_peers = visitor$IT_NUM
CONF
kill -HUP "$(pid_of rtun)"
wait_for_log rtun "service shared: ready for visitors" 10 || fail "the p2p service was not declared"
agent_conf "$IT_DIR/visitor.conf" "name=visitor$IT_NUM"
cat >>"$IT_DIR/visitor.conf" <<CONF

[visitor v]
peer = agent$IT_NUM
service = shared
local = $IT_ADDR:$(port 5)
mode = relay
idle_timeout = 1s
CONF
start_rtun visitor "$IT_DIR/visitor.conf"
wait_port "$IT_ADDR:$(port 5)" 10 || fail "the visitor never listened"
tcptool hold --connect "$IT_ADDR:$(port 5)" --max-wait 10 >"$IT_DIR/vsilent.out" 2>&1 ||
	fail "the silent visitor user: $(cat "$IT_DIR/vsilent.out")"
tcptool chatter --connect "$IT_ADDR:$(port 5)" --every 0.3 --for 3 >"$IT_DIR/vchatty.out" 2>&1 ||
	fail "the talking visitor user was cut: $(cat "$IT_DIR/vchatty.out")"
cat "$IT_DIR/vsilent.out" "$IT_DIR/vchatty.out"
[ "$(kv closed "$IT_DIR/vsilent.out")" = reset ] || fail "the silent visitor user was not reset"
wait_for_log visitor "idle for 1s (idle_timeout); reset" 5 && grep -q "service agent$IT_NUM/shared: stream .*idle for 1s" "$IT_DIR/visitor.log" ||
	fail "the visitor did not log the idle stream"
expect_alive rtund
expect_alive rtun
expect_alive visitor
exit 0
