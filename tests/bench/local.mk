# tests/bench: the benchmark. bench.sh drives rtund/rtun and reference tunnels
# (direct TCP, ssh -R, a 2-hop haproxy chain) with rtprobe and iperf3 and prints
# one table; see tests/bench/README.md. It is not part of make check and never
# fails a build: run tests/bench/bench.sh BUILDDIR by hand.
#
# If another local.mk ever needs noinst_PROGRAMS, move "noinst_PROGRAMS =" to
# Makefile.am next to check_PROGRAMS and make this line a "+=".
noinst_PROGRAMS = tests/bench/rtprobe
tests_bench_rtprobe_SOURCES = tests/bench/rtprobe.c
tests_bench_rtprobe_CFLAGS = $(AM_CFLAGS) -Werror
EXTRA_DIST += tests/bench/bench.sh tests/bench/bench-web.sh tests/bench/README.md
