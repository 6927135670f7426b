# fs/libvfsstore.a: the encrypted store (everything below the FUSE layer).
noinst_HEADERS += fs/store.h
noinst_LIBRARIES += fs/libvfsstore.a
fs_libvfsstore_a_SOURCES = \
	fs/hwm_async.c fs/hwm_async.h \
	fs/chunk.c fs/chunk.h \
	fs/commit.c fs/commit.h \
	fs/header.c fs/header.h \
	fs/lease.c fs/lease.h \
	fs/meta.c fs/meta.h \
	fs/objstore.c fs/objstore.h \
	fs/scan.c \
	fs/rekey.c fs/rekey.h \
	fs/segment.c fs/segment.h \
	fs/store.c fs/store_priv.h
fs_libvfsstore_a_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)

# The key change (fs/rekey.c): unit test with a crash at every step.
check_PROGRAMS += tests/unit/test_rekey
TESTS += tests/unit/test_rekey
tests_unit_test_rekey_SOURCES = tests/unit/test_rekey.c tests/unit/fsutil.c \
	tests/unit/fsutil.h
tests_unit_test_rekey_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_rekey_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_rekey_LDADD = fs/libvfsstore.a common/libvfscommon.a \
	$(CMOCKA_LIBS) $(SODIUM_LIBS)

# The high-water mark writer thread (fs/hwm_async.c).
check_PROGRAMS += tests/unit/test_hwm_async
TESTS += tests/unit/test_hwm_async
tests_unit_test_hwm_async_SOURCES = tests/unit/test_hwm_async.c
tests_unit_test_hwm_async_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_hwm_async_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hwm_async_LDADD = fs/libvfsstore.a common/libvfscommon.a \
	$(CMOCKA_LIBS) $(SODIUM_LIBS)
