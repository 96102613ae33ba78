# tests/unit: Check unit tests of the operational modules (metrics registry and its HTTP
# endpoint, PROXY protocol encoder, log escaping).  Included from the top-level Makefile.am after
# tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD these reuse.
if HAVE_CHECK
OPS_TESTS = tests/unit/test_metrics tests/unit/test_proxyproto tests/unit/test_log
check_PROGRAMS += $(OPS_TESTS)
TESTS += $(OPS_TESTS)

tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_metrics_LDADD = $(UNIT_LDADD)

tests_unit_test_proxyproto_SOURCES = tests/unit/test_proxyproto.c
tests_unit_test_proxyproto_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_proxyproto_LDADD = $(UNIT_LDADD)

tests_unit_test_log_SOURCES = tests/unit/test_log.c
tests_unit_test_log_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_log_LDADD = $(UNIT_LDADD)
endif
