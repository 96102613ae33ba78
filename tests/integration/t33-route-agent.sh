#!/bin/bash
# Routes defined on rtund and carried by an agent's link: an echo through a route to a
# destination the agent's allow_connect allows (by address, and by name); destinations it
# does not allow, by address and by what a name resolves to, are refused with the reason
# in both logs, and the listeners there see no connection; a route whose agent connects
# only later resets its users at once until then and works as soon as the agent is up; an
# agent too old for routes (its Declare does not say it serves them) is sent no route
# stream, and its link lives on; a service declared on a route's port is refused with the
# route named.
IT_NUM=33
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=route.sh
. "$(dirname "$0")/route.sh"

A=$IT_ADDR
SMET=$A:$(port 8)
AMET=$A:$(port 9)
start_tool echo echo-server --listen "$A:$(port 1)"
start_tool guarded sha-server --listen "$A:$(port 2)" --send 64K
start_tool echo_lo echo-server --listen "127.0.0.1:$(port 3)"
start_tool guarded_lo sha-server --listen "127.0.0.1:$(port 4)" --send 64K

conf=$IT_DIR/rtund.conf
server_conf "$conf" "metrics_listen=$SMET"
route "$conf" r-echo "$(port 50)" "$A:$(port 1)" agent=agent$IT_NUM
route "$conf" r-guarded "$(port 51)" "$A:$(port 2)" agent=agent$IT_NUM
route "$conf" r-name "$(port 52)" "LocalHost:$(port 3)" agent=agent$IT_NUM
route "$conf" r-resolved "$(port 53)" "localhost:$(port 4)" agent=agent$IT_NUM
route "$conf" r-late "$(port 54)" "$A:$(port 1)" agent=late$IT_NUM
route "$conf" r-old "$(port 55)" "$A:$(port 1)" agent=old$IT_NUM
start_rtund rtund "$conf"
agent_conf "$IT_DIR/rtun.conf" "metrics_listen=$AMET" \
	"allow_connect=$A:$(port 1), localhost:$(port 3), $A:$(port 4)" \
	"svc:ok=$A:$(port 1),$(port 10)" "svc:clash=$A:$(port 1),$(port 50)"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_for_log rtun "service ok: remote port $(port 10) ready" 15 || fail "agent never ready"

note "a service on a route's port is refused at declare time, the route named"
clash="in use: port $(port 50) is held by route r-echo"
wait_for_log rtun "service clash: remote port $(port 50) refused: $clash" 5 ||
	fail "the agent was not told that a route holds port $(port 50)"
wait_for_log rtund "service clash port $(port 50) refused: $clash" 5 ||
	fail "rtund did not log the clash"

note "echo through a route to an allowed address: 8 users at once"
tcptool echo-client --connect "$A:$(port 50)" --conns 8 --bytes 256K --timeout 20 ||
	fail "echo through route r-echo failed"
tcptool echo-client --connect "$A:$(port 10)" --bytes 64K --timeout 10 ||
	fail "the agent's own service broke beside the routes"
note "echo through a route to a name a name rule allows (any case)"
tcptool echo-client --connect "$A:$(port 52)" --conns 2 --bytes 64K --timeout 20 ||
	fail "echo through route r-name failed"

note "a destination not in allow_connect is refused, and nothing connects to it"
expect_reset "$(port 51)"
why="not allowed: $A:$(port 2) is not in allow_connect"
wait_for_log rtun "route r-guarded: stream " 5 || fail "the agent did not log the refusal"
wait_for_log rtun "refused: $why" 5 || fail "the agent's log lacks the reason"
wait_for_log rtund "route r-guarded (agent agent$IT_NUM): user " 5 ||
	fail "rtund did not log the refusal"
wait_for_log rtund ": $why" 5 || fail "rtund's log lacks the agent's reason"

note "a name that resolves to an address allow_connect does not have is refused too"
expect_reset "$(port 53)"
wait_for_log rtun "refused: not allowed: localhost:$(port 4) (" 5 ||
	fail "the agent did not refuse what localhost resolved to"
wait_for_log rtund "route r-resolved (agent agent$IT_NUM): user " 5 ||
	fail "rtund did not log the second refusal"
sleep 0.5
[ "$(grep -c conn= "$IT_DIR/guarded.out")" = 0 ] ||
	fail "the guarded listener saw a connection: $(cat "$IT_DIR/guarded.out")"
[ "$(grep -c conn= "$IT_DIR/guarded_lo.out")" = 0 ] ||
	fail "the guarded listener on 127.0.0.1 saw a connection: $(cat "$IT_DIR/guarded_lo.out")"
expect_metric "$SMET" rtund_route_refused_total 'route="r-guarded",reason="forbidden"' 1
expect_metric "$SMET" rtund_route_refused_total 'route="r-resolved",reason="forbidden"' 1
expect_metric "$AMET" rtun_route_refused_total 'reason="forbidden"' 2
expect_metric "$SMET" rtund_route_connections_total 'route="r-echo"' 8

note "an agent whose Declare does not say it serves routes (an older rtun) is sent none"
start_bg old "$PYTHON" "$TOOLS/fakeagent.py" --connect "$A:$(port 0)" --name "old$IT_NUM" \
	--token "$IT_TOKEN" --mode auth --hold 4 --timeout 10
wait_for_log rtund "agent old$IT_NUM (" 5 || fail "the old agent did not connect"
wait_for_file "$IT_DIR/old.out" "declared=" 5 || fail "the old agent did not declare"
expect_reset "$(port 55)" 2
wait_for_log rtund "route r-old: agent old$IT_NUM does not serve routes" 2 ||
	fail "rtund did not say why it reset the old agent's user"
wait_exit "$(pid_of old)" 10 || fail "the old agent did not finish"
[ "$EXIT_STATUS" = 0 ] || fail "the old agent's link was dropped: $(cat "$IT_DIR/old.log")"
grep -q "held=4" "$IT_DIR/old.out" || fail "the old agent's link did not last: $(cat "$IT_DIR/old.out")"
expect_metric "$SMET" rtund_route_refused_total 'route="r-old",reason="unsupported"' 1

note "a route whose agent is not connected resets its users at once"
expect_reset "$(port 54)" 2
expect_reset "$(port 54)" 2
wait_for_log rtund "route r-late: agent late$IT_NUM is not connected; resetting user" 5 ||
	fail "rtund did not say why it reset the user"
expect_metric "$SMET" rtund_route_refused_total 'route="r-late",reason="agent_down"' 2

note "... and works as soon as the agent authenticates, without a reload"
agent_conf "$IT_DIR/late.conf" "name=late$IT_NUM" "allow_connect=$A:$(port 1)"
start_rtun late "$IT_DIR/late.conf"
wait_for_log late "authenticated to " 15 || fail "the late agent never authenticated"
tcptool echo-client --connect "$A:$(port 54)" --conns 4 --bytes 128K --timeout 20 ||
	fail "route r-late does not work once its agent is up"
[ "$(log_count rtund "configuration reloaded")" = 0 ] || fail "rtund reloaded"
expect_metric "$AMET" rtun_route_streams_total "" 10
expect_alive rtund
expect_alive rtun
exit 0
