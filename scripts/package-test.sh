#!/bin/bash
# The Debian packages, end to end: build them twice from copies of the tree
# (0.1.0-style version, then a higher one whose rtund.conf changed), check them
# with lintian, install them with apt into a fresh minimal Debian 12 chroot
# (debootstrap), check where everything landed, run rtund and rtun there the
# way their units say (user, capabilities, runtime directory, umask) and pass
# a tunnel through them on loopback, upgrade over locally edited conffiles,
# then remove (conffiles stay) and purge (nothing of the packages stays, the
# system user does, as policy says).  Verifies the units and prints their
# systemd-analyze security exposure.
#
# Usage: scripts/package-test.sh WORKDIR   (as root; WORKDIR is emptied first)
# Ports 24700-24799 on 127.0.0.1.  Everything, the apt downloads included,
# stays in WORKDIR; processes are killed by PID and the chroot's mounts
# unmounted on every exit.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
work=${1:?usage: package-test.sh WORKDIR}
mirror=${RTUN_DEBIAN_MIRROR:-http://deb.debian.org/debian}
PORT_RTUND=24700  # rtund's listen
PORT_PUBLIC=24701 # the service's public port on rtund
PORT_LOCAL=24720  # the private service behind rtun
MAX_EXPOSURE=2.5  # systemd-analyze security: both units are at about 2 now

say() { printf '%s package-test: %s\n' "$(date +%T)" "$*"; }
fail() {
	say "FAIL: $*"
	exit 1
}

[ "$(id -u)" -eq 0 ] || fail "must run as root (debootstrap, chroot, apt in the chroot)"
for tool in dpkg-buildpackage lintian debootstrap setpriv python3 git; do
	command -v "$tool" >/dev/null || fail "$tool not found: scripts/deps.sh package installs it"
done

root=$work/root
pids=()

# Mounts below WORKDIR, deepest first.
mounts_below() {
	awk -v w="$1" '$5 == w || index($5, w "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}
# Processes whose root is the chroot: all started by this test (the daemons, and
# anything a maintainer script left running).
in_chroot_pids() {
	local p r
	for p in /proc/[0-9]*; do
		r=$(readlink "$p/root" 2>/dev/null) || continue
		case "$r" in "$root" | "$root (deleted)") echo "${p#/proc/}" ;; esac
	done
}
cleanup() {
	local pid m
	for pid in "${pids[@]}" $(in_chroot_pids); do
		kill -KILL "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	for m in $(mounts_below "$work"); do
		umount "$m" 2>/dev/null || umount -l "$m" || say "cannot unmount $m"
	done
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

mkdir -p "$work"
work=$(cd "$work" && pwd)
root=$work/root
cleanup # a run killed before its trap could leave mounts; never rm -r through them
rm -rf --one-file-system "${work:?}"/*
[ -z "$(mounts_below "$work")" ] || fail "mounts left below $work"

# ---------------------------------------------------------------- build

# The tree as git sees it (tracked and new files, not the ignored build output).
copy_tree() {
	mkdir -p "$1"
	git -C "$top" ls-files -z -c -o --exclude-standard >"$work/files" ||
		fail "git ls-files in $top failed: the test copies the tree git sees"
	(cd "$top" && while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done <"$work/files" |
		tar --null -T - -cf -) | tar -C "$1" -xf -
	[ -f "$1/debian/rules" ] || fail "the copy of the tree in $1 has no debian/rules"
}
build() { # NAME: builds WORKDIR/NAME/src into WORKDIR/NAME/*.deb
	say "dpkg-buildpackage in $work/$1/src"
	(cd "$work/$1/src" && dpkg-buildpackage -us -uc -b) >"$work/$1/build.log" 2>&1 ||
		fail "dpkg-buildpackage of $1: $(tail -n 30 "$work/$1/build.log")"
}
t0=$(date +%s)
copy_tree "$work/v1/src"
build v1
v1=$(dpkg-parsechangelog -l "$work/v1/src/debian/changelog" -S Version)
# The upgrade: a higher version whose rtund.conf differs from v1's, so that dpkg
# must choose between it and the locally edited one (rtun.conf stays the same).
v2=$v1+pkgtest1
copy_tree "$work/v2/src"
{
	printf 'rtun (%s) unstable; urgency=medium\n\n  * Package test: an upgrade.\n\n' "$v2"
	printf ' -- Package Test <test@example.invalid>  %s\n\n' "$(date -R)"
	cat "$work/v1/src/debian/changelog"
} >"$work/v2/src/debian/changelog"
echo '; (changed in the package test upgrade)' >>"$work/v2/src/contrib/rtund.conf.example"
DEB_BUILD_OPTIONS=nocheck build v2
say "built $v1 and $v2 in $(($(date +%s) - t0))s"

say "lintian"
lintian --fail-on error,warning --info --display-info "$work/v1/"*.changes >"$work/lintian.log" 2>&1 ||
	fail "lintian: $(cat "$work/lintian.log")"
sed 's/^/    /' "$work/lintian.log"

# ---------------------------------------------------------------- chroot

t0=$(date +%s)
say "debootstrap --variant=minbase bookworm ($mirror)"
debootstrap --variant=minbase bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
	fail "debootstrap: $(tail -n 30 "$work/debootstrap.log")"
mount -t proc proc "$root/proc"
say "chroot ready in $(($(date +%s) - t0))s"

in_root() { chroot "$root" "$@"; }
apt_root() {
	in_root env DEBIAN_FRONTEND=noninteractive apt-get -q -y --no-install-recommends \
		-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@" \
		>>"$work/apt.log" 2>&1 || fail "apt-get $*: $(tail -n 30 "$work/apt.log")"
}
debs() { # VERSION-DIR: the chroot paths of its three packages (not the dbgsym ones)
	mkdir -p "$root/tmp/$1"
	cp "$work/$1/"rtun-common_*.deb "$work/$1/"rtund_*_*.deb "$work/$1/"rtun_*_*.deb "$root/tmp/$1/"
	(cd "$root" && printf '/%s\n' tmp/"$1"/*.deb)
}
apt_root update
say "apt-get install rtund rtun ($v1)"
# shellcheck disable=SC2046 # one word per .deb
apt_root install $(debs v1)

# ---------------------------------------------------------------- the files

pkg_field() { # FIELD PACKAGE: dpkg-query's ${FIELD} of PACKAGE in the chroot
	in_root dpkg-query -W -f="\${$1}" "$2"
}
field() { # UNIT KEY: the value of KEY= in the installed unit (last one wins)
	sed -n "s/^$2=//p" "$root/lib/systemd/system/$1.service" | tail -n 1
}
check_installed() {
	local f
	for f in /usr/sbin/rtund /usr/bin/rtun; do
		[ -x "$root$f" ] || fail "$f not installed"
	done
	for f in /usr/share/man/man8/rtund.8.gz /usr/share/man/man1/rtun.1.gz \
		/usr/share/man/man5/rtun.conf.5.gz /lib/systemd/system/rtund.service \
		/lib/systemd/system/rtun.service; do
		[ -s "$root$f" ] || fail "$f not installed"
	done
	# The examples where the man pages say they are.
	for f in $(zcat "$root"/usr/share/man/man*/rtun*.gz | sed -n 's/^\.It Pa \(\/usr\/share\/doc\/[^ ]*[^/ ]\).*/\1/p'); do
		[ -e "$root$f" ] || fail "a man page names $f, which is not installed"
	done
	[ "$(pkg_field Conffiles rtund | awk '{print $1}')" = /etc/rtun/rtund.conf ] ||
		fail "rtund's conffiles: $(pkg_field Conffiles rtund)"
	[ "$(pkg_field Conffiles rtun | awk '{print $1}')" = /etc/rtun/rtun.conf ] ||
		fail "rtun's conffiles: $(pkg_field Conffiles rtun)"
	for f in /etc/rtun/rtund.conf /etc/rtun/rtun.conf; do
		[ "$(in_root stat -c '%U:%G %a' "$f")" = "root:rtun 640" ] ||
			fail "$f is $(in_root stat -c '%U:%G %a' "$f"), not root:rtun 640"
	done
	# Not enabled: the configs need a token first.
	! ls "$root"/etc/systemd/system/*.wants/rtun*.service >/dev/null 2>&1 ||
		fail "a unit was enabled on installation"
}
check_installed
user=$(in_root getent passwd rtun) || fail "no user rtun"
IFS=: read -r _ _ uid gid _ home shell <<<"$user"
[ "$uid" -lt 1000 ] || fail "rtun is not a system user: $user"
[ "$shell" = /usr/sbin/nologin ] || fail "rtun has a login shell: $user"
[ ! -e "$root$home" ] || fail "rtun has a home directory: $user"
[ "$(in_root getent group rtun | cut -d: -f3)" = "$gid" ] || fail "rtun's group is not rtun"
say "installed: binaries, man pages, units, conffiles root:rtun 0640, user rtun uid $uid"

# The packaged configs have no token: both daemons refuse them (EX_CONFIG).
for d in /usr/sbin/rtund:rtund /usr/bin/rtun:rtun; do
	st=0
	in_root "${d%%:*}" -t -c "/etc/rtun/${d#*:}.conf" >"$work/refuse.out" 2>&1 || st=$?
	[ "$st" -eq 78 ] || fail "${d#*:} -t accepted the packaged config (exit $st): $(cat "$work/refuse.out")"
done

# Both units are valid (systemd installed into the chroot just for this) and
# as hardened as they were.
apt_root install systemd
for u in rtund rtun; do
	in_root systemd-analyze verify --man=no "/lib/systemd/system/$u.service" \
		>"$work/verify.out" 2>&1 || fail "systemd-analyze verify $u.service: $(cat "$work/verify.out")"
	in_root systemd-analyze security --offline=yes --no-pager \
		"/lib/systemd/system/$u.service" >"$work/security-$u.out" 2>&1 || true
	exposure=$(sed -n 's/.*Overall exposure level for .*: \([0-9.]*\) .*/\1/p' "$work/security-$u.out")
	[ -n "$exposure" ] || fail "systemd-analyze security $u.service: $(cat "$work/security-$u.out")"
	awk -v e="$exposure" -v m="$MAX_EXPOSURE" 'BEGIN { exit !(e <= m) }' ||
		fail "$u.service exposure $exposure is above $MAX_EXPOSURE: $(grep '✗' "$work/security-$u.out")"
	say "$u.service: systemd-analyze verify clean, exposure $exposure"
done

# ---------------------------------------------------------------- run them

token=$(od -An -N16 -tx1 /dev/urandom | tr -d ' \n')
edit_configs() {
	sed -i -e "s/^;token =\$/token = $token/" -e "s/^listen = .*/listen = 127.0.0.1:$PORT_RTUND/" \
		-e "s/^allow_ports = .*/allow_ports = $PORT_PUBLIC-$((PORT_PUBLIC + 9))/" \
		-e 's/^;bind_addr = .*/bind_addr = 127.0.0.1/' "$root/etc/rtun/rtund.conf"
	sed -i -e "s/^;token =\$/token = $token/" -e "s/^server = .*/server = 127.0.0.1:$PORT_RTUND/" \
		-e "s/^local = 127.0.0.1:22\$/local = 127.0.0.1:$PORT_LOCAL/" \
		-e "s/^remote_port = 6022\$/remote_port = $PORT_PUBLIC/" "$root/etc/rtun/rtun.conf"
	grep -q "^token = $token" "$root/etc/rtun/rtund.conf" || fail "could not set rtund's token"
	grep -q "^remote_port = $PORT_PUBLIC" "$root/etc/rtun/rtun.conf" || fail "could not set rtun's service"
	for f in rtund rtun; do
		grep -q "^status_socket = /run/rtun/$f.sock\$" "$root/etc/rtun/$f.conf" ||
			fail "/etc/rtun/$f.conf does not name /run/rtun/$f.sock"
	done
}
# A unit's start, as systemd would do it: the runtime directory, the user and
# group, the capabilities (bounding set, ambient), no_new_privs, the file limit
# and umask, then ExecStart.  Any other Exec line or an unexpected value fails.
start_unit() { # UNIT: starts it in the chroot, its PID into pids and upid
	local u=$1 exec user group rtdir rtmode umask nofile amb bound caps args v c
	exec=$(field "$u" ExecStart) user=$(field "$u" User) group=$(field "$u" Group)
	rtdir=$(field "$u" RuntimeDirectory) rtmode=$(field "$u" RuntimeDirectoryMode)
	umask=$(field "$u" UMask) nofile=$(field "$u" LimitNOFILE)
	amb=$(field "$u" AmbientCapabilities) bound=$(field "$u" CapabilityBoundingSet)
	for v in "$exec" "$user" "$group" "$rtdir" "$rtmode" "$umask" "$nofile"; do
		[ -n "$v" ] || fail "$u.service lacks a key the test emulates"
	done
	[ "$(field "$u" NoNewPrivileges)" = yes ] || fail "$u.service: NoNewPrivileges is not yes"
	! grep -q '^ExecStart\(Pre\|Post\)=' "$root/lib/systemd/system/$u.service" ||
		fail "$u.service has ExecStartPre/Post, which the test does not run"
	[ -x "$root${exec%% *}" ] || fail "$u.service: ExecStart=$exec: not an executable in the chroot"
	[ "$amb" = "$bound" ] || fail "$u.service: ambient ($amb) and bounding ($bound) capabilities differ"
	caps=-all
	for c in $bound; do caps="$caps,+$(echo "${c#CAP_}" | tr '[:upper:]' '[:lower:]')"; done
	install -d -o "$(in_root id -u "$user")" -g "$(in_root getent group "$group" | cut -d: -f3)" \
		-m "$rtmode" "$root/run/$rtdir"
	args=(--reuid="$user" --regid="$group" --init-groups --no-new-privs --bounding-set="$caps")
	[ -z "$amb" ] || args+=(--inh-caps="${caps#-all,}" --ambient-caps="${caps#-all,}")
	say "start $u as the unit would: setpriv ${args[*]} -- $exec (umask $umask, nofile $nofile)"
	# shellcheck disable=SC2086,SC2016 # ExecStart split into words as systemd does; $1 is sh's
	# (chroot itself, not in_root: $! must be the process that becomes the daemon)
	# LimitNOFILE, or the hard limit where a container caps it below.
	chroot "$root" /bin/sh -c 'umask "$1"; ulimit -n "$2" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
		shift 2; exec setpriv "$@"' sh \
		"$umask" "$nofile" "${args[@]}" -- $exec >>"$work/$u.log" 2>&1 &
	upid=$!
	pids+=("$upid")
}
# The processes run as the unit's user with only the unit's capabilities.
check_process() { # PID WANT_CAPEFF
	local pid=$1 s
	s=/proc/$pid/status
	sleep 0.3
	[ -r "$s" ] || fail "PID $pid is gone: $(tail -n 5 "$work"/*.log)"
	grep -q "^Uid:[[:space:]]*${uid}[[:space:]]*${uid}[[:space:]]*${uid}[[:space:]]*${uid}\$" "$s" ||
		fail "PID $pid does not run as rtun ($uid): $(grep ^Uid: "$s")"
	grep -q "^Gid:[[:space:]]*${gid}[[:space:]]*${gid}[[:space:]]*${gid}[[:space:]]*${gid}\$" "$s" ||
		fail "PID $pid does not run as group rtun: $(grep ^Gid: "$s")"
	grep -q "^CapEff:[[:space:]]*$2\$" "$s" || fail "PID $pid capabilities $(grep ^CapEff: "$s"), not $2"
	grep -q '^NoNewPrivs:[[:space:]]*1$' "$s" || fail "PID $pid without no_new_privs"
}
forget() { # PID: reaped, so cleanup must not signal that number again
	local p keep=()
	for p in "${pids[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
	pids=("${keep[@]}")
}
stop() { # PID NAME: SIGTERM, and it exits 0 within shutdown_timeout
	local pid=$1 st=0
	kill -TERM "$pid"
	for _ in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid" || st=$?
	forget "$pid"
	[ "$st" -eq 0 ] || fail "$2 exited $st on SIGTERM: $(tail -n 5 "$work/$2.log")"
}
tunnel() { # the two units' processes, an echo service behind rtun, users through rtund
	local echo_pid rtund_pid rtun_pid
	python3 "$top/tests/tools/tcptool.py" echo-server --listen "127.0.0.1:$PORT_LOCAL" \
		--deadline 120 >"$work/echo.log" 2>&1 &
	echo_pid=$!
	pids+=("$echo_pid")
	start_unit rtund
	rtund_pid=$upid
	start_unit rtun
	rtun_pid=$upid
	check_process "$rtund_pid" 0000000000000400 # CAP_NET_BIND_SERVICE only
	check_process "$rtun_pid" 0000000000000000
	[ "$(in_root stat -c "%U:%G %a" /run/rtun)" = "rtun:rtun 750" ] || fail "/run/rtun is wrong"
	python3 "$top/tests/tools/tcptool.py" probe --connect "127.0.0.1:$PORT_PUBLIC" --until open \
		--within 20 >/dev/null || fail "public port never opened: $(tail -n 5 "$work"/rtun*.log)"
	python3 "$top/tests/tools/tcptool.py" echo-client --connect "127.0.0.1:$PORT_PUBLIC" \
		--conns 4 --bytes 1M --timeout 30 >"$work/client.out" ||
		fail "no echo through the tunnel: $(tail -n 5 "$work"/rtun*.log)"
	say "tunnel: $(tail -n 1 "$work/client.out")"
	# The status sockets the packaged configs name, in the units' runtime
	# directory, owner-only, and answering root's status command.
	for d in rtund:sbin rtun:bin; do
		[ "$(in_root stat -c '%F %U:%G %a' "/run/rtun/${d%:*}.sock")" = "socket rtun:rtun 600" ] ||
			fail "/run/rtun/${d%:*}.sock: $(in_root stat -c '%F %U:%G %a' "/run/rtun/${d%:*}.sock" 2>&1)"
		in_root "/usr/${d#*:}/${d%:*}" status -c "/etc/rtun/${d%:*}.conf" >"$work/status.out" 2>&1 ||
			fail "${d%:*} status: $(cat "$work/status.out")"
		grep -q "$PORT_PUBLIC" "$work/status.out" || fail "${d%:*} status lacks the service: $(cat "$work/status.out")"
	done
	say "rtund status and rtun status answer on /run/rtun (0600 sockets)"
	stop "$rtun_pid" rtun
	stop "$rtund_pid" rtund
	kill "$echo_pid" 2>/dev/null || true
	wait "$echo_pid" 2>/dev/null || true
	forget "$echo_pid"
}
edit_configs
for d in rtund rtun; do
	in_root "/usr/$([ $d = rtund ] && echo sbin || echo bin)/$d" -t -c "/etc/rtun/$d.conf" \
		>/dev/null 2>&1 || fail "$d refuses the edited config"
done
tunnel

# ---------------------------------------------------------------- upgrade

cp -p "$root/etc/rtun/rtund.conf" "$work/rtund.conf.edited"
cp -p "$root/etc/rtun/rtun.conf" "$work/rtun.conf.edited"
say "apt-get install $v2 over the edited conffiles"
# shellcheck disable=SC2046 # one word per .deb
apt_root install $(debs v2)
for p in rtun-common rtund rtun; do
	[ "$(pkg_field Version $p)" = "$v2" ] || fail "$p was not upgraded to $v2"
done
check_installed
for f in rtund.conf rtun.conf; do
	cmp -s "$work/$f.edited" "$root/etc/rtun/$f" || fail "the upgrade changed the edited /etc/rtun/$f"
done
grep -q 'changed in the package test upgrade' "$root/etc/rtun/rtund.conf.dpkg-dist" ||
	fail "no rtund.conf.dpkg-dist with $v2's version of the conffile"
[ ! -e "$root/etc/rtun/rtun.conf.dpkg-dist" ] || fail "rtun.conf did not change, yet a .dpkg-dist"
tunnel

# ---------------------------------------------------------------- remove, purge

files=$(in_root dpkg-query -L rtun-common rtund rtun | sort -u)
say "apt-get remove"
apt_root remove rtund rtun rtun-common
for p in rtun-common rtund rtun; do
	[ "$(pkg_field db:Status-Abbrev $p)" = "rc " ] || fail "$p not in state rc"
done
for f in /usr/sbin/rtund /usr/bin/rtun /lib/systemd/system/rtund.service; do
	[ ! -e "$root$f" ] || fail "remove left $f"
done
for f in rtund.conf rtun.conf; do
	cmp -s "$work/$f.edited" "$root/etc/rtun/$f" || fail "remove did not keep the edited /etc/rtun/$f"
done
say "apt-get purge"
apt_root purge rtund rtun rtun-common
for p in rtun-common rtund rtun; do
	! in_root dpkg-query -W $p >/dev/null 2>&1 || fail "$p is still known to dpkg after purge"
done
# Directories other packages own stay, of course.
left=$(for f in $files /etc/rtun /run/rtun; do
	if [ "$f" = /. ] || [ ! -e "$root$f" ]; then continue; fi
	[ -d "$root$f" ] && in_root dpkg-query -S "$f" >/dev/null 2>&1 && continue
	echo "$f"
done)
[ -z "$left" ] || fail "purge left: $left"
! ls "$root"/var/lib/systemd/deb-systemd-helper-enabled/*rtun* >/dev/null 2>&1 ||
	fail "purge left systemd state: $(ls "$root"/var/lib/systemd/deb-systemd-helper-enabled/*rtun*)"
in_root getent passwd rtun >/dev/null || fail "purge removed the system user rtun"
say "remove kept the conffiles; purge removed them, /etc/rtun and /run/rtun; user rtun stays"
say "PASS"
