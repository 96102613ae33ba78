# tests/unit: Check unit tests of the parsers that route web traffic by name:
# the ClientHello server name (src/tls-sni.c). Included from the top-level
# Makefile.am after tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_sni
TESTS += tests/unit/test_sni
tests_unit_test_sni_SOURCES = tests/unit/test_sni.c
tests_unit_test_sni_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_sni_LDADD = $(UNIT_LDADD)
endif
