# tests/fuzz: libFuzzer targets for the HTTP/1.1 upgrade and the first bytes of
# rtund's shared port: fuzz_upgrade (ws_http_parse_request on raw bytes, whole
# and split in two, the answer built read back), fuzz_upgrade_response (the
# agent's ws_http_parse_response on what a server or proxy may answer, the same
# way) and fuzz_sniff (sniff_classify on every prefix). Seeds in
# tests/fuzz/corpus/<name>; those of upgrade_response are written by
# tests/fuzz/mkcorpus.py. Included from the top-level Makefile.am after
# tests/fuzz/local.mk: the targets join its FUZZ_TARGETS, so they are
# check_PROGRAMS and "make fuzz-run" runs them the same way. The parsers' sources
# are compiled into each target so that libFuzzer's instrumentation sees them.
EXTRA_DIST += tests/fuzz/fuzz_upgrade.c tests/fuzz/fuzz_upgrade_response.c \
	tests/fuzz/fuzz_sniff.c

if ENABLE_FUZZ
FUZZ_TARGETS += tests/fuzz/fuzz_upgrade tests/fuzz/fuzz_upgrade_response tests/fuzz/fuzz_sniff
FUZZ_WS_HTTP = src/ws-http.c src/http-scan.c src/buf.c src/log.c src/xmalloc.c

tests_fuzz_fuzz_upgrade_SOURCES = tests/fuzz/fuzz_upgrade.c $(FUZZ_WS_HTTP)
tests_fuzz_fuzz_upgrade_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_upgrade_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_upgrade_LDADD = $(RTUN_LIBS)

tests_fuzz_fuzz_upgrade_response_SOURCES = tests/fuzz/fuzz_upgrade_response.c $(FUZZ_WS_HTTP)
tests_fuzz_fuzz_upgrade_response_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_upgrade_response_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_upgrade_response_LDADD = $(RTUN_LIBS)

tests_fuzz_fuzz_sniff_SOURCES = tests/fuzz/fuzz_sniff.c src/sniff.c
tests_fuzz_fuzz_sniff_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_sniff_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_sniff_LDADD = $(RTUN_LIBS)
endif
