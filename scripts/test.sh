#!/bin/sh
# One command for the whole test suite: install what is needed, build with
# ASan+UBSan, run unit and integration tests (make check), lint the man pages
# and, when clang is there, run each fuzz target briefly. Run as root on
# Debian 12: scripts/test.sh
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
[ "${RTUN_SKIP_DEPS:-}" = 1 ] || "$top/scripts/deps.sh" test

BUILD_DIR="$top/build-check" "$top/scripts/build.sh" --enable-sanitizers
cd "$top/build-check"
status=0
: >extra.results
make -j2 check || status=$?
if [ -n "$(ls "$top"/man/*.[0-9] 2>/dev/null)" ]; then
	if mandoc -T lint -W warning "$top"/man/*.[0-9] >man-lint.log 2>&1; then
		echo "man-lint PASS" >>extra.results
	else
		echo "man-lint FAIL" >>extra.results; cat man-lint.log; status=1
	fi
fi
if command -v clang >/dev/null 2>&1; then
	CC=clang BUILD_DIR="$top/build-fuzz" "$top/scripts/build.sh" --enable-fuzz
	if make -C "$top/build-fuzz" fuzz-run FUZZ_SECONDS="${FUZZ_SECONDS:-30}" >fuzz.log 2>&1; then
		echo "fuzz PASS" >>extra.results
	else
		echo "fuzz FAIL" >>extra.results; tail -50 fuzz.log; status=1
	fi
fi
"$top/scripts/summary.sh" "$top/build-check"
exit $status
