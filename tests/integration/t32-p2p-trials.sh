#!/bin/bash
# How often, and how fast, agents behind the NAT lab's routers get a direct link, and
# what the direct link and the relay carry next to plain TCP.  Measures and prints; the
# only assertions are that the cone NATs always give a direct link, that every transfer
# is intact and goes by the path it should.
#
# For each NAT pair (cone x cone, cone x symmetric, symmetric x symmetric) rtund, bee and
# its services are started once, and agent ayy with a visitor in mode auto is started
# afresh P2P_TRIALS times (default 1); each start is one punch.  The table gives the share
# that ended in a direct link and, for those, the time from the rendezvous request to the
# direct link up (the "after N s" of ayy's log; rtun_punch_seconds says the same), p50
# and max.
#
# Throughput, 64 MiB each way, MiB/s of both directions together, the median of three
# transfers, not asserted:
#   - cone x cone: over the direct link, against plain TCP from A to PUB (a plain TCP
#     connection from A to B cannot be had: B's router has no port forward; A to PUB
#     crosses the same router and wire);
#   - symmetric x symmetric: relayed through rtund, against a plain rtun tunnel through the
#     same rtund (bee's service also has a remote_port, and a user on A connects to it
#     on PUB), and plain TCP from A to PUB.
#
# P2P_RATE (e.g. 200mbit; default: none) shapes the egress of both routers' and PUB's wan
# side to that rate, so that the throughput figures compare paths on a link that, unlike
# the bare lab, limits the bytes rather than the CPUs.
IT_NUM=32
P2P_TRIALS=${P2P_TRIALS:-1}
P2P_RATE=${P2P_RATE:-}
IT_TIMEOUT=${IT_TIMEOUT:-$((150 + P2P_TRIALS * 25))}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=natlab.sh
. "$(dirname "$0")/natlab.sh"
# shellcheck source-path=SCRIPTDIR source=p2p.sh
. "$(dirname "$0")/p2p.sh"
command -v curl >/dev/null 2>&1 || skip "curl is needed to read the metrics"
case $P2P_TRIALS in
'' | *[!0-9]* | 0) hard_error "P2P_TRIALS must be a positive number, not '$P2P_TRIALS'" ;;
esac

PUNCH_TIMEOUT=5
BULK=64M
sink_port=$(port 1)         # B: sha-server, $BULK replies
plain_port=$(port 2)        # PUB: sha-server, $BULK replies (plain TCP reference)
remote_port=$(port 10)      # PUB: bee's sink as a plain tunnel
v_auto=127.0.0.1:$(port 4)  # A: bee's sink, mode auto
v_relay=127.0.0.1:$(port 5) # A: bee's sink, mode relay
REPS=3                      # each throughput figure: the median of REPS transfers
TABLE=()
TRIAL=
RATES=()

# next_conn NAME: the number sha-server NAME will give the next connection it ends.
next_conn() {
	echo $(($(grep -c -F recv_sha256= "$IT_DIR/$1.out") + 1))
}

# bulk HOST CLIENT SERVER ADDR LABEL: REPS transfers of $BULK each way from HOST to ADDR,
# served by sha-server SERVER; the median rate (and the range) goes into RATES under
# LABEL.
bulk() {
	local conn i
	local -a r=()
	for ((i = 1; i <= REPS; i++)); do
		conn=$(next_conn "$3")
		p2p_sha "$1" "$2-$i" "$4" "$BULK" 180 || fail "$2-$i: $(cat "$IT_DIR/$2-$i.err")"
		expect_intact "$2-$i" "$3" "$conn" 60
		r+=("$(p2p_rate "$2-$i")")
	done
	read -r -a r <<<"$(printf '%s\n' "${r[@]}" | sort -g | tr '\n' ' ')"
	RATES+=("$(printf '%-48s %8s MiB/s  (%s..%s)' "$5" "${r[$((REPS / 2))]}" "${r[0]}" \
		"${r[$((REPS - 1))]}")")
}

# trial TAG N: starts ayy as ayyN; sets TRIAL to "up SECONDS METRIC" or "relay" once its
# punch ended.
trial() {
	local name=ayy$2 i secs
	p2p_agent_conf "$IT_DIR/$name.conf" ayy "punch_timeout=$PUNCH_TIMEOUT"
	p2p_visitor "$IT_DIR/$name.conf" v-auto bee sink "$v_auto" auto
	p2p_visitor "$IT_DIR/$name.conf" v-relay bee sink "$v_relay" relay
	p2p_start a "$name" "$IT_DIR/$name.conf"
	for ((i = 0; i < (PUNCH_TIMEOUT + 5) * 10; i++)); do
		if grep -q -F "direct link to bee up" "$IT_DIR/$name.log"; then
			secs=$(p2p_direct_secs "$name" bee)
			[ "$(metric a rtun_punch_success_total)" = 1 ] ||
				fail "$1 trial $2: the log says up, rtun_punch_success_total does not"
			TRIAL="up $secs $(metric a rtun_punch_seconds)"
			return 0
		fi
		if grep -q -F "visitors use the relay" "$IT_DIR/$name.log"; then
			TRIAL=relay
			return 0
		fi
		sleep 0.1
	done
	fail "$1 trial $2: ayy's punch neither succeeded nor failed within $((PUNCH_TIMEOUT + 5)) s"
}

# shape_wan: every way onto the lab's wan limited to P2P_RATE (a token bucket each).
shape_wan() {
	local h dev
	for h in ra rb pub; do
		dev=wan0
		[ "$h" = pub ] && dev=eth0
		natlab_exec "$h" tc qdisc add dev "$dev" root tbf rate "$P2P_RATE" burst 256kb \
			latency 20ms || fail "cannot shape $h's $dev to $P2P_RATE"
	done
	note "wan shaped to $P2P_RATE each way"
}

# pair KIND_A KIND_B TAG WANT: the trials of one NAT pair (WANT: up or relay, what every
# trial must end in), then its throughput comparison.
pair() {
	local tag=$3 want=$4 n ok=0 r secs msecs
	local -a times=()
	natlab_up "$1" "$2"
	[ -z "$P2P_RATE" ] || shape_wan
	p2p_rtund rtund
	natlab_with b start_tool sink sha-server --listen "127.0.0.1:$sink_port" --send "$BULK"
	natlab_with pub start_tool plain sha-server --listen "$NATLAB_PUB_IP:$plain_port" \
		--send "$BULK"
	p2p_agent_conf "$IT_DIR/bee.conf" bee
	p2p_service "$IT_DIR/bee.conf" sink "127.0.0.1:$sink_port" ayy "remote_port=$remote_port"
	p2p_start b bee "$IT_DIR/bee.conf"
	wait_for_log bee "service sink: remote port $remote_port ready" 10 ||
		fail "bee's sink never ready"
	for ((n = 1; n <= P2P_TRIALS; n++)); do
		trial "$tag" "$n"
		read -r r secs msecs <<<"$TRIAL"
		# A punch through a symmetric NAT has been seen to go through, rarely (see
		# t30's check_direct): counted, not failed.
		[ "$r" = "$want" ] || [ "$want" = relay ] || fail "$tag trial $n: $r, want $want"
		[ "$r" = "$want" ] || note "$tag trial $n: a direct link, not the relay expected"
		if [ "$r" = up ]; then
			ok=$((ok + 1))
			times+=("$secs")
		fi
		note "$tag trial $n: $r${secs:+ after $secs s (rtun_punch_seconds $msecs)}"
		[ "$n" = "$P2P_TRIALS" ] || kill_wait TERM "ayy$n" 10 || fail "ayy$n did not stop"
	done
	TABLE+=("$(printf '%-22s %5s %7s %10s %10s' "$tag" "$ok/$P2P_TRIALS" \
		"$((ok * 100 / P2P_TRIALS))%" \
		"$(printf '%s\n' "${times[@]}" | sort -g | awk 'NF { a[n++] = $1 }
			END { if (n) print a[int((n - 1) / 2)]; else print "-" }')" \
		"$(printf '%s\n' "${times[@]}" | sort -g | awk 'NF { m = $1 } END { print m ? m : "-" }')")")
	case $tag in
	cone-cone)
		bulk a "direct-$tag" sink "$v_auto" "$tag: visitor over the direct link"
		[ "$(metric a rtun_visitor_connections_total 'visitor="v-auto",path="direct"')" = "$REPS" ] ||
			fail "$tag: the visitor's transfer did not go direct"
		bulk a "plain-$tag" plain "$NATLAB_PUB_IP:$plain_port" "$tag: plain TCP, A -> PUB"
		;;
	sym-sym)
		bulk a "relay-$tag" sink "$v_relay" "$tag: visitor relayed through rtund"
		[ "$(metric a rtun_visitor_connections_total 'visitor="v-relay",path="relay"')" = "$REPS" ] ||
			fail "$tag: the visitor's transfer was not relayed"
		bulk a "tunnel-$tag" sink "$NATLAB_PUB_IP:$remote_port" \
			"$tag: plain rtun tunnel, A -> PUB:remote_port"
		bulk a "plain-$tag" plain "$NATLAB_PUB_IP:$plain_port" "$tag: plain TCP, A -> PUB"
		;;
	esac
	p2p_down "$tag"
}

pair cone cone cone-cone up
pair cone symmetric cone-sym relay
pair symmetric symmetric sym-sym relay

note "direct links, $P2P_TRIALS trial(s) per NAT pair, punch_timeout $PUNCH_TIMEOUT s:"
note "$(printf '%-22s %5s %7s %10s %10s' "NAT pair (A x B)" direct rate "p50 (s)" "max (s)")"
for r in "${TABLE[@]}"; do
	note "$r"
done
note "throughput, $BULK each way, both directions counted:"
for r in "${RATES[@]}"; do
	note "$r"
done
exit 0
