#!/bin/bash
# A real DNS server behind the agent: dnsmasq (started here with a config of its own on
# this test's address) serves 200 names; 200 dig queries sent at once to rtund's UDP port,
# each from its own source port, all get their own name's answer; a TXT answer of about
# 2.5 KB crosses in one datagram (no truncation, no TCP fallback); the same port number
# serves DNS over TCP through a tcp service beside the udp one; every flow then expires
# and is counted, and nothing was dropped.
IT_NUM=36
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=udp.sh
. "$(dirname "$0")/udp.sh"

command -v dnsmasq >/dev/null 2>&1 || fail "dnsmasq is needed (scripts/deps.sh: dnsmasq-base)"
command -v dig >/dev/null 2>&1 || fail "dig is needed (scripts/deps.sh: bind9-dnsutils)"
N=200
SMET=$IT_ADDR:$(port 90)
AMET=$IT_ADDR:$(port 91)
PUB=$(port 10)

# answer I: the address dnsmasq gives h$I.example.test.
answer() {
	echo "10.36.$(($1 / 250)).$(($1 % 250 + 1))"
}

records=()
for ((i = 0; i < N; i++)); do
	records+=("--host-record=h$i.example.test,$(answer "$i")")
done
chunk=$(printf '%0250d' 0 | tr 0 x)
txt=$chunk
for ((i = 1; i < 10; i++)); do
	txt="$txt,$chunk"
done
start_bg dnsmasq dnsmasq --no-daemon --conf-file=/dev/null --no-resolv --no-hosts \
	--port="$(port 1)" --listen-address="$IT_ADDR" --bind-interfaces \
	--pid-file="$IT_DIR/dnsmasq.pid" --user=root --group=root --cache-size=0 \
	--edns-packet-max=4096 "--txt-record=big.example.test,$txt" "${records[@]}"
for ((i = 0; i < 50; i++)); do
	[ "$(dig @"$IT_ADDR" -p "$(port 1)" h1.example.test +short +time=1 +tries=1 2>/dev/null)" = \
		"$(answer 1)" ] && break
	sleep 0.2
done
[ "$i" -lt 50 ] || fail "dnsmasq does not answer on $IT_ADDR:$(port 1)"

tunnel_up "server:metrics_listen=$SMET" "agent:metrics_listen=$AMET" server:udp_idle_timeout=4s \
	"svc:dns=$IT_ADDR:$(port 1),$PUB,type=udp,udp_idle_timeout=2s" \
	"svc:dns-tcp=$IT_ADDR:$(port 1),$PUB"

note "$N queries at once through rtund's UDP port $PUB, each from its own source port"
t0=$(now_ms)
pids=()
for ((i = 0; i < N; i++)); do
	dig @"$IT_ADDR" -p "$PUB" "h$i.example.test" A +short +time=3 +tries=2 \
		>"$IT_DIR/dig.$i" 2>&1 &
	pids+=($!)
done
bad=0
for ((i = 0; i < N; i++)); do
	wait "${pids[i]}" || true
	if [ "$(cat "$IT_DIR/dig.$i")" != "$(answer "$i")" ]; then
		bad=$((bad + 1))
		[ "$bad" -le 5 ] && echo "h$i.example.test: got '$(head -c 200 "$IT_DIR/dig.$i")', want $(answer "$i")" >&2
	fi
done
note "$N answers in $(($(now_ms) - t0)) ms, $bad wrong or missing"
[ "$bad" = 0 ] || fail "$bad of $N queries did not get their own answer"

note "a 2.5 KB answer in one datagram"
dig @"$IT_ADDR" -p "$PUB" big.example.test TXT +short +bufsize=4096 +ignore +time=3 +tries=2 \
	>"$IT_DIR/big.out" 2>&1 || fail "the TXT query failed: $(cat "$IT_DIR/big.out")"
got=$(tr -cd x <"$IT_DIR/big.out" | wc -c)
[ "$got" = 2500 ] || fail "the TXT answer holds $got of 2500 bytes: $(head -c 300 "$IT_DIR/big.out")"
dig @"$IT_ADDR" -p "$PUB" big.example.test TXT +bufsize=4096 +ignore +time=3 +tries=2 \
	>"$IT_DIR/big.full" 2>&1
grep -q 'flags:.* tc' "$IT_DIR/big.full" && fail "the TXT answer came truncated"
note "TXT answer: $got bytes of text, $(sed -n -E 's/.*MSG SIZE +rcvd: ([0-9]+).*/\1/p' "$IT_DIR/big.full") bytes of DNS message"

note "DNS over TCP on the same port number, through the tcp service"
for ((i = 0; i < 20; i++)); do
	got=$(dig @"$IT_ADDR" -p "$PUB" "h$i.example.test" A +tcp +short +time=3 +tries=1)
	[ "$got" = "$(answer "$i")" ] || fail "over TCP, h$i.example.test: got '$got'"
done
[ "$(metric "$SMET" rtund_streams_total)" -ge $((N + 21)) ] || fail "rtund counted too few streams"

svc='service="dns"'
n=$(metric "$SMET" rtund_udp_flows_total "$svc")
note "rtund: $n flows, $(metric "$SMET" rtund_udp_datagrams_in_total "$svc") datagrams in, $(metric "$SMET" rtund_udp_datagrams_out_total "$svc") out, $(metric "$SMET" rtund_udp_bytes_out_total "$svc") bytes out"
[ "$n" -ge $((N + 1)) ] || fail "rtund_udp_flows_total is $n, want at least $((N + 1))"
[ "$(metric "$SMET" rtund_udp_datagrams_in_total "$svc")" -ge $((N + 1)) ] ||
	fail "too few datagrams counted in"
[ "$(metric "$SMET" rtund_udp_datagrams_out_total "$svc")" -ge $((N + 1)) ] ||
	fail "too few datagrams counted out"
[ "$(metric "$SMET" rtund_udp_bytes_out_total "$svc")" -ge 2500 ] || fail "too few bytes out"
[ "$(metric "$AMET" rtun_udp_flows_total "$svc")" = "$n" ] ||
	fail "the agent counted $(metric "$AMET" rtun_udp_flows_total "$svc") flows, rtund $n"
[ "$(metric "$SMET" rtund_udp_dropped_total "$svc")" = 0 ] || fail "rtund dropped datagrams"
[ "$(metric "$AMET" rtun_udp_dropped_total "$svc")" = 0 ] || fail "the agent dropped datagrams"

note "every flow expires (udp_idle_timeout 2 s on the agent)"
wait_metric "$SMET" rtund_udp_flows_open "$svc" == 0 15 || fail "rtund's flows did not expire"
wait_metric "$AMET" rtun_udp_flows_open "$svc" == 0 5 || fail "the agent's flows did not expire"
[ "$(metric "$SMET" rtund_idle_timeouts_total)" = 0 ] || fail "rtund reset streams"
expect_alive dnsmasq
expect_alive rtund
expect_alive rtun
exit 0
