#!/bin/bash
# make install DESTDIR=...: the programs, man pages and contrib files land where the man
# pages say (rtund in sbindir, rtun in bindir, man1/5/8, $(docdir)/contrib/...); the
# installed binaries run and accept the installed example configs; make uninstall removes
# every file again.
IT_NUM=14
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "$0")/lib.sh"

# RTUND is $(abs_top_builddir)/rtund (tests/integration/local.mk): its directory is the
# build tree.
BUILDDIR=$(dirname "$RTUND")
[ -f "$BUILDDIR/Makefile" ] || hard_error "no Makefile in $BUILDDIR (from RTUND=$RTUND)"
command -v make >/dev/null 2>&1 || skip "make not found"
DEST=$IT_DIR/root

# A make of its own: not the jobserver, variables or level of the make running the tests.
submake() {
	env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u MAKEOVERRIDES make -C "$BUILDDIR" "$@"
}

# The installation directories, expanded the way make expands them.
# shellcheck disable=SC2016 # $(...) is for make, not the shell
dirs=$(printf 'print-dirs:\n\t@echo $(prefix) $(bindir) $(sbindir) $(mandir) $(docdir) $(sysconfdir)\n' |
	submake -s -f Makefile -f - print-dirs) || hard_error "cannot read the directories from the Makefile"
read -r prefix bindir sbindir mandir docdir sysconfdir <<<"$dirs"
[ -n "$sysconfdir" ] || hard_error "cannot read the directories from the Makefile: '$dirs'"
note "prefix=$prefix bindir=$bindir sbindir=$sbindir mandir=$mandir docdir=$docdir sysconfdir=$sysconfdir"

# make check has built everything already, so install only copies (were the sources
# edited during the run, it would rebuild the binaries under the tests beside this one).
note "make install DESTDIR=$DEST"
submake install DESTDIR="$DEST" >"$IT_DIR/install.out" 2>&1 ||
	fail "make install failed: $(tail -n 20 "$IT_DIR/install.out")"

check_file() {
	[ -f "$DEST$1" ] || fail "not installed: $1"
	[ -s "$DEST$1" ] || fail "installed but empty: $1"
}

for f in "$sbindir/rtund" "$bindir/rtun"; do
	check_file "$f"
	[ -x "$DEST$f" ] || fail "not executable: $f"
done
[ ! -e "$DEST$bindir/rtund" ] || fail "rtund also landed in bindir"
[ ! -e "$DEST$sbindir/rtun" ] || fail "rtun also landed in sbindir"
check_file "$mandir/man1/rtun.1"
check_file "$mandir/man5/rtun.conf.5"
check_file "$mandir/man8/rtund.8"
contrib=$docdir/contrib
for f in rtund.conf.example rtun.conf.example supervisord/rtund.conf supervisord/rtun.conf \
	systemd/rtund.service systemd/rtun.service nginx/rtun.conf fail2ban/filter.d/rtund.conf \
	fail2ban/jail.d/rtund.conf grafana/rtun.json; do
	check_file "$contrib/$f"
done
"$PYTHON" -m json.tool "$DEST$contrib/grafana/rtun.json" >/dev/null ||
	fail "the installed Grafana dashboard is not JSON"
note "installed files:"
(cd "$DEST" && find . -type f | sort | sed 's/^\./    /')

note "the man pages name these places"
# The pages give the default-prefix paths; check them when the build uses that prefix.
if [ "$prefix" = /usr/local ] && [ "$docdir" = /usr/local/share/doc/rtun ]; then
	for page in man1/rtun.1 man8/rtund.8; do
		grep -q 'share/doc/rtun/contrib/' "$DEST$mandir/$page" ||
			fail "$page does not say where the contrib files are"
	done
fi
grep -q 'rtun/rtund.conf' "$DEST$mandir/man8/rtund.8" || fail "rtund.8 has no config path"
grep -q 'rtun/rtun.conf' "$DEST$mandir/man1/rtun.1" || fail "rtun.1 has no config path"
# The pages give this build's directories, not the make variables of the sources.
for page in man1/rtun.1 man8/rtund.8 man5/rtun.conf.5; do
	! grep -n '\${' "$DEST$mandir/$page" || fail "$page holds a literal \${...}"
done
grep -qF "$sysconfdir/rtun/rtund.conf" "$DEST$mandir/man8/rtund.8" ||
	fail "rtund.8 does not name $sysconfdir/rtun/rtund.conf"
grep -qF "$sysconfdir/rtun/rtun.conf" "$DEST$mandir/man1/rtun.1" ||
	fail "rtun.1 does not name $sysconfdir/rtun/rtun.conf"
grep -qF "$sysconfdir/rtun/rtund.conf" "$DEST$mandir/man5/rtun.conf.5" ||
	fail "rtun.conf.5 does not name $sysconfdir/rtun/rtund.conf"
grep -qF "$docdir/contrib/" "$DEST$mandir/man8/rtund.8" ||
	fail "rtund.8 does not name $docdir/contrib/"
if command -v mandoc >/dev/null 2>&1; then
	mandoc -T lint -W warning "$DEST$mandir"/man*/* || fail "installed man pages are not lint-clean"
fi

note "the installed binaries"
v=$("$DEST$sbindir/rtund" -V) || fail "installed rtund -V failed"
[[ $v == "rtund "[0-9]* ]] || fail "installed rtund -V printed '$v'"
note "$v"
v=$("$DEST$bindir/rtun" -V) || fail "installed rtun -V failed"
[[ $v == "rtun "[0-9]* ]] || fail "installed rtun -V printed '$v'"
# The default config is $(sysconfdir)/rtun/..., as the man pages' FILES say.
"$DEST$sbindir/rtund" -h | grep -qF "$sysconfdir/rtun/rtund.conf" ||
	fail "rtund -h does not name $sysconfdir/rtun/rtund.conf"
"$DEST$bindir/rtun" -h | grep -qF "$sysconfdir/rtun/rtun.conf" ||
	fail "rtun -h does not name $sysconfdir/rtun/rtun.conf"
out=$("$DEST$sbindir/rtund" -t -c "$DEST$contrib/rtund.conf.example" 2>&1) ||
	fail "the installed rtund.conf.example does not pass rtund -t: $out"
out=$("$DEST$bindir/rtun" -t -c "$DEST$contrib/rtun.conf.example" 2>&1) ||
	fail "the installed rtun.conf.example does not pass rtun -t: $out"

note "make uninstall"
submake uninstall DESTDIR="$DEST" >"$IT_DIR/uninstall.out" 2>&1 ||
	fail "make uninstall failed: $(tail -n 20 "$IT_DIR/uninstall.out")"
left=$(find "$DEST" -type f)
[ -z "$left" ] || fail "make uninstall left files behind: $left"
exit 0
