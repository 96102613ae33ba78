#!/bin/bash
# SIGHUP on rtund adds, removes and changes routes without touching the others: transfers
# on unchanged routes (one through the agent, one spliced by rtund) run through the
# reloads intact; transfers on removed routes carry on to the end intact while their
# ports stop listening; a route changed from agent to rtund, one with a new destination
# and one moved to another port serve new users the new way; two routes can swap ports;
# a route that breaks the config (its port in allow_ports) is refused with file:line and
# the running routes stay.
IT_NUM=34
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=route.sh
. "$(dirname "$0")/route.sh"

A=$IT_ADDR
AG=agent=agent$IT_NUM
for i in 1 5 6 7; do
	start_tool "sha$i" sha-server --listen "$A:$(port $i)" --send 16M --seed "$i" --rate 4M
done
start_tool b echo-server --listen "$A:$(port 2)" --greet B
start_tool c echo-server --listen "$A:$(port 3)" --greet C
start_tool d echo-server --listen "$A:$(port 4)" --greet D

conf=$IT_DIR/rtund.conf
# routes_kept: the two routes every configuration has, with a transfer through each.
routes_kept() {
	route "$conf" r-bulk "$(port 50)" "$A:$(port 1)" "$AG"
	route "$conf" r-sbulk "$(port 51)" "$A:$(port 5)"
}
# routes_before: the first configuration's other routes.
routes_before() {
	route "$conf" r-gone "$(port 52)" "$A:$(port 6)" "$AG"
	route "$conf" r-sgone "$(port 53)" "$A:$(port 7)"
	route "$conf" r-kind "$(port 54)" "$A:$(port 2)" "$AG"
	route "$conf" r-dest "$(port 55)" "$A:$(port 2)"
	route "$conf" r-move "$(port 56)" "$A:$(port 2)" "$AG"
}
# routes_after KIND DEST: the other routes after the reload, r-kind on port KIND and
# r-dest on port DEST.
routes_after() {
	route "$conf" r-kind "$(port "$1")" "$A:$(port 3)"
	route "$conf" r-dest "$(port "$2")" "$A:$(port 4)"
	route "$conf" r-move "$(port 57)" "$A:$(port 2)" "$AG"
	route "$conf" r-new "$(port 58)" "$A:$(port 3)" "$AG"
}
# reload N: rtund reads the file again; returns once it says so for the Nth time.
reload() {
	kill -HUP "$(pid_of rtund)"
	wait_for_log rtund "configuration reloaded" 5 "$1" || fail "reload $1 not logged"
}
# greets PORT TEXT: a user of PORT is answered by the echo server greeting TEXT.
greets() {
	tcptool echo-client --connect "$A:$1" --greet "$2" --bytes 4K --timeout 10 >/dev/null ||
		fail "port $1 does not answer as echo server $2"
}

server_conf "$conf"
routes_kept
routes_before
start_rtund rtund "$conf"
agent_conf "$IT_DIR/rtun.conf" "allow_connect=$A:$(port 1), $A:$(port 2), $A:$(port 3), $A:$(port 6)"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_for_log rtun "authenticated to " 15 || fail "the agent never authenticated"
greets "$(port 54)" B
greets "$(port 55)" B
greets "$(port 56)" B

note "16 MiB each way on four routes at 4 MiB/s; two of them stay, two go"
i=0
for p in 50 51 52 53; do
	i=$((i + 1))
	start_tool "user$p" sha-client --connect "$A:$(port $p)" --send 16M --seed $((10 + i)) \
		--rate 4M --timeout 60
done
sleep 1

note "reload 1: remove two routes, turn one into rtund's own, give one a new destination,"
note "move one to another port, add one"
server_conf "$conf"
routes_kept
routes_after 54 55
reload 1
for p in 52 53 56; do
	wait_port_closed "$A:$(port $p)" 5 || fail "port $(port $p) still listens after the reload"
done
wait_for_log rtund "reload: route r-gone removed" 1 || fail "no log line for a removed route"
wait_for_log rtund "reload: added route r-new" 1 || fail "no log line for an added route"
wait_for_log rtund "reload: changed route r-kind: port $(port 54) to $A:$(port 3) (rtund connects)" 1 ||
	fail "no log line for a changed route"
greets "$(port 54)" C
greets "$(port 55)" D
greets "$(port 57)" B
greets "$(port 58)" C

note "reload 2: a route on a port of allow_ports is refused with file:line"
cp "$conf" "$IT_DIR/rtund.good"
route "$conf" r-bad "$(port 20)" "$A:$(port 3)"
line=$(grep -n "^port = $(port 20)" "$conf" | cut -d: -f1)
kill -HUP "$(pid_of rtund)"
wait_for_log rtund "$conf:$line: [route r-bad]: port $(port 20) is in allow_ports" 5 ||
	fail "no file:line error for the bad route"
wait_for_log rtund "reload refused" 5 || fail "the bad reload was not refused"
greets "$(port 58)" C
cp "$IT_DIR/rtund.good" "$conf"

note "reload 3: two routes swap their ports"
server_conf "$conf"
routes_kept
routes_after 55 54
reload 2
greets "$(port 54)" D
greets "$(port 55)" C

note "every transfer is intact: those of kept routes and those of removed ones"
for p in 50 51 52 53; do
	case $p in
	50) s=sha1 ;; 51) s=sha5 ;; 52) s=sha6 ;; 53) s=sha7 ;;
	esac
	expect_intact "user$p" "$s" 1 60
done
[ "$(log_count rtund "authenticated")" = 1 ] || fail "the agent's link was replaced"
[ "$(log_count rtund "link closed")" = 0 ] || fail "a reload dropped the agent's link"
expect_alive rtund
expect_alive rtun
exit 0
