#!/bin/bash
# A hostile visitor cannot misuse a P2P rendezvous.  With the real rtund and a real target
# agent B, tests/tools/fakevisitor.py, authenticated as "fakevisitor":
#   - is refused (PunchRefused naming allow_peers, logged by rtund) for a service of B
#     whose allow_peers leave it out, and for an agent that is not connected;
#   - gets a PunchSession (16-byte session, 32-byte key, visitor) for B's echo;
#   - has its probes answered 1 (unknown session), 2 (another key), 4 (bad version), 0
#     (the right probe) and 3 (the same probe again), each on a fresh connection; rtund
#     counts the four rejections and keeps serving other agents;
#   - gets a PunchGo naming B's endpoint as rtund saw it, and races into B's punched port
#     as a third party: garbage, TLS without a PSK, a PSK under another identity, the
#     session's identity with another key, openssl s_client with another PSK.  B closes
#     each connection without a link (logs "failed authentication", its
#     rtun_direct_links_up stays 0), stays up, and its punch ends with "no direct
#     connection" after punch_timeout (3 s).
# Then a real visitor A ("realvisitor") gets a fresh rendezvous with B and moves 4 MiB
# through B's echo service over the direct link, checked by sha256 both ways.
IT_NUM=31
IT_TIMEOUT=${IT_TIMEOUT:-180}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

[ -f "$TOOLS/fakevisitor.py" ] || hard_error "TOOLS=$TOOLS has no fakevisitor.py"
command -v curl >/dev/null 2>&1 || fail "curl is needed (scripts/deps.sh installs it)"
OPENSSL=$(command -v openssl) || fail "openssl is needed (scripts/deps.sh installs it)"
link=$IT_ADDR:$(port 0)
smet=$IT_ADDR:$(port 90)
bmet=$IT_ADDR:$(port 91)
punch_timeout=3

# metric ADDR NAME: the value of the sample NAME (with its labels, if any) at ADDR.
metric() {
	curl -sS --max-time 5 "http://$1/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

# log_secs NAME TEXT: the time of day, in seconds, of the first line of NAME's log with TEXT.
log_secs() {
	grep -m 1 -F -- "$2" "$IT_DIR/$1.log" |
		sed -n -E 's/^[0-9-]+T([0-9]+):([0-9]+):([0-9.]+).*/\1 \2 \3/p' |
		awk '{ printf "%.3f\n", $1 * 3600 + $2 * 60 + $3 }'
}

start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
server_conf "$IT_DIR/rtund.conf" "metrics_listen=$smet" p2p=yes relay=no
start_rtund rtund "$IT_DIR/rtund.conf"
cat >"$IT_DIR/b.conf" <<EOF
[agent]
server = $link
token = $IT_TOKEN
name = target
log_level = debug
punch_timeout = ${punch_timeout}s
metrics_listen = $bmet

[service echo]
local = $IT_ADDR:$(port 1)
p2p = yes
allow_peers = fakevisitor, realvisitor

[service secret]
local = $IT_ADDR:$(port 1)
p2p = yes
allow_peers = realvisitor
EOF
start_rtun b "$IT_DIR/b.conf"
wait_for_log b "service echo: ready for visitors" 15 || fail "B's echo never ready"
wait_for_log b "service secret: ready for visitors" 5 || fail "B's secret never ready"
wait_port "$bmet" 5 || fail "B's metrics port $bmet is not open"
[ "$(metric "$bmet" rtun_direct_links_up)" = 0 ] || fail "B starts with a direct link up"

note "1-6: the fake visitor"
start_bg fv "$PYTHON" "$TOOLS/fakevisitor.py" --connect "$link" --token "$IT_TOKEN" \
	--name fakevisitor --peer target --service echo --refused secret --timeout 5 \
	--hold $((punch_timeout + 5)) --openssl "$OPENSSL"
fv_pid=$(pid_of fv)
for ((i = 0; i < 200; i++)); do
	grep -q "^attacks=done" "$IT_DIR/fv.out" && break
	pid_alive "$fv_pid" || break
	sleep 0.1
done
grep -q "^attacks=done" "$IT_DIR/fv.out" ||
	fail "the fake visitor did not get through its attacks: $(cat "$IT_DIR/fv.log")"
sed 's/^/    /' "$IT_DIR/fv.out"

# 1. Refusals, as rtund logged them.
grep -q "refused target/secret reason=.*allow_peers" "$IT_DIR/fv.out" ||
	fail "no PunchRefused naming allow_peers for target/secret"
wait_for_log rtund "rendezvous fakevisitor -> target (service secret) refused: " 5 ||
	fail "rtund did not log the refusal"
grep -F "rendezvous fakevisitor -> target (service secret) refused: " "$IT_DIR/rtund.log" |
	grep -q "allow_peers" || fail "rtund's refusal does not name allow_peers"
wait_for_log rtund "rendezvous fakevisitor -> no-such-agent (service echo) refused: " 5 ||
	fail "rtund did not log the refusal for an absent agent"
n=$(metric "$smet" rtund_rendezvous_refused_total)
[ "$n" = 2 ] || fail "rtund_rendezvous_refused_total is $n, want 2"

# 2. The session.
grep -q -E '^session=[0-9a-f]{32} visitor=1 peer=target service=echo$' "$IT_DIR/fv.out" ||
	fail "no PunchSession with a 16-byte session for target/echo"
wait_for_log b "rendezvous from fakevisitor for service echo: punching" 5 ||
	fail "B never started punching for the fake visitor"

# 3. The probes (fakevisitor.py checked each reply byte) and what rtund made of them.
for p in unknown=1 bad-mac=2 malformed=4 valid=0 replayed=3; do
	grep -q "^probe $p " "$IT_DIR/fv.out" || fail "probe ${p%=*} not answered ${p#*=}"
done
for r in "unknown session" "bad MAC" "malformed" "side already probed"; do
	[ "$(log_count rtund "punch probe rejected: $r")" = 1 ] ||
		fail "rtund logged $(log_count rtund "punch probe rejected: $r") probes rejected as $r, want 1"
done
[ "$(log_count rtund "punch probe rejected: ")" = 4 ] ||
	fail "rtund logged $(log_count rtund "punch probe rejected: ") rejected probes, want 4"
n=$(metric "$smet" rtund_punch_probes_rejected_total)
[ "$n" = 4 ] || fail "rtund_punch_probes_rejected_total is $n, want 4"
expect_alive rtund
fakeagent --connect "$link" --mode auth --token "$IT_TOKEN" --name bystander --hold 0.5 \
	--timeout 10 >"$IT_DIR/bystander.out" 2>&1 ||
	fail "rtund no longer serves agents after the probes: $(cat "$IT_DIR/bystander.out")"

# 4. PunchGo names B as rtund saw its probe.
go=$(kv go "$IT_DIR/fv.out")
[[ $go =~ ^127\.[0-9]+\.[0-9]+\.[0-9]+:[0-9]+(,|$) ]] ||
	fail "PunchGo's first address '$go' is not B's loopback endpoint"
bport=$(sed -n -E 's/.*punch from fakevisitor: probe accepted; punching from port ([0-9]+).*/\1/p' \
	"$IT_DIR/b.log")
go1=${go%%,*}
[ "${go1##*:}" = "${bport:-none}" ] ||
	fail "PunchGo names port ${go1##*:}, but B punches from port ${bport:-?}"
note "PunchGo for the fake visitor: $go"

# 5. Every connection of the third party was closed by B, without a link.
n_attacks=$(kv count "$IT_DIR/fv.out")
[ "${n_attacks:-0}" -ge 5 ] || fail "only ${n_attacks:-0} attacks ran"
[ "$(grep -c '^attack .*=closed ' "$IT_DIR/fv.out")" = "$n_attacks" ] ||
	fail "not every attack connection was closed by B"
wait_for_log b "failed authentication" 5 "$n_attacks" ||
	fail "B logged $(log_count b "failed authentication") failed authentications, want $n_attacks"
grep -q "failed authentication: .*binder does not verify" "$IT_DIR/b.log" ||
	fail "B did not see the session's identity with another key as such"
grep -q "failed authentication: .*unknown PSK identity" "$IT_DIR/b.log" ||
	fail "B did not see another identity as such"
grep -q "failed authentication: .*offered no PSK" "$IT_DIR/b.log" ||
	fail "B did not see a ClientHello without a PSK as such"
[ "$(metric "$bmet" rtun_direct_links_up)" = 0 ] || fail "B has a direct link up"
wait_for_log b "direct link from fakevisitor: no direct connection" $((punch_timeout + 3)) ||
	fail "B's punch did not end with 'no direct connection'"
t0=$(log_secs b "rendezvous from fakevisitor for service echo: punching")
t1=$(log_secs b "direct link from fakevisitor: no direct connection")
took=$(awk -v a="$t0" -v b="$t1" 'BEGIN { d = b - a; if (d < 0) d += 86400; printf "%.3f", d }')
note "B's punch for the fake visitor ended after ${took}s"
awk -v d="$took" -v t=$punch_timeout 'BEGIN { exit !(d >= t - 0.2 && d <= t + 1.5) }' ||
	fail "B's punch ended after ${took}s, not after punch_timeout (${punch_timeout}s)"
[ "$(metric "$bmet" rtun_direct_links_up)" = 0 ] || fail "B has a direct link up"
grep -q "direct link from fakevisitor .* up" "$IT_DIR/b.log" && fail "B let the fake visitor in"
expect_alive b
wait_exit "$fv_pid" $((punch_timeout + 15)) || fail "the fake visitor did not finish"
[ "$EXIT_STATUS" = 0 ] || fail "fake visitor: $(cat "$IT_DIR/fv.log")"

note "6: a real visitor after all that"
cat >"$IT_DIR/a.conf" <<EOF
[agent]
server = $link
token = $IT_TOKEN
name = realvisitor
log_level = debug
punch_timeout = 10s

[visitor echo]
peer = target
service = echo
local = $IT_ADDR:$(port 2)
mode = direct
EOF
start_rtun a "$IT_DIR/a.conf"
wait_for_log a "direct link to target up" 20 || fail "A's direct link to B never came up"
wait_for_log b "direct link from realvisitor up" 5 || fail "B did not log the direct link"
wait_port "$IT_ADDR:$(port 2)" 5 || fail "A's visitor port is not open"
tcptool sha-client --connect "$IT_ADDR:$(port 2)" --send 4M --timeout 60 >"$IT_DIR/xfer.out" ||
	fail "transfer over the direct link failed: $(cat "$IT_DIR/xfer.out")"
[ "$(kv sent_bytes "$IT_DIR/xfer.out")" = $((4 << 20)) ] ||
	fail "sent $(kv sent_bytes "$IT_DIR/xfer.out") of $((4 << 20)) bytes"
[ "$(kv recv_bytes "$IT_DIR/xfer.out")" = $((4 << 20)) ] ||
	fail "the echo came back with $(kv recv_bytes "$IT_DIR/xfer.out") of $((4 << 20)) bytes"
[ "$(kv recv_sha256 "$IT_DIR/xfer.out")" = "$(kv sent_sha256 "$IT_DIR/xfer.out")" ] ||
	fail "the echo came back with other bytes (sha256)"
[ "$(metric "$bmet" rtun_direct_links_up)" = 1 ] || fail "B does not count the direct link"
[ "$(metric "$smet" 'rtund_punch_total{result="direct"}')" = 1 ] ||
	fail "rtund did not count the direct link"
[ "$(metric "$smet" rtund_punch_probes_rejected_total)" = 4 ] ||
	fail "rtund rejected more probes than the fake visitor's four"
note "4 MiB echoed intact over the direct link ($(kv elapsed "$IT_DIR/xfer.out")s)"
expect_alive rtund
expect_alive b
exit 0
