#!/bin/bash
# Visitors where hole punching cannot work, in the NAT lab of natlab.sh: cone x symmetric,
# then symmetric x symmetric.  rtund on PUB, agent bee on B with the services, agent ayy
# on A with visitors in modes auto and direct, agent ayy2 on A2 with visitors in mode
# relay only.  Each time:
#   - mode auto: the user's transfer goes through intact (the log says by which path;
#     the relay is expected);
#   - mode direct: the user's connection is reset within punch_timeout + 3 s, never
#     left hanging, and ayy's log says why;
#   - mode relay: an agent with only relay visitors never punches
#     (rtun_punch_attempts_total 0) and asks rtund for no rendezvous
#     (rtund_rendezvous_total unchanged), and its users are relayed.
# Through the symmetric NATs, the relay also carries 200 concurrent streams, each echoing
# its own data back exact, and a user that never reads does not hold up another
# relayed stream's 16 MiB transfer.
IT_NUM=30
IT_TIMEOUT=${IT_TIMEOUT:-240}
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"
# shellcheck source-path=SCRIPTDIR source=natlab.sh
. "$(dirname "$0")/natlab.sh"
# shellcheck source-path=SCRIPTDIR source=p2p.sh
. "$(dirname "$0")/p2p.sh"
command -v curl >/dev/null 2>&1 || skip "curl is needed to read the metrics"

PUNCH_TIMEOUT=5
sink_port=$(port 1)          # B: sha-server, 1 MiB replies
echo_port=$(port 2)          # B: echo-server
v_auto=127.0.0.1:$(port 4)   # A: bee's sink, mode auto
v_direct=127.0.0.1:$(port 5) # A: bee's sink, mode direct
v_rsink=127.0.0.1:$(port 6)  # A2: bee's sink, mode relay
v_recho=127.0.0.1:$(port 7)  # A2: bee's echo, mode relay
# The current instance of ayy (its log is $AYY.log) and how many were started.
AYY=
AYY_N=0

# next_conn: the number the sink will give the next connection it ends.
next_conn() {
	echo $(($(grep -c -F recv_sha256= "$IT_DIR/sink.out") + 1))
}

# lab KIND_A KIND_B: the lab, rtund, bee and its servers, ayy; returns once ayy's first
# punch has ended one way or the other.
lab() {
	natlab_up "$1" "$2" with_a2
	p2p_rtund rtund
	natlab_with b start_tool sink sha-server --listen "127.0.0.1:$sink_port" --send 1M
	natlab_with b start_tool echo echo-server --listen "127.0.0.1:$echo_port"
	p2p_agent_conf "$IT_DIR/bee.conf" bee
	p2p_service "$IT_DIR/bee.conf" sink "127.0.0.1:$sink_port" ayy,ayy2
	p2p_service "$IT_DIR/bee.conf" echo "127.0.0.1:$echo_port" ayy2
	p2p_start b bee "$IT_DIR/bee.conf"
	wait_for_log bee "service echo: ready for visitors" 10 || fail "bee's echo never ready"
	AYY_N=0
	start_ayy
}

# start_ayy: ayy afresh, logging to ayyN (AYY); returns once its first punch ended one way
# or the other.
start_ayy() {
	local i
	[ "$AYY_N" = 0 ] || kill_wait TERM "$AYY" 10 || fail "$AYY did not stop"
	AYY_N=$((AYY_N + 1))
	AYY=ayy$AYY_N
	p2p_agent_conf "$IT_DIR/$AYY.conf" ayy "punch_timeout=$PUNCH_TIMEOUT"
	p2p_visitor "$IT_DIR/$AYY.conf" v-auto bee sink "$v_auto" auto
	p2p_visitor "$IT_DIR/$AYY.conf" v-direct bee sink "$v_direct" direct
	p2p_start a "$AYY" "$IT_DIR/$AYY.conf"
	for ((i = 0; i < (PUNCH_TIMEOUT + 5) * 10; i++)); do
		grep -q -E "direct link to bee( up|: .*visitors use the relay)" "$IT_DIR/$AYY.log" &&
			break
		sleep 0.1
	done
	grep -E "direct link to bee( up|: .*visitors use the relay)" "$IT_DIR/$AYY.log" |
		head -n 1 | sed "s/^/--- $AYY: /"
}

# check_auto TAG: a user of v-auto gets its transfer through intact.
check_auto() {
	local tag=$1 path conn
	conn=$(next_conn)
	p2p_sha a "auto-$tag" "$v_auto" 4M 60 || fail "auto-$tag: $(cat "$IT_DIR/auto-$tag.err")"
	expect_intact "auto-$tag" sink "$conn"
	if [ "$(metric a rtun_visitor_connections_total 'visitor="v-auto",path="relay"')" = 1 ]; then
		path=relay
	elif [ "$(metric a rtun_visitor_connections_total 'visitor="v-auto",path="direct"')" = 1 ]; then
		path=direct
	else
		fail "v-auto's connection is counted neither as relayed nor as direct"
	fi
	note "$tag, mode auto: intact over the $path (relay expected), $(p2p_rate "auto-$tag") MiB/s;" \
		"rtund relayed $(metric pub rtund_relayed_bytes_total) bytes"
}

# punched_through: true if the current ayy ever had a direct link to bee.
punched_through() {
	grep -q -F "direct link to bee up" "$IT_DIR/$AYY.log"
}

# check_direct TAG: a user of v-direct is reset within punch_timeout + 3 s, and ayy's
# log says why.  A punch through the lab's symmetric NAT went through once in about 60
# attempts in t32's trials (its cause not found: the NAT gave the punch the very port
# the peer was told to dial, far more often than its random ports would by chance); if
# it does here, ayy starts afresh, up to twice.
check_direct() {
	local tag=$1 bound=$((PUNCH_TIMEOUT + 3)) line try ok=0
	for ((try = 0; try < 3; try++)); do
		if punched_through; then
			note "$tag: $AYY got a direct link through the symmetric NAT; starting ayy afresh"
			start_ayy
			continue
		fi
		natlab_with a tcptool wait-close --connect "$v_direct" --within "$bound" \
			>"$IT_DIR/direct-$tag.out" 2>&1 && ok=1 && break
		punched_through ||
			fail "$tag: v-direct's user was not closed within $bound s: $(cat "$IT_DIR/direct-$tag.out")"
	done
	[ "$ok" = 1 ] || fail "$tag: three punches in a row went through"
	[ "$(kv closed "$IT_DIR/direct-$tag.out")" = reset ] ||
		fail "$tag: v-direct's user was not reset: $(cat "$IT_DIR/direct-$tag.out")"
	wait_for_log "$AYY" "visitor v-direct: refusing" 5 || fail "$tag: ayy logged no refusal"
	line=$(grep -F "visitor v-direct: refusing" "$IT_DIR/$AYY.log" | tail -n 1)
	case $line in
	*"no direct link"*) ;;
	*) fail "$tag: ayy's refusal does not say there is no direct link: $line" ;;
	esac
	[ "$(metric a rtun_visitor_connections_total 'visitor="v-direct",path="refused"')" = 1 ] ||
		fail "$tag: v-direct's refusal not counted"
	note "$tag, mode direct: reset after $(kv elapsed "$IT_DIR/direct-$tag.out") s (bound $bound s)"
	note "ayy: ${line#*visitor }"
}

# check_direct_held TAG: a user of v-direct who comes while ayy punches again waits for
# that punch, and is reset when it fails, within punch_timeout + 3 s all the same.
check_direct_held() {
	local tag=$1 bound=$((PUNCH_TIMEOUT + 3)) n
	n=$(log_count "$AYY" "asking rtund for a rendezvous")
	wait_for_log "$AYY" "asking rtund for a rendezvous" 15 $((n + 1)) ||
		fail "$tag: $AYY did not punch again within 15 s"
	if ! natlab_with a tcptool wait-close --connect "$v_direct" --within "$bound" \
		>"$IT_DIR/held-$tag.out" 2>&1; then
		punched_through && {
			note "$tag: $AYY's new punch went through the symmetric NAT; no held user to check"
			return 0
		}
		fail "$tag: v-direct's held user was not closed within $bound s: $(cat "$IT_DIR/held-$tag.out")"
	fi
	[ "$(kv closed "$IT_DIR/held-$tag.out")" = reset ] ||
		fail "$tag: v-direct's held user was not reset: $(cat "$IT_DIR/held-$tag.out")"
	grep -q -F "waits for the direct link" "$IT_DIR/$AYY.log" ||
		note "$tag: the user came after the punch had ended (not held)"
	note "$tag, mode direct during a punch: held, then reset after $(kv elapsed "$IT_DIR/held-$tag.out") s (bound $bound s)"
}

# check_relay_only TAG: ayy2, with relay visitors only, never punches; its user is relayed.
check_relay_only() {
	local tag=$1 rv0 rv1 att conn
	# ayy keeps punching (with backoff): it goes, so that rtund's count is ayy2's alone.
	kill_wait TERM "$AYY" 10 || fail "$AYY did not stop"
	rv0=$(metric pub rtund_rendezvous_total)
	p2p_agent_conf "$IT_DIR/ayy2.conf" ayy2
	p2p_visitor "$IT_DIR/ayy2.conf" v-rsink bee sink "$v_rsink" relay
	p2p_visitor "$IT_DIR/ayy2.conf" v-recho bee echo "$v_recho" relay
	p2p_start a2 ayy2 "$IT_DIR/ayy2.conf"
	wait_for_log ayy2 "visitor v-recho: " 10 || fail "ayy2's visitors never started"
	conn=$(next_conn)
	p2p_sha a2 "relay-$tag" "$v_rsink" 4M 60 || fail "relay-$tag: $(cat "$IT_DIR/relay-$tag.err")"
	expect_intact "relay-$tag" sink "$conn"
	[ "$(metric a2 rtun_visitor_connections_total 'visitor="v-rsink",path="relay"')" = 1 ] ||
		fail "$tag: v-rsink's connection was not relayed"
	sleep 1
	att=$(metric a2 rtun_punch_attempts_total)
	[ "$att" = 0 ] || fail "$tag: ayy2, with relay visitors only, made $att punch attempts"
	rv1=$(metric pub rtund_rendezvous_total)
	[ "$rv1" = "$rv0" ] || fail "$tag: rtund_rendezvous_total went from $rv0 to $rv1 for ayy2"
	grep -q -F "rendezvous" "$IT_DIR/ayy2.log" && fail "$tag: ayy2 logged a rendezvous"
	note "$tag, mode relay: no punch, no rendezvous, intact, $(p2p_rate "relay-$tag") MiB/s"
}

# check_relay_load: 200 concurrent relayed echo streams, then a user that never reads
# beside a 16 MiB transfer.
check_relay_load() {
	local s0 pid t0 ms conn
	s0=$(metric pub rtund_relayed_streams_total)
	natlab_with a2 tcptool echo-client --connect "$v_recho" --conns 200 --bytes 256K \
		--timeout 90 >"$IT_DIR/echo200.out" 2>"$IT_DIR/echo200.err" ||
		fail "200 relayed echo streams: $(cat "$IT_DIR/echo200.err")"
	[ "$(kv ok "$IT_DIR/echo200.out")" = 200 ] || fail "echo200: $(cat "$IT_DIR/echo200.out")"
	[ "$(metric pub rtund_relayed_streams_total)" -ge $((s0 + 200)) ] ||
		fail "rtund relayed $(($(metric pub rtund_relayed_streams_total) - s0)) streams, want 200"
	note "relay: 200 concurrent streams, 256 KiB each, all echoed exact"

	natlab_start a2 noread "$PYTHON" "$TOOLS/tcptool.py" noread --connect "$v_recho" \
		--duration 60
	pid=$LAST_PID
	wait_for_file "$IT_DIR/noread.out" "stalled=1" 30 ||
		fail "the user that never reads never filled the pipe: $(tail -n 3 "$IT_DIR/noread.out")"
	note "relay: a user that never reads is stalled after $(kv sent_bytes "$IT_DIR/noread.out") bytes"
	conn=$(next_conn)
	t0=$(now_ms)
	p2p_sha a2 beside "$v_rsink" 16M 30 || fail "beside the stalled stream: $(cat "$IT_DIR/beside.err")"
	ms=$(($(now_ms) - t0))
	expect_intact beside sink "$conn"
	pid_alive "$pid" || fail "the user that never reads lost its connection"
	grep -q -F "stalled=1" <(tail -n 1 "$IT_DIR/noread.out") ||
		fail "the user that never reads was not stalled any more: $(tail -n 1 "$IT_DIR/noread.out")"
	kill_wait TERM noread
	note "relay: 16 MiB beside the stalled stream in $ms ms (bound 30 s)"
}

note "cone x symmetric"
lab cone symmetric
check_auto cone-sym
check_direct cone-sym
check_direct_held cone-sym
check_relay_only cone-sym
for n in bee ayy2 rtund; do
	expect_alive "$n"
done
p2p_down cone-sym

note "symmetric x symmetric"
lab symmetric symmetric
check_auto sym-sym
check_direct sym-sym
check_direct_held sym-sym
check_relay_only sym-sym
check_relay_load
for n in bee ayy2 rtund; do
	expect_alive "$n"
done
exit 0
