#!/bin/bash
# Wrong tokens from one address: the first AUTHLIMIT_FAILURES (5) are refused one log line
# each, then rtund refuses every connection from that address at once (one line each,
# nothing of the handshake), even with the right token; an agent from another address
# still authenticates. contrib/fail2ban's filter matches each failure line and nothing
# else.
IT_NUM=26
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

FILTER=$(dirname "$0")/../../contrib/fail2ban/filter.d/rtund.conf
[ -f "$FILTER" ] || hard_error "no $FILTER"
# Another loopback address for the honest agent.
OTHER=127.$((RANDOM % 250 + 2)).$((RANDOM % 250 + 2)).1
[ "$OTHER" != "$IT_ADDR" ] || OTHER=127.1.1.1

server_conf "$IT_DIR/rtund.conf"
start_rtund rtund "$IT_DIR/rtund.conf"
agent_addr=$IT_ADDR:$(port 0)

# attempt N ARGS...: one fakeagent run from IT_ADDR; its output in try-N.out/.err.
attempt() {
	local n=$1
	shift
	fakeagent --connect "$agent_addr" --bind "$IT_ADDR" --name guesser --timeout 5 "$@" \
		>"$IT_DIR/try-$n.out" 2>"$IT_DIR/try-$n.err"
}

note "5 wrong tokens from $IT_ADDR"
for i in 1 2 3 4 5; do
	attempt "$i" --mode wrong-token --token "wrong-$i" ||
		fail "wrong-token attempt $i was not answered: $(cat "$IT_DIR/try-$i.err")"
done
wait_for_log rtund "authentication failed from $IT_ADDR for agent 'guesser'" 5 5 ||
	fail "rtund did not log five failures"
grep -q "authentication failed from $IT_ADDR for agent 'guesser'; refusing $IT_ADDR for 10s" \
	"$IT_DIR/rtund.log" || fail "the fifth failure did not start a 10 s block"

note "up to 20 more attempts from $IT_ADDR within the 10 s block, the first with the right token"
# A loaded machine starts each fakeagent slowly: attempts stop 8 s into the block, so that
# none can reach rtund after the block ended; at least 10 must have been refused by then.
t0=$(now_ms)
attempt 6 --mode auth --token "$IT_TOKEN" --hold 0 &&
	fail "the right token from a blocked address was let in"
n=1
for i in $(seq 7 25); do
	[ $(($(now_ms) - t0)) -lt 8000 ] || break
	attempt "$i" --mode wrong-token --token "wrong-$i" &&
		fail "attempt $i from a blocked address got an answer"
	grep -q -E "closed|reset|connect" "$IT_DIR/try-$i.err" ||
		fail "attempt $i failed otherwise: $(cat "$IT_DIR/try-$i.err")"
	n=$((n + 1))
done
took=$(($(now_ms) - t0))
note "$n refused attempts in $took ms"
[ "$n" -ge 10 ] || fail "only $n attempts fitted in 8 s"
wait_for_log rtund "refusing agent connection from $IT_ADDR: repeated authentication failures" \
	5 "$n" || fail "rtund did not log each refused connection"
[ "$(log_count rtund "refusing agent connection")" -eq "$n" ] ||
	fail "not exactly one line per refused connection"
[ "$(log_count rtund "authentication failed from")" -eq 5 ] ||
	fail "a refused connection was authenticated at all"
[ "$(log_count rtund "connection closed during handshake")" -eq 0 ] ||
	fail "a failed authentication took a second log line"

note "an agent from $OTHER still authenticates"
fakeagent --connect "$agent_addr" --bind "$OTHER" --name honest --token "$IT_TOKEN" \
	--mode auth --hold 0 --timeout 5 >"$IT_DIR/honest.out" 2>"$IT_DIR/honest.err" ||
	fail "the agent from $OTHER was refused: $(cat "$IT_DIR/honest.err")"
grep -q '^auth=ok' "$IT_DIR/honest.out" || fail "the agent from $OTHER did not authenticate"

note "the fail2ban filter finds the five failures and nothing else"
command -v fail2ban-regex >/dev/null 2>&1 || fail "fail2ban-regex is needed (scripts/deps.sh installs fail2ban)"
fail2ban-regex "$IT_DIR/rtund.log" "$(cd "$(dirname "$FILTER")" && pwd)/rtund.conf" \
	>"$IT_DIR/f2b.out" 2>&1 || fail "fail2ban-regex: $(tail -n 20 "$IT_DIR/f2b.out")"
grep -E -q '^\|   1\) \[5\] ' "$IT_DIR/f2b.out" ||
	fail "the filter did not match exactly 5 lines: $(cat "$IT_DIR/f2b.out")"
expect_alive rtund
exit 0
