# tests/unit: Check unit tests of the status reports, their renderings and the
# status socket (src/status.c, src/refusals.c, src/status-socket.c). Included
# from the top-level Makefile.am after tests/unit/local.mk, whose UNIT_CFLAGS
# and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_status
TESTS += tests/unit/test_status
tests_unit_test_status_SOURCES = tests/unit/test_status.c
tests_unit_test_status_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_status_LDADD = $(UNIT_LDADD)
endif
