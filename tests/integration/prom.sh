# Helpers of the Prometheus tests (t45, t46): promtool and a real Prometheus scraping the
# daemons on this test's address.  Bash; source it after lib.sh.
# shellcheck shell=bash

PROMETHEUS=$(command -v prometheus) || fail "prometheus is needed (scripts/deps.sh installs it)"
PROMTOOL=$(command -v promtool) || fail "promtool is needed (package prometheus)"
command -v curl >/dev/null 2>&1 || fail "curl is needed (scripts/deps.sh installs it)"
[ -f "$TOOLS/promapi.py" ] || hard_error "TOOLS=$TOOLS has no promapi.py"
# The API of the Prometheus prom_start started.
PROM_API=

promapi() {
	"$PYTHON" "$TOOLS/promapi.py" "$@"
}

# scrape ADDR FILE: GET http://ADDR/metrics into FILE; fails unless 200.
scrape() {
	local code
	code=$(curl -sS --max-time 5 -o "$2" -w '%{http_code}' "http://$1/metrics") ||
		fail "curl http://$1/metrics failed"
	[ "$code" = 200 ] || fail "GET http://$1/metrics: status $code"
}

# promtool_check NAME ADDR: promtool check metrics accepts /metrics of ADDR (kept as
# NAME.prom) without a single complaint, and it has samples.
promtool_check() {
	local f=$IT_DIR/$1.prom out
	scrape "$2" "$f"
	[ "$(grep -c -v '^#' "$f")" -gt 0 ] || fail "$1: /metrics has no samples"
	out=$("$PROMTOOL" check metrics <"$f" 2>&1) ||
		fail "promtool check metrics rejects $1's /metrics: $out"
	[ -z "$out" ] || fail "promtool check metrics complains about $1's /metrics: $out"
	note "promtool: $1's /metrics clean ($(grep -c '^# TYPE' "$f") metrics," \
		"$(grep -c -v '^#' "$f") samples)"
}

# prom_start LISTEN JOB=ADDR[,ADDR...]...: a real Prometheus on LISTEN, its data under
# IT_DIR, scraping each job's daemons every second; returns once every target is up
# (30 s at most).  lib.sh stops it by PID.
prom_start() {
	local listen=$1 j t conf=$IT_DIR/prometheus.yml i n up
	shift
	{
		printf 'global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n'
		printf '  evaluation_interval: 1s\nscrape_configs:\n'
		for j in "$@"; do
			printf '  - job_name: %s\n    static_configs:\n      - targets:\n' "${j%%=*}"
			IFS=, read -r -a t <<<"${j#*=}"
			printf "          - '%s'\n" "${t[@]}"
		done
	} >"$conf"
	"$PROMTOOL" check config "$conf" >"$IT_DIR/promtool-config.out" 2>&1 ||
		fail "promtool rejects $conf: $(cat "$IT_DIR/promtool-config.out")"
	start_bg prometheus "$PROMETHEUS" --config.file="$conf" \
		--storage.tsdb.path="$IT_DIR/prometheus-data" --web.listen-address="$listen"
	PROM_API=http://$listen
	n=$(grep -c "^          - " "$conf")
	for ((i = 0; i < 300; i++)); do
		pid_alive "$(pid_of prometheus)" || fail "prometheus exited: $(tail -n 5 "$IT_DIR/prometheus.log")"
		up=$(promapi targets --api "$PROM_API" 2>/dev/null | grep -c ' up$')
		[ "${up:-0}" -eq "$n" ] && break
		sleep 0.1
	done
	[ "${up:-0}" -eq "$n" ] ||
		fail "after 30 s $up of $n targets are up: $(promapi targets --api "$PROM_API" 2>&1)"
	note "prometheus on $listen: $n targets up after $((i / 10)).$((i % 10)) s"
}

# prom_query EXPR: the samples of EXPR now, one a line ({LABELS} VALUE); fails on an error.
prom_query() {
	promapi query --api "$PROM_API" "$1" || fail "Prometheus did not run query $1"
}

# prom_value EXPR: the value of EXPR's only sample; fails unless there is exactly one.
prom_value() {
	local out
	out=$(prom_query "$1") || exit 1
	[ "$(printf '%s\n' "$out" | grep -c .)" -eq 1 ] ||
		fail "query $1: expected one sample, got: ${out:-none}"
	echo "${out##* }"
}

# prom_wait EXPR OP WANT [SECONDS=10]: polls Prometheus until the value of EXPR compares
# to WANT (awk OP), then prints it; fails with the last value after SECONDS.
prom_wait() {
	local expr=$1 op=$2 want=$3 secs=${4:-10} i v=
	for ((i = 0; i <= secs * 5; i++)); do
		v=$(promapi query --api "$PROM_API" "$expr" 2>/dev/null | sed -n '1s/.* //p')
		if [ -n "$v" ] && awk -v a="$v" -v b="$want" "BEGIN { exit !(a + 0 $op b + 0) }"; then
			echo "    prometheus: $expr = $v ($op $want)"
			return 0
		fi
		sleep 0.2
	done
	prom_query "$expr" >/dev/null
	fail "prometheus: $expr = ${v:-no data} after ${secs}s, expected $op $want"
}

# daemon_value FILE NAME [LABEL...]: the value of the first sample of NAME in the scraped
# FILE whose labels hold every LABEL (e.g. service=\"echo\"); fails when there is none.
daemon_value() {
	local file=$1 name=$2
	shift 2
	awk -v n="$name" -v want="$*" '
		/^#/ { next }
		{
			base = $1; sub(/\{.*/, "", base)
			if (base != n) next
			k = split(want, ls, " ")
			for (i = 1; i <= k; i++)
				if (!index($1, ls[i])) next
			print $2; found = 1; exit
		}
		END { exit !found }' "$file" || fail "no sample $name${*:+ with $*} in ${file##*/}"
}
