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
check_PROGRAMS += tests/unit/test_chunk
TESTS += tests/unit/test_chunk
tests_unit_test_chunk_SOURCES = tests/unit/test_chunk.c
tests_unit_test_chunk_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_chunk_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_chunk_LDADD = $(FS_UNIT_LDADD)
check_PROGRAMS += tests/unit/test_meta
TESTS += tests/unit/test_meta
tests_unit_test_meta_SOURCES = tests/unit/test_meta.c
tests_unit_test_meta_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_meta_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_meta_LDADD = $(FS_UNIT_LDADD)
check_PROGRAMS += tests/unit/test_commit
TESTS += tests/unit/test_commit
tests_unit_test_commit_SOURCES = tests/unit/test_commit.c $(FS_UNIT_SOURCES)
tests_unit_test_commit_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_commit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_commit_LDADD = $(FS_UNIT_LDADD)
# The sync-friendliness figures: quick in make check, `--full` by hand.
check_PROGRAMS += tests/bench/storefigures
TESTS += tests/bench/storefigures
tests_bench_storefigures_SOURCES = tests/bench/storefigures.c $(FS_UNIT_SOURCES)
tests_bench_storefigures_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs \
	-I$(top_srcdir)/tests/unit
tests_bench_storefigures_CFLAGS = $(UNIT_CFLAGS)
tests_bench_storefigures_LDADD = $(FS_UNIT_LDADD)
# Golden stores: tests/golden/v<N>/ must keep opening.
EXTRA_DIST += tests/golden/v1
check_PROGRAMS += tests/golden/mkgolden tests/unit/test_golden
TESTS += tests/unit/test_golden
tests_golden_mkgolden_SOURCES = tests/golden/mkgolden.c \
	tests/golden/golden.h $(FS_UNIT_SOURCES)
tests_golden_mkgolden_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs \
	-I$(top_srcdir)/tests/unit
tests_golden_mkgolden_CFLAGS = $(UNIT_CFLAGS)
tests_golden_mkgolden_LDADD = $(FS_UNIT_LDADD)
tests_unit_test_golden_SOURCES = tests/unit/test_golden.c $(FS_UNIT_SOURCES)
tests_unit_test_golden_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs \
	-I$(top_srcdir)/tests/golden -DTOP_SRCDIR='"$(abs_top_srcdir)"'
tests_unit_test_golden_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_golden_LDADD = $(FS_UNIT_LDADD)
check_PROGRAMS += tests/unit/test_cleaner
TESTS += tests/unit/test_cleaner
tests_unit_test_cleaner_SOURCES = tests/unit/test_cleaner.c $(FS_UNIT_SOURCES)
tests_unit_test_cleaner_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_cleaner_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cleaner_LDADD = $(FS_UNIT_LDADD)

check_PROGRAMS += tests/unit/test_lease
TESTS += tests/unit/test_lease
tests_unit_test_lease_SOURCES = tests/unit/test_lease.c $(FS_UNIT_SOURCES)
tests_unit_test_lease_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_lease_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_lease_LDADD = $(FS_UNIT_LDADD)
# Regressions for the security review of the store (time() wrapped).
check_PROGRAMS += tests/unit/test_store_review
TESTS += tests/unit/test_store_review
tests_unit_test_store_review_SOURCES = tests/unit/test_store_review.c \
	$(FS_UNIT_SOURCES)
tests_unit_test_store_review_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_store_review_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_review_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=time
tests_unit_test_store_review_LDADD = $(FS_UNIT_LDADD)
# Extended attributes, fallocate, files over 4 GiB, the format-2 header.
check_PROGRAMS += tests/unit/test_store_posix
TESTS += tests/unit/test_store_posix
tests_unit_test_store_posix_SOURCES = tests/unit/test_store_posix.c \
	$(FS_UNIT_SOURCES)
tests_unit_test_store_posix_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_store_posix_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_posix_LDADD = $(FS_UNIT_LDADD)
