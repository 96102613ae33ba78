#!/bin/bash
# Out of file descriptors: rtund pauses accepting users and retries on a timer instead
# of spinning on a listening socket it cannot serve or dying; once users leave, the
# service works again.
IT_NUM=17
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
server_conf "$IT_DIR/rtund.conf"
agent_conf "$IT_DIR/rtun.conf" "svc:echo=$IT_ADDR:$(port 1),$(port 10)"
# A hard limit of 40 descriptors: rtund cannot raise it, and 60 users exhaust it.
start_bg rtund bash -c 'ulimit -n 40 && exec "$0" "$@"' "$RTUND" -c "$IT_DIR/rtund.conf"
wait_port "$IT_ADDR:$(port 0)" 10 || fail "rtund did not listen"
start_rtun rtun "$IT_DIR/rtun.conf"
wait_for_log rtun "remote port $(port 10) ready" 10 || fail "service never ready"
pid=$(pid_of rtund)
[ "$(awk '/^Max open files/ { print $4 }' "/proc/$pid/limits")" = 40 ] ||
	hard_error "the descriptor limit did not apply"

# cpu_ticks PID: user + system time of PID in clock ticks.
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat"
}

note "60 users connect and stay for 3 s"
before=$(cpu_ticks "$pid")
"$PYTHON" - "$IT_ADDR" "$(port 10)" >"$IT_DIR/hold.out" 2>&1 <<'PY' &
import socket, sys, time
socks = []
for _ in range(60):
    s = socket.socket()
    s.settimeout(2)
    try:
        s.connect((sys.argv[1], int(sys.argv[2])))
    except OSError:
        pass
    socks.append(s)
print("connected", flush=True)
time.sleep(3)
for s in socks:
    s.close()
print("closed", flush=True)
PY
holder=$!
wait_for_file "$IT_DIR/hold.out" "closed" 15 || fail "the holding client did not finish"
wait "$holder"
after=$(cpu_ticks "$pid")
ticks=$((after - before))
hz=$(getconf CLK_TCK)
note "rtund used $ticks ticks (of $((3 * hz)) per core) while out of descriptors"
expect_alive rtund
wait_for_log rtund "pausing accepts" 1 || fail "rtund did not report the descriptor shortage"
# Spinning on the readable listener would burn a whole core for the 3 s.
[ "$ticks" -lt "$hz" ] || fail "rtund used ${ticks} ticks in 3 s: it spins instead of pausing"

note "users gone: the service works again"
ok=0
for ((i = 0; i < 30; i++)); do
	tcptool echo-client --connect "$IT_ADDR:$(port 10)" --bytes 64K --timeout 5 \
		>/dev/null 2>&1 && { ok=1; break; }
	sleep 0.2
done
[ $ok = 1 ] || fail "service did not recover after the descriptor shortage"
exit 0
