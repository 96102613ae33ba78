#!/bin/sh
# Print per-test results of a `make check` build directory and the totals
# line CI reads: "tests: N passed, N failed, N skipped". Check unit programs
# count each of their test cases; every other test script or extra check
# counts once.
set -eu

build=${1:?usage: summary.sh BUILD_DIR}
passed=0
failed=0
skipped=0

for trs in $(find "$build/tests" -name '*.trs' | sort); do
	log=${trs%.trs}.log
	name=${trs#"$build"/}
	name=${name%.trs}
	result=$(sed -n 's/^:test-result: //p' "$trs" | head -n 1)
	checks=$(sed -n 's/^[0-9]*%: Checks: \([0-9]*\), Failures: \([0-9]*\), Errors: \([0-9]*\).*/\1 \2 \3/p' "$log" 2>/dev/null | tail -n 1)
	if [ -n "$checks" ]; then
		set -- $checks
		p=$(($1 - $2 - $3))
		f=$(($2 + $3))
		[ "$result" = PASS ] || [ "$f" -gt 0 ] || f=1
	else
		case "$result" in
		PASS | XFAIL) p=1 f=0 ;;
		SKIP) p=0 f=0 skipped=$((skipped + 1)) ;;
		*) p=0 f=1 ;;
		esac
	fi
	echo "$result $name ($p passed, $f failed)"
	passed=$((passed + p))
	failed=$((failed + f))
done
if [ -f "$build/extra.results" ]; then
	while read -r name result; do
		echo "$result $name"
		case "$result" in
		PASS) passed=$((passed + 1)) ;;
		SKIP) skipped=$((skipped + 1)) ;;
		*) failed=$((failed + 1)) ;;
		esac
	done <"$build/extra.results"
fi
echo "tests: $passed passed, $failed failed, $skipped skipped"
