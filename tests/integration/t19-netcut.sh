#!/bin/bash
# A network cut under open streams, in a network namespace of the test's own: iptables
# drops every packet of the link while a download and an upload run. Both daemons declare
# the link dead by heartbeat within heartbeat_timeout (plus one interval at most), every
# time, and reset their local sockets, so the user and the private service each see a
# reset, never a clean end. When the network heals, the agent reconnects by itself.
# Then SIGSTOP of the agent, several times: rtund's verdict comes as promptly.
IT_NUM=19
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v iptables >/dev/null 2>&1 || fail "iptables is needed (scripts/deps.sh installs it)"
it_netns
interval_ms=1000
timeout_ms=3000
limit_ms=$((timeout_ms + interval_ms))
total=$((512 * 1024 * 1024))
link=$IT_ADDR:$(port 0)

start_tool down sha-server --listen "$IT_ADDR:$(port 1)" --send "$total" --seed 3 --rate 16M
start_tool up sha-server --listen "$IT_ADDR:$(port 2)" --send 0
start_tool echo echo-server --listen "$IT_ADDR:$(port 3)"
tunnel_up heartbeat_interval=1s heartbeat_timeout=3s agent:reconnect_min=0.2s \
	agent:reconnect_max=0.5s "svc:down=$IT_ADDR:$(port 1),$(port 10)" \
	"svc:up=$IT_ADDR:$(port 2),$(port 11)" "svc:echo=$IT_ADDR:$(port 3),$(port 12)"
ready="service echo: remote port $(port 12) ready"

# block / unblock: drop (or let through again) every packet to or from the link port.
rules=("-p tcp --dport $(port 0) -j DROP" "-p tcp --sport $(port 0) -j DROP")
block() {
	local r
	for r in "${rules[@]}"; do
		# shellcheck disable=SC2086 # a rule is several words
		in_netns iptables -A INPUT $r || fail "iptables -A failed"
	done
}
unblock() {
	local r
	for r in "${rules[@]}"; do
		# shellcheck disable=SC2086
		in_netns iptables -D INPUT $r || fail "iptables -D failed"
	done
}

# verdicts NAME: how many times NAME logged that a link fell silent (one line each).
verdicts() {
	grep -F "heartbeat timeout" "$IT_DIR/$1.log" 2>/dev/null | grep -v -c -e "link closed" -e "link lost"
}

# verdict_ms NAME COUNT T0: ms from T0 until NAME has logged COUNT verdicts.
verdict_ms() {
	local i
	for ((i = 0; i < (limit_ms + 3000) / 50; i++)); do
		if [ "$(verdicts "$1")" -ge "$2" ]; then
			echo $(($(now_ms) - $3))
			return 0
		fi
		sleep 0.05
	done
	fail "$1 logged no heartbeat timeout (x$2) within $((limit_ms + 3000)) ms"
}

# result_of FILE N: the result= word of the Nth line of FILE holding one.
result_of() {
	grep "result=" "$1" | sed -n "${2}p" | sed -E 's/.*result=([a-z]+).*/\1/'
}

for round in 1 2 3; do
	note "round $round: a download and an upload in flight, then the link is cut"
	start_tool "dl$round" sha-client --connect "$IT_ADDR:$(port 10)" --send 0 --timeout 40
	start_tool "ul$round" sha-client --connect "$IT_ADDR:$(port 11)" --send "$total" \
		--rate 16M --timeout 40
	sleep 1.3
	t0=$(now_ms)
	block
	dt_server=$(verdict_ms rtund "$round" "$t0") || exit 1
	dt_agent=$(verdict_ms rtun "$round" "$t0") || exit 1
	note "round $round: rtund declared the link dead after $dt_server ms, the agent after $dt_agent ms"
	[ "$dt_server" -le "$limit_ms" ] || fail "rtund took $dt_server ms, want <= $limit_ms"
	[ "$dt_agent" -le "$limit_ms" ] || fail "the agent took $dt_agent ms, want <= $limit_ms"
	for u in "dl$round" "ul$round"; do
		wait_exit "$(pid_of "$u")" 10 || fail "user $u still hangs after the cut"
		[ "$(result_of "$IT_DIR/$u.out" 1)" = reset ] ||
			fail "user $u saw a clean end of a cut stream: $(cat "$IT_DIR/$u.out")"
	done
	wait_for_file "$IT_DIR/down.out" "result=" 10 "$round" || fail "download service never saw the end"
	wait_for_file "$IT_DIR/up.out" "result=" 10 "$round" || fail "upload service never saw the end"
	[ "$(result_of "$IT_DIR/down.out" "$round")" = reset ] ||
		fail "download service saw a clean end: $(tail -n 1 "$IT_DIR/down.out")"
	[ "$(result_of "$IT_DIR/up.out" "$round")" = reset ] ||
		fail "upload service saw a clean end: $(tail -n 1 "$IT_DIR/up.out")"
	unblock
	wait_for_log rtun "$ready" 15 $((round + 1)) || fail "the agent did not come back after the cut"
	tcptool echo-client --connect "$IT_ADDR:$(port 12)" --conns 2 --timeout 10 >/dev/null ||
		fail "echo failed after the network healed"
done

for round in 1 2 3; do
	n=$(($(verdicts rtund) + 1))
	# Half the rounds with a transfer in flight, so the link is busy when it falls silent.
	if [ $((round % 2)) = 1 ]; then
		start_tool "busy$round" sha-client --connect "$IT_ADDR:$(port 10)" --send 0 --timeout 40
		sleep 1
	fi
	t0=$(now_ms)
	kill -STOP "$(pid_of rtun)"
	dt=$(verdict_ms rtund "$n" "$t0") || exit 1
	kill -CONT "$(pid_of rtun)"
	note "SIGSTOP round $round: rtund's verdict after $dt ms"
	[ "$dt" -le "$limit_ms" ] || fail "rtund took $dt ms after SIGSTOP, want <= $limit_ms"
	if [ $((round % 2)) = 1 ]; then
		wait_exit "$(pid_of "busy$round")" 10 || fail "user still hangs after the verdict"
		[ "$(result_of "$IT_DIR/busy$round.out" 1)" = reset ] ||
			fail "user saw a clean end: $(cat "$IT_DIR/busy$round.out")"
	fi
	wait_for_log rtun "$ready" 15 $((3 + round + 1)) || fail "the agent did not come back after SIGCONT"
done
expect_alive rtund
expect_alive rtun
exit 0
