# tests/crash/: crash-state enumeration (docs/testing.md).

# Regression tests for what the enumeration found, at the store level.
check_PROGRAMS += tests/crash/test_crash_open
TESTS += tests/crash/test_crash_open
tests_crash_test_crash_open_SOURCES = tests/crash/test_crash_open.c \
	tests/unit/fsutil.c tests/unit/fsutil.h
tests_crash_test_crash_open_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_crash_test_crash_open_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(SODIUM_CFLAGS)
tests_crash_test_crash_open_LDADD = fs/libvfsstore.a common/libvfscommon.a \
	$(CMOCKA_LIBS) $(SODIUM_LIBS)
