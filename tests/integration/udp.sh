# Helpers of the UDP tests (t36-t38); source it after lib.sh.
# shellcheck shell=bash

[ -f "$TOOLS/udptool.py" ] || hard_error "TOOLS=$TOOLS has no udptool.py"
command -v curl >/dev/null 2>&1 || fail "curl is needed to read the metrics (scripts/deps.sh)"

# udptool ARGS...: tests/tools/udptool.py in the foreground (it bounds itself).
udptool() {
	"${IT_EXEC[@]}" "$PYTHON" "$TOOLS/udptool.py" "$@"
}

# start_udptool NAME SUBCOMMAND ARGS...: a udptool in the background; servers are waited for.
start_udptool() {
	local name=$1
	shift
	start_bg "$name" "$PYTHON" "$TOOLS/udptool.py" "$@"
	case $1 in
	*-server)
		wait_for_file "$IT_DIR/$name.out" "listening=" 10 ||
			fail "$name ($1) did not start listening"
		;;
	esac
}

# metric ADDR NAME [LABELS]: the sum of the samples of NAME on the metrics endpoint ADDR
# whose labels contain LABELS (e.g. 'reason="queue"'); 0 when there is none.
metric() {
	"${IT_EXEC[@]}" curl -sS --max-time 5 "http://$1/metrics" 2>/dev/null |
		awk -v n="$2" -v l="${3:-}" '
			/^#/ { next }
			{
				base = $1
				sub(/\{.*/, "", base)
				if (base != n || (l != "" && index($1, l) == 0)) next
				v += $2
			}
			END { printf "%.0f\n", v }'
}

# wait_metric ADDR NAME LABELS OP VALUE SECONDS: true once the sum compares (awk OP).
wait_metric() {
	local i v
	for ((i = 0; i <= $6 * 5; i++)); do
		v=$(metric "$1" "$2" "$3")
		awk -v a="$v" -v b="$5" "BEGIN { exit !(a + 0 $4 b + 0) }" && return 0
		sleep 0.2
	done
	echo "$2{$3} is $v, not $4 $5 after $6 s" >&2
	return 1
}
