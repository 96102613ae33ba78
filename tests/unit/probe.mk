# tests/unit: Check unit test of the hole-punch probe codec (src/punch-probe.c).
# Included from the top-level Makefile.am after tests/unit/local.mk, whose
# UNIT_CFLAGS and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_probe
TESTS += tests/unit/test_probe
tests_unit_test_probe_SOURCES = tests/unit/test_probe.c
tests_unit_test_probe_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_probe_LDADD = $(UNIT_LDADD)
endif
