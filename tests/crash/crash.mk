# tests/crash/: crash-state enumeration (docs/testing.md). The short tier
# runs in make check; `make check-crash` runs the full enumeration.
#
# crashrec.so is an LD_PRELOAD shim that records what the vaultfs daemon
# does to the cloud folder and the state folder; crashtool builds every
# crash state of such a recording and fingerprints mounted trees.
check_PROGRAMS += tests/crash/crashrec.so tests/crash/crashtool
tests_crash_crashrec_so_SOURCES = tests/crash/crashrec.c
# A shared object, not a program: its own link flags (no -pie), and no
# sanitizer instrumentation (it is preloaded ahead of the ASan runtime).
tests_crash_crashrec_so_CFLAGS = $(AM_CFLAGS) -fPIC -fno-sanitize=all \
	-U_FORTIFY_SOURCE
tests_crash_crashrec_so_LDFLAGS = -shared -fPIC
tests_crash_crashrec_so_LDADD = -ldl -lpthread

tests_crash_crashtool_SOURCES = tests/crash/crashtool.c
tests_crash_crashtool_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) $(SQLITE_CFLAGS)
tests_crash_crashtool_LDADD = $(SODIUM_LIBS) $(SQLITE_LIBS)

CRASH_TESTS = tests/crash/crash-short.sh
TESTS += $(CRASH_TESTS)
EXTRA_DIST += $(CRASH_TESTS) tests/crash/crash-lib.sh tests/crash/crash-full.sh

# The full enumeration: a longer workload (spills, more commits), every
# crash point with random drops, reorders and torn writes.
check-crash: $(check_PROGRAMS) vaultfs
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions='$(abs_top_srcdir)/tests/lsan.supp' \
	$(SHELL) $(top_srcdir)/tests/crash/crash-full.sh
.PHONY: check-crash

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
