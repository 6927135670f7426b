# Unit tests of fs/ (the store library).
FS_UNIT_LDADD = fs/libvfsstore.a common/libvfscommon.a $(CMOCKA_LIBS) \
	$(SODIUM_LIBS)
FS_UNIT_SOURCES = tests/unit/fsutil.c tests/unit/fsutil.h
check_PROGRAMS += tests/unit/test_store
TESTS += tests/unit/test_store
tests_unit_test_store_SOURCES = tests/unit/test_store.c $(FS_UNIT_SOURCES)
tests_unit_test_store_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_LDADD = $(FS_UNIT_LDADD)
