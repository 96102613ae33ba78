#!/bin/bash
# WebSocket links: transport=ws and transport=wss each carry 256 MiB each way (sha256 equal)
# and 200 concurrent echoes; bad upgrade requests get 400/404 with a reason and rtund
# carries on; a client that stops halfway through its request is dropped after
# handshake_timeout.
IT_NUM=21
IT_TIMEOUT=${IT_TIMEOUT:-900}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

size=${IT_BULK_SIZE:-256M}
conns=${IT_CONNS:-200}
command -v openssl >/dev/null 2>&1 || skip "openssl command not found"
bash "$TOOLS/mkcerts.sh" "$IT_DIR/pki" "$IT_ADDR" >/dev/null || hard_error "mkcerts.sh failed"

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
server_conf "$IT_DIR/rtund.conf" "tls_cert=$IT_DIR/pki/server.pem" \
	"tls_key=$IT_DIR/pki/server.key" "ws_path=/rtun" "handshake_timeout=2s"
start_rtund rtund "$IT_DIR/rtund.conf"

# http_raw NAME TEXT [SECONDS]: sends TEXT (with \r\n escapes) to rtund's port and writes
# the answer's status line, body and how long the server took to close to NAME.out, as
# "status=... body=... closed_after=S" (spaces turned into _).
http_raw() {
	"$PYTHON" - "$IT_ADDR" "$(port 0)" "$2" "${3:-10}" >"$IT_DIR/$1.out" <<'EOF'
import socket, sys, time
addr, port, text, limit = sys.argv[1], int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
s = socket.create_connection((addr, port), timeout=limit)
s.sendall(text.encode().decode("unicode_escape").encode("latin-1"))
t0, data = time.monotonic(), b""
try:
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
except (socket.timeout, ConnectionResetError):
    pass
head, _, body = data.partition(b"\r\n\r\n")
status = head.split(b"\r\n")[0].decode("latin-1").replace(" ", "_")
print("status=%s body=%s closed_after=%.1f" % (status or "none",
      body.decode("latin-1").strip().replace(" ", "_") or "none", time.monotonic() - t0))
EOF
	cat "$IT_DIR/$1.out"
}

# bulk_check TRANSPORT PORT: the 256 MiB each-way transfer of t01 through remote PORT.
bulk_check() {
	local tr=$1
	note "$tr: sending $size each way"
	tcptool sha-client --connect "$IT_ADDR:$2" --send "$size" --seed 12 --timeout 240 \
		>"$IT_DIR/client-$tr.out" 2>"$IT_DIR/client-$tr.err" ||
		fail "$tr: transfer failed: $(cat "$IT_DIR/client-$tr.err")"
	expect_intact "client-$tr" "bulk-$tr"
	note "$tr: ok, $size each way in $(kv elapsed "$IT_DIR/client-$tr.out") s"
}

# echo_check TRANSPORT PORT: 200 concurrent echoes, as in t02.
echo_check() {
	tcptool echo-client --connect "$IT_ADDR:$2" --conns "$conns" --bytes 96K --timeout 120 \
		>"$IT_DIR/echo-$1.out" 2>"$IT_DIR/echo-$1.err" ||
		fail "$1: echo failed: $(cat "$IT_DIR/echo-$1.err")"
	[ "$(kv ok "$IT_DIR/echo-$1.out")" = "$conns" ] ||
		fail "$1: not all $conns connections echoed correctly"
	note "$1: $conns concurrent echoes ok"
}

i=0
for tr in ws wss; do
	bulk=$(port $((2 + i))) rbulk=$(port $((10 + 2 * i))) recho=$(port $((11 + 2 * i)))
	start_tool "bulk-$tr" sha-server --listen "$IT_ADDR:$bulk" --send "$size" --seed 11
	agent_conf "$IT_DIR/rtun-$tr.conf" "name=agent$IT_NUM$tr" "transport=$tr" \
		"ca_file=$IT_DIR/pki/ca.pem" "ws_path=/rtun" "ws_header=X-Rtun-Test: $tr" \
		"svc:bulk=$IT_ADDR:$bulk,$rbulk" "svc:echo=$IT_ADDR:$(port 1),$recho"
	start_rtun "rtun-$tr" "$IT_DIR/rtun-$tr.conf"
	wait_for_log "rtun-$tr" "service echo: remote port $recho ready" 15 ||
		fail "$tr: service never ready"
	grep -q -E "connected to .* over $tr\$" "$IT_DIR/rtun-$tr.log" ||
		fail "$tr: the link is not $tr"
	echo_check "$tr" "$recho"
	bulk_check "$tr" "$rbulk"
	expect_alive rtund
	expect_alive "rtun-$tr"
	[ "$(log_count "rtun-$tr" "link lost")" = 0 ] || fail "$tr: the agent's link dropped"
	i=$((i + 1))
done

note "bad upgrade requests"
h=$IT_DIR/nokey.out
up='Host: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n'
key='Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n'
http_raw nokey "GET /rtun HTTP/1.1\\r\\n$up\\r\\n"
[ "$(kv status "$h")" = HTTP/1.1_400_Bad_Request ] || fail "no key: want 400, got $(cat "$h")"
grep -q 'body=.*Sec-WebSocket-Key' "$h" || fail "no key: the 400 does not say why"
h=$IT_DIR/wrongpath.out
http_raw wrongpath "GET /wrong HTTP/1.1\\r\\n$up$key\\r\\n"
[ "$(kv status "$h")" = HTTP/1.1_404_Not_Found ] || fail "wrong path: want 404, got $(cat "$h")"
[ "$(kv body "$h")" != none ] || fail "wrong path: the 404 has no reason"
wait_for_log rtund "Sec-WebSocket-Key" 5 || fail "rtund did not log the refused upgrade"
expect_alive rtund

note "a client that stops halfway through its request"
h=$IT_DIR/slow.out
http_raw slow 'GET /rtun HTTP/1.1\r\n' 15
[ "$(kv status "$h")" = none ] || fail "slow client: unexpected answer: $(cat "$h")"
after=$(kv closed_after "$h")
if [ "${after%.*}" -lt 1 ] || [ "${after%.*}" -gt 6 ]; then
	fail "slow client: dropped after $after s, want about 2 s"
fi
wait_for_log rtund "timed out" 5 || fail "rtund did not log the handshake timeout"

# The links survived all of it.
tcptool echo-client --connect "$IT_ADDR:$(port 11)" --conns 1 --timeout 10 >/dev/null ||
	fail "ws: a fresh connection after the bad requests failed"
tcptool echo-client --connect "$IT_ADDR:$(port 13)" --conns 1 --timeout 10 >/dev/null ||
	fail "wss: a fresh connection after the bad requests failed"
expect_alive rtund
exit 0
