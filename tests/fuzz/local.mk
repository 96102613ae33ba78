# tests/fuzz: libFuzzer targets, one per decoder of network input:
# fuzz_frame (a link's byte stream through frame_decode, CONTROL payloads on
# into control_decode, every frame re-encoded and compared), fuzz_control
# (control_decode on raw bytes) and fuzz_probe (the hole-punch probe parser,
# then its MAC check with a fixed key; a parsed probe re-encoded and compared)
# and fuzz_dest (a route's destination as its OPEN carries it and an
# allow_connect list, each read back, and the matcher asked).
# The seeds of fuzz_<name> are in
# tests/fuzz/corpus/<name>, written by tests/fuzz/mkcorpus.py.
#
# Configure with CC=clang --enable-fuzz, then "make fuzz-run" builds the
# targets and runs each for FUZZ_SECONDS from its seeds, failing on a crash;
# new inputs go to tests/fuzz/work/<name> in the build tree and crash files
# beside it (tests/fuzz/work/<name>-crash-*). Every target runs even if one crashes.
# The targets are check_PROGRAMS (tests/bench owns "noinst_PROGRAMS ="), so
# "make check" also builds them. The codec sources are compiled into each
# target so libFuzzer's coverage instrumentation sees them; librtun.a is not
# instrumented.
EXTRA_DIST += tests/fuzz/fuzz_frame.c tests/fuzz/fuzz_control.c tests/fuzz/fuzz_probe.c \
	tests/fuzz/fuzz_dest.c \
	tests/fuzz/mkcorpus.py tests/fuzz/corpus

if ENABLE_FUZZ
FUZZ_FLAGS = -fsanitize=fuzzer,address,undefined -fno-omit-frame-pointer
FUZZ_CODEC = src/buf.c src/control.c src/frame.c src/log.c src/xmalloc.c
FUZZ_TARGETS = tests/fuzz/fuzz_frame tests/fuzz/fuzz_control tests/fuzz/fuzz_probe \
	tests/fuzz/fuzz_dest
FUZZ_SECONDS = 30
check_PROGRAMS += $(FUZZ_TARGETS)

tests_fuzz_fuzz_frame_SOURCES = tests/fuzz/fuzz_frame.c $(FUZZ_CODEC)
nodist_tests_fuzz_fuzz_frame_SOURCES = proto/rtun.pb-c.c
tests_fuzz_fuzz_frame_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_frame_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_frame_LDADD = $(RTUN_LIBS)

tests_fuzz_fuzz_control_SOURCES = tests/fuzz/fuzz_control.c $(FUZZ_CODEC)
nodist_tests_fuzz_fuzz_control_SOURCES = proto/rtun.pb-c.c
tests_fuzz_fuzz_control_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_control_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_control_LDADD = $(RTUN_LIBS)

tests_fuzz_fuzz_probe_SOURCES = tests/fuzz/fuzz_probe.c src/punch-probe.c
tests_fuzz_fuzz_probe_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_probe_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_probe_LDADD = $(RTUN_LIBS)

tests_fuzz_fuzz_dest_SOURCES = tests/fuzz/fuzz_dest.c src/dest.c src/hostname.c
tests_fuzz_fuzz_dest_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_dest_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_dest_LDADD = $(RTUN_LIBS)

fuzz-run: $(FUZZ_TARGETS)
	@failed=0; for t in $(FUZZ_TARGETS); do \
		name=`basename $$t`; name=$${name#fuzz_}; \
		seeds=$(srcdir)/tests/fuzz/corpus/$$name; work=tests/fuzz/work/$$name; \
		$(MKDIR_P) $$work || exit 1; \
		echo "fuzz-run: $$t for $(FUZZ_SECONDS)s, seeds in $$seeds"; \
		./$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		    -artifact_prefix=$$work- $$work $$seeds || failed=1; \
	done; exit $$failed
else
fuzz-run:
	@echo "fuzz-run: configure with CC=clang --enable-fuzz first" >&2; exit 1
endif
.PHONY: fuzz-run
