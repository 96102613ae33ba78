#!/bin/bash
# Routes without an agent: rtund as a drop-in rinetd, connecting to the destination
# itself. 256 MiB each way at once arrive sha256-exact and both ends see a clean end; a
# user that half-closes first still gets a 64 MiB reply sent only after its EOF; a
# destination that refuses, one that never answers and a name that does not resolve
# each reset the user promptly (never a hang, never a clean close); idle_timeout resets
# an idle connection at both ends, and leaves alone one that moves bytes for three times
# as long in bursts (tcptool's --rate sends 64 KiB at a time) less than a second apart;
# SIGTERM lets an open connection go on for shutdown_timeout, then resets it.
IT_NUM=35
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=route.sh
. "$(dirname "$0")/route.sh"

A=$IT_ADDR
SMET=$A:$(port 8)
start_tool big sha-server --listen "$A:$(port 1)" --send 256M --seed 1
start_tool late sha-server --listen "$A:$(port 2)" --send 64M --seed 2 --after-eof
start_tool echo echo-server --listen "$A:$(port 3)"
start_tool hole blackhole --listen "$A:$(port 5)"
start_tool trickle sha-server --listen "$A:$(port 6)" --send 384K --seed 6 --rate 128K

conf=$IT_DIR/rtund.conf
server_conf "$conf" "metrics_listen=$SMET" open_timeout=2s shutdown_timeout=2s
route "$conf" r-big "$(port 50)" "$A:$(port 1)"
route "$conf" r-late "$(port 51)" "$A:$(port 2)"
route "$conf" r-idle "$(port 52)" "$A:$(port 3)" idle_timeout=1s
route "$conf" r-trickle "$(port 53)" "$A:$(port 6)" idle_timeout=1s
route "$conf" r-refused "$(port 54)" "$A:$(port 4)"
route "$conf" r-hole "$(port 55)" "$A:$(port 5)"
route "$conf" r-noname "$(port 56)" "no-such-host.invalid:$(port 3)"
route "$conf" r-echo "$(port 57)" "$A:$(port 3)"
start_rtund rtund "$conf"

note "256 MiB each way at once through r-big"
t0=$(now_ms)
tcptool sha-client --connect "$A:$(port 50)" --send 256M --seed 9 --timeout 120 \
	>"$IT_DIR/user_big.out" || fail "the 256 MiB transfer failed"
note "took $(($(now_ms) - t0)) ms"
expect_intact user_big big
expect_metric "$SMET" rtund_route_bytes_in_total 'route="r-big"' 268435456
expect_metric "$SMET" rtund_route_bytes_out_total 'route="r-big"' 268435456

note "half-close: send 64 MiB and shut; the reply of 64 MiB comes only after that"
tcptool halfclose --connect "$A:$(port 51)" --send 64M --seed 5 --timeout 60 \
	>"$IT_DIR/user_late.out" || fail "the reply after a half-close failed"
expect_intact user_late late

note "a destination that refuses, one that never answers, a name that does not resolve"
expect_reset "$(port 54)" 2
wait_for_log rtund "route r-refused: user " 2 || fail "no log line for the refused connect"
wait_for_log rtund ": connect to $A:$(port 4): Connection refused" 2 ||
	fail "the log does not say the connect was refused"
expect_reset "$(port 55)" 5
wait_for_log rtund "route r-hole: user " 2 || fail "no log line for the connect that hung"
wait_for_log rtund "no connection to $A:$(port 5) within 2s" 2 ||
	fail "the log does not say the connect timed out"
expect_reset "$(port 56)" 5
wait_for_log rtund "route r-noname: user " 2 || fail "no log line for the name"
expect_metric "$SMET" rtund_route_refused_total 'route="r-refused",reason="connect"' 1
expect_metric "$SMET" rtund_route_refused_total 'route="r-hole",reason="timeout"' 1
[ "$(metric "$SMET" rtund_route_refused_total 'route="r-noname"')" = 1 ] ||
	fail "the name that did not resolve was not counted"

note "idle_timeout 1s: an idle user is reset; one that trickles bytes is not"
start_tool trickler sha-client --connect "$A:$(port 53)" --send 384K --seed 7 --rate 128K \
	--timeout 30
tcptool hold --connect "$A:$(port 52)" --max-wait 6 >"$IT_DIR/idle.out" ||
	fail "the idle connection was not closed: $(cat "$IT_DIR/idle.out")"
grep -q "closed=reset" "$IT_DIR/idle.out" ||
	fail "the idle connection was closed, not reset: $(cat "$IT_DIR/idle.out")"
after=$(kv after "$IT_DIR/idle.out")
awk -v a="$after" 'BEGIN { exit !(a >= 0.8 && a <= 3) }' ||
	fail "the idle connection was reset after ${after}s, want about 1s"
wait_for_log rtund "route r-idle: user " 2 || fail "no log line for the idle reset"
wait_for_log rtund "idle for 1s (idle_timeout); resetting both ends" 2 ||
	fail "the log does not name idle_timeout"
expect_intact trickler trickle 1 30
tcptool hold --connect "$A:$(port 57)" --max-wait 2 >"$IT_DIR/echo_hold.out"
grep -q "closed=no" "$IT_DIR/echo_hold.out" ||
	fail "a route without idle_timeout closed an idle user: $(cat "$IT_DIR/echo_hold.out")"
expect_alive rtund

note "SIGTERM: a spliced connection may finish for shutdown_timeout, then it is reset"
start_tool held hold --connect "$A:$(port 57)" --max-wait 10
wait_for_file "$IT_DIR/held.out" "ready=1" 5 || fail "the held connection never echoed"
t0=$(now_ms)
kill_wait TERM rtund 6 || fail "rtund did not exit within 6 s of SIGTERM"
[ "$EXIT_STATUS" = 0 ] || fail "rtund exited $EXIT_STATUS after SIGTERM"
el=$(($(now_ms) - t0))
[ "$el" -ge 1500 ] || fail "rtund exited after ${el} ms, before shutdown_timeout (2 s)"
wait_for_file "$IT_DIR/held.out" "closed=reset" 5 ||
	fail "the held connection was not reset at the end of the drain: $(cat "$IT_DIR/held.out")"
exit 0
