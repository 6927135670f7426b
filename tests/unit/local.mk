# Unit tests of common/.
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS)
check_PROGRAMS += tests/unit/test_keytext tests/unit/test_buf
TESTS += tests/unit/test_keytext tests/unit/test_buf
tests_unit_test_keytext_SOURCES = tests/unit/test_keytext.c
tests_unit_test_keytext_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_keytext_LDADD = common/libvfscommon.a $(CMOCKA_LIBS) $(SODIUM_LIBS)
tests_unit_test_buf_SOURCES = tests/unit/test_buf.c
tests_unit_test_buf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_buf_LDADD = common/libvfscommon.a $(CMOCKA_LIBS) $(SODIUM_LIBS)
