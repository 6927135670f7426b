# vaultfs fsck: the check in the store library (fs/fsck.c), the command
# (fs/cmd_fsck.c), their tests, and the tests of common/progress.c.
fs_libvfsstore_a_SOURCES += fs/fsck.c fs/fsck.h
fs_libvfscli_a_SOURCES += fs/cmd_fsck.c fs/cmd_fsck.h

check_PROGRAMS += tests/unit/test_fsck
TESTS += tests/unit/test_fsck
tests_unit_test_fsck_SOURCES = tests/unit/test_fsck.c \
	tests/unit/fsutil.c tests/unit/fsutil.h
tests_unit_test_fsck_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_fsck_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_test_fsck_LDADD = fs/libvfsstore.a common/libvfscommon.a \
	$(CMOCKA_LIBS) $(SODIUM_LIBS)

check_PROGRAMS += tests/unit/test_progress
TESTS += tests/unit/test_progress
tests_unit_test_progress_SOURCES = tests/unit/test_progress.c
tests_unit_test_progress_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_progress_LDADD = common/libvfscommon.a $(CMOCKA_LIBS)

FSCK_IT = tests/integration/36-fsck.sh
TESTS += $(FSCK_IT)
EXTRA_DIST += $(FSCK_IT)
