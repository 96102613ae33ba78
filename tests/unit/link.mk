# tests/unit: the link and stream machines (src/link.c, src/stream.c) driven over real
# loopback sockets in one process.  Included from the top-level Makefile.am after
# tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_link
TESTS += tests/unit/test_link
tests_unit_test_link_SOURCES = tests/unit/test_link.c
tests_unit_test_link_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_link_LDADD = $(UNIT_LDADD)
endif

# The public-port registry (src/server-ports.c) and its claim policy.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_ports
TESTS += tests/unit/test_ports
tests_unit_test_ports_SOURCES = tests/unit/test_ports.c
tests_unit_test_ports_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ports_LDADD = $(UNIT_LDADD)
endif
