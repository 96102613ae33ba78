# tests/unit: Check unit tests of the wire codec and its helpers (frame, buf,
# control, auth and its back-off, idmap, dest: route destinations and allow_connect). Included from the top-level Makefile.am after
# tests/unit/local.mk, whose UNIT_CFLAGS and UNIT_LDADD these reuse.
if HAVE_CHECK
CODEC_TESTS = tests/unit/test_frame tests/unit/test_buf tests/unit/test_control \
	tests/unit/test_auth tests/unit/test_authlimit tests/unit/test_idmap tests/unit/test_dest
check_PROGRAMS += $(CODEC_TESTS)
TESTS += $(CODEC_TESTS)

tests_unit_test_frame_SOURCES = tests/unit/test_frame.c
tests_unit_test_frame_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_frame_LDADD = $(UNIT_LDADD)

tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_buf_LDADD = $(UNIT_LDADD)

tests_unit_test_authlimit_SOURCES = tests/unit/test_authlimit.c
tests_unit_test_authlimit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_authlimit_LDADD = $(UNIT_LDADD)

tests_unit_test_control_SOURCES = tests/unit/test_control.c
tests_unit_test_control_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_control_LDADD = $(UNIT_LDADD)

tests_unit_test_auth_SOURCES = tests/unit/test_auth.c
tests_unit_test_auth_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_auth_LDADD = $(UNIT_LDADD)

tests_unit_test_dest_SOURCES = tests/unit/test_dest.c
tests_unit_test_dest_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_dest_LDADD = $(UNIT_LDADD)

tests_unit_test_idmap_SOURCES = tests/unit/test_idmap.c
tests_unit_test_idmap_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_idmap_LDADD = $(UNIT_LDADD)
endif
