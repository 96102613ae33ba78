# tests/unit: Check unit test of the TLS transport (fingerprint parsing and real in-process
# handshakes over a socketpair).  Included from the top-level Makefile.am after
# tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_tls
TESTS += tests/unit/test_tls
tests_unit_test_tls_SOURCES = tests/unit/test_tls.c
tests_unit_test_tls_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_tls_LDADD = $(UNIT_LDADD)
endif
