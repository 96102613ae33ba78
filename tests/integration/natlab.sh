# A NAT lab for the peer-to-peer integration tests.  Bash; source it after lib.sh.
# shellcheck shell=bash
# shellcheck disable=SC2034 # the NATLAB_ variables are for the tests that source this
#
# natlab_up builds, out of network namespaces only, two private LANs behind two NAT
# routers on a shared public segment:
#
#     pub 203.0.113.1 --+
#                       |  wan (a bridge in a namespace of its own)
#     ra  203.0.113.2 --+-- rb 203.0.113.3
#      | NAT                 | NAT
#     LAN 10.1.0.0/24       LAN 10.2.0.0/24
#      a 10.1.0.10           b 10.2.0.10
#      a2 10.1.0.11 (optional)
#
# pub is the public host (where rtund runs); it routes only 203.0.113.0/24, so it sees
# nothing of the LANs but the routers' public addresses.  Each LAN is a bridge inside its
# router; the hosts' default route is their router.  A router forwards (ip_forward is on in
# the routers only) LAN to WAN, lets in what belongs to a connection it has seen go out
# (conntrack ESTABLISHED,RELATED), drops every other packet from the WAN, forwarded or for
# itself, and has no port forwards.  Its NAT is one of
#   cone       MASQUERADE: endpoint-independent mapping, the local port kept if it is free;
#   symmetric  MASQUERADE --random-fully: a fresh random public port for every connection.
# Nothing ever leaves the namespaces, and the host's own network and iptables are never
# touched; the namespaces' names start with a prefix unique to the test run, so tests in
# parallel never collide.  natlab_down deletes them, and with them every interface and
# iptables rule of the lab; lib.sh's cleanup runs it on every exit, and its watchdog
# purges the namespaces should the test die without its trap.
#
# Start background processes in a host with natlab_start (or natlab_with HOST start_tool,
# start_rtund...): they go through lib.sh's start_bg, so their PIDs are recorded and stopped
# by PID.  Processes left inside a namespace are ended by natlab_down all the same.

[ -n "${IT_DIR:-}" ] || { echo "ERROR: source lib.sh before natlab.sh" >&2; exit 99; }

NATLAB_PUB_IP=203.0.113.1
NATLAB_RA_IP=203.0.113.2
NATLAB_RB_IP=203.0.113.3
NATLAB_RA_LAN_IP=10.1.0.1
NATLAB_RB_LAN_IP=10.2.0.1
NATLAB_A_IP=10.1.0.10
NATLAB_A2_IP=10.1.0.11
NATLAB_B_IP=10.2.0.10
NATLAB_HOSTS="pub ra rb a a2 b"
NATLAB_PREFIX="rtun-nl$IT_NUM-$$-"
# The namespaces natlab_up made, in the order made; empty while the lab is down.
NATLAB_NS=()
# The NAT kinds of RA and RB while the lab is up.
NATLAB_KIND_A=
NATLAB_KIND_B=
IT_CLEANUP_HOOKS+=(natlab_cleanup)

# natlab_ns HOST: the name of HOST's namespace (HOST: pub ra rb a a2 b, or wan).
natlab_ns() {
	case $1 in
	pub | ra | rb | a | a2 | b | wan) echo "$NATLAB_PREFIX$1" ;;
	*) hard_error "natlab: no host '$1' (pub ra rb a a2 b)" ;;
	esac
}

# natlab_exec HOST CMD...: runs CMD in HOST's namespace, in the foreground.
natlab_exec() {
	local ns
	ns=$(natlab_ns "$1") || exit 99
	shift
	ip netns exec "$ns" "$@"
}

# natlab_with HOST FUNC ARGS...: calls a lib.sh helper (start_bg, start_tool, start_rtund,
# tcptool, wait_port...) with every process it starts placed in HOST's namespace.
natlab_with() {
	local ns rc
	local -a saved=("${IT_EXEC[@]}")
	ns=$(natlab_ns "$1") || exit 99
	shift
	IT_EXEC=(ip netns exec "$ns")
	"$@"
	rc=$?
	IT_EXEC=("${saved[@]}")
	return "$rc"
}

# natlab_start HOST NAME CMD...: start_bg NAME CMD... inside HOST (PID in LAST_PID).
natlab_start() {
	local host=$1
	shift
	natlab_with "$host" start_bg "$@"
}

# natlab_sysctl NS KEY=VALUE...: sets sysctls inside namespace NS.
natlab_sysctl() {
	local ns=$1
	shift
	ip netns exec "$ns" sysctl -q -w "$@" >/dev/null || fail "natlab: sysctl $* in $ns failed"
}

# natlab_add_ns HOST: creates HOST's namespace with loopback up, IPv6 off, no forwarding.
natlab_add_ns() {
	local ns
	ns=$(natlab_ns "$1") || exit 99
	ip netns add "$ns" || fail "natlab: cannot create namespace $ns"
	NATLAB_NS+=("$ns")
	it_netns_track "$ns"
	ip -n "$ns" link set lo up || fail "natlab: lo in $ns"
	natlab_sysctl "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
		net.ipv4.ip_forward=0
	# With br_netfilter loaded, bridged frames would go through this namespace's
	# iptables: the LAN switch inside a router must stay a plain switch.
	if ip netns exec "$ns" test -e /proc/sys/net/bridge/bridge-nf-call-iptables; then
		natlab_sysctl "$ns" net.bridge.bridge-nf-call-iptables=0
	fi
}

# natlab_bridge HOST DEV [ADDR/LEN]: a bridge DEV in HOST, up, with an address if given.
natlab_bridge() {
	local ns
	ns=$(natlab_ns "$1") || exit 99
	ip -n "$ns" link add "$2" type bridge forward_delay 0 stp_state 0 ||
		fail "natlab: bridge $2 in $ns"
	[ -n "${3:-}" ] && { ip -n "$ns" addr add "$3" dev "$2" || fail "natlab: $3 on $2"; }
	ip -n "$ns" link set "$2" up || fail "natlab: $2 up in $ns"
}

# natlab_wire SWITCH BRIDGE PORT HOST DEV ADDR/LEN: a veth from port PORT of BRIDGE in
# SWITCH to DEV in HOST, which gets ADDR; both ends up.  Made inside the namespaces.
natlab_wire() {
	local sw hns
	sw=$(natlab_ns "$1") || exit 99
	hns=$(natlab_ns "$4") || exit 99
	ip -n "$sw" link add "$3" type veth peer name "$5" netns "$hns" ||
		fail "natlab: veth $1/$3 - $4/$5"
	ip -n "$sw" link set "$3" master "$2" up || fail "natlab: $3 into $2 in $sw"
	ip -n "$hns" addr add "$6" dev "$5" || fail "natlab: $6 on $4/$5"
	ip -n "$hns" link set "$5" up || fail "natlab: $4/$5 up"
}

# natlab_router HOST KIND: HOST's filter and NAT rules (KIND cone or symmetric), forwarding on.
natlab_router() {
	local ns random=
	ns=$(natlab_ns "$1") || exit 99
	[ "$2" = symmetric ] && random=" --random-fully"
	ip netns exec "$ns" iptables-restore <<EOF || fail "natlab: iptables rules of $1"
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i wan0 -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A INPUT -i wan0 -j DROP
-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT
-A FORWARD -i lan0 -o wan0 -m conntrack --ctstate NEW -j ACCEPT
-A FORWARD -i lan0 -o lan0 -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
-A POSTROUTING -o wan0 -j MASQUERADE$random
COMMIT
EOF
	natlab_sysctl "$ns" net.ipv4.ip_forward=1
}

# natlab_wait_ports: true once every bridge port of the lab forwards (up to 3 s).
natlab_wait_ports() {
	local i h ns busy
	for ((i = 0; i < 30; i++)); do
		busy=0
		for h in wan ra rb; do
			ns=$(natlab_ns "$h") || exit 99
			bridge -n "$ns" link show 2>/dev/null | grep -q -v 'state forwarding' && busy=1
		done
		[ "$busy" = 0 ] && return 0
		sleep 0.1
	done
	return 1
}

# natlab_up KIND_A KIND_B [with_a2]: builds the lab, RA's NAT of KIND_A and RB's of KIND_B
# (cone or symmetric); with_a2 adds host A2 beside A.
natlab_up() {
	local ka=$1 kb=$2 a2=${3:-} k h
	[ "${#NATLAB_NS[@]}" = 0 ] || hard_error "natlab_up: the lab is already up"
	for k in "$ka" "$kb"; do
		case $k in
		cone | symmetric) ;;
		*) hard_error "natlab_up: NAT kind '$k' is neither cone nor symmetric" ;;
		esac
	done
	case $a2 in
	'' | with_a2) ;;
	*) hard_error "natlab_up: third argument '$a2' is not with_a2" ;;
	esac
	[ "$(id -u)" = 0 ] || fail "natlab: network namespaces need root"
	for k in ip bridge iptables iptables-restore sysctl; do
		command -v "$k" >/dev/null 2>&1 || fail "natlab: $k is needed (scripts/deps.sh)"
	done
	NATLAB_KIND_A=$ka
	NATLAB_KIND_B=$kb
	for h in wan pub ra rb a b ${a2:+a2}; do
		natlab_add_ns "$h"
	done
	natlab_bridge wan br0
	natlab_wire wan br0 p-pub pub eth0 "$NATLAB_PUB_IP/24"
	natlab_wire wan br0 p-ra ra wan0 "$NATLAB_RA_IP/24"
	natlab_wire wan br0 p-rb rb wan0 "$NATLAB_RB_IP/24"
	natlab_bridge ra lan0 "$NATLAB_RA_LAN_IP/24"
	natlab_wire ra lan0 p-a a eth0 "$NATLAB_A_IP/24"
	[ -n "$a2" ] && natlab_wire ra lan0 p-a2 a2 eth0 "$NATLAB_A2_IP/24"
	natlab_bridge rb lan0 "$NATLAB_RB_LAN_IP/24"
	natlab_wire rb lan0 p-b b eth0 "$NATLAB_B_IP/24"
	for h in a ${a2:+a2}; do
		natlab_exec "$h" ip route add default via "$NATLAB_RA_LAN_IP" || fail "natlab: route of $h"
	done
	natlab_exec b ip route add default via "$NATLAB_RB_LAN_IP" || fail "natlab: route of b"
	natlab_router ra "$ka"
	natlab_router rb "$kb"
	natlab_wait_ports || fail "natlab: bridge ports not forwarding within 3 s"
	note "natlab: up, RA $ka, RB $kb${a2:+, with A2}; namespaces $NATLAB_PREFIX*"
}

# natlab_dump: the routers' rules with counters and their conntrack tables, for the log.
natlab_dump() {
	local h ns
	for h in ra rb; do
		ns=$(natlab_ns "$h") || exit 99
		[ -e "/run/netns/$ns" ] || continue
		{
			echo "== $h: iptables-save -c"
			ip netns exec "$ns" iptables-save -c 2>&1 | grep -v '^#'
			echo "== $h: conntrack"
			ip netns exec "$ns" cat /proc/net/nf_conntrack 2>&1
		} >"$IT_DIR/natlab-$h.log"
	done
}

# natlab_down: ends what still runs in the lab and deletes all of its namespaces.
natlab_down() {
	local i
	for ((i = ${#NATLAB_NS[@]} - 1; i >= 0; i--)); do
		netns_purge "${NATLAB_NS[i]}"
		it_netns_forget "${NATLAB_NS[i]}"
	done
	NATLAB_NS=()
	NATLAB_KIND_A=
	NATLAB_KIND_B=
}

# natlab_cleanup STATUS: lib.sh's cleanup hook: the routers' state into the log on
# failure, then natlab_down.
natlab_cleanup() {
	if [ "${#NATLAB_NS[@]}" -gt 0 ] && [ "$1" != 0 ] && [ "$1" != 77 ]; then
		natlab_dump
	fi
	natlab_down
}
