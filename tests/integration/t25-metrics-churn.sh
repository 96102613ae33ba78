#!/bin/bash
# Agents that come and go under ever new names, and reloads, do not grow rtund: the
# per-agent and per-service metric series of departed agents go away (a few idle
# counters excepted, METRICS_IDLE_MAX), so RSS stays flat over thousands of renames.
IT_NUM=25
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# No quarantine: freed memory is reused at once, so RSS shows what rtund keeps.
export ASAN_OPTIONS="$ASAN_OPTIONS:quarantine_size_mb=0"
RENAMES=${IT_RENAMES:-3000}
# Growth allowed over RENAMES renames, or reloads (the leak this guards against kept
# 192 bytes of series per rename: about 900 KiB over 3000 with ASan's redzones).
MAX_GROWTH_KB=${IT_MAX_GROWTH_KB:-400}
# Reloads: freed configs that the allocator keeps cached show up as up to a few hundred
# KiB on a loaded machine; a config kept per reload would be several MiB over 300. A
# config lost per reload is a leak LeakSanitizer reports at exit, which fails the test.
MAX_RELOAD_GROWTH_KB=${IT_MAX_RELOAD_GROWTH_KB:-1536}

server_conf "$IT_DIR/rtund.conf" "metrics_listen=$IT_ADDR:$(port 2)"
start_rtund rtund "$IT_DIR/rtund.conf"
rtund_pid=$(pid_of rtund)
agent_addr=$IT_ADDR:$(port 0)

# churn PREFIX COUNT: COUNT agents in turn, PREFIX0 .. PREFIX<COUNT-1>, each declaring a
# service and leaving.
churn() {
	fakeagent --connect "$agent_addr" --token "$IT_TOKEN" --mode auth --hold 0 \
		--name "$1" --count "$2" --service "web:$(port 10)" --timeout 10 \
		>"$IT_DIR/churn-$1.out" 2>"$IT_DIR/churn-$1.err" ||
		fail "churn $1: $(cat "$IT_DIR/churn-$1.err")"
	[ "$(grep -c '^auth=ok' "$IT_DIR/churn-$1.out")" = "$2" ] ||
		fail "churn $1: not every agent authenticated"
}

# reloads FROM TO: SIGHUP number FROM to TO, each waited for (a signal sent before the
# last was handled would merge with it).
reloads() {
	local i j
	for ((i = $1; i <= $2; i++)); do
		kill -HUP "$rtund_pid"
		for ((j = 0; j < 500; j++)); do
			[ "$(log_count rtund "configuration reloaded")" -ge "$i" ] && break
			sleep 0.01
		done
		[ "$j" -lt 500 ] || fail "reload $i not logged within 5 s"
	done
}

# Warm up: the allocator's caches settle only after some hundred reloads, and the idle
# counters fill.
note "warm-up: 1000 agents, 600 reloads"
churn warm 1000
reloads 1 600
before=$(rss_kb "$rtund_pid")
t0=$(now_ms)
note "$RENAMES agents under new names (RSS before: $before KiB)"
churn ren "$RENAMES"
after=$(rss_kb "$rtund_pid")
note "RSS after: $after KiB, growth $((after - before)) KiB in $(($(now_ms) - t0)) ms"
[ $((after - before)) -le "$MAX_GROWTH_KB" ] ||
	fail "rtund grew by $((after - before)) KiB over $RENAMES renames (limit $MAX_GROWTH_KB)"

series=$(tcptool probe --connect "$IT_ADDR:$(port 2)" --until open --within 5 >/dev/null &&
	"$PYTHON" -c '
import sys, urllib.request
text = urllib.request.urlopen("http://%s/metrics" % sys.argv[1], timeout=5).read().decode()
print(sum(1 for l in text.splitlines() if l.startswith("rtund_service_bytes_in_total{")))
' "$IT_ADDR:$(port 2)") || fail "cannot read the metrics"
note "rtund_service_bytes_in_total series left: $series"
[ "$series" -le 256 ] || fail "$series series of departed agents are still served"

note "300 reloads"
before=$after
reloads 601 900
after=$(rss_kb "$rtund_pid")
note "RSS after reloads: $after KiB, growth $((after - before)) KiB"
[ $((after - before)) -le "$MAX_RELOAD_GROWTH_KB" ] ||
	fail "rtund grew by $((after - before)) KiB over 300 reloads (limit $MAX_RELOAD_GROWTH_KB)"
expect_alive rtund
exit 0
