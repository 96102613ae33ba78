#!/bin/bash
# rtund and rtun under a real, private supervisord, with the program sections shipped in
# contrib/supervisord (paths substituted, every other setting as shipped):
#  - the tunnel works;
#  - kill -9 of the agent: supervisord restarts it and the service works again;
#  - a program with a broken config exits 78 at once, is retried startretries times and
#    ends FATAL, without looping;
#  - supervisorctl stop: the agent drains its open stream for shutdown_timeout and exits 0
#    ("stopped: rtun (exit status 0)"), well within stopwaitsecs; the same for rtund.
IT_NUM=11
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

command -v supervisord >/dev/null 2>&1 || skip "supervisord not installed (Debian: supervisor)"
command -v supervisorctl >/dev/null 2>&1 || skip "supervisorctl not installed"
CONTRIB=$(cd "$(dirname "$0")/../../contrib/supervisord" 2>/dev/null && pwd) ||
	hard_error "contrib/supervisord not found next to tests/"

SV_CONF=$IT_DIR/supervisord.conf
SV_LOG=$IT_DIR/supervisord.log
SV_PID=

sv() {
	timeout 30 supervisorctl -c "$SV_CONF" "$@"
}

# sv_pid PROGRAM: its PID, or 0 when it does not run.
sv_pid() {
	local p
	p=$(sv pid "$1" 2>/dev/null)
	case $p in
	'' | *[!0-9]*) echo 0 ;;
	*) echo "$p" ;;
	esac
}

# sv_state PROGRAM: RUNNING, STARTING, BACKOFF, FATAL, STOPPED, EXITED ...
sv_state() {
	sv status "$1" 2>/dev/null | awk -v p="$1" '$1 == p { print $2 }'
}

# wait_state PROGRAM STATE SECONDS
wait_state() {
	local i
	for ((i = 0; i <= $3 * 10; i++)); do
		[ "$(sv_state "$1")" = "$2" ] && return 0
		sleep 0.1
	done
	echo "$1 is $(sv_state "$1"), not $2, after $3 s" >&2
	return 1
}

# Shut supervisord down (its programs get SIGTERM and stopwaitsecs), then make sure
# nothing it started survives; runs before lib.sh's cleanup.
sv_cleanup() {
	local i pid kids
	[ -n "$SV_PID" ] || return 0
	if pid_alive "$SV_PID"; then
		kids=$(ps -o pid= --ppid "$SV_PID" 2>/dev/null)
		sv shutdown >/dev/null 2>&1
		for ((i = 0; i < 300; i++)); do
			pid_alive "$SV_PID" || break
			sleep 0.1
		done
		for pid in $kids; do
			pid_alive "$pid" && kill -KILL "$pid" 2>/dev/null
		done
		pid_alive "$SV_PID" && kill -KILL "$SV_PID" 2>/dev/null
	fi
	wait "$SV_PID" 2>/dev/null
	SV_PID=
}
trap 'rc=$?; set +e; sv_cleanup; (exit $rc); it_cleanup' EXIT

# The shipped program section with this test's paths: binary, config, log file.
program_from_contrib() {
	local src=$1 name=$2 bin=$3 conf=$4
	sed -e "s|^\[program:[a-z]*\]|[program:$name]|" \
		-e "s|^command=[^ ]* -c [^ ]*|command=$bin -c $conf|" \
		-e "s|^stdout_logfile=.*|stdout_logfile=$IT_DIR/$name.log|" \
		-e "s|^;*user=.*||" "$src"
}

# setting FILE KEY: the value of KEY= in a program section.
setting() {
	sed -n -E "s/^$2=(.*)$/\\1/p" "$1" | tail -n 1
}

note "the shipped program sections"
for f in rtund rtun; do
	src=$CONTRIB/$f.conf
	[ -f "$src" ] || hard_error "$src missing"
	for kv in autorestart=unexpected exitcodes=0 startsecs=2 startretries=3 stopsignal=TERM \
		redirect_stderr=true; do
		grep -qx -- "$kv" "$src" || fail "$src: no '$kv' line"
	done
	grep -q "^command=/usr/local/s*bin/$f -c /etc/rtun/$f.conf$" "$src" ||
		fail "$src: unexpected command= line"
	# stopwaitsecs must leave the drain its full default shutdown_timeout (10 s).
	[ "$(setting "$src" stopwaitsecs)" -gt 10 ] || fail "$src: stopwaitsecs must exceed 10"
done
STARTRETRIES=$(setting "$CONTRIB/rtund.conf" startretries)
STOPWAIT=$(setting "$CONTRIB/rtun.conf" stopwaitsecs)

note "configs and supervisord"
start_tool echo echo-server --listen "$IT_ADDR:$(port 1)"
server_conf "$IT_DIR/rtund.conf" heartbeat_interval=1s heartbeat_timeout=3s
agent_conf "$IT_DIR/rtun.conf" reconnect_min=200ms reconnect_max=1s shutdown_timeout=3s \
	"svc:echo=$IT_ADDR:$(port 1),$(port 10)"
svc=$IT_ADDR:$(port 10)
ready="service echo: remote port $(port 10) ready"
# A misspelt key: rtund must exit 78 at once.
server_conf "$IT_DIR/broken.conf" "listen=$IT_ADDR:$(port 2)" allow_portz=1
"$RTUND" -t -c "$IT_DIR/broken.conf" >/dev/null 2>&1
[ $? = 78 ] || hard_error "rtund -t does not exit 78 on broken.conf"

mkdir -p "$IT_DIR/programs"
program_from_contrib "$CONTRIB/rtund.conf" rtund "$RTUND" "$IT_DIR/rtund.conf" \
	>"$IT_DIR/programs/rtund.conf"
program_from_contrib "$CONTRIB/rtun.conf" rtun "$RTUN" "$IT_DIR/rtun.conf" \
	>"$IT_DIR/programs/rtun.conf"
program_from_contrib "$CONTRIB/rtund.conf" broken "$RTUND" "$IT_DIR/broken.conf" \
	>"$IT_DIR/programs/broken.conf"
if grep -E '/usr/local|/etc/rtun|/var/log' "$IT_DIR"/programs/*.conf | grep -v '^[^:]*:;'; then
	hard_error "a shipped path was not substituted"
fi
cat >"$SV_CONF" <<EOF
[unix_http_server]
file=$IT_DIR/supervisor.sock
chmod=0700

[supervisord]
logfile=$SV_LOG
pidfile=$IT_DIR/supervisord.pid
childlogdir=$IT_DIR
loglevel=info

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://$IT_DIR/supervisor.sock

[include]
files = $IT_DIR/programs/*.conf
EOF

start_bg supervisord-run supervisord -n -c "$SV_CONF"
SV_PID=$LAST_PID
for ((i = 0; i < 100; i++)); do
	[ -S "$IT_DIR/supervisor.sock" ] && sv pid >/dev/null 2>&1 && break
	pid_alive "$SV_PID" || fail "supervisord exited: $(cat "$IT_DIR/supervisord-run.log")"
	sleep 0.1
done
[ -S "$IT_DIR/supervisor.sock" ] || fail "supervisord did not open its socket within 10 s"

note "part 1: both daemons come up and the tunnel works"
wait_state rtund RUNNING 15 || fail "rtund did not reach RUNNING"
wait_for_log rtun "$ready" 15 || fail "the service never became ready"
wait_state rtun RUNNING 15 || fail "rtun did not reach RUNNING"
for p in rtund rtun; do
	sv_pid "$p" >>"$IT_DIR/.pids"
done
tcptool echo-client --connect "$svc" --conns 3 --timeout 10 >/dev/null ||
	fail "echo through the tunnel failed"

note "part 2: kill -9 the agent; supervisord restarts it"
old=$(sv_pid rtun)
[ "$old" -gt 0 ] || fail "no PID for rtun"
t0=$(now_ms)
kill -KILL "$old"
new=0
for ((i = 0; i < 100; i++)); do
	new=$(sv_pid rtun)
	[ "$new" -gt 0 ] && [ "$new" != "$old" ] && break
	sleep 0.1
done
if [ "$new" -le 0 ] || [ "$new" = "$old" ]; then
	fail "supervisord did not restart rtun within 10 s"
fi
echo "$new" >>"$IT_DIR/.pids"
wait_for_log rtun "$ready" 10 2 || fail "the restarted agent's service never became ready"
tcptool echo-client --connect "$svc" --conns 3 --timeout 10 >/dev/null ||
	fail "echo failed after the restart"
note "service back $(($(now_ms) - t0)) ms after kill -9 (pid $old -> $new)"
grep -q "exited: rtun (terminated by SIGKILL; not expected)" "$SV_LOG" ||
	fail "supervisord did not log the kill as unexpected"
wait_state rtun RUNNING 10 || fail "the restarted rtun did not reach RUNNING"

note "part 3: a broken config exits 78 and ends FATAL after $STARTRETRIES retries"
wait_state broken FATAL 30 || fail "the broken program did not end FATAL within 30 s"
starts=$(grep -c "spawned: 'broken'" "$SV_LOG")
exits=$(grep -c "exited: broken (exit status 78; not expected)" "$SV_LOG")
note "broken: $starts starts, $exits exits with status 78"
[ "$starts" = $((STARTRETRIES + 1)) ] ||
	fail "broken was started $starts times, want 1 + startretries = $((STARTRETRIES + 1))"
[ "$exits" = "$starts" ] || fail "broken: $exits exits with status 78 for $starts starts"
grep -q "gave up: broken entered FATAL state" "$SV_LOG" || fail "no 'gave up' line for broken"
grep -q "broken.conf:[0-9]*: unknown key \"allow_portz\"" "$IT_DIR/broken.log" ||
	fail "broken's log does not show the file:line message"
sleep 3
[ "$(grep -c "spawned: 'broken'" "$SV_LOG")" = "$starts" ] || fail "broken is started again"
[ "$(sv_state broken)" = FATAL ] || fail "broken left FATAL: $(sv_state broken)"

note "part 4: supervisorctl stop rtun drains an open stream, then exit 0"
start_tool hold hold --connect "$svc" --max-wait 30
wait_for_file "$IT_DIR/hold.out" "ready=1" 10 || fail "the user never got its stream up"
t0=$(now_ms)
sv stop rtun >"$IT_DIR/stop.out" 2>&1 || fail "supervisorctl stop rtun: $(cat "$IT_DIR/stop.out")"
dt=$(($(now_ms) - t0))
note "stop took $dt ms (shutdown_timeout 3s, stopwaitsecs $STOPWAIT)"
grep -q "stopped: rtun (exit status 0)" "$SV_LOG" ||
	fail "supervisord did not log 'stopped: rtun (exit status 0)'"
[ "$dt" -lt $((STOPWAIT * 1000)) ] || fail "stopping rtun took $dt ms"
# The open stream holds the agent for its whole shutdown_timeout (3 s).
[ "$dt" -ge 2500 ] || fail "rtun stopped after $dt ms: it did not let the open stream finish"
wait_exit "$(pid_of hold)" 5 || fail "the user's connection outlived the agent"
[ "$(sv_state rtun)" = STOPPED ] || fail "rtun is $(sv_state rtun) after stop"

sv stop rtund >"$IT_DIR/stop.out" 2>&1 || fail "supervisorctl stop rtund: $(cat "$IT_DIR/stop.out")"
grep -q "stopped: rtund (exit status 0)" "$SV_LOG" ||
	fail "supervisord did not log 'stopped: rtund (exit status 0)'"

sv_cleanup
grep -E "spawned|exited|stopped|gave up|success" "$SV_LOG" | sed 's/^/    /'
exit 0
