#!/bin/bash
# Peers on rtund's shared listen port that flood and never read: empty WebSocket PINGs over
# ws and wss, large binary messages full of rtun PINGs over ws and wss, rtun PINGs over raw
# TLS, and WebSocket PINGs from authenticated peers.  While they flood, an agent's wss tunnel
# carries a transfer each way and echoes; rtund's RSS must stay within IT_RSS_SLACK KiB of
# what it was before, every flooder must be dropped within a bounded time with a logged
# reason, and the tunnel must not notice.  Then RFC 6455 details, checked with an
# independent client (python3-websockets) where it is installed: no Host and another version
# get 400 (naming version 13), a bad frame gets a Close 1002 before the connection ends, and
# such an error on an authenticated link counts in rtund_protocol_errors_total.
IT_NUM=23
IT_TIMEOUT=${IT_TIMEOUT:-600}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

size=${IT_BULK_SIZE:-64M}
slack=${IT_RSS_SLACK:-16384}
# What ASan keeps of freed memory would count as growth: keep almost none.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=1"
command -v openssl >/dev/null 2>&1 || skip "openssl command not found"
bash "$TOOLS/mkcerts.sh" "$IT_DIR/pki" "$IT_ADDR" >/dev/null || hard_error "mkcerts.sh failed"

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
start_tool bulk sha-server --listen "$IT_ADDR:$(port 2)" --send "$size" --seed 21
met=$IT_ADDR:$(port 3)
tunnel_up ws_path=/rtun heartbeat_interval=1s heartbeat_timeout=4s \
	"server:tls_cert=$IT_DIR/pki/server.pem" "server:tls_key=$IT_DIR/pki/server.key" \
	server:handshake_timeout=5s "server:metrics_listen=$met" \
	agent:transport=wss "agent:ca_file=$IT_DIR/pki/ca.pem" \
	"svc:bulk=$IT_ADDR:$(port 2),$(port 10)" "svc:echo=$IT_ADDR:$(port 1),$(port 11)"
pid=$(pid_of rtund)

# The tunnel is busy before the flood starts and stays busy through it.
note "tunnel: $size each way, in the background"
start_bg transfer "$PYTHON" "$TOOLS/tcptool.py" sha-client --connect "$IT_ADDR:$(port 10)" \
	--send "$size" --seed 22 --timeout 240
sleep 2
rss0=$(rss_kb "$pid")
note "rtund RSS before the flood: $rss0 KiB"

# flooder NAME ARGS...: a wspeer.py in the background that must be dropped within 15 s.
flooders=()
flooder() {
	local name=$1
	shift
	start_bg "$name" "$PYTHON" "$TOOLS/wspeer.py" --connect "$IT_ADDR:$(port 0)" \
		--seconds 15 "$@"
	flooders+=("$name")
}
flooder ping-ws --mode ping-flood
flooder ping-wss --mode ping-flood --tls
flooder binary-ws --mode binary-flood
flooder binary-wss --mode binary-flood --tls
flooder rtun-tls --mode rtun-flood --tls
flooder auth-ws --mode auth-flood --token "$IT_TOKEN" --name flood-ws
flooder auth-wss --mode auth-flood --token "$IT_TOKEN" --name flood-wss --tls

# Sample RSS until every flooder is gone (each bounds itself to 15 s; allow 30).
peak=$rss0
t0=$(now_ms)
while [ $(($(now_ms) - t0)) -lt 30000 ]; do
	r=$(rss_kb "$pid") || fail "rtund died during the flood"
	[ "$r" -gt "$peak" ] && peak=$r
	# Fail at once: an unbounded queue grows by hundreds of MiB a second.
	[ $((peak - rss0)) -le "$slack" ] ||
		fail "rtund grew by $((peak - rss0)) KiB during the flood (allowed $slack)"
	left=0
	for f in "${flooders[@]}"; do
		pid_alive "$(pid_of "$f")" && left=$((left + 1))
	done
	[ "$left" = 0 ] && break
	sleep 0.2
done
note "rtund RSS: $rss0 KiB before, $peak KiB at most during the flood"

# Every flooder was dropped in time, and rtund said why (the reason names its address).
for f in "${flooders[@]}"; do
	wait_exit "$(pid_of "$f")" 5 || fail "$f still runs"
	[ "$EXIT_STATUS" = 0 ] || fail "$f: $(cat "$IT_DIR/$f.log")"
	local_addr=$(kv local "$IT_DIR/$f.out")
	line=$(grep -F "$local_addr" "$IT_DIR/rtund.log" | grep -E 'closed|dropping' | tail -n 1)
	echo "$line" | grep -q -E 'peer does not read|handshake timeout|heartbeat timeout|before authentication' ||
		fail "$f ($local_addr): no reason logged for the drop: ${line:-nothing}"
	note "$f: $(kv dropped "$IT_DIR/$f.out") after $(kv after "$IT_DIR/$f.out") s: ${line#*: }"
done
# Which bound ends a flooder depends on how many of its PONGs the kernel still took: the
# hard one ("peer does not read", pinned by test_ws) or, stalled between the bounds, the
# handshake or heartbeat timeout. Either way each was dropped, in time, with its reason.
note "dropped for not reading: $(log_count rtund 'peer does not read') of ${#flooders[@]}"

# The tunnel did not notice.
wait_exit "$(pid_of transfer)" 240 || fail "the transfer did not finish"
[ "$EXIT_STATUS" = 0 ] || fail "transfer failed: $(cat "$IT_DIR/transfer.log")"
expect_intact transfer bulk
tcptool echo-client --connect "$IT_ADDR:$(port 11)" --conns 20 --bytes 64K --timeout 60 \
	>"$IT_DIR/echo.out" || fail "echoes through the tunnel failed after the flood"
[ "$(kv ok "$IT_DIR/echo.out")" = 20 ] || fail "not all 20 echoes came back intact"
[ "$(log_count rtun "link lost")" = 0 ] || fail "the agent's link dropped during the flood"
expect_alive rtund
note "tunnel: $size each way intact, 20 echoes after the flood"

# protocol_errors: the rtund_protocol_errors_total value on the metrics port.
protocol_errors() {
	"$PYTHON" - "$met" <<'EOF'
import sys, urllib.request
for line in urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5):
    if line.startswith(b"rtund_protocol_errors_total "):
        print(int(float(line.split()[1])))
EOF
}

note "a bad frame after authentication: Close 1002, counted as a protocol error"
before=$(protocol_errors) || fail "cannot read rtund's metrics"
for tls in "" --tls; do
	"$PYTHON" "$TOOLS/wspeer.py" --connect "$IT_ADDR:$(port 0)" --mode auth-bad-frame \
		--token "$IT_TOKEN" --name "bad$tls" --seconds 10 $tls >"$IT_DIR/bad.out" 2>&1 ||
		fail "bad frame$tls: $(cat "$IT_DIR/bad.out")"
done
after=$(protocol_errors)
[ "$after" -ge $((before + 2)) ] || fail "protocol errors counted: $before -> $after, want +2"
grep -q 'Close 1006' "$IT_DIR/rtund.log" && fail "rtund claims to have sent Close 1006"

# The independent client: python3-websockets, under whichever python has it.
wspy=
for p in "$PYTHON" /usr/bin/python3; do
	if "$p" -c 'import websockets.client' 2>/dev/null; then
		wspy=$p
		break
	fi
done
if [ -z "$wspy" ]; then
	note "python3-websockets not installed: the independent-client checks are skipped"
	exit 0
fi
for check in no-host bad-version unmasked reserved-opcode; do
	for tls in "" --tls; do
		"$wspy" "$TOOLS/wscheck.py" --connect "$IT_ADDR:$(port 0)" --check "$check" $tls \
			>"$IT_DIR/wscheck.out" 2>&1 || fail "wscheck $check$tls: $(cat "$IT_DIR/wscheck.out")"
		note "websockets $check${tls:+ (wss)}: $(cat "$IT_DIR/wscheck.out")"
	done
done
expect_alive rtund
exit 0
