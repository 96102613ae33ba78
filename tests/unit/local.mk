# tests/unit: Check unit tests, one program per module, run by "make check".
# Included from the top-level Makefile.am, so paths are relative to the top.
# A new test adds itself to check_PROGRAMS and TESTS and uses UNIT_CFLAGS and
# UNIT_LDADD, as test_config does.
if HAVE_CHECK
UNIT_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
UNIT_LDADD = $(RTUN_LIBS) $(CHECK_LIBS)

check_PROGRAMS += tests/unit/test_config
TESTS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.c
tests_unit_test_config_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_config_LDADD = $(UNIT_LDADD)
endif
