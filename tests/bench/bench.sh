#!/bin/bash
# shellcheck disable=SC2046,SC2059,SC2086,SC2317  # PID lists and $rev split on purpose
# rtun benchmark: rtun against direct TCP, ssh -R and a 2-hop haproxy chain, on loopback and
# across a 100 Mbit/s bottleneck between two network namespaces it creates. Prints one table
# with ratios against the references measured in the same run, and the targets.
#
#   tests/bench/bench.sh BUILDDIR        (or RTUN_BUILDDIR=BUILDDIR tests/bench/bench.sh)
#
# BUILDDIR holds rtund, rtun and tests/bench/rtprobe (built by make). Needs root, iperf3,
# haproxy, sshd, ssh, ssh-keygen, ip, tc, ss, jq. Knobs (environment; README.md has them
# all): RTB_SECONDS (iperf3 run, 5), RTB_BN_SECONDS (bulk across the bottleneck, 10),
# RTB_STREAMS (idle streams, 1000), RTB_REPS (loopback rounds, 3), RTB_PORT_BASE (21700),
# RTB_CONN_PARALLEL (8), RTB_NO_LOOPBACK=1, RTB_NO_P2P=1, RTB_NO_ROUTES=1, RTB_ONLY_ROUTES=1,
# RTB_NO_WEB=1 (the web table of bench-web.sh, also RTB_WEB_REQUESTS), RTB_NO_NETNS=1,
# RTB_LEAF_QDISC (e.g.
# "fq_codel"; default: HTB's pfifo), RTB_RTUND_EXTRA / RTB_RTUN_EXTRA (lines added to the
# [server] / [agent] section), RTB_MAX_SECONDS (840), RTB_KEEP=1 (keep the temp dir),
# RTB_UDP_RATE (what iperf3 -u offers, 1G), RTB_ONLY_UDP=1 (only the UDP rows, loopback).
#
# It never fails a build: it exits 0 once the table is printed, whatever the numbers; 2 when
# it cannot run at all. Every process it starts is stopped by PID, every namespace it creates
# is deleted, on every exit path. Every wait is bounded; a full run takes about 8 minutes.

set -u
export LC_ALL=C

BUILDDIR=${1:-${RTUN_BUILDDIR:-}}
SECS=${RTB_SECONDS:-5}
BN_SECS=${RTB_BN_SECONDS:-10}
NSTREAMS=${RTB_STREAMS:-1000}
BASE=${RTB_PORT_BASE:-21700}
CONN_PAR=${RTB_CONN_PARALLEL:-8}
REPS=${RTB_REPS:-3}                     # loopback rounds, interleaved over the columns
MAX_RUN=${RTB_MAX_SECONDS:-840}         # stop measuring after this, print what we have
UDP_RATE=${RTB_UDP_RATE:-1G}

# Ports: targets, then one block per path (iperf port, echo port).
ECHO_PORT=$((BASE + 1))
IPERF_PORT=$((BASE + 2))
LINK_PORT=$((BASE + 10))
RTUN_IPERF=$((BASE + 11)) RTUN_ECHO=$((BASE + 12))
SSHD_PORT=$((BASE + 20))
SSH_IPERF=$((BASE + 21)) SSH_ECHO=$((BASE + 22))
HAPA_IPERF=$((BASE + 31)) HAPA_ECHO=$((BASE + 32))
HAPB_IPERF=$((BASE + 41)) HAPB_ECHO=$((BASE + 42))
P2P_DIRECT=$((BASE + 51)) P2P_RELAY=$((BASE + 52))    # the visitor's two ports
ROUTE_IPERF=$((BASE + 71)) ROUTE_ECHO=$((BASE + 72))  # rtund's routes without agent
SRV_ADDR=192.0.2.1 AGT_ADDR=192.0.2.2   # TEST-NET-1, only inside our namespaces
COLS="direct rtun ssh haproxy"

TMP=
NS_SRV="" NS_AGT=""
PIDS=()         # every background process we started
NETNS=()        # every namespace we created
declare -A R    # results: R[metric,column]
declare -A S    # each round's values of the repeated metrics, for the median
START=$SECONDS

log() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }

usage() {
	echo "usage: $0 BUILDDIR   (BUILDDIR has rtund, rtun and tests/bench/rtprobe)" >&2
	exit 2
}

# ---- processes -------------------------------------------------------------------------

# in_ns NS CMD...: run CMD in namespace NS, or here when NS is "-".
in_ns() {
	local ns=$1
	shift
	if [ "$ns" = - ]; then "$@"; else ip netns exec "$ns" "$@"; fi
}

# spawn NAME NS CMD...: start CMD in the background, output in $TMP/NAME.log; PID in SPAWNED.
spawn() {
	local name=$1 ns=$2
	shift 2
	if [ "$ns" = - ]; then
		"$@" >"$TMP/$name.log" 2>&1 &
	else
		ip netns exec "$ns" "$@" >"$TMP/$name.log" 2>&1 &
	fi
	SPAWNED=$!
	PIDS+=("$SPAWNED")
}

# proc_field PID N: field N of /proc/PID/stat after the command name (1 state, 2 ppid).
proc_field() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*\) }
	cut -d' ' -f"$2" <<<"$s"
}

# ours PID: PID is a live child of this shell (so never a recycled PID of someone else).
ours() {
	local st pp
	st=$(proc_field "$1" 1) || return 1
	pp=$(proc_field "$1" 2) || return 1
	[ "$st" != Z ] && [ "$pp" = "$$" ]
}

# descendants PID: every live descendant of PID (one pass over /proc).
descendants() {
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v root="$1" '
	{
		pid = $1
		rest = $0
		sub(/.*\) /, "", rest)
		split(rest, f, " ")
		parent[pid] = f[2]
		pids[++n] = pid
	}
	END {
		found[root] = 1
		do {
			more = 0
			for (i = 1; i <= n; i++)
				if (!(pids[i] in found) && (parent[pids[i]] in found)) {
					found[pids[i]] = 1
					more = 1
				}
		} while (more)
		for (p in found)
			if (p != root)
				print p
	}'
}

# stop PID: TERM a process we started (and what it forked), KILL it after 3 s, reap it.
# A descendant is killed only if it is still the same process (same start time).
stop() {
	local pid=$1 kids="" k i
	ours "$pid" || { wait "$pid" 2>/dev/null; return 0; }
	for k in $(descendants "$pid"); do
		kids+=" $k:$(proc_field "$k" 20)"
	done
	kill -TERM "$pid" 2>/dev/null
	for i in $(seq 30); do
		ours "$pid" || break
		sleep 0.1
	done
	ours "$pid" && kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for k in $kids; do
		[ "$(proc_field "${k%%:*}" 20)" = "${k#*:}" ] && kill -KILL "${k%%:*}" 2>/dev/null
	done
	return 0
}

cleanup() {
	local i ns
	trap - EXIT INT TERM
	for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do
		stop "${PIDS[i]}"
	done
	for ns in "${NETNS[@]}"; do
		ip netns del "$ns" 2>/dev/null
	done
	if [ -n "$TMP" ] && [ -d "$TMP" ]; then
		if [ "${RTB_KEEP:-0}" = 1 ]; then log "logs kept in $TMP"; else rm -rf "$TMP"; fi
	fi
}

# ---- waiting ---------------------------------------------------------------------------

# wait_listen NS PORT [PID NAME]: up to 10 s for a TCP listener on PORT, while PID lives.
wait_listen() {
	local i
	for i in $(seq 100); do
		in_ns "$1" ss -Htln "sport = :$2" 2>/dev/null | grep -q . && return 0
		if [ -n "${3:-}" ] && ! ours "$3"; then
			log "$4 exited before listening on port $2:"
			tail -n 5 "$TMP/$4.log" >&2
			return 1
		fi
		sleep 0.1
	done
	log "nothing listens on port $2 (namespace $1)"
	return 1
}

# wait_log FILE REGEX COUNT PID: up to 15 s for COUNT lines matching REGEX while PID lives.
wait_log() {
	local i
	for i in $(seq 150); do
		[ "$(grep -cE "$2" "$1" 2>/dev/null)" -ge "$3" ] && return 0
		ours "$4" || break
		sleep 0.1
	done
	log "gave up waiting for /$2/ in $(basename "$1"):"
	tail -n 5 "$1" >&2
	return 1
}

budget_ok() {
	[ $((SECONDS - START)) -lt "$MAX_RUN" ] && return 0
	log "time budget of ${MAX_RUN}s spent, skipping the rest"
	return 1
}

port_free() {
	if in_ns - ss -Htln "sport = :$1" | grep -q .; then
		log "port $1 is in use; set RTB_PORT_BASE"
		return 1
	fi
}

# ---- the paths -------------------------------------------------------------------------

# start_targets NS ADDR: the echo server the probes talk to (iperf3 servers start per run).
start_targets() {
	spawn "echo-${1/#-/lo}" "$1" "$PROBE" echo-server "$ECHO_PORT" "$2" 900
	ECHO_PID=$SPAWNED
	wait_listen "$1" "$ECHO_PORT" "$ECHO_PID" "echo-${1/#-/lo}"
}

# transport_conf TRANSPORT: extra [server] and [agent] lines (SRV_EXTRA, AGT_EXTRA) for
# a link over TRANSPORT (tcp, tls, ws, wss), with certificates made for 127.0.0.1.
transport_conf() {
	SRV_EXTRA="" AGT_EXTRA="transport = $1"
	case $1 in
	tls | wss)
		[ -s "$TMP/certs/server.pem" ] ||
		    "$SRCDIR/../tools/mkcerts.sh" "$TMP/certs" 127.0.0.1 >/dev/null || return 1
		SRV_EXTRA="tls_cert = $TMP/certs/server.pem
	tls_key = $TMP/certs/server.key"
		AGT_EXTRA="$AGT_EXTRA
	ca_file = $TMP/certs/ca.pem
	server_name = 127.0.0.1"
		;;
	esac
}

# start_rtun SRV_NS AGT_NS LISTEN_ADDR [TRANSPORT]: rtund and rtun with services iperf
# and echo, the link over TRANSPORT (default tcp).
start_rtun() {
	local tag=lo
	[ "$1" = - ] || tag=netns
	transport_conf "${4:-tcp}" || return 1
	cat >"$TMP/rtund-$tag.conf" <<-EOF
	[server]
	listen = $3:$LINK_PORT
	token = bench-token
	allow_ports = $RTUN_IPERF-$RTUN_ECHO
	bind_addr = 127.0.0.1
	$SRV_EXTRA
	${RTB_RTUND_EXTRA:-}
	EOF
	cat >"$TMP/rtun-$tag.conf" <<-EOF
	[agent]
	server = $3:$LINK_PORT
	token = bench-token
	name = bench
	$AGT_EXTRA
	${RTB_RTUN_EXTRA:-}

	[service iperf]
	local = 127.0.0.1:$IPERF_PORT
	remote_port = $RTUN_IPERF

	[service echo]
	local = 127.0.0.1:$ECHO_PORT
	remote_port = $RTUN_ECHO

	[service iperf-udp]
	type = udp
	local = 127.0.0.1:$IPERF_PORT
	remote_port = $RTUN_IPERF
	EOF
	spawn "rtund-$tag" "$1" "$BUILDDIR/rtund" -c "$TMP/rtund-$tag.conf"
	RTUND_PID=$SPAWNED
	wait_listen "$1" "$LINK_PORT" "$RTUND_PID" "rtund-$tag" || return 1
	spawn "rtun-$tag" "$2" "$BUILDDIR/rtun" -c "$TMP/rtun-$tag.conf"
	RTUN_PID=$SPAWNED
	wait_log "$TMP/rtun-$tag.log" 'remote port [0-9]+ ready' 2 "$RTUN_PID"
}

ssh_keys() {
	mkdir -p "$TMP/ssh" || return 1
	ssh-keygen -q -t ed25519 -N '' -C rtun-bench-host -f "$TMP/ssh/host_key" &&
	    ssh-keygen -q -t ed25519 -N '' -C rtun-bench-user -f "$TMP/ssh/user_key" &&
	    cp "$TMP/ssh/user_key.pub" "$TMP/ssh/authorized_keys"
}

# start_ssh SRV_NS AGT_NS LISTEN_ADDR: a private sshd and ssh -R with the same two services.
start_ssh() {
	local tag=lo cfg
	[ "$1" = - ] || tag=netns
	cfg=$TMP/ssh/sshd-$tag.conf
	mkdir -p /run/sshd          # sshd's privilege separation directory
	cat >"$cfg" <<-EOF
	ListenAddress $3:$SSHD_PORT
	HostKey $TMP/ssh/host_key
	AuthorizedKeysFile $TMP/ssh/authorized_keys
	PidFile none
	PermitRootLogin prohibit-password
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	UsePAM no
	StrictModes no
	AllowTcpForwarding remote
	GatewayPorts no
	Ciphers aes128-gcm@openssh.com
	MaxStartups 100:30:200
	LogLevel ERROR
	EOF
	spawn "sshd-$tag" "$1" /usr/sbin/sshd -D -e -f "$cfg"
	SSHD_PID=$SPAWNED
	wait_listen "$1" "$SSHD_PORT" "$SSHD_PID" "sshd-$tag" || return 1
	spawn "ssh-$tag" "$2" ssh -F /dev/null -N -T -p "$SSHD_PORT" -i "$TMP/ssh/user_key" \
	    -c aes128-gcm@openssh.com -o IdentitiesOnly=yes -o BatchMode=yes \
	    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR \
	    -o ExitOnForwardFailure=yes -o Compression=no \
	    -R "127.0.0.1:$SSH_IPERF:127.0.0.1:$IPERF_PORT" \
	    -R "127.0.0.1:$SSH_ECHO:127.0.0.1:$ECHO_PORT" "root@$3"
	SSH_PID=$SPAWNED
	wait_listen "$1" "$SSH_IPERF" "$SSH_PID" "ssh-$tag" && wait_listen "$1" "$SSH_ECHO"
}

# haproxy_conf NAME (FRONT_PORT BACK_PORT)...: one haproxy in mode tcp, one thread.
haproxy_conf() {
	local name=$1
	shift
	{
		printf 'global\n\tnbthread 1\n\tmaxconn 8000\n'
		printf 'defaults\n\tmode tcp\n\ttimeout connect 5s\n'
		printf '\ttimeout client 10m\n\ttimeout server 10m\n'
		while [ $# -ge 2 ]; do
			printf 'listen p%s\n\tbind 127.0.0.1:%s\n' "$1" "$1"
			printf '\tserver t 127.0.0.1:%s\n' "$2"
			shift 2
		done
	} >"$TMP/$name.cfg"
}

# start_haproxy: user -> A -> B -> targets, on loopback.
start_haproxy() {
	haproxy_conf haproxy-b "$HAPB_IPERF" "$IPERF_PORT" "$HAPB_ECHO" "$ECHO_PORT"
	haproxy_conf haproxy-a "$HAPA_IPERF" "$HAPB_IPERF" "$HAPA_ECHO" "$HAPB_ECHO"
	spawn haproxy-b - haproxy -db -f "$TMP/haproxy-b.cfg"
	HAPB_PID=$SPAWNED
	spawn haproxy-a - haproxy -db -f "$TMP/haproxy-a.cfg"
	HAPA_PID=$SPAWNED
	wait_listen - "$HAPB_ECHO" "$HAPB_PID" haproxy-b &&
	    wait_listen - "$HAPA_ECHO" "$HAPA_PID" haproxy-a
}

# ---- measurements ----------------------------------------------------------------------
# A path is CLIENT_NS HOST IPERF_PORT ECHO_PORT SERVER_NS (where the targets run).

isnum() { [[ ${1:-} =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }

# kv LINE KEY: the value of KEY=value in LINE.
kv() { sed -n "s/.*[ ]$2=\([^ ]*\).*/\1/p" <<<"$1"; }

# iperf_server NS: a one-off iperf3 server for one run; PID in IPERF_SRV.
iperf_server() {
	local bind=()
	[ "$1" = - ] && bind=(-B 127.0.0.1)
	spawn "iperf-server" "$1" iperf3 -s -1 -p "$IPERF_PORT" "${bind[@]}"
	IPERF_SRV=$SPAWNED
	wait_listen "$1" "$IPERF_PORT"
}

# iperf_bps JSON: receiver bits per second, empty on failure.
iperf_bps() { jq -r '.end.sum_received.bits_per_second // empty' "$1" 2>/dev/null; }

# cpu_ticks PID...: user + system clock ticks the processes have used.
cpu_ticks() {
	local p s sum=0 f
	for p in "$@"; do
		s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
		s=${s##*\) }
		read -r -a f <<<"$s"
		sum=$((sum + f[11] + f[12]))
	done
	echo "$sum"
}

# cpu_per_gb COL TICKS_BEFORE JSON: CPU seconds COL's processes spent per GB moved.
cpu_per_gb() {
	local after bytes
	after=$(cpu_ticks $(path_pids "$1"))
	bytes=$(jq -r '.end.sum_received.bytes // empty' "$3" 2>/dev/null)
	isnum "$bytes" || { echo fail; return; }
	awk -v t=$((after - $2)) -v hz="$(getconf CLK_TCK)" -v b="$bytes" \
	    'BEGIN { v = b > 0 ? t / hz / (b / 1e9) : 0; printf "%.2f", v }'
}

# m_iperf KEY COL PATH(5) PARALLEL [-R]: throughput in Gbit/s.
m_iperf() {
	local key=$1 col=$2 cns=$3 host=$4 port=$5 sns=$7 par=$8 rev=${9:-} out bps ticks
	budget_ok || return
	out=$TMP/iperf-$key-$col.json
	iperf_server "$sns" || { R[$key,$col]=fail; return; }
	ticks=$(cpu_ticks $(path_pids "$col"))
	rm -f "$out"
	in_ns "$cns" timeout -k 2 $((SECS + 20)) iperf3 -c "$host" -p "$port" -t "$SECS" -O 1 \
	    -P "$par" $rev -J --connect-timeout 5000 --logfile "$out" >/dev/null 2>&1
	stop "$IPERF_SRV"
	bps=$(iperf_bps "$out")
	if isnum "$bps"; then
		R[$key,$col]=$(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }')
		[ "$col" = direct ] || R[${key}cpu,$col]=$(cpu_per_gb "$col" "$ticks" "$out")
	else
		R[$key,$col]=fail
		log "iperf3 $col -P $par $rev failed: $(jq -r '.error // empty' "$out" 2>/dev/null)"
	fi
	log "$col: $key = ${R[$key,$col]} Gbit/s"
}

# m_iperf_udp COL PATH(5): one iperf3 -u flow of 1400-byte datagrams offered at UDP_RATE:
# what arrived (Gbit/s, udp1) and the loss (%, udp1loss). Only direct and rtun carry UDP.
m_iperf_udp() {
	local col=$1 cns=$2 host=$3 port=$4 sns=$6 out sum
	case $col in direct | rtun) ;; *) return ;; esac
	budget_ok || return
	out=$TMP/iperf-udp1-$col.json
	iperf_server "$sns" || { R[udp1,$col]=fail; return; }
	rm -f "$out"
	in_ns "$cns" timeout -k 2 $((SECS + 20)) iperf3 -c "$host" -p "$port" -u -b "$UDP_RATE" \
	    -l 1400 -t "$SECS" -J --connect-timeout 5000 --logfile "$out" >/dev/null 2>&1
	stop "$IPERF_SRV"
	sum=$(jq -r '.end.sum | "\(.bits_per_second) \(.lost_percent)"' "$out" 2>/dev/null)
	if isnum "${sum%% *}" && isnum "${sum##* }"; then
		R[udp1,$col]=$(awk -v b="${sum%% *}" -v l="${sum##* }" \
		    'BEGIN { printf "%.2f", b * (1 - l / 100) / 1e9 }')
		R[udp1loss,$col]=$(awk -v l="${sum##* }" 'BEGIN { printf "%.2f", l }')
	else
		R[udp1,$col]=fail
		log "iperf3 -u $col failed: $(jq -r '.error // empty' "$out" 2>/dev/null)"
	fi
	log "$col: udp1 = ${R[udp1,$col]} Gbit/s, loss ${R[udp1loss,$col]:-?} %"
}

# m_ping PREFIX COL PATH(5) COUNT [SCALE]: idle ping-pong p50/p99 (SCALE 1000: in ms).
m_ping() {
	local pre=$1 col=$2 cns=$3 host=$4 eport=$6 count=$8 scale=${9:-1} line
	budget_ok || return
	line=$(in_ns "$cns" timeout -k 2 40 "$PROBE" pingpong "$host" "$eport" "$count" 0 30)
	put_ping "$pre" "$col" "$line" "$scale"
	log "$col: ${pre}* idle: $line"
}

# scaled US SCALE: microseconds as whole us (SCALE 1) or ms with two decimals (SCALE 1000).
scaled() {
	awk -v v="$1" -v s="$2" 'BEGIN { fmt = s > 1 ? "%.2f" : "%.0f"; printf fmt, v / s }'
}

# put_ping PREFIX COL LINE SCALE: store p50/p99 from a pingpong line.
put_ping() {
	local p50 p99
	p50=$(kv "$3" p50_us)
	p99=$(kv "$3" p99_us)
	if isnum "$p50" && isnum "$p99"; then
		R[$1p50,$2]=$(scaled "$p50" "$4")
		R[$1p99,$2]=$(scaled "$p99" "$4")
	else
		R[$1p50,$2]=fail
		R[$1p99,$2]=fail
	fi
}

# m_ping_bulk PREFIX COL PATH(5) BULK_SECS SCALE [IPERF_ARGS]: ping-pong while one iperf3
# stream runs through the same path (IPERF_ARGS e.g. "-R", "-b 1G"); also the bulk rate
# (Gbit/s, or Mbit/s = % of 100 Mbit when SCALE > 1).
m_ping_bulk() {
	local pre=$1 col=$2 cns=$3 host=$4 iport=$5 eport=$6 sns=$7 bsecs=$8 scale=$9
	local rev=${10:-} out line bulk bps
	budget_ok || return
	out=$TMP/bulk-$pre-$col.json
	iperf_server "$sns" || { R[${pre}p50,$col]=fail; return; }
	rm -f "$out"
	spawn "bulk-$pre-$col" "$cns" timeout -k 2 $((bsecs + 20)) iperf3 -c "$host" -p "$iport" \
	    -t "$bsecs" $rev -J --connect-timeout 5000 --logfile "$out"
	bulk=$SPAWNED
	sleep 2
	line=$(in_ns "$cns" timeout -k 2 $((bsecs + 10)) "$PROBE" pingpong "$host" "$eport" \
	    100000 1000 $((bsecs - 4)))
	wait "$bulk" 2>/dev/null
	stop "$IPERF_SRV"
	put_ping "$pre" "$col" "$line" "$scale"
	bps=$(iperf_bps "$out")
	if ! isnum "$bps"; then
		R[${pre}bulk,$col]=fail
	elif [ "$scale" -gt 1 ]; then
		R[${pre}bulk,$col]=$(awk -v b="$bps" 'BEGIN { printf "%.1f", b / 1e6 }')
	else
		R[${pre}bulk,$col]=$(awk -v b="$bps" 'BEGIN { printf "%.2f", b / 1e9 }')
	fi
	log "$col: ${pre}* under bulk ${rev:-(up)}: $line; bulk ${R[${pre}bulk,$col]}"
}

# m_connrate COL PATH(5): new connections per second.
m_connrate() {
	local col=$1 cns=$2 host=$3 eport=$5 line
	budget_ok || return
	line=$(in_ns "$cns" timeout -k 2 20 "$PROBE" connrate "$host" "$eport" 3 "$CONN_PAR")
	R[cps,$col]=$(kv "$line" per_s)
	isnum "${R[cps,$col]}" || R[cps,$col]=fail
	[ "$(kv "$line" errors)" = 0 ] || log "$col: connrate errors: $line"
	log "$col: connrate: $line"
}

# rss_kib PID...: sum of VmRSS in KiB.
rss_kib() {
	local p v sum=0
	for p in "$@"; do
		v=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		sum=$((sum + ${v:-0}))
	done
	echo "$sum"
}

# path_pids COL: the processes that carry COL's streams.
path_pids() {
	case $1 in
	rtun*) echo "$RTUND_PID $RTUN_PID" ;;
	p2p*) echo "$RTUND_PID $RTUN_PID $VISITOR_PID" ;;
	ssh) echo "$SSH_PID $SSHD_PID $(descendants "$SSHD_PID")" ;;
	haproxy) echo "$HAPA_PID $HAPB_PID" ;;
	route) echo "$ROUTE_PID" ;;
	haproxy1) echo "$HAPB_PID" ;;
	esac
}

# m_rss COL PATH(5): RSS per idle stream (KiB) with NSTREAMS connections held open.
m_rss() {
	local col=$1 cns=$2 host=$3 eport=$5 before after hold i
	budget_ok || return
	in_ns "$cns" timeout 10 "$PROBE" pingpong "$host" "$eport" 10 >/dev/null
	sleep 0.5
	before=$(rss_kib $(path_pids "$col"))
	spawn "hold-$col" "$cns" "$PROBE" hold "$host" "$eport" "$NSTREAMS" 60
	hold=$SPAWNED
	if ! wait_log "$TMP/hold-$col.log" 'hold ready' 1 "$hold"; then
		R[rss,$col]=fail
		stop "$hold"
		return
	fi
	sleep 1
	after=$(rss_kib $(path_pids "$col"))
	stop "$hold"
	R[rss,$col]=$(awk -v a="$after" -v b="$before" -v n="$NSTREAMS" \
	    'BEGIN { printf "%.2f", (a - b) / n }')
	sleep 1
	log "$col: RSS ${before} KiB idle, ${after} KiB with $NSTREAMS streams," \
	    "$(rss_kib $(path_pids "$col")) KiB after they closed"
}

# alive COL: the processes of COL still run (a dead tunnel gives "fail", not a hang).
alive() {
	local p pids
	case $1 in
	rtun*) pids="$RTUND_PID $RTUN_PID" ;;
	p2p*) pids="$RTUND_PID $RTUN_PID $VISITOR_PID" ;;
	ssh) pids="$SSH_PID $SSHD_PID" ;;
	haproxy) pids="$HAPA_PID $HAPB_PID" ;;
	route) pids="$ROUTE_PID" ;;
	haproxy1) pids="$HAPB_PID" ;;
	esac
	for p in ${pids:-}; do
		ours "$p" || { log "$1: process $p died"; return 1; }
	done
}

# lo_path COL: the loopback path of COL (client ns, host, iperf port, echo port, server ns).
lo_path() {
	case $1 in
	direct) echo "- 127.0.0.1 $IPERF_PORT $ECHO_PORT -" ;;
	rtun*) echo "- 127.0.0.1 $RTUN_IPERF $RTUN_ECHO -" ;;
	p2p-tunnel) echo "- 127.0.0.1 $RTUN_IPERF $RTUN_ECHO -" ;;
	p2p-direct) echo "- 127.0.0.1 $P2P_DIRECT $RTUN_ECHO -" ;;
	p2p-relay) echo "- 127.0.0.1 $P2P_RELAY $RTUN_ECHO -" ;;
	ssh) echo "- 127.0.0.1 $SSH_IPERF $SSH_ECHO -" ;;
	haproxy) echo "- 127.0.0.1 $HAPA_IPERF $HAPA_ECHO -" ;;
	route) echo "- 127.0.0.1 $ROUTE_IPERF $ROUTE_ECHO -" ;;
	haproxy1) echo "- 127.0.0.1 $HAPB_IPERF $HAPB_ECHO -" ;;
	esac
}

# collect COL KEY...: remember this round's values of KEYs for the median.
collect() {
	local col=$1 k
	shift
	for k in "$@"; do
		[ -n "${R[$k,$col]:-}" ] && S[$k,$col]+="${R[$k,$col]} "
	done
}

# medians: every collected metric becomes the median of its rounds (fails ignored).
medians() {
	local k v
	for k in $(printf '%s\n' "${!S[@]}" | sort); do
		v=$(tr ' ' '\n' <<<"${S[$k]}" | grep -E '^-?[0-9.]+$' | sort -g |
		    awk '{ v[NR] = $1 } END { if (NR == 0) print "fail";
		    else if (NR % 2) print v[(NR + 1) / 2];
		    else { fmt = v[1] ~ /\./ ? "%.2f\n" : "%.0f\n";
		    printf fmt, (v[NR / 2] + v[NR / 2 + 1]) / 2 } }')
		R[$k]=$v
		log "median of ${k/,/ in }: $v (rounds: ${S[$k]% })"
	done
}

# round_loopback COL: the loopback metrics that are noisy on a shared machine, once.
# run_loopback interleaves RTB_REPS rounds over the columns and keeps the medians.
round_loopback() {
	local col=$1 k keys="p50 p99 cps tput1 tput8 tput1r tput1cpu udp1 udp1loss"
	for k in $keys; do
		unset "R[$k,$col]"
	done
	alive "$col" || return
	m_ping "" "$col" $(lo_path "$col") 5000
	m_connrate "$col" $(lo_path "$col")
	m_iperf tput1 "$col" $(lo_path "$col") 1
	m_iperf tput8 "$col" $(lo_path "$col") 8
	m_iperf tput1r "$col" $(lo_path "$col") 1 -R
	m_iperf_udp "$col" $(lo_path "$col")
	collect "$col" $keys
}

# bulk_loopback COL: ping under unlimited and under 1 Gbit/s bulk through the same path.
bulk_loopback() {
	local col=$1
	alive "$col" || return
	m_ping_bulk b "$col" $(lo_path "$col") $((SECS + 4)) 1
	m_ping_bulk g "$col" $(lo_path "$col") $((SECS + 4)) 1 "-b 1G"
	alive "$col" || log "$col: died during the run"
}

# run_transports: rtun again over TLS and over WebSocket-over-TLS (same ports): single
# stream throughput and idle RTT, RTB_REPS rounds each, as the rows "over TLS/WSS".
run_transports() {
	local t r col
	for t in tls wss; do
		stop "$RTUN_PID"
		stop "$RTUND_PID"
		log "loopback: rtun over $t"
		start_rtun - - 127.0.0.1 "$t" || { log "rtun over $t did not start"; continue; }
		col=rtun-$t
		for r in $(seq "$REPS"); do
			budget_ok || break
			m_ping "" "$col" $(lo_path "$col") 5000
			m_iperf tput1 "$col" $(lo_path "$col") 1
			collect "$col" p50 tput1
		done
	done
	medians
	for t in tls wss; do
		R[${t}tput1,rtun]=${R[tput1,rtun-$t]:-fail}
		R[${t}tput1,ssh]=${R[tput1,ssh]:-}
		R[${t}p50,rtun]=${R[p50,rtun-$t]:-fail}
		R[${t}p50,ssh]=${R[p50,ssh]:-}
	done
}

# start_p2p: rtund and two agents: bench offers iperf on a public port and as a p2p
# service, visitor reaches it by a direct link (mode direct) and by relay (mode relay).
start_p2p() {
	cat >"$TMP/rtund-p2p.conf" <<-EOF
	[server]
	listen = 127.0.0.1:$LINK_PORT
	token = bench-token
	allow_ports = $RTUN_IPERF-$RTUN_ECHO
	bind_addr = 127.0.0.1
	EOF
	cat >"$TMP/rtun-p2p.conf" <<-EOF
	[agent]
	server = 127.0.0.1:$LINK_PORT
	token = bench-token
	name = bench

	[service iperf]
	local = 127.0.0.1:$IPERF_PORT
	remote_port = $RTUN_IPERF
	p2p = yes
	allow_peers = visitor
	EOF
	cat >"$TMP/visitor-p2p.conf" <<-EOF
	[agent]
	server = 127.0.0.1:$LINK_PORT
	token = bench-token
	name = visitor

	[visitor direct]
	peer = bench
	service = iperf
	local = 127.0.0.1:$P2P_DIRECT
	mode = direct

	[visitor relay]
	peer = bench
	service = iperf
	local = 127.0.0.1:$P2P_RELAY
	mode = relay
	EOF
	spawn rtund-p2p - "$BUILDDIR/rtund" -c "$TMP/rtund-p2p.conf"
	RTUND_PID=$SPAWNED
	wait_listen - "$LINK_PORT" "$RTUND_PID" rtund-p2p || return 1
	spawn rtun-p2p - "$BUILDDIR/rtun" -c "$TMP/rtun-p2p.conf"
	RTUN_PID=$SPAWNED
	wait_log "$TMP/rtun-p2p.log" 'remote port [0-9]+ ready' 1 "$RTUN_PID" || return 1
	spawn visitor-p2p - "$BUILDDIR/rtun" -c "$TMP/visitor-p2p.conf"
	VISITOR_PID=$SPAWNED
	wait_log "$TMP/visitor-p2p.log" 'direct link to bench up' 1 "$VISITOR_PID"
}

# run_p2p: one stream through the plain tunnel, the direct link and the relay of the same
# rtund, RTB_REPS interleaved rounds, for the P2P table.
run_p2p() {
	local r col
	log "loopback: P2P"
	start_p2p || { log "P2P paths did not start"; return; }
	for r in $(seq "$REPS"); do
		budget_ok || break
		for col in p2p-tunnel p2p-direct p2p-relay; do
			alive "$col" || continue
			m_iperf tput1 "$col" $(lo_path "$col") 1
			collect "$col" tput1
		done
	done
	medians
	for r in "$VISITOR_PID" "$RTUN_PID" "$RTUND_PID"; do
		stop "$r"
	done
}

# start_route: rtund alone, with two routes without agent to the targets (rinetd's job).
start_route() {
	cat >"$TMP/rtund-route.conf" <<-EOF
	[server]
	listen = 127.0.0.1:$LINK_PORT
	token = bench-token
	allow_ports = $RTUN_IPERF
	bind_addr = 127.0.0.1

	[route iperf]
	port = $ROUTE_IPERF
	connect = 127.0.0.1:$IPERF_PORT

	[route echo]
	port = $ROUTE_ECHO
	connect = 127.0.0.1:$ECHO_PORT
	EOF
	spawn rtund-route - "$BUILDDIR/rtund" -c "$TMP/rtund-route.conf"
	ROUTE_PID=$SPAWNED
	wait_listen - "$ROUTE_ECHO" "$ROUTE_PID" rtund-route
}

# run_routes: rtund's spliced route against one haproxy (haproxy-b of the chain, which
# forwards straight to the targets): one user-space relay and two TCP connections per user
# connection each. RTB_REPS interleaved rounds, for the routes table.
run_routes() {
	local r col keys="p50 cps tput1 tput1r tput1cpu"
	log "loopback: routes without agent"
	start_route || { log "rtund with routes did not start"; return; }
	for r in $(seq "$REPS"); do
		budget_ok || break
		for col in route haproxy1; do
			alive "$col" || continue
			m_ping "" "$col" $(lo_path "$col") 5000
			m_connrate "$col" $(lo_path "$col")
			m_iperf tput1 "$col" $(lo_path "$col") 1
			m_iperf tput1r "$col" $(lo_path "$col") 1 -R
			collect "$col" $keys
		done
	done
	medians
	stop "$ROUTE_PID"
}

# run_udp_only: RTB_ONLY_UDP=1: the UDP rows alone, direct and through rtun, RTB_REPS rounds.
run_udp_only() {
	local on=(direct) col r k
	start_targets - 127.0.0.1 || return 1
	start_rtun - - 127.0.0.1 && on+=(rtun)
	for r in $(seq "$REPS"); do
		for col in "${on[@]}"; do
			for k in udp1 udp1loss; do
				unset "R[$k,$col]"
			done
			m_iperf_udp "$col" $(lo_path "$col")
			collect "$col" udp1 udp1loss
		done
	done
	medians
	stop "$RTUN_PID"
	stop "$RTUND_PID"
	stop "$ECHO_PID"
}

run_loopback() {
	local on=(direct) col r p
	if [ "${RTB_ONLY_UDP:-0}" = 1 ]; then
		run_udp_only
		return
	fi
	log "loopback: starting targets and paths"
	start_targets - 127.0.0.1 || return 1
	if [ "${RTB_ONLY_ROUTES:-0}" = 1 ]; then
		start_haproxy && run_routes
		stop "$HAPA_PID"
		stop "$HAPB_PID"
		stop "$ECHO_PID"
		return 0
	fi
	if [ -x "$BUILDDIR/rtund" ] && [ -x "$BUILDDIR/rtun" ]; then
		start_rtun - - 127.0.0.1 && on+=(rtun)
	else
		log "no rtund/rtun in $BUILDDIR: rtun column skipped"
	fi
	start_ssh - - 127.0.0.1 && on+=(ssh)
	start_haproxy && on+=(haproxy)
	for col in "${on[@]}"; do
		[ "$col" = direct ] || m_rss "$col" $(lo_path "$col")
	done
	for r in $(seq "$REPS"); do
		[ $((SECONDS - START)) -lt $((MAX_RUN / 2)) ] || break
		log "loopback: round $r of $REPS"
		for col in "${on[@]}"; do
			round_loopback "$col"
		done
	done
	medians
	for col in "${on[@]}"; do
		bulk_loopback "$col"
	done
	[[ " ${on[*]} " == *" rtun "* ]] && run_transports
	if [[ " ${on[*]} " == *" rtun "* ]] && [ "${RTB_NO_P2P:-0}" != 1 ]; then
		stop "$RTUN_PID"
		stop "$RTUND_PID"
		run_p2p
	fi
	if [[ " ${on[*]} " == *" haproxy "* ]] && [ "${RTB_NO_ROUTES:-0}" != 1 ]; then
		stop "$RTUN_PID"
		stop "$RTUND_PID"
		run_routes
	fi
	[[ " ${on[*]} " == *" rtun "* ]] && [ "${RTB_NO_WEB:-0}" != 1 ] && run_web
	log "loopback: stopping paths"
	for p in "$SSH_PID" "$SSHD_PID" "$RTUN_PID" "$RTUND_PID" "$HAPA_PID" "$HAPB_PID" \
	    "$ECHO_PID"; do
		[ -n "$p" ] && stop "$p"
	done
	return 0
}

# ---- the 100 Mbit/s bottleneck ---------------------------------------------------------

# shape NS DEV: 100 Mbit/s HTB on DEV's egress; no GSO so packets are wire-sized.
shape() {
	ip -n "$1" link set "$2" gso_max_segs 1 &&
	    tc -n "$1" qdisc add dev "$2" root handle 1: htb default 10 &&
	    tc -n "$1" class add dev "$2" parent 1: classid 1:10 htb rate 100mbit ceil 100mbit \
	    quantum 1514 ||
	    return 1
	[ -z "${RTB_LEAF_QDISC:-}" ] ||
	    tc -n "$1" qdisc add dev "$2" parent 1:10 handle 10: $RTB_LEAF_QDISC
}

netns_setup() {
	ip netns add "$NS_SRV" && NETNS+=("$NS_SRV") || return 1
	ip netns add "$NS_AGT" && NETNS+=("$NS_AGT") || return 1
	ip link add rtbs$$ netns "$NS_SRV" type veth peer name rtba$$ netns "$NS_AGT" || return 1
	ip -n "$NS_SRV" addr add "$SRV_ADDR/24" dev rtbs$$ &&
	    ip -n "$NS_AGT" addr add "$AGT_ADDR/24" dev rtba$$ &&
	    ip -n "$NS_SRV" link set lo up && ip -n "$NS_AGT" link set lo up &&
	    ip -n "$NS_SRV" link set rtbs$$ up && ip -n "$NS_AGT" link set rtba$$ up &&
	    shape "$NS_SRV" rtbs$$ && shape "$NS_AGT" rtba$$
}

# measure_bottleneck COL PATH(5): idle ping, then ping under one bulk stream each way.
measure_bottleneck() {
	local col=$1
	shift
	m_ping n "$col" "$@" 1000 1000
	m_ping_bulk nu "$col" "$@" "$BN_SECS" 1000
	m_ping_bulk nd "$col" "$@" "$BN_SECS" 1000 -R
}

run_bottleneck() {
	NS_SRV=rtb-srv-$$ NS_AGT=rtb-agt-$$
	log "bottleneck: namespaces $NS_SRV (rtund, sshd, users) and $NS_AGT (rtun, ssh, targets)"
	netns_setup || { log "cannot set up the namespaces"; return 1; }
	CC=$(ip netns exec "$NS_SRV" sysctl -n net.ipv4.tcp_congestion_control 2>/dev/null)
	start_targets "$NS_AGT" 0.0.0.0 || return 1
	RTUND_PID="" RTUN_PID="" SSH_PID="" SSHD_PID=""
	[ -x "$BUILDDIR/rtund" ] && start_rtun "$NS_SRV" "$NS_AGT" "$SRV_ADDR" ||
	    RTUND_PID=
	start_ssh "$NS_SRV" "$NS_AGT" "$SRV_ADDR" || SSH_PID=
	measure_bottleneck direct "$NS_SRV" "$AGT_ADDR" "$IPERF_PORT" "$ECHO_PORT" "$NS_AGT"
	[ -n "$RTUND_PID" ] && alive rtun &&
	    measure_bottleneck rtun "$NS_SRV" 127.0.0.1 "$RTUN_IPERF" "$RTUN_ECHO" "$NS_AGT"
	[ -n "$SSH_PID" ] &&
	    measure_bottleneck ssh "$NS_SRV" 127.0.0.1 "$SSH_IPERF" "$SSH_ECHO" "$NS_AGT"
	tc -n "$NS_SRV" -s qdisc show dev rtbs$$ >"$TMP/tc-srv.txt" 2>&1
	return 0
}

# ---- the table -------------------------------------------------------------------------

# ratio A B: A/B with two decimals, or "-".
ratio() {
	isnum "$1" && isnum "$2" && awk -v a="$1" -v b="$2" 'BEGIN { if (b == 0) print "-";
	    else printf "%.2f", a / b }' || echo -
}

# ge A B [FACTOR]: A >= FACTOR*B, printed as yes/NO, or "?" without both numbers.
ge() {
	isnum "$1" && isnum "$2" || { echo "?"; return; }
	awk -v a="$1" -v b="$2" -v f="${3:-1}" 'BEGIN { r = a >= f * b ? "yes" : "NO"; print r }'
}

verdict() {
	case $1 in
	tput1)
		local h s
		h=$(ge "${R[tput1,rtun]:-}" "${R[tput1,haproxy]:-}")
		s=$(ge "${R[tput1,rtun]:-}" "${R[tput1,ssh]:-}" 1.5)
		if [ "$h$s" = yesyes ]; then echo yes; elif [[ "$h$s" == *NO* ]]; then echo NO
		else echo "?"; fi ;;
	p50) ge "${R[p50,haproxy]:-}" "${R[p50,rtun]:-}" ;;
	tlstput1) ge "${R[tlstput1,rtun]:-}" "${R[tput1,ssh]:-}" 1.2 ;;
	tlsp50) ge "${R[p50,rtun]:-}" "${R[tlsp50,rtun]:-}" 0.8333333 ;;
	bp99) ge "${R[p99,rtun]:-}" "${R[bp99,rtun]:-}" 0.3333333 ;;
	cps) ge "${R[cps,rtun]:-}" "${R[cps,haproxy]:-}" ;;
	rss) ge 8 "${R[rss,rtun]:-}" ;;
	nup99 | ndp99) ge 5 "${R[$1,rtun]:-}" ;;
	nubulk | ndbulk) ge "${R[$1,rtun]:-}" 90 ;;
	*) echo "" ;;
	esac
}

print_table() {
	local fmt='%-36s %9s %9s %9s %12s %9s %9s  %-26s %s\n'
	local rows=(
	"tput1|throughput 1 stream (Gbit/s)|>= haproxy, >= 1.5x ssh"
	"tput8|throughput 8 streams (Gbit/s)|"
	"tput1r|throughput 1 stream, down (Gbit/s)|"
	"tput1cpu|CPU s per GB, 1 stream (tunnel procs)|"
	"udp1|UDP 1400 B at $UDP_RATE: delivered (Gbit/s)|"
	"udp1loss|UDP 1400 B at $UDP_RATE: loss (%)|"
	"p50|RTT p50 idle (us)|<= haproxy"
	"p99|RTT p99 idle (us)|"
	"bp50|RTT p50 under bulk (us)|"
	"bp99|RTT p99 under bulk (us)|<= 3x idle p99"
	"bbulk|bulk during that ping (Gbit/s)|"
	"gp50|RTT p50 under 1 Gbit/s bulk (us)|"
	"gp99|RTT p99 under 1 Gbit/s bulk (us)|"
	"cps|new connections/s ($CONN_PAR parallel)|>= haproxy"
	"rss|RSS per idle stream (KiB, $NSTREAMS)|<= 8 KiB"
	"tlstput1|throughput 1 stream over TLS (Gbit/s)|>= 1.2x ssh"
	"wsstput1|throughput 1 stream over WSS (Gbit/s)|"
	"tlsp50|RTT p50 idle over TLS (us)|<= 1.2x rtun tcp"
	"wssp50|RTT p50 idle over WSS (us)|"
	"np50|100M: RTT p50 idle (ms)|"
	"np99|100M: RTT p99 idle (ms)|"
	"nup50|100M up: RTT p50 under bulk (ms)|"
	"nup99|100M up: RTT p99 under bulk (ms)|<= 5 ms"
	"nubulk|100M up: bulk (% of 100 Mbit)|>= 90%"
	"ndp50|100M down: RTT p50 under bulk (ms)|"
	"ndp99|100M down: RTT p99 under bulk (ms)|<= 5 ms"
	"ndbulk|100M down: bulk (% of 100 Mbit)|>= 90%"
	)
	local row key label target c vals v
	echo
	echo "rtun benchmark, $(date -u +%F' '%TZ), $(uname -r), $(nproc) CPUs, loopback CC" \
	    "$(sysctl -n net.ipv4.tcp_congestion_control), netns CC ${CC:-?}," \
	    "rtun $(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo '?')"
	[ -z "${RTB_RTUND_EXTRA:-}${RTB_RTUN_EXTRA:-}${RTB_LEAF_QDISC:-}" ] ||
	    echo "rtund extra: '${RTB_RTUND_EXTRA:-}', rtun extra: '${RTB_RTUN_EXTRA:-}'," \
	    "leaf qdisc: '${RTB_LEAF_QDISC:-pfifo}'"
	printf "$fmt" metric direct rtun "ssh -R" haproxy-2hop rtun/hap rtun/ssh target "met?"
	for row in "${rows[@]}"; do
		IFS='|' read -r key label target <<<"$row"
		vals=()
		for c in $COLS; do
			v=${R[$key,$c]:-n/a}
			vals+=("$v")
		done
		printf "$fmt" "$label" "${vals[@]}" "$(ratio "${R[$key,rtun]:-}" \
		    "${R[$key,haproxy]:-}")" "$(ratio "${R[$key,rtun]:-}" "${R[$key,ssh]:-}")" \
		    "$target" "$([ -n "$target" ] && verdict "$key")"
	done
	echo "(n/a: not measured for this column; fail: the measurement failed, see the log above)"
	[ -n "${R[tput1,p2p-direct]:-}${R[tput1,p2p-relay]:-}" ] || return 0
	fmt='%-30s %7s  %-28s %7s %6s  %-8s %s\n'
	echo
	printf "$fmt" "P2P, loopback, 1 stream" Gbit/s "against" Gbit/s ratio target "met?"
	printf "$fmt" "direct link (TLS 1.3 PSK)" "${R[tput1,p2p-direct]:-n/a}" "direct TCP" \
	    "${R[tput1,direct]:-n/a}" "$(ratio "${R[tput1,p2p-direct]:-}" "${R[tput1,direct]:-}")" \
	    ">= 0.9x" "$(ge "${R[tput1,p2p-direct]:-}" "${R[tput1,direct]:-}" 0.9)"
	printf "$fmt" "relayed through rtund" "${R[tput1,p2p-relay]:-n/a}" \
	    "the tunnel of the same rtund" "${R[tput1,p2p-tunnel]:-n/a}" \
	    "$(ratio "${R[tput1,p2p-relay]:-}" "${R[tput1,p2p-tunnel]:-}")" ">= 0.8x" \
	    "$(ge "${R[tput1,p2p-relay]:-}" "${R[tput1,p2p-tunnel]:-}" 0.8)"
	echo "(the direct link encrypts and direct TCP does not; on loopback both are CPU-bound)"
}

# print_routes: the table of routes without agent against one haproxy, when measured.
print_routes() {
	local fmt='%-40s %9s %12s %6s  %-12s %s\n' row key label target verdict
	local rows=(
	"tput1|throughput 1 stream (Gbit/s)|>= haproxy"
	"tput1r|throughput 1 stream, down (Gbit/s)|>= haproxy"
	"tput1cpu|CPU s per GB, 1 stream|"
	"p50|RTT p50 idle (us)|<= haproxy"
	"cps|new connections/s ($CONN_PAR parallel)|>= haproxy"
	)
	[ -n "${R[tput1,route]:-}" ] || return 0
	echo
	printf "$fmt" "route without agent, loopback" rtund haproxy-1hop ratio target "met?"
	for row in "${rows[@]}"; do
		IFS='|' read -r key label target <<<"$row"
		case $key in
		p50) verdict=$(ge "${R[$key,haproxy1]:-}" "${R[$key,route]:-}") ;;
		tput1cpu) verdict= ;;
		*) verdict=$(ge "${R[$key,route]:-}" "${R[$key,haproxy1]:-}") ;;
		esac
		printf "$fmt" "$label" "${R[$key,route]:-n/a}" "${R[$key,haproxy1]:-n/a}" \
		    "$(ratio "${R[$key,route]:-}" "${R[$key,haproxy1]:-}")" "$target" "$verdict"
	done
}


# shellcheck source-path=SCRIPTDIR source=bench-web.sh
. "$(dirname "$0")/bench-web.sh"

# ---- main ------------------------------------------------------------------------------

main() {
	local t
	[ -n "$BUILDDIR" ] || usage
	BUILDDIR=$(cd "$BUILDDIR" 2>/dev/null && pwd) || usage
	PROBE=$BUILDDIR/tests/bench/rtprobe
	[ -x "$PROBE" ] || { log "$PROBE missing: run make in $BUILDDIR"; exit 2; }
	[ "$(id -u)" = 0 ] || { log "needs root (namespaces, tc, sshd)"; exit 2; }
	for t in iperf3 haproxy ssh ssh-keygen /usr/sbin/sshd ip tc ss jq timeout; do
		command -v "$t" >/dev/null || { log "missing tool: $t"; exit 2; }
	done
	for t in $ECHO_PORT $IPERF_PORT $LINK_PORT $RTUN_IPERF $RTUN_ECHO $SSHD_PORT $SSH_IPERF \
	    $SSH_ECHO $HAPA_IPERF $HAPA_ECHO $HAPB_IPERF $HAPB_ECHO $P2P_DIRECT $P2P_RELAY \
	    $ROUTE_IPERF $ROUTE_ECHO $WEB_NGINX $WEB_TCP $WEB_HTTP; do
		port_free "$t" || exit 2
	done
	SRCDIR=$(cd "$(dirname "$0")" && pwd)
	TMP=$(mktemp -d /tmp/rtun-bench.XXXXXX) || exit 2
	cd "$TMP" || exit 2
	trap cleanup EXIT
	trap 'log interrupted; exit 130' INT TERM
	ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
	ssh_keys || { log "ssh-keygen failed"; exit 2; }
	RTUND_PID="" RTUN_PID="" VISITOR_PID="" SSH_PID="" SSHD_PID="" HAPA_PID="" HAPB_PID=""
	ROUTE_PID=""
	[ "${RTB_NO_LOOPBACK:-0}" = 1 ] || run_loopback
	if [ "${RTB_NO_NETNS:-0}" != 1 ] && [ "${RTB_ONLY_UDP:-0}" != 1 ] &&
	    [ "${RTB_ONLY_ROUTES:-0}" != 1 ] && budget_ok; then
		run_bottleneck
	fi
	if [ "${RTB_ONLY_ROUTES:-0}" = 1 ]; then
		print_routes
	else
		print_table
		print_routes
		print_web
	fi
	log "done in $((SECONDS - START)) s"
	exit 0
}

main
