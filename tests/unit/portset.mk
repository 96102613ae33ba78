# tests/unit: Check unit test of the port sets rtund's allow_ports is parsed into
# (src/portset.c).  Included from the top-level Makefile.am after tests/unit/local.mk,
# whose UNIT_CFLAGS and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_portset
TESTS += tests/unit/test_portset
tests_unit_test_portset_SOURCES = tests/unit/test_portset.c
tests_unit_test_portset_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_portset_LDADD = $(UNIT_LDADD)
endif
