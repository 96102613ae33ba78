#!/bin/bash
# Garbage, oversize and malformed frames from a fake agent, and an OPEN naming a
# destination (which only rtund may send), drop only that link: rtund logs "protocol
# error" and keeps running, and a real agent's transfer through the same
# rtund, running from before the first fake agent until after the last, continues intact.
IT_NUM=8
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool bulk sha-server --listen "$IT_ADDR:$(port 1)" --send 64M --seed 41 --rate 2M
tunnel_up server:handshake_timeout=2s agent:name=real "svc:bulk=$IT_ADDR:$(port 1),$(port 10)"

# 64 MiB each way at 2 MiB/s, about 32 s: three times what the fake agents take (about
# 10 s), so that the transfer runs all the while they misbehave; checked below.
start_tool client sha-client --connect "$IT_ADDR:$(port 10)" --send 64M --seed 42 --rate 2M \
	--timeout 120
sleep 1
pid_alive "$(pid_of client)" || fail "the transfer did not start: $(cat "$IT_DIR/client.log")"
t0=$(now_ms)

agent_addr=$IT_ADDR:$(port 0)
n=0
# Each case: a fakeagent mode and its arguments; "protocol error" is expected for all
# but bad-preface and silent, which rtund may log in other words.
run_fake() {
	n=$((n + 1))
	local out=$IT_DIR/fake$n
	note "fake agent $n: $*"
	fakeagent --connect "$agent_addr" --name "fake$n" --token "$IT_TOKEN" --timeout 8 "$@" \
		>"$out.out" 2>"$out.err" || fail "fake agent $n ($*): $(cat "$out.err")"
	sed 's/^/    /' "$out.out"
	expect_alive rtund
	expect_alive rtun
}
before=$(log_count rtund "protocol error")
run_fake --mode garbage
run_fake --mode oversize
run_fake --mode oversize --length 0xffffffff
run_fake --mode zero-length
run_fake --mode bad-header
run_fake --mode never-opened --stream 1
run_fake --mode never-opened --stream 2
run_fake --mode bad-msgpack
run_fake --mode early-data
run_fake --mode open-connect
got=$(($(log_count rtund "protocol error") - before))
[ "$got" -ge 10 ] || fail "rtund logged 'protocol error' $got times for 10 malformed links"
grep -q -F "names a destination it may not" "$IT_DIR/rtund.log" ||
	fail "an agent's OPEN naming a destination was not refused as such"
run_fake --mode bad-preface
run_fake --mode silent

# Flow-control abuse needs an open stream: the fake agent declares a service, a user
# connects to it, and the fake agent answers OPEN_OK and then oversteps.
run_fake_stream() {
	local mode=$1 p
	n=$((n + 1))
	p=$(port $((18 + n)))
	note "fake agent $n: --mode $mode, user on port $p"
	start_bg "fake$n" "$PYTHON" "$TOOLS/fakeagent.py" --connect "$agent_addr" \
		--name "fake$n" --token "$IT_TOKEN" --timeout 15 --mode "$mode" --service "svc$n:$p"
	wait_for_file "$IT_DIR/fake$n.out" "declare svc$n=ok" 10 ||
		fail "fake agent $n did not get its port: $(cat "$IT_DIR/fake$n.log")"
	if [ "$mode" = flood ]; then
		# A user that never reads, so rtund cannot hand out credit as fast as it is
		# overrun; it is stopped at the end of the test.
		start_tool "user$n" noread --connect "$IT_ADDR:$p" --duration 30 --rate 1K
	else
		tcptool wait-close --connect "$IT_ADDR:$p" --within 10 --timeout 15 \
			>"$IT_DIR/user$n.out" || fail "the user of fake agent $n's stream was not closed"
	fi
	wait_exit "$(pid_of "fake$n")" 15 || fail "fake agent $n still connected"
	[ "$EXIT_STATUS" = 0 ] || fail "fake agent $n ($mode): $(cat "$IT_DIR/fake$n.log")"
	sed 's/^/    /' "$IT_DIR/fake$n.out"
	expect_alive rtund
	expect_alive rtun
}
run_fake_stream window-overflow
run_fake_stream flood
note "the fake agents took $(($(now_ms) - t0)) ms"
# Had the transfer ended before the last fake agent was dropped, the test would not show
# that a real link survives them.
pid_alive "$(pid_of client)" || fail "the transfer ended before the fake agents were done"

wait_exit "$(pid_of client)" 120 || fail "the real transfer did not finish"
[ "$EXIT_STATUS" = 0 ] || fail "the real transfer failed: $(cat "$IT_DIR/client.log")"
expect_intact client bulk
[ "$(log_count rtun "link lost")" = 0 ] || fail "the real agent's link dropped"
expect_alive rtund
expect_alive rtun
exit 0
