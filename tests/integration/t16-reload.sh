#!/bin/bash
# SIGHUP reloads the config without dropping the link: on the agent, added services come
# up, removed ones go down, changed ones are re-declared, and a transfer on an unchanged
# service runs through it intact; on rtund, a narrower allow_ports revokes ports (the
# agent is told) and a new token applies to the next authentication only. A broken file
# is refused with file:line and the running configuration stays.
IT_NUM=16
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool bulk sha-server --listen "$IT_ADDR:$(port 1)" --send 16M --seed 1 --rate 4M
start_tool b echo-server --listen "$IT_ADDR:$(port 2)" --greet B
start_tool c echo-server --listen "$IT_ADDR:$(port 3)" --greet C
start_tool d echo-server --listen "$IT_ADDR:$(port 4)" --greet D
agent=$IT_DIR/rtun.conf
tunnel_up "svc:bulk=$IT_ADDR:$(port 1),$(port 10)" "svc:b=$IT_ADDR:$(port 2),$(port 11)"
tcptool echo-client --connect "$IT_ADDR:$(port 11)" --greet B --timeout 10 >/dev/null ||
	fail "service b does not work before the reload"

# greets PORT TEXT: a connection to PORT is answered by the echo server greeting TEXT.
greets() {
	tcptool echo-client --connect "$IT_ADDR:$(port "$1")" --greet "$2" --bytes 4K \
		--timeout 10 >/dev/null
}

note "agent: keep bulk (a transfer runs through the reload), remove b, add c"
start_tool user sha-client --connect "$IT_ADDR:$(port 10)" --send 16M --seed 2 --rate 4M \
	--timeout 60
sleep 1
agent_conf "$agent" "svc:bulk=$IT_ADDR:$(port 1),$(port 10)" "svc:c=$IT_ADDR:$(port 3),$(port 12)"
kill -HUP "$(pid_of rtun)"
wait_for_log rtun "remote port $(port 12) ready" 10 || fail "added service c never ready"
wait_for_log rtun "reload: service b removed" 5 || fail "no log line for the removed service"
wait_port_closed "$IT_ADDR:$(port 11)" 5 || fail "removed service b still has its port"
greets 12 C || fail "added service c does not answer"

note "agent: change c's target from C to D"
agent_conf "$agent" "svc:bulk=$IT_ADDR:$(port 1),$(port 10)" "svc:c=$IT_ADDR:$(port 4),$(port 12)"
kill -HUP "$(pid_of rtun)"
wait_for_log rtun "reload: service c changed" 5 || fail "no log line for the changed service"
ok=0
for ((i = 0; i < 50; i++)); do
	greets 12 D 2>/dev/null && { ok=1; break; }
	sleep 0.1
done
[ $ok = 1 ] || fail "changed service c still goes to its old target"

note "agent: a broken file is refused and the old configuration keeps running"
cp "$agent" "$IT_DIR/rtun.good"
printf '[agent]\nserver = %s\ntoken = x\nbogus_key = 1\n' "$IT_ADDR:$(port 0)" >"$agent"
kill -HUP "$(pid_of rtun)"
wait_for_log rtun "$agent:4: unknown key" 5 || fail "no file:line error for the broken reload"
wait_for_log rtun "reload refused" 5 || fail "broken reload not refused"
expect_alive rtun
greets 12 D || fail "service c broken after a refused reload"
cp "$IT_DIR/rtun.good" "$agent"

note "the transfer that ran through the reloads is intact, on the same link"
expect_intact user bulk
[ "$(log_count rtund "authenticated")" = 1 ] || fail "the agent reconnected during reloads"

note "rtund: allow_ports without the bulk port revokes it; the agent is told"
server_conf "$IT_DIR/rtund.conf" "allow_ports=$(port 12)-$(port 49)"
kill -HUP "$(pid_of rtund)"
wait_for_log rtun "service bulk: remote port $(port 10) refused: not allowed" 5 ||
	fail "agent not told that its port was revoked"
wait_port_closed "$IT_ADDR:$(port 10)" 5 || fail "revoked port still open"
greets 12 D || fail "an allowed service broke when another was revoked"

note "rtund: a new token applies to new agents only"
server_conf "$IT_DIR/rtund.conf" "allow_ports=$(port 12)-$(port 49)" "token=new-$IT_TOKEN"
kill -HUP "$(pid_of rtund)"
wait_for_log rtund "configuration reloaded" 5 2 || fail "second rtund reload not logged"
agent_conf "$IT_DIR/new.conf" "name=new$IT_NUM" "token=new-$IT_TOKEN" \
	"svc:n=$IT_ADDR:$(port 2),$(port 13)"
start_rtun new "$IT_DIR/new.conf"
wait_for_log new "remote port $(port 13) ready" 10 || fail "agent with the new token refused"
agent_conf "$IT_DIR/old.conf" "name=old$IT_NUM" "svc:o=$IT_ADDR:$(port 2),$(port 14)"
start_rtun old "$IT_DIR/old.conf"
wait_for_log old "authentication failed" 10 || fail "agent with the old token accepted"
greets 12 D || fail "the first agent's link did not survive the token change"

note "rtund: a broken file is refused"
echo "nonsense line" >>"$IT_DIR/rtund.conf"
kill -HUP "$(pid_of rtund)"
wait_for_log rtund "reload refused" 5 || fail "broken rtund reload not refused"
expect_alive rtund
greets 13 B || fail "rtund stopped serving after a refused reload"
[ "$(log_count rtund "link closed")" = 0 ] || fail "a link was dropped by a reload"
exit 0
