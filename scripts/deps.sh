#!/bin/sh
# Install everything rtun needs to build, test and benchmark on Debian 12.
# Usage: scripts/deps.sh [build|test|package|all]   (default: all). Needs root.
set -eu

build_pkgs="build-essential autoconf automake pkg-config libev-dev libmsgpack-dev \
libprotobuf-c-dev protobuf-c-compiler libssl-dev libinih-dev libhttp-parser-dev libwslay-dev check"
# Every command a test uses: a missing one would make its test skip, and CI fails on skips.
test_pkgs="python3 python3-websockets iproute2 iptables procps curl openssl fail2ban clang \
libclang-rt-14-dev mandoc nginx supervisor dnsmasq-base bind9-dnsutils iperf3 chromium \
prometheus"
# Building the Debian packages and testing them in a debootstrap chroot
# (scripts/package-test.sh, a stage of scripts/test.sh).
package_pkgs="debhelper dh-autoreconf dpkg-dev fakeroot lintian debootstrap git util-linux"
bench_pkgs="haproxy openssh-server openssh-client jq apache2-utils"

case "${1:-all}" in
build) pkgs="$build_pkgs" ;;
package) pkgs="$build_pkgs $package_pkgs" ;;
test) pkgs="$build_pkgs $test_pkgs $package_pkgs" ;;
all) pkgs="$build_pkgs $test_pkgs $package_pkgs $bench_pkgs" ;;
*) echo "usage: $0 [build|test|package|all]" >&2; exit 64 ;;
esac

if [ "$(id -u)" -ne 0 ]; then
	echo "$0: run as root (apt-get install)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# Packages with a daemon (nginx, prometheus, ...) start it from their postinst, and a start
# that fails (no init, a port in use) fails the install; the tests run their own instances.
# Unless the machine has a policy already, deny service starts for this install only.
policy=/usr/sbin/policy-rc.d
if [ ! -e "$policy" ]; then
	printf '#!/bin/sh\n# scripts/deps.sh: no service starts while it installs packages\nexit 101\n' \
		>"$policy"
	chmod 755 "$policy"
	trap 'rm -f "$policy"' EXIT
	trap 'exit 1' INT TERM HUP
fi
apt-get update -q
# shellcheck disable=SC2086 # word splitting of the package list is intended
apt-get install -y -q --no-install-recommends $pkgs
