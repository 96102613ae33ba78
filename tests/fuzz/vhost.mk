# tests/fuzz: libFuzzer targets for what routes web traffic by name: fuzz_sni
# (sni_parse on raw bytes; a verdict must not change when a byte is appended)
# and fuzz_http_host (http_host_parse; a head found is decided the same alone).
# Seeds in tests/fuzz/corpus/<name>, written by tests/fuzz/mkcorpus.py.
# Included from the top-level Makefile.am after tests/fuzz/local.mk: the target
# joins its FUZZ_TARGETS, so "make fuzz-run" runs it the same way.
EXTRA_DIST += tests/fuzz/fuzz_sni.c tests/fuzz/fuzz_http_host.c

if ENABLE_FUZZ
FUZZ_TARGETS += tests/fuzz/fuzz_sni tests/fuzz/fuzz_http_host

tests_fuzz_fuzz_sni_SOURCES = tests/fuzz/fuzz_sni.c src/tls-sni.c src/hostname.c
tests_fuzz_fuzz_sni_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_sni_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_sni_LDADD = $(RTUN_LIBS)

tests_fuzz_fuzz_http_host_SOURCES = tests/fuzz/fuzz_http_host.c src/http-host.c \
	src/http-scan.c src/hostname.c
tests_fuzz_fuzz_http_host_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_http_host_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_http_host_LDADD = $(RTUN_LIBS)
endif
