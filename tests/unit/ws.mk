# tests/unit: Check unit test of the WebSocket transport (accept key, upgrade request
# parser, in-process client/server pairs over a socketpair, scripted proxy answers) and of
# the first-bytes sniffer.  Included from the top-level Makefile.am after
# tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD it reuses.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_ws
TESTS += tests/unit/test_ws
tests_unit_test_ws_SOURCES = tests/unit/test_ws.c
tests_unit_test_ws_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ws_LDADD = $(UNIT_LDADD)
endif
