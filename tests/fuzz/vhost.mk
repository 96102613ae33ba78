# tests/fuzz: libFuzzer target for the ClientHello server-name parser,
# fuzz_sni (sni_parse on raw bytes; a verdict must not change when a byte is
# appended). Seeds in tests/fuzz/corpus/sni, written by tests/fuzz/mkcorpus.py.
# Included from the top-level Makefile.am after tests/fuzz/local.mk: the target
# joins its FUZZ_TARGETS, so "make fuzz-run" runs it the same way.
EXTRA_DIST += tests/fuzz/fuzz_sni.c

if ENABLE_FUZZ
FUZZ_TARGETS += tests/fuzz/fuzz_sni

tests_fuzz_fuzz_sni_SOURCES = tests/fuzz/fuzz_sni.c src/tls-sni.c
tests_fuzz_fuzz_sni_CFLAGS = $(AM_CFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_sni_LDFLAGS = $(AM_LDFLAGS) $(FUZZ_FLAGS)
tests_fuzz_fuzz_sni_LDADD = $(RTUN_LIBS)
endif
