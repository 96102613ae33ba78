# Helpers for the peer-to-peer tests in the NAT lab.  Bash; source it after lib.sh and
# natlab.sh.
# shellcheck shell=bash
#
# The cast: rtund on PUB, agent "bee" on B with the services, agent "ayy" on A with the
# visitors, and agent "ayy2" on A2 (same NAT as A) when the lab has it.  Every process is
# started with natlab_start, so lib.sh stops it by PID and natlab_down ends whatever is
# left in a namespace.  Metrics are served on each host's own loopback and read from
# inside that host.
#
# Ports of the test's range: 0 rtund's agent port, 1..9 services' and visitors' ports,
# 10..49 public ports rtund may give out, 90 metrics everywhere (one per namespace).

P2P_SERVER="$NATLAB_PUB_IP:$(port 0)"
P2P_METRICS=127.0.0.1:$(port 90)
# The token every agent of the lab shares with rtund.
P2P_TOKEN=$IT_TOKEN

# p2p_rtund NAME KEY=VALUE...: rtund on PUB from $IT_DIR/NAME.conf, debug logging, with
# the given keys on top of the lab's defaults; waits for its agent port.
p2p_rtund() {
	local name=$1
	shift
	write_conf "$IT_DIR/$name.conf" server "listen=$P2P_SERVER" "token=$P2P_TOKEN" \
		"allow_ports=$(port 10)-$(port 49)" "bind_addr=$NATLAB_PUB_IP" "log_level=debug" \
		"metrics_listen=$P2P_METRICS" -- "$@"
	natlab_with pub start_rtund "$name" "$IT_DIR/$name.conf"
}

# p2p_agent_conf FILE AGENTNAME KEY=VALUE...: the [agent] section of an agent of the lab;
# the caller appends its [service] and [visitor] sections.
p2p_agent_conf() {
	local file=$1 name=$2
	shift 2
	write_conf "$file" agent "server=$P2P_SERVER" "token=$P2P_TOKEN" "name=$name" \
		"log_level=debug" "metrics_listen=$P2P_METRICS" "punch_timeout=5" -- "$@"
}

# p2p_service FILE NAME LOCAL ALLOW [KEY=VALUE...]: appends a p2p service section.
p2p_service() {
	local file=$1 name=$2 local=$3 allow=$4 kv
	shift 4
	{
		printf '\n[service %s]\nlocal = %s\np2p = yes\nallow_peers = %s\n' \
			"$name" "$local" "$allow"
		for kv in "$@"; do
			printf '%s = %s\n' "${kv%%=*}" "${kv#*=}"
		done
	} >>"$file"
}

# p2p_visitor FILE NAME PEER SERVICE LOCAL MODE: appends a visitor section.
p2p_visitor() {
	printf '\n[visitor %s]\npeer = %s\nservice = %s\nlocal = %s\nmode = %s\n' \
		"$2" "$3" "$4" "$5" "$6" >>"$1"
}

# p2p_start HOST NAME CONF: the agent NAME on HOST; waits until it authenticated to rtund.
p2p_start() {
	local host=$1 name=$2
	natlab_start "$host" "$name" "$RTUN" -c "$3"
	wait_for_log "$name" "authenticated to " 15 || fail "$name never authenticated to rtund"
}

# metric HOST NAME [LABELS]: the value of sample NAME{LABELS} (NAME alone: the sample
# without labels, or the sum of all its samples when it has labels) on HOST's metrics
# endpoint; 0 when absent.
metric() {
	local host=$1 name=$2 labels=${3:-}
	natlab_exec "$host" curl -s -m 5 "http://$P2P_METRICS/metrics" 2>/dev/null |
		awk -v n="$name" -v l="$labels" '
			/^#/ { next }
			{
				s = $1
				base = s; sub(/\{.*/, "", base)
				if (base != n) next
				if (l != "") {
					if (index(s, "{") && index(s, l)) { v += $2; hit = 1 }
				} else { v += $2; hit = 1 }
			}
			END { if (!hit) print 0; else if (v == int(v)) printf "%.0f\n", v; else print v }'
}

# wait_metric HOST NAME LABELS WANT SECONDS: polls until the sample equals WANT.
wait_metric() {
	local i
	for ((i = 0; i <= $5 * 5; i++)); do
		[ "$(metric "$1" "$2" "$3")" = "$4" ] && return 0
		sleep 0.2
	done
	return 1
}

# p2p_direct_peer NAME PEER: the address the direct link of agent NAME to PEER is up
# with, from its last "direct link to PEER up (ADDR) after N s" line.
p2p_direct_peer() {
	sed -n -E "s/.*direct link to $2 up \(([^)]*)\) after .*/\\1/p" "$IT_DIR/$1.log" |
		tail -n 1
}

# p2p_direct_secs NAME PEER: the N of the last such line.
p2p_direct_secs() {
	sed -n -E "s/.*direct link to $2 up \([^)]*\) after ([0-9.]+)s.*/\\1/p" \
		"$IT_DIR/$1.log" | tail -n 1
}

# p2p_sha HOST NAME ADDR BYTES SECONDS: a sha-client in HOST to ADDR, in the foreground,
# bounded by SECONDS; its report in NAME.out.
p2p_sha() {
	natlab_exec "$1" timeout "$(($5 + 5))" "$PYTHON" "$TOOLS/tcptool.py" sha-client \
		--connect "$3" --send "$4" --timeout "$5" >"$IT_DIR/$2.out" 2>"$IT_DIR/$2.err"
}

# p2p_rate NAME: MB/s (MiB per second) of a sha-client report, both directions counted.
p2p_rate() {
	local f=$IT_DIR/$1.out
	awk -v s="$(kv sent_bytes "$f")" -v r="$(kv recv_bytes "$f")" -v t="$(kv elapsed "$f")" \
		'BEGIN { if (t > 0) printf "%.1f", (s + r) / 1048576 / t; else print "?" }'
}

# p2p_down TAG: stops every process the test started, by PID, takes the lab down, and
# keeps the files of this round as TAG@NAME so that the next round starts afresh (and a
# failure's dump or a sanitizer report still finds them).
p2p_down() {
	local i f
	for ((i = ${#IT_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${IT_PIDS[i]}" "${IT_NAMES[i]}"
	done
	IT_PIDS=()
	IT_NAMES=()
	: >"$IT_DIR/.pids"
	natlab_down
	for f in "$IT_DIR"/*; do
		case ${f##*/} in
		*@*) ;;
		*) mv -f "$f" "$IT_DIR/$1@${f##*/}" ;;
		esac
	done
}
