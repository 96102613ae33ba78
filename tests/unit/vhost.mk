# tests/unit: Check unit tests of the parsers that route web traffic by name:
# host names (src/hostname.c), the ClientHello server name (src/tls-sni.c) and
# the Host of a request head (src/http-host.c). Included from the top-level
# Makefile.am after tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_vhost
TESTS += tests/unit/test_vhost
tests_unit_test_vhost_SOURCES = tests/unit/test_vhost.c
tests_unit_test_vhost_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_vhost_LDADD = $(UNIT_LDADD)
endif
