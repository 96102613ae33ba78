# tests/unit: the link and stream machines (src/link.c, src/stream.c), the
# relay of a stream on one link to a stream on another (src/stream-relay.c), the
# session on a link (src/session.c), dialling (src/dial.c) and the hole punch
# (src/agent-punch.c) and UDP flows (src/stream-udp.c, src/server-udp.c,
# src/agent-udp.c), driven over real
# loopback sockets in one process. Included from the top-level Makefile.am after
# tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD they reuse.
if HAVE_CHECK
LOOPBACK_TESTS = tests/unit/test_link tests/unit/test_relay tests/unit/test_session \
	tests/unit/test_dial tests/unit/test_punch tests/unit/test_udp
check_PROGRAMS += $(LOOPBACK_TESTS)
TESTS += $(LOOPBACK_TESTS)
LOOPBACK_SOURCES = tests/unit/loopback.c tests/unit/loopback.h

tests_unit_test_link_SOURCES = tests/unit/test_link.c $(LOOPBACK_SOURCES)
tests_unit_test_link_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_link_LDADD = $(UNIT_LDADD)

tests_unit_test_relay_SOURCES = tests/unit/test_relay.c $(LOOPBACK_SOURCES)
tests_unit_test_relay_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_relay_LDADD = $(UNIT_LDADD)

tests_unit_test_session_SOURCES = tests/unit/test_session.c $(LOOPBACK_SOURCES)
tests_unit_test_session_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_session_LDADD = $(UNIT_LDADD)

tests_unit_test_punch_SOURCES = tests/unit/test_punch.c $(LOOPBACK_SOURCES)
tests_unit_test_punch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_punch_LDADD = $(UNIT_LDADD)

tests_unit_test_udp_SOURCES = tests/unit/test_udp.c $(LOOPBACK_SOURCES)
tests_unit_test_udp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_udp_LDADD = $(UNIT_LDADD)

tests_unit_test_dial_SOURCES = tests/unit/test_dial.c $(LOOPBACK_SOURCES)
tests_unit_test_dial_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dial_LDADD = $(UNIT_LDADD)
endif

# The public-port registry (src/server-ports.c) and its claim policy.
if HAVE_CHECK
check_PROGRAMS += tests/unit/test_ports
TESTS += tests/unit/test_ports
tests_unit_test_ports_SOURCES = tests/unit/test_ports.c
tests_unit_test_ports_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_ports_LDADD = $(UNIT_LDADD)
endif
