# Shared helpers for tests/integration/t*.sh.  Bash; source it after setting IT_NUM.
# shellcheck shell=bash
#
# Each test gets its own temporary directory, its own loopback address (127.X.Y.Z, picked
# at random, so that two runs of the suite at once never collide) and its own port range
# 20000 + IT_NUM*100 .. +99, so tests can run in parallel under `make -j check`.  Every
# process a test starts is recorded by PID and stopped by that PID in the EXIT trap, on
# success and failure alike; on failure the trap prints the daemons' logs.
#
# Exit codes follow automake: 0 pass, 1 fail, 77 skip, 99 hard error.
#
# Environment: RTUND, RTUN (the binaries) and TOOLS (tests/tools), set by
# tests/integration/local.mk.  IT_KEEP=1 keeps the directory; IT_DEBUG=1 runs the daemons
# with -d; IT_ADDR picks the loopback address.

set -u

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

skip() {
	echo "SKIP: $*" >&2
	exit 77
}

hard_error() {
	echo "ERROR: $*" >&2
	exit 99
}

note() {
	echo "--- $*"
}

[ -n "${IT_NUM:-}" ] || hard_error "set IT_NUM before sourcing lib.sh"
[ "${BASH_VERSINFO[0]}" -ge 5 ] || skip "bash 5 needed (EPOCHREALTIME)"
if [ -z "${RTUND:-}" ] || [ -z "${RTUN:-}" ] || [ -z "${TOOLS:-}" ]; then
	hard_error "RTUND, RTUN and TOOLS must be set (make check sets them)"
fi
[ -x "$RTUND" ] || hard_error "RTUND=$RTUND is not an executable"
[ -x "$RTUN" ] || hard_error "RTUN=$RTUN is not an executable"
[ -f "$TOOLS/tcptool.py" ] || hard_error "TOOLS=$TOOLS has no tcptool.py"
PYTHON=${PYTHON:-python3}
command -v "$PYTHON" >/dev/null 2>&1 || skip "$PYTHON not found"
[ -r /proc/self/status ] || skip "needs Linux /proc"

# The test's own stdout and stderr, for the cleanup: a trap may run while a command's
# output is redirected to a file.
exec {IT_FD_OUT}>&1 {IT_FD_ERR}>&2
IT_PIDS=()
IT_NAMES=()
# A command prefix for every process the test starts (it_netns sets it).
IT_EXEC=()
IT_NETNS=
# Functions the cleanup calls with the exit status (natlab.sh adds natlab_down).
IT_CLEANUP_HOOKS=()
IT_WATCHDOG=
EXIT_STATUS=
IT_DIR=$(mktemp -d "${TMPDIR:-/tmp}/rtun-it$IT_NUM.XXXXXX") || hard_error "mktemp failed"
IT_ADDR=${IT_ADDR:-127.$((RANDOM % 250 + 2)).$((RANDOM % 250 + 2)).$((IT_NUM % 250 + 2))}
IT_TOKEN="it-token-$IT_NUM-$RANDOM$RANDOM"
IT_DFLAG=()
[ "${IT_DEBUG:-0}" = 1 ] && IT_DFLAG=(-d)
# Keep ASan's quarantine small so that RSS measures the daemons, not freed memory.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=16"

# port N: the Nth port (0..99) of this test's range.
port() {
	echo $((20000 + IT_NUM * 100 + $1))
}

# now_ms: monotonic enough wall clock in milliseconds.
now_ms() {
	local t=${EPOCHREALTIME/[.,]/}
	echo $((t / 1000))
}

# pid_alive PID: true while PID runs (a zombie or a missing process is not alive).
pid_alive() {
	[ -r "/proc/$1/status" ] && ! grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# pid_report PID: what a process that will not exit is doing, for the log.
pid_report() {
	grep -E '^(State|Threads):' "/proc/$1/status" 2>/dev/null | tr '\n' ' '
	echo "wchan=$(cat "/proc/$1/wchan" 2>/dev/null)"
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf 'fd %f -> %l\n' 2>/dev/null | head -n 20
	ps -o pid=,stat=,wchan:24=,args= --ppid "$1" 2>/dev/null | sed 's/^/child: /' | head -n 5
	if command -v ss >/dev/null 2>&1; then
		ss -tanp 2>/dev/null | grep -F "pid=$1," | head -n 20
	fi
	if [ "${IT_GDB:-0}" = 1 ] && command -v gdb >/dev/null 2>&1; then
		timeout 30 gdb -p "$1" -batch -ex "thread apply all bt" 2>/dev/null | grep -E '^(#|Thread)'
	fi
}

# stop_pid PID [NAME]: SIGTERM (and SIGCONT if it is stopped), up to 5 s, then SIGKILL;
# reaps it.
stop_pid() {
	local pid=$1 name=${2:-} i
	if pid_alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		if grep -q '^State:[[:space:]]*T' "/proc/$pid/status" 2>/dev/null; then
			kill -CONT "$pid" 2>/dev/null
		fi
		for ((i = 0; i < 50; i++)); do
			pid_alive "$pid" || break
			sleep 0.1
		done
		if pid_alive "$pid"; then
			echo "note: $name (pid $pid) still running 5 s after SIGTERM; sending SIGKILL" >&2
			pid_report "$pid" >&2
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	return 0
}

it_dump() {
	local f
	for f in "$IT_DIR"/*.conf "$IT_DIR"/*.log "$IT_DIR"/*.out "$IT_DIR"/*.err; do
		[ -s "$f" ] || continue
		echo "==== ${f##*/} (last 60 lines) ===="
		tail -n 60 "$f"
	done
}

# netns_purge NAME: ends every process still inside network namespace NAME (SIGTERM, then
# SIGKILL after 2 s), then deletes it, and with it its interfaces and iptables rules.
netns_purge() {
	local ns=$1 pids i
	pids=$(ip netns pids "$ns" 2>/dev/null)
	if [ -n "$pids" ]; then
		# shellcheck disable=SC2086 # one PID a word
		kill -TERM $pids 2>/dev/null
		for ((i = 0; i < 20; i++)); do
			pids=$(ip netns pids "$ns" 2>/dev/null)
			[ -n "$pids" ] || break
			sleep 0.1
		done
		# shellcheck disable=SC2086
		[ -n "$pids" ] && kill -KILL $pids 2>/dev/null
	fi
	ip netns del "$ns" 2>/dev/null
	return 0
}

# it_netns_track NAME: namespace NAME is the test's: the cleanup (or the watchdog, should
# the test die without its trap) purges it.
it_netns_track() {
	echo "$1" >>"$IT_DIR/.netns"
}

# it_netns_forget NAME: NAME is gone (the test purged it itself).
it_netns_forget() {
	[ -f "$IT_DIR/.netns" ] || return 0
	grep -v -x -F -- "$1" "$IT_DIR/.netns" >"$IT_DIR/.netns.new"
	mv -f "$IT_DIR/.netns.new" "$IT_DIR/.netns"
}

it_cleanup() {
	local rc=$? i h ns
	set +e
	trap - EXIT INT TERM HUP
	exec 1>&"$IT_FD_OUT" 2>&"$IT_FD_ERR"
	kill "$IT_WATCHDOG" 2>/dev/null
	wait "$IT_WATCHDOG" 2>/dev/null
	for ((i = ${#IT_PIDS[@]} - 1; i >= 0; i--)); do
		stop_pid "${IT_PIDS[i]}" "${IT_NAMES[i]}"
	done
	# Hooks (natlab_down, say) run after the processes are stopped and before the logs
	# are printed; each gets the exit status.
	for h in "${IT_CLEANUP_HOOKS[@]}"; do
		"$h" "$rc"
	done
	# Deleting a namespace also removes every interface and iptables rule made inside it.
	if [ -f "$IT_DIR/.netns" ]; then
		while read -r ns; do
			[ -n "$ns" ] && netns_purge "$ns"
		done <"$IT_DIR/.netns"
	fi
	# A sanitizer report in any daemon log fails the test, even one that passed.
	if grep -l -E 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' \
		"$IT_DIR"/*.log >/dev/null 2>&1; then
		echo "FAIL: sanitizer report in a daemon log:" >&2
		grep -n -E -A 30 'ERROR: (Address|Leak|Thread|Memory)Sanitizer|runtime error:' \
			"$IT_DIR"/*.log | head -n 120 >&2
		[ "$rc" -eq 0 ] && rc=1
	fi
	if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
		echo "==== test $IT_NUM failed (exit $rc); address $IT_ADDR, dir $IT_DIR ====" >&2
		it_dump >&2
	fi
	if [ "${IT_KEEP:-0}" = 1 ]; then
		echo "kept $IT_DIR"
	else
		rm -rf "$IT_DIR"
	fi
	exit "$rc"
}
trap it_cleanup EXIT
trap 'echo "interrupted" >&"$IT_FD_ERR"; exit 99' INT TERM HUP

# The watchdog bounds the whole test: after IT_TIMEOUT seconds it sends the test SIGTERM
# (its trap cleans up and exits 99).  Should the test shell die without its trap
# (SIGKILL), the watchdog stops the PIDs the test recorded in .pids and removes the dir.
it_watchdog() {
	local parent=$1 i pid ns
	for ((i = 0; i < IT_TIMEOUT; i++)); do
		sleep 1
		kill -0 "$parent" 2>/dev/null || break
	done
	if kill -0 "$parent" 2>/dev/null; then
		echo "watchdog: test $IT_NUM still running after ${IT_TIMEOUT}s; stopping it" >&2
		kill -TERM "$parent"
		exit 0
	fi
	if [ -f "$IT_DIR/.pids" ]; then
		while read -r pid; do
			pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
		done <"$IT_DIR/.pids"
	fi
	if [ -f "$IT_DIR/.netns" ]; then
		while read -r ns; do
			[ -n "$ns" ] && netns_purge "$ns"
		done <"$IT_DIR/.netns"
	fi
	[ "${IT_KEEP:-0}" = 1 ] || rm -rf "$IT_DIR"
	exit 0
}
IT_TIMEOUT=${IT_TIMEOUT:-300}
it_watchdog "$$" >&2 </dev/null &
IT_WATCHDOG=$!

# start_bg NAME CMD...: runs CMD in the background, stdout to NAME.out, stderr to NAME.log;
# records its PID for cleanup and leaves it in LAST_PID.
start_bg() {
	local name=$1
	shift
	"${IT_EXEC[@]}" "$@" >"$IT_DIR/$name.out" 2>"$IT_DIR/$name.log" &
	LAST_PID=$!
	IT_PIDS+=("$LAST_PID")
	IT_NAMES+=("$name")
	echo "$LAST_PID" >>"$IT_DIR/.pids"
	eval "PID_${name//[^A-Za-z0-9_]/_}=$LAST_PID"
}

# pid_of NAME: the PID start_bg recorded for NAME.
pid_of() {
	local v="PID_${1//[^A-Za-z0-9_]/_}"
	echo "${!v}"
}

# tcptool ARGS...: runs tests/tools/tcptool.py in the foreground (it bounds itself).
tcptool() {
	"${IT_EXEC[@]}" "$PYTHON" "$TOOLS/tcptool.py" "$@"
}

fakeagent() {
	"${IT_EXEC[@]}" "$PYTHON" "$TOOLS/fakeagent.py" "$@"
}

# it_netns: from here on, every process the test starts runs in a network namespace of
# its own (loopback only), deleted with everything in it when the test ends.  For tests
# that change the network (iptables) without touching the host's.
it_netns() {
	command -v ip >/dev/null 2>&1 || fail "ip (iproute2) is needed"
	[ "$(id -u)" = 0 ] || fail "network namespaces need root"
	IT_NETNS="rtun-it$IT_NUM-$$"
	ip netns add "$IT_NETNS" || fail "cannot create network namespace $IT_NETNS"
	it_netns_track "$IT_NETNS"
	ip netns exec "$IT_NETNS" ip link set lo up || fail "cannot bring up lo in $IT_NETNS"
	IT_EXEC=(ip netns exec "$IT_NETNS")
}

# in_netns CMD...: runs CMD in the test's namespace (or here, without one).
in_netns() {
	"${IT_EXEC[@]}" "$@"
}

# start_tool NAME SUBCOMMAND ARGS...: a tcptool in the background; servers are waited for.
start_tool() {
	local name=$1
	shift
	start_bg "$name" "$PYTHON" "$TOOLS/tcptool.py" "$@"
	case $1 in
	*-server)
		wait_for_file "$IT_DIR/$name.out" "listening=" 10 ||
			fail "$name ($1) did not start listening"
		;;
	esac
}

# wait_for_file FILE TEXT [SECONDS=10] [COUNT=1]: polls until FILE has COUNT lines with TEXT.
wait_for_file() {
	local file=$1 text=$2 secs=${3:-10} count=${4:-1} i n
	for ((i = 0; i <= secs * 10; i++)); do
		n=$(grep -c -F -- "$text" "$file" 2>/dev/null)
		[ "${n:-0}" -ge "$count" ] && return 0
		sleep 0.1
	done
	echo "timed out after ${secs}s waiting for '$text' (x$count) in ${file##*/}" >&2
	return 1
}

# wait_for_log NAME TEXT [SECONDS] [COUNT]: the same on the stderr log of process NAME.
wait_for_log() {
	wait_for_file "$IT_DIR/$1.log" "${@:2}"
}

# log_count NAME TEXT: how many lines of NAME's log hold TEXT.
log_count() {
	local n
	n=$(grep -c -F -- "$2" "$IT_DIR/$1.log" 2>/dev/null)
	echo "${n:-0}"
}

# wait_exit PID [SECONDS=10]: true once PID has exited; reaps it and sets EXIT_STATUS.
# shellcheck disable=SC2034 # EXIT_STATUS is read by the tests
wait_exit() {
	local pid=$1 secs=${2:-10} i
	for ((i = 0; i <= secs * 10; i++)); do
		if ! pid_alive "$pid"; then
			wait "$pid" 2>/dev/null
			EXIT_STATUS=$?
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# kill_wait SIGNAL NAME [SECONDS=5]: sends SIGNAL to the process started as NAME and
# waits for it to exit (quietly: no "Killed" notice from the shell).
kill_wait() {
	local pid
	pid=$(pid_of "$2")
	kill "-$1" "$pid" 2>/dev/null
	wait_exit "$pid" "${3:-5}" 2>/dev/null
}

# wait_port ADDR:PORT [SECONDS=10]: true once a TCP connect succeeds.
wait_port() {
	tcptool probe --connect "$1" --until open --within "${2:-10}" >/dev/null
}

# wait_port_closed ADDR:PORT [SECONDS=10]: true once connects are refused.
wait_port_closed() {
	tcptool probe --connect "$1" --until closed --within "${2:-10}" >/dev/null
}

# kv KEY FILE: the value of the last KEY=VALUE word in FILE.
kv() {
	sed -n -E "s/(^|.* )$1=([^ ]*).*/\\2/p" "$2" | tail -n 1
}

# rss_kb PID: resident set size in KiB.
rss_kb() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

# write_conf FILE SECTION DEFAULTS... -- OVERRIDES...: writes "[SECTION]" and key = value
# lines; an override with an empty value drops the key.  "svc:NAME=LOCAL,PORT[,KEY=VALUE...]"
# arguments add [service NAME] sections (local, remote_port and any further keys).
write_conf() {
	local file=$1 section=$2 a k
	local -A vals=()
	local -a order=() svcs=() fields=()
	shift 2
	for a in "$@"; do
		[ "$a" = -- ] && continue
		case $a in
		svc:*)
			svcs+=("${a#svc:}")
			continue
			;;
		esac
		k=${a%%=*}
		[ -n "${vals[$k]+set}" ] || order+=("$k")
		vals[$k]=${a#*=}
	done
	{
		echo "[$section]"
		for k in "${order[@]}"; do
			[ -n "${vals[$k]}" ] && echo "$k = ${vals[$k]}"
		done
		for a in "${svcs[@]}"; do
			echo
			echo "[service ${a%%=*}]"
			IFS=, read -r -a fields <<<"${a#*=}"
			echo "local = ${fields[0]}"
			echo "remote_port = ${fields[1]}"
			for k in "${fields[@]:2}"; do
				echo "${k%%=*} = ${k#*=}"
			done
		done
	} >"$file"
}

# server_conf FILE [key=value ...]: an rtund.conf on this test's address and ports;
# services may use ports 10..49 of the range.
server_conf() {
	local file=$1
	shift
	write_conf "$file" server "listen=$IT_ADDR:$(port 0)" "token=$IT_TOKEN" \
		"allow_ports=$(port 10)-$(port 49)" "bind_addr=$IT_ADDR" "log_level=info" -- "$@"
}

# agent_conf FILE [key=value ...] [svc:NAME=LOCAL,PORT ...]: an rtun.conf for this test.
agent_conf() {
	local file=$1
	shift
	write_conf "$file" agent "server=$IT_ADDR:$(port 0)" "token=$IT_TOKEN" \
		"name=agent$IT_NUM" "log_level=info" -- "$@"
}

# start_rtund NAME CONF: starts rtund and waits until its agent port accepts.
start_rtund() {
	start_bg "$1" "$RTUND" "${IT_DFLAG[@]}" -c "$2"
	local listen
	listen=$(sed -n -E 's/^listen *= *//p' "$2")
	if ! wait_port "${listen:-$IT_ADDR:$(port 0)}" 10; then
		fail "$1 did not listen on ${listen:-?} within 10 s"
	fi
}

# start_rtun NAME CONF: starts an agent (readiness is the caller's wait_for_log).
start_rtun() {
	start_bg "$1" "$RTUN" "${IT_DFLAG[@]}" -c "$2"
}

# tunnel_up WORD...: rtund and an agent on this test's address, started as rtund and rtun
# from $IT_DIR/rtund.conf and $IT_DIR/rtun.conf; returns once every service is ready.
# Each WORD is one of
#   svc:NAME=LOCAL,PORT[,KEY=VALUE...]   a service of the agent (as in write_conf);
#   server:KEY=VALUE                     a key of rtund.conf;
#   agent:KEY=VALUE                      a key of rtun.conf;
#   KEY=VALUE                            a key of both.
tunnel_up() {
	local a fields
	local -a server_keys=() agent_keys=() svcs=()
	for a in "$@"; do
		case $a in
		svc:*)
			agent_keys+=("$a")
			svcs+=("${a#svc:}")
			;;
		server:*=*) server_keys+=("${a#server:}") ;;
		agent:*=*) agent_keys+=("${a#agent:}") ;;
		*=*) server_keys+=("$a") agent_keys+=("$a") ;;
		*) hard_error "tunnel_up: '$a' is neither svc:..., server:KEY=VALUE, agent:KEY=VALUE nor KEY=VALUE" ;;
		esac
	done
	server_conf "$IT_DIR/rtund.conf" "${server_keys[@]}"
	agent_conf "$IT_DIR/rtun.conf" "${agent_keys[@]}"
	start_rtund rtund "$IT_DIR/rtund.conf"
	start_rtun rtun "$IT_DIR/rtun.conf"
	for a in "${svcs[@]}"; do
		IFS=, read -r -a fields <<<"${a#*=}"
		wait_for_log rtun "service ${a%%=*}: remote port ${fields[1]} ready" 15 ||
			fail "service ${a%%=*} (remote port ${fields[1]}) never ready"
	done
}

# expect_intact CLIENT SERVICE [CONN=1] [SECONDS=30]: the transfer between CLIENT (a
# tcptool sha-client or halfclose whose report is in CLIENT.out) and the CONNth connection
# of the sha-server SERVICE moved every byte intact both ways, and both ends saw a clean
# end.  Waits up to SECONDS for the two reports.
expect_intact() {
	local client=$1 svc=$2 conn=${3:-1} secs=${4:-30} c=$IT_DIR/$1.out s
	s=$IT_DIR/$svc.conn$conn
	wait_for_file "$c" "recv_sha256=" "$secs" || fail "$client: the transfer never finished"
	wait_for_file "$IT_DIR/$svc.out" "recv_sha256=" "$secs" "$conn" ||
		fail "$svc: connection $conn never finished"
	grep -F "recv_sha256=" "$IT_DIR/$svc.out" | sed -n "${conn}p" >"$s"
	[ "$(kv recv_bytes "$s")" = "$(kv sent_bytes "$c")" ] ||
		fail "$client -> $svc: the service got $(kv recv_bytes "$s") of $(kv sent_bytes "$c") bytes"
	[ "$(kv recv_sha256 "$s")" = "$(kv sent_sha256 "$c")" ] ||
		fail "$client -> $svc: the service got other bytes than were sent (sha256)"
	[ "$(kv recv_bytes "$c")" = "$(kv sent_bytes "$s")" ] ||
		fail "$svc -> $client: the user got $(kv recv_bytes "$c") of $(kv sent_bytes "$s") bytes"
	[ "$(kv recv_sha256 "$c")" = "$(kv sent_sha256 "$s")" ] ||
		fail "$svc -> $client: the user got other bytes than were sent (sha256)"
	[ "$(kv result "$c")" = ok ] || fail "$client: the transfer ended with $(kv result "$c")"
	[ "$(kv result "$s")" = ok ] || fail "$svc: connection $conn ended with $(kv result "$s")"
	note "$client <-> $svc: intact, $(kv sent_bytes "$c") bytes up, $(kv recv_bytes "$c") down"
}

# expect_alive NAME: fails unless the process started as NAME still runs.
expect_alive() {
	pid_alive "$(pid_of "$1")" || fail "$1 is not running any more"
}

note "test $IT_NUM: address $IT_ADDR, ports $(port 0)..$(port 99), dir $IT_DIR"
