#!/bin/bash
# The NAT lab of natlab.sh behaves as the peer-to-peer tests will count on.  Twice, once
# with cone NATs on both sides and once with symmetric ones:
#   - A and B reach PUB, which sees them come from their routers' public addresses (with
#     the local port kept behind a cone NAT, a new random one per connection behind a
#     symmetric NAT);
#   - nothing unsolicited gets in: PUB cannot connect to a router, to a host through its
#     router's public address, nor (routing the LANs itself) to a host's LAN address, and
#     the routers' drop counters show that the SYNs reached them and died there;
#   - a TCP simultaneous open between A and B, each from the port it reached PUB from,
#     to the endpoint PUB saw for the other, carries bytes both ways through cone NATs and
#     fails within its bound through symmetric ones.
# With the cone NATs, A and A2 (behind the same router) also reach each other directly on
# their LAN.
IT_NUM=28
IT_TIMEOUT=${IT_TIMEOUT:-180}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=natlab.sh
. "$(dirname "$0")/natlab.sh"

[ -f "$TOOLS/punchcheck.py" ] || hard_error "TOOLS=$TOOLS has no punchcheck.py"
PUNCHCHECK=("$PYTHON" "$TOOLS/punchcheck.py")
# The reflector's ports on PUB, and the listeners' ports in the routers and hosts.
refl_ports=("$(port 1)" "$(port 2)" "$(port 3)")
router_port=$(port 61)
host_port=$(port 62)
lan_port=$(port 63)
# Set by check_reach: the local port each host reached PUB from, the endpoint PUB saw.
LOCAL_PORT_a='' LOCAL_PORT_b='' PUBLIC_a='' PUBLIC_b=''

# pc HOST ARGS...: punchcheck.py in HOST, in the foreground (it bounds itself).
pc() {
	natlab_exec "$1" "${PUNCHCHECK[@]}" "${@:2}"
}

# listen HOST NAME ADDR...: a reflector in HOST on every ADDR, in the background.
listen() {
	local host=$1 name=$2 a
	local -a args=()
	shift 2
	for a in "$@"; do
		args+=(--listen "$a")
	done
	natlab_start "$host" "$name" "${PUNCHCHECK[@]}" reflect "${args[@]}" --duration 120
	wait_for_file "$IT_DIR/$name.out" "listening=" 10 || fail "$name did not listen on $*"
}

# word KEY FILE: the value of KEY=VALUE on the last line of FILE that has it.
word() {
	kv "$1" "$2"
}

# hello HOST TO LOCALPORT OUT: HOST connects to TO from LOCALPORT (0: any), through the
# reflector there; OUT gets "local=... public=...".
hello() {
	pc "$1" hello --connect "$2" --bind "0.0.0.0:$3" --timeout 5 >"$IT_DIR/$4" 2>&1 ||
		fail "$1 cannot connect to $2 from port $3: $(cat "$IT_DIR/$4")"
}

# check_reach HOST ROUTER_IP KIND: three connections from HOST to three ports of PUB's
# reflector (started as $REFLECT), all from the same local port, seen by PUB from ROUTER_IP, with ports as KIND says.  Sets
# LOCAL_PORT_host and PUBLIC_host (the endpoint PUB saw first).
check_reach() {
	local host=$1 rip=$2 kind=$3 i lport=0 pub f
	local -a seen=()
	for i in 0 1 2; do
		f=hello-$host-$i.out
		hello "$host" "$NATLAB_PUB_IP:${refl_ports[i]}" "$lport" "$f"
		[ "$lport" = 0 ] && lport=$(word local "$IT_DIR/$f" | sed 's/.*://')
		[ "$(word local "$IT_DIR/$f")" = "0.0.0.0:$lport" ] ||
			fail "$host: connection $i did not leave from port $lport: $(cat "$IT_DIR/$f")"
		pub=$(word public "$IT_DIR/$f")
		grep -q -x -F "conn listen=$NATLAB_PUB_IP:${refl_ports[i]} peer=$pub" \
			"$IT_DIR/$REFLECT.out" || fail "$host: PUB has no record of a connection from $pub"
		[ "${pub%:*}" = "$rip" ] ||
			fail "$host: PUB saw the connection come from $pub, not from the router's $rip"
		seen+=("${pub##*:}")
	done
	note "$host ($kind NAT): local port $lport, PUB saw $rip with ports ${seen[*]}"
	case $kind in
	cone)
		for i in 0 1 2; do
			[ "${seen[i]}" = "$lport" ] ||
				fail "$host: the cone NAT did not keep port $lport (PUB saw ${seen[*]})"
		done
		;;
	symmetric)
		# Three random ports: all equal by chance about once in 4e9 runs.
		[ "${seen[0]}" != "${seen[1]}" ] || [ "${seen[1]}" != "${seen[2]}" ] ||
			fail "$host: the symmetric NAT gave the same public port ${seen[0]} to all three"
		;;
	esac
	printf -v "LOCAL_PORT_$host" %s "$lport"
	printf -v "PUBLIC_$host" %s "$(word public "$IT_DIR/hello-$host-0.out")"
}

# expect_probe FILE TARGET RESULT: FILE (probe output) says TARGET gave RESULT.
expect_probe() {
	local got
	got=$(grep -F "target=$2 " "$IT_DIR/$1" | sed -E 's/.*result=([^ ]*).*/\1/')
	[ "$got" = "$3" ] || fail "probe of $2: $got, want $3 ($(cat "$IT_DIR/$1"))"
}

# drops ROUTER: "INPUT FORWARD", the packets its INPUT drop rule and FORWARD policy dropped.
drops() {
	natlab_exec "$1" iptables-save -c -t filter | awk '
		function pkts(w) { sub(/^\[/, "", w); sub(/:.*/, "", w); return w }
		/^:FORWARD DROP / { fwd = pkts($3) }
		/-A INPUT -i wan0 -j DROP$/ { in_ = pkts($1) }
		END { print in_ + 0, fwd + 0 }'
}

# check_inbound: listeners in RA, A, RB and B answer from inside their LAN, but PUB
# reaches none of them, and each SYN it sent was dropped by a router.
check_inbound() {
	local tag=$1 ra0 rb0 ra1 rb1 t
	listen ra "listen-ra-$tag" "0.0.0.0:$router_port"
	listen a "listen-a-$tag" "0.0.0.0:$host_port"
	listen rb "listen-rb-$tag" "0.0.0.0:$router_port"
	listen b "listen-b-$tag" "0.0.0.0:$host_port"
	# The listeners work: the router reaches its own and its host's.
	pc ra probe --connect "$NATLAB_RA_IP:$router_port" --connect "$NATLAB_A_IP:$host_port" \
		>"$IT_DIR/probe-ra-$tag.out" || fail "probe in ra failed"
	expect_probe "probe-ra-$tag.out" "$NATLAB_RA_IP:$router_port" open
	expect_probe "probe-ra-$tag.out" "$NATLAB_A_IP:$host_port" open
	pc rb probe --connect "$NATLAB_RB_IP:$router_port" --connect "$NATLAB_B_IP:$host_port" \
		>"$IT_DIR/probe-rb-$tag.out" || fail "probe in rb failed"
	expect_probe "probe-rb-$tag.out" "$NATLAB_RB_IP:$router_port" open
	expect_probe "probe-rb-$tag.out" "$NATLAB_B_IP:$host_port" open

	natlab_exec pub ip route get "$NATLAB_A_IP" >/dev/null 2>&1 &&
		fail "PUB has a route to A's LAN"
	read -r ra0 _ <<<"$(drops ra)"
	read -r rb0 _ <<<"$(drops rb)"
	# Unsolicited SYNs to the routers' public addresses: the router's own port and the
	# host's (no port forward).  Dropped, not refused: a refusal is an answer.
	pc pub probe --connect "$NATLAB_RA_IP:$router_port" --connect "$NATLAB_RA_IP:$host_port" \
		--connect "$NATLAB_RB_IP:$router_port" --connect "$NATLAB_RB_IP:$host_port" \
		--timeout 2 >"$IT_DIR/probe-pub-$tag.out" || fail "probe in pub failed"
	for t in "$NATLAB_RA_IP:$router_port" "$NATLAB_RA_IP:$host_port" \
		"$NATLAB_RB_IP:$router_port" "$NATLAB_RB_IP:$host_port"; do
		expect_probe "probe-pub-$tag.out" "$t" timeout
	done
	read -r ra1 _ <<<"$(drops ra)"
	read -r rb1 _ <<<"$(drops rb)"
	[ "$ra1" -gt "$ra0" ] || fail "RA's INPUT drop rule saw none of PUB's SYNs"
	[ "$rb1" -gt "$rb0" ] || fail "RB's INPUT drop rule saw none of PUB's SYNs"

	# PUB routes the LANs through the routers, as a hostile neighbour on the segment
	# could: the routers forward nothing that was not asked for.
	natlab_exec pub ip route add 10.1.0.0/24 via "$NATLAB_RA_IP" || fail "route on PUB"
	natlab_exec pub ip route add 10.2.0.0/24 via "$NATLAB_RB_IP" || fail "route on PUB"
	read -r _ ra0 <<<"$(drops ra)"
	read -r _ rb0 <<<"$(drops rb)"
	pc pub probe --connect "$NATLAB_A_IP:$host_port" --connect "$NATLAB_B_IP:$host_port" \
		--timeout 2 >"$IT_DIR/probe-lan-$tag.out" || fail "probe in pub failed"
	expect_probe "probe-lan-$tag.out" "$NATLAB_A_IP:$host_port" timeout
	expect_probe "probe-lan-$tag.out" "$NATLAB_B_IP:$host_port" timeout
	read -r _ ra1 <<<"$(drops ra)"
	read -r _ rb1 <<<"$(drops rb)"
	[ "$ra1" -gt "$ra0" ] || fail "RA's FORWARD policy dropped none of PUB's SYNs to A"
	[ "$rb1" -gt "$rb0" ] || fail "RB's FORWARD policy dropped none of PUB's SYNs to B"
	natlab_exec pub ip route del 10.1.0.0/24
	natlab_exec pub ip route del 10.2.0.0/24

	for t in ra a rb b; do
		grep -q -F "peer=$NATLAB_PUB_IP:" "$IT_DIR/listen-$t-$tag.out" &&
			fail "PUB got through to the listener in $t"
		kill_wait TERM "listen-$t-$tag"
	done
	note "inbound ($tag): PUB reached neither router nor host; the routers dropped its SYNs"
}

# check_lan: A and A2, behind the same router, reach each other on their LAN, without
# NAT and without the router (each has the other's own MAC address as neighbour).
check_lan() {
	local mac
	listen a listen-a-lan "$NATLAB_A_IP:$lan_port"
	listen a2 listen-a2-lan "$NATLAB_A2_IP:$lan_port"
	hello a "$NATLAB_A2_IP:$lan_port" 0 lan-a.out
	hello a2 "$NATLAB_A_IP:$lan_port" 0 lan-a2.out
	[ "$(word public "$IT_DIR/lan-a.out" | sed 's/:.*//')" = "$NATLAB_A_IP" ] ||
		fail "A2 saw A as $(word public "$IT_DIR/lan-a.out"), not $NATLAB_A_IP"
	[ "$(word public "$IT_DIR/lan-a2.out" | sed 's/:.*//')" = "$NATLAB_A2_IP" ] ||
		fail "A saw A2 as $(word public "$IT_DIR/lan-a2.out"), not $NATLAB_A2_IP"
	mac=$(natlab_exec a2 cat /sys/class/net/eth0/address)
	natlab_exec a ip neigh show "$NATLAB_A2_IP" dev eth0 | grep -q -i -F "lladdr $mac" ||
		fail "A does not reach A2 at its own MAC $mac: $(natlab_exec a ip neigh show)"
	kill_wait TERM listen-a-lan
	kill_wait TERM listen-a2-lan
	note "LAN: A and A2 reach each other directly"
}

# check_punch TAG WITHIN ok|fail: A and B open a TCP connection to each other at once,
# each from the port it reached PUB from, to the endpoint PUB saw for the other.
check_punch() {
	local tag=$1 within=$2 want=$3 at pa pb sa sb ms h ra0 rb0 ra1 rb1
	read -r ra0 _ <<<"$(drops ra)"
	read -r rb0 _ <<<"$(drops rb)"
	at=$(($(now_ms) + 1500))
	natlab_start a "punch-a-$tag" "${PUNCHCHECK[@]}" punch --bind "0.0.0.0:$LOCAL_PORT_a" \
		--peer "$PUBLIC_b" --start-at-ms "$at" --within "$within" --name A
	pa=$LAST_PID
	natlab_start b "punch-b-$tag" "${PUNCHCHECK[@]}" punch --bind "0.0.0.0:$LOCAL_PORT_b" \
		--peer "$PUBLIC_a" --start-at-ms "$at" --within "$within" --name B
	pb=$LAST_PID
	wait_exit "$pa" $((within + 10)) || fail "punch-a-$tag outlived its bound"
	sa=$EXIT_STATUS
	wait_exit "$pb" $((within + 10)) || fail "punch-b-$tag outlived its bound"
	sb=$EXIT_STATUS
	if [ "$want" = fail ] && { [ "$sa" != 1 ] || [ "$sb" != 1 ]; }; then
		fail "simultaneous open through $tag NATs: exit $sa, $sb; want 1, 1 (no connection)"
	fi
	note "A: $(cat "$IT_DIR/punch-a-$tag.out")"
	note "B: $(cat "$IT_DIR/punch-b-$tag.out")"
	# What the routers made of it, for the log: a SYN that arrives before the router
	# has seen its own host's go out is dropped, and that host's retransmission or the
	# crossing SYN from the other side completes the handshake.
	read -r ra1 _ <<<"$(drops ra)"
	read -r rb1 _ <<<"$(drops rb)"
	note "SYNs from the WAN dropped during the punch: RA $((ra1 - ra0)), RB $((rb1 - rb0))"
	natlab_exec ra grep -F "dst=$NATLAB_RB_IP " /proc/net/nf_conntrack | sed 's/^/--- ra: /'
	natlab_exec rb grep -F "dst=$NATLAB_RA_IP " /proc/net/nf_conntrack | sed 's/^/--- rb: /'
	if [ "$want" = ok ]; then
		if [ "$sa" != 0 ] || [ "$sb" != 0 ]; then
			fail "simultaneous open through $tag NATs failed (exit $sa, $sb)"
		fi
		[ "$(word recv "$IT_DIR/punch-a-$tag.out")" = "$(word sent "$IT_DIR/punch-b-$tag.out")" ] ||
			fail "A did not get what B sent"
		[ "$(word recv "$IT_DIR/punch-b-$tag.out")" = "$(word sent "$IT_DIR/punch-a-$tag.out")" ] ||
			fail "B did not get what A sent"
		note "punch ($tag): connected, bytes both ways"
		return 0
	fi
	for h in a b; do
		[ "$(word result "$IT_DIR/punch-$h-$tag.out")" = timeout ] ||
			fail "punch-$h-$tag: the simultaneous open through $tag NATs did not fail as it should"
		ms=$(word elapsed_ms "$IT_DIR/punch-$h-$tag.out")
		[ "$ms" -le $((within * 1000 + 1000)) ] ||
			fail "punch-$h-$tag gave up after $ms ms, bound ${within} s"
	done
	note "punch ($tag): failed within its bound, as it must"
}

note "cone x cone, with A2"
natlab_up cone cone with_a2
REFLECT=reflect-cone
listen pub "$REFLECT" "${refl_ports[@]/#/$NATLAB_PUB_IP:}"
check_reach a "$NATLAB_RA_IP" cone
check_reach b "$NATLAB_RB_IP" cone
check_inbound cone
check_lan
check_punch cone 8 ok
natlab_down

note "symmetric x symmetric"
natlab_up symmetric symmetric
REFLECT=reflect-symmetric
listen pub "$REFLECT" "${refl_ports[@]/#/$NATLAB_PUB_IP:}"
check_reach a "$NATLAB_RA_IP" symmetric
check_reach b "$NATLAB_RB_IP" symmetric
check_inbound symmetric
check_punch symmetric 4 fail
natlab_down
exit 0
