#!/bin/bash
# A UDP flood does not stall TCP on the same link.  In a network namespace of its own, the
# link between rtund and the agent is shaped (tbf) to LINK_RATE; a TCP upload through the
# tunnel is measured alone, then again while a UDP flow floods the same link at several
# times its rate, in the same direction, so that rtund's scheduler is what shares the link.
# The upload stays sha256-exact and keeps a good part of its throughput (both are printed;
# only a loose bound is asserted, machines are noisy); the flood's excess is dropped and
# counted rather than queued, and neither daemon's memory grows.  Then, unshaped,
# iperf3 -u runs through the tunnel (its TCP control connection through a tcp service and
# its UDP data through a udp service on the same port number) and directly, and prints
# loss and throughput for both.
IT_NUM=38
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=udp.sh
. "$(dirname "$0")/udp.sh"

command -v iperf3 >/dev/null 2>&1 || fail "iperf3 is needed (scripts/deps.sh)"
command -v tc >/dev/null 2>&1 || fail "tc (iproute2) is needed"
LINK_RATE=${LINK_RATE:-80mbit}
FLOOD_RATE=${FLOOD_RATE:-30000}     # datagrams per second of 1200 bytes: about 36 MB/s
UPLOAD=${UPLOAD:-24M}
IPERF_RATE=${IPERF_RATE:-100M}
rss_slack_kb=$((32 * 1024))

it_netns
SMET=$IT_ADDR:$(port 90)
AMET=$IT_ADDR:$(port 91)
start_tool svc sha-server --listen "$IT_ADDR:$(port 1)" --send 0
start_udptool sink sink-server --listen "$IT_ADDR:$(port 2)" --timeout 250
start_bg iperf3-server iperf3 -s -B "$IT_ADDR" -p "$(port 3)"
tunnel_up "server:metrics_listen=$SMET" "agent:metrics_listen=$AMET" \
	"svc:bulk=$IT_ADDR:$(port 1),$(port 10)" \
	"svc:flood=$IT_ADDR:$(port 2),$(port 11),type=udp" \
	"svc:iperf-ctl=$IT_ADDR:$(port 3),$(port 12)" \
	"svc:iperf-data=$IT_ADDR:$(port 3),$(port 12),type=udp"
rtund_pid=$(pid_of rtund)
rtun_pid=$(pid_of rtun)

# shape: each direction of the link (rtund's port $(port 0) as source, or as destination) gets
# an htb class of LINK_RATE with a short byte fifo (about 25 ms); the rest of lo is unshaped.
shape() {
	local dir class
	in_netns tc qdisc add dev lo root handle 1: htb default 9 || return 1
	for class in 1 2 9; do
		in_netns tc class add dev lo parent 1: classid "1:$class" htb quantum 70000 \
			rate "$([ "$class" = 9 ] && echo 20gbit || echo "$LINK_RATE")" || return 1
	done
	for class in 1 2; do
		in_netns tc qdisc add dev lo parent "1:$class" bfifo limit 256kb || return 1
	done
	class=1
	for dir in sport dport; do
		in_netns tc filter add dev lo parent 1: protocol ip prio 1 u32 \
			match ip "$dir" "$(port 0)" 0xffff flowid "1:$class" || return 1
		class=2
	done
}
note "the link ($IT_ADDR:$(port 0)) shaped to $LINK_RATE each way; everything else unshaped"
shape || fail "tc: cannot shape the link"

# upload NAME: UPLOAD bytes from a user through the tunnel, checked byte for byte; prints MB/s.
upload() {
	local n t0 ms
	n=$(($(grep -c result= "$IT_DIR/svc.out") + 1))
	t0=$(now_ms)
	tcptool sha-client --connect "$IT_ADDR:$(port 10)" --send "$UPLOAD" --timeout 120 \
		>"$IT_DIR/up-$1.out" || fail "$1: the upload failed: $(cat "$IT_DIR/up-$1.out")"
	ms=$(($(now_ms) - t0))
	expect_intact "up-$1" svc "$n" >&2
	awk -v b="$(kv sent_bytes "$IT_DIR/up-$1.out")" -v ms="$ms" \
		'BEGIN { printf "%.2f\n", b / 1048576 / (ms > 0 ? ms : 1) * 1000 }'
}

# watch_rss PID FILE: samples PID's RSS every 0.1 s into FILE until killed.
watch_rss() {
	while pid_alive "$1"; do
		rss_kb "$1" >>"$2"
		sleep 0.1
	done
}

upload warmup >/dev/null || exit 1
alone=$(upload alone) || exit 1
rss_d0=$(rss_kb "$rtund_pid")
rss_a0=$(rss_kb "$rtun_pid")
note "TCP upload alone: $alone MB/s (rtund RSS $rss_d0 KiB, agent $rss_a0 KiB)"

note "the same upload while a UDP flow floods the link at $FLOOD_RATE datagrams/s"
: >"$IT_DIR/rss-d"
: >"$IT_DIR/rss-a"
# The samplers are shell functions of this test: they run here, not in the namespace.
exec_saved=("${IT_EXEC[@]}")
IT_EXEC=()
start_bg rss-d watch_rss "$rtund_pid" "$IT_DIR/rss-d"
start_bg rss-a watch_rss "$rtun_pid" "$IT_DIR/rss-a"
IT_EXEC=("${exec_saved[@]}")
start_bg flood "$PYTHON" "$TOOLS/udptool.py" flood --connect "$IT_ADDR:$(port 11)" \
	--duration 60 --rate "$FLOOD_RATE" --size 1200
sleep 1
flooded=$(upload flooded) || exit 1
sleep 1
kill -TERM "$(pid_of flood)" 2>/dev/null
wait_exit "$(pid_of flood)" 5
for n in rss-d rss-a; do
	kill "$(pid_of "$n")" 2>/dev/null
	wait_exit "$(pid_of "$n")" 5
done
peak_d=$(sort -n "$IT_DIR/rss-d" | tail -n 1)
peak_a=$(sort -n "$IT_DIR/rss-a" | tail -n 1)
svc='service="flood"'
q=$(metric "$SMET" rtund_udp_dropped_total "$svc,reason=\"queue\"")
c=$(metric "$SMET" rtund_udp_dropped_total "$svc,reason=\"credit\"")
carried=$(metric "$SMET" rtund_udp_datagrams_in_total "$svc")
sunk=$(metric "$AMET" rtun_udp_datagrams_in_total "$svc")
note "TCP upload during the flood: $flooded MB/s (alone: $alone MB/s)"
note "the flood offered $(tr '\n' ' ' <"$IT_DIR/flood.out")"
note "flood: rtund carried $carried datagrams, dropped $q (queue) + $c (credit); the agent sent $sunk to the service"
note "peak RSS during the flood: rtund $peak_d KiB (from $rss_d0), agent $peak_a KiB (from $rss_a0)"
awk -v f="$flooded" -v a="$alone" 'BEGIN { exit !(f >= a * 0.25) }' ||
	fail "the upload collapsed under the flood: $flooded MB/s against $alone alone"
[ $((q + c)) -gt 0 ] || fail "the flood beyond the link's rate dropped nothing"
[ "$carried" -gt 0 ] && [ "$sunk" -gt 0 ] || fail "the flood's flow carried nothing"
[ -n "$peak_d" ] && [ -n "$peak_a" ] || fail "no RSS samples of the daemons"
[ "$peak_d" -le $((rss_d0 + rss_slack_kb)) ] || fail "rtund grew to $peak_d KiB under the flood"
[ "$peak_a" -le $((rss_a0 + rss_slack_kb)) ] || fail "the agent grew to $peak_a KiB under the flood"
expect_alive rtund
expect_alive rtun

in_netns tc qdisc del dev lo root || fail "tc: cannot remove the shaping"

# iperf NAME PORT: iperf3 -u against PORT for 5 s at IPERF_RATE; prints its sum as words.
iperf() {
	in_netns iperf3 -c "$IT_ADDR" -p "$2" -u -b "$IPERF_RATE" -l 1400 -t 5 --json \
		>"$IT_DIR/iperf-$1.json" 2>"$IT_DIR/iperf-$1.err" ||
		fail "iperf3 $1: $(head -c 400 "$IT_DIR/iperf-$1.err") $(grep -m1 error "$IT_DIR/iperf-$1.json")"
	"$PYTHON" - "$IT_DIR/iperf-$1.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))["end"]["sum"]
print("mbit_s=%.1f lost_percent=%.2f lost=%d packets=%d jitter_ms=%.3f" % (
    s["bits_per_second"] / 1e6, s["lost_percent"], s["lost_packets"], s["packets"],
    s["jitter_ms"]))
PY
}

note "iperf3 -u at $IPERF_RATE, 1400-byte datagrams, 5 s, unshaped"
direct=$(iperf direct "$(port 3)") || exit 1
note "iperf3 -u direct:      $direct"
sleep 1
tunnel=$(iperf tunnel "$(port 12)") || exit 1
note "iperf3 -u via rtun:    $tunnel"
packets=$(echo "$tunnel" | sed -n -E 's/.*packets=([0-9]+).*/\1/p')
lost=$(echo "$tunnel" | sed -n -E 's/.* lost=([0-9]+).*/\1/p')
[ "${packets:-0}" -gt 0 ] || fail "iperf3 sent no datagrams through the tunnel"
[ "${lost:-0}" -lt "$packets" ] || fail "iperf3: every datagram through the tunnel was lost"
n=$(metric "$SMET" rtund_udp_datagrams_in_total 'service="iperf-data"')
drops=
for r in credit queue flows socket empty; do
	drops="$drops $r=$(metric "$SMET" rtund_udp_dropped_total "service=\"iperf-data\",reason=\"$r\"")/$(metric "$AMET" rtun_udp_dropped_total "service=\"iperf-data\",reason=\"$r\"")"
done
note "iperf3 datagrams: rtund carried $n; dropped (rtund/agent):$drops"
[ "$n" -gt 0 ] || fail "rtund counted no iperf3 datagrams"
expect_alive rtund
expect_alive rtun
exit 0
