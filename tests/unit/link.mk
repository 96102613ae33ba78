# tests/unit: the link and stream machines (src/link.c, src/stream.c) and the
# session on a link (src/session.c), driven over real loopback sockets in one
# process. Included from the top-level Makefile.am after tests/unit/local.mk,
# whose UNIT_CFLAGS and UNIT_LDADD they reuse.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_link tests/unit/test_session
TESTS += tests/unit/test_link tests/unit/test_session
tests_unit_test_link_SOURCES = tests/unit/test_link.c tests/unit/loopback.c tests/unit/loopback.h
tests_unit_test_link_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_link_LDADD = $(UNIT_LDADD)
tests_unit_test_session_SOURCES = tests/unit/test_session.c tests/unit/loopback.c \
	tests/unit/loopback.h
tests_unit_test_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_session_LDADD = $(UNIT_LDADD)
endif
