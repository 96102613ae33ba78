# Helpers for the route tests (t33-t35); source after lib.sh.
# shellcheck shell=bash

command -v curl >/dev/null 2>&1 || fail "curl is needed to read the metrics"

# route FILE NAME PORT CONNECT [KEY=VALUE...]: appends [route NAME] to the rtund.conf FILE.
route() {
	local file=$1 name=$2 port=$3 connect=$4 kv
	shift 4
	{
		echo
		echo "[route $name]"
		echo "port = $port"
		echo "connect = $connect"
		for kv in "$@"; do
			echo "${kv%%=*} = ${kv#*=}"
		done
	} >>"$file"
}

# metric ADDR NAME [LABELS]: the value of sample NAME{LABELS} (LABELS a part of the label
# set, e.g. route="r",reason="forbidden"; none: the sum of every sample of NAME) served
# at http://ADDR/metrics; 0 when absent.
metric() {
	curl -s -m 5 "http://$1/metrics" 2>/dev/null |
		awk -v n="$2" -v l="${3:-}" '
			/^#/ { next }
			{
				base = $1; sub(/\{.*/, "", base)
				if (base != n || (l != "" && !index($1, l))) next
				v += $2; hit = 1
			}
			END { if (!hit) print 0; else printf "%.0f\n", v }'
}

# expect_metric ADDR NAME LABELS WANT [SECONDS=5]: fails unless the sample reaches WANT.
expect_metric() {
	local i v
	for ((i = 0; i <= ${5:-5} * 5; i++)); do
		v=$(metric "$1" "$2" "$3")
		[ "$v" = "$4" ] && return 0
		sleep 0.2
	done
	fail "metric $2{$3} at $1 is $v, want $4"
}

# expect_reset PORT [SECONDS=3]: a user of PORT on this test's address is reset (not
# closed as if served, not left hanging) within SECONDS.
expect_reset() {
	local out
	out=$(tcptool wait-close --connect "$IT_ADDR:$1" --within "${2:-3}") ||
		fail "a user of port $1 was not closed within ${2:-3}s: $out"
	case $out in
	*closed=reset*) ;;
	*) fail "a user of port $1 was closed, not reset: $out" ;;
	esac
}
