#!/bin/sh
# One command for the whole test suite: install what is needed, build with
# ASan+UBSan, run unit and integration tests (make check), lint the man pages,
# check the release tarball (make distcheck), build and test the Debian packages
# (scripts/package-test.sh) and, when clang is there, run each
# fuzz target briefly. Run as root on
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
# The release tarball builds, passes its own tests and installs cleanly.
if [ "${RTUN_SKIP_DISTCHECK:-}" != 1 ]; then
	if make distcheck >distcheck.log 2>&1; then
		echo "distcheck PASS" >>extra.results
	else
		echo "distcheck FAIL" >>extra.results; tail -60 distcheck.log; status=1
	fi
fi
# The Debian packages build, pass lintian, install into a fresh Debian 12 chroot,
# run and tunnel there, upgrade, remove and purge cleanly (from a copy of the
# tree, in build-check/package).
if [ "${RTUN_SKIP_PACKAGE:-}" != 1 ]; then
	if "$top/scripts/package-test.sh" "$top/build-check/package" >package.log 2>&1; then
		echo "package PASS" >>extra.results
	else
		echo "package FAIL" >>extra.results; tail -60 package.log; status=1
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
