#!/bin/bash
# A user that never reads must not stall another stream on the same link, and must not
# make rtund or rtun buffer without bound: flow control holds the service back.
IT_NUM=4
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# A service that never stops sending, for the user that never reads ...
start_tool endless sha-server --listen "$IT_ADDR:$(port 1)" --send 1T --seed 31
# ... and one that moves 64 MiB each way for a well-behaved user.
start_tool bulk sha-server --listen "$IT_ADDR:$(port 2)" --send 64M --seed 32
tunnel_up "svc:endless=$IT_ADDR:$(port 1),$(port 10)" "svc:bulk=$IT_ADDR:$(port 2),$(port 11)"

pid_d=$(pid_of rtund)
pid_a=$(pid_of rtun)
note "before: rtund RSS $(rss_kb "$pid_d") KiB, rtun RSS $(rss_kb "$pid_a") KiB"

# The non-reader keeps pushing (4 MiB/s) and never reads what the service sends.
start_tool noread noread --connect "$IT_ADDR:$(port 10)" --duration 50 --rate 4M
wait_for_file "$IT_DIR/noread.out" "connected=" 10 || fail "the non-reader did not connect"
sleep 2
d0=$(rss_kb "$pid_d")
a0=$(rss_kb "$pid_a")
note "non-reader stalled: rtund RSS $d0 KiB, rtun RSS $a0 KiB"
sleep 4
d1=$(rss_kb "$pid_d")
a1=$(rss_kb "$pid_a")
note "4 s later: rtund RSS $d1 KiB (+$((d1 - d0))), rtun RSS $a1 KiB (+$((a1 - a0)))"
limit=$((64 * 1024))
[ $((d1 - d0)) -lt $limit ] || fail "rtund grew by $((d1 - d0)) KiB while a user did not read"
[ $((a1 - a0)) -lt $limit ] || fail "rtun grew by $((a1 - a0)) KiB while a user did not read"

note "64 MiB each way on another stream of the same link"
t0=$(now_ms)
tcptool sha-client --connect "$IT_ADDR:$(port 11)" --send 64M --seed 33 --timeout 40 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err" ||
	fail "the other stream stalled: $(cat "$IT_DIR/client.err")"
note "transfer took $(($(now_ms) - t0)) ms"
expect_intact client bulk

sleep 1
d2=$(rss_kb "$pid_d")
a2=$(rss_kb "$pid_a")
note "after: rtund RSS $d2 KiB (+$((d2 - d0))), rtun RSS $a2 KiB (+$((a2 - a0)))"
[ $((d2 - d0)) -lt $limit ] || fail "rtund grew by $((d2 - d0)) KiB"
[ $((a2 - a0)) -lt $limit ] || fail "rtun grew by $((a2 - a0)) KiB"

# The non-reader is still connected and was still able to push all along.
expect_alive noread
tail -n 1 "$IT_DIR/noread.out"
sent=$(kv sent_bytes "$IT_DIR/noread.out")
[ "${sent:-0}" -gt $((4 * 1024 * 1024)) ] || fail "the non-reader could push only ${sent:-0} bytes"
grep -q "recv_sha256=" "$IT_DIR/endless.out" && fail "the non-reader's stream ended"
expect_alive rtund
expect_alive rtun
exit 0
