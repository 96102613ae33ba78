#!/bin/bash
# TLS links: bulk and concurrent traffic over transport = tls; each way verification can
# fail (unknown CA, wrong name, expired, fingerprint) logged with a reason a human can act
# on; pinning without a CA; insecure = yes warned about; a listener limited to tls refusing
# raw TCP; slow or silent clients dropped after handshake_timeout.
IT_NUM=20
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null 2>&1 || skip "openssl command not found"
certs=$IT_DIR/certs
fp=$("$TOOLS/mkcerts.sh" "$certs" "$IT_ADDR") || hard_error "mkcerts.sh failed"
other_fp=$(openssl x509 -in "$certs/wrongname.pem" -outform DER | openssl dgst -sha256 -r)
other_fp=sha256:${other_fp%% *}
size=${IT_BULK_SIZE:-256M}
conns=${IT_CONNS:-200}

# tls_rtund NAME PORT CERT [key=value ...]: an rtund on port PORT serving certs/CERT.pem.
tls_rtund() {
	local name=$1 p=$2 cert=$3
	shift 3
	server_conf "$IT_DIR/$name.conf" "listen=$IT_ADDR:$(port "$p")" \
		"tls_cert=$certs/$cert.pem" "tls_key=$certs/$cert.key" handshake_timeout=2s "$@"
	start_rtund "$name" "$IT_DIR/$name.conf"
}

# agent NAME RPORT [key=value ...]: an agent exposing the echo server on remote port RPORT.
agent() {
	local name=$1 rport=$2
	shift 2
	agent_conf "$IT_DIR/$name.conf" "name=$name" transport=tls "$@" \
		"svc:echo=$IT_ADDR:$(port 2),$(port "$rport")"
	start_rtun "$name" "$IT_DIR/$name.conf"
}

# expect_ready NAME RPORT: the agent's service came up and echoes.
expect_ready() {
	wait_for_log "$1" "remote port $(port "$2") ready" 10 || fail "$1: service never ready"
	tcptool echo-client --connect "$IT_ADDR:$(port "$2")" --conns 1 --timeout 10 >/dev/null ||
		fail "$1: no echo through the tunnel"
}

# expect_refused NAME RPORT TEXT: the agent logs TEXT and its service never comes up.
expect_refused() {
	wait_for_log "$1" "$3" 10 || fail "$1: no '$3' in its log"
	[ "$(log_count "$1" "ready")" = 0 ] || fail "$1: a service came up all the same"
	wait_port_closed "$IT_ADDR:$(port "$2")" 2 || fail "$1: remote port $(port "$2") is open"
	expect_alive "$1"
	kill_wait TERM "$1"
}

start_tool bulk sha-server --listen "$IT_ADDR:$(port 1)" --send "$size" --seed 21
start_tool echo echo-server --listen "$IT_ADDR:$(port 2)"
tls_rtund rtund 0 server
tls_rtund rtund-expired 3 expired
tls_rtund rtund-wrongname 4 wrongname
tls_rtund rtund-tlsonly 5 server transports=tls

note "verification failures, each with its reason"
agent unknown-ca 14 "ca_file=$certs/other-ca.pem"
agent wrong-name 15 "ca_file=$certs/ca.pem" server_name=wrong.example
agent wrong-ip 16 "ca_file=$certs/ca.pem" "server=$IT_ADDR:$(port 4)"
agent expired 17 "ca_file=$certs/ca.pem" "server=$IT_ADDR:$(port 3)"
agent bad-pin 18 "fingerprint=$other_fp"
agent raw-on-tls 19 transport=tcp "server=$IT_ADDR:$(port 5)"
expect_refused unknown-ca 14 "certificate verify failed: unable to get local issuer certificate"
wait_for_log rtund "alert unknown ca" 5 || fail "rtund did not log why the handshake failed"
expect_refused wrong-name 15 "certificate verify failed: hostname mismatch"
expect_refused wrong-ip 16 "certificate verify failed: IP address mismatch"
expect_refused expired 17 "certificate verify failed: certificate has expired"
expect_refused bad-pin 18 "fingerprint mismatch: server sent $fp"
wait_for_log rtund-tlsonly "not accepted" 10 || fail "rtund did not log the refused transport"
expect_refused raw-on-tls 19 "link lost"

note "the right pin without a CA, insecure = yes, and raw TCP on the shared port"
agent pinned 12 "fingerprint=$fp" server_name=ignored.example
agent insecure 13 "ca_file=$certs/other-ca.pem" insecure=yes
agent raw 11 transport=tcp
expect_ready pinned 12
expect_ready insecure 13
wait_for_log insecure "insecure" 1 || fail "insecure = yes was not warned about"
[ "$(log_count pinned "insecure")" = 0 ] || fail "a pinned agent warned about insecure"
expect_ready raw 11
for a in pinned insecure raw; do
	kill_wait TERM "$a"
done

note "slow clients are dropped after handshake_timeout (2 s)"
# hex: nothing at all; then the first bytes of a ClientHello that promises 512 more.
# The client sends hex, then prints how long the server took to close the connection.
slow_client='
import socket, sys, time
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), 5)
s.sendall(bytes.fromhex(sys.argv[3]))
t0 = time.monotonic()
s.settimeout(10)
try:
    while s.recv(4096):
        pass
except OSError:
    pass
print("elapsed=%.3f" % (time.monotonic() - t0))
'
# Nothing at all; then the first bytes of a ClientHello that promises 512 more.
for hello in "" 160301020001000200303030303030; do
	"$PYTHON" -c "$slow_client" "$IT_ADDR" "$(port 0)" "$hello" >"$IT_DIR/slow.out" ||
		fail "slow client check failed"
	t=$(kv elapsed "$IT_DIR/slow.out")
	note "client sending '$hello' dropped after $t s"
	awk -v t="$t" 'BEGIN { exit !(t >= 1.5 && t <= 3.5) }' ||
		fail "a client sending '$hello' was dropped after $t s, not about 2 s"
done

note "transport = tls: $size each way, then $conns concurrent echoes"
agent tls 10 "ca_file=$certs/ca.pem" "svc:bulk=$IT_ADDR:$(port 1),$(port 20)"
wait_for_log tls "remote port $(port 20) ready" 10 || fail "tls agent: bulk service never ready"
wait_for_log tls "over tls" 1 || fail "the agent did not say it connected over tls"
tcptool sha-client --connect "$IT_ADDR:$(port 20)" --send "$size" --seed 22 --timeout 60 \
	>"$IT_DIR/client.out" 2>"$IT_DIR/client.err" || fail "transfer failed: $(cat "$IT_DIR/client.err")"
expect_intact client bulk

tcptool echo-client --connect "$IT_ADDR:$(port 10)" --conns "$conns" --bytes 96K --timeout 45 \
	>"$IT_DIR/echo.out" 2>"$IT_DIR/echo.err" || fail "echo failed: $(cat "$IT_DIR/echo.err")"
[ "$(kv ok "$IT_DIR/echo.out")" = "$conns" ] || fail "not all $conns connections echoed correctly"
[ "$(log_count tls "link lost")" = 0 ] || fail "the TLS link dropped during the test"
expect_alive rtund
expect_alive tls
note "ok: $size each way over TLS in $(kv elapsed "$IT_DIR/client.out") s; $conns echoes"
exit 0
