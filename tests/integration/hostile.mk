# Hostile sync client and a misbehaving cloud folder (tests 90-94,
# docs/testing.md "Hostile sync"). syncsim copies objects between two
# cloud folders the way a clumsy sync client does; faultshim.so makes the
# daemon's folder answer EIO/ENOSPC and can move its wall clock.
check_PROGRAMS += tests/hostile/syncsim tests/hostile/faultshim.so
tests_hostile_syncsim_SOURCES = tests/hostile/syncsim.c
tests_hostile_faultshim_so_SOURCES = tests/hostile/faultshim.c
# A shared object, not a program (as tests/crash/crashrec.so): no -pie,
# no sanitizers (preloaded ahead of the ASan runtime).
tests_hostile_faultshim_so_CFLAGS = $(AM_CFLAGS) -fPIC -fno-sanitize=all \
	-U_FORTIFY_SOURCE
tests_hostile_faultshim_so_LDFLAGS = -shared -fPIC
tests_hostile_faultshim_so_LDADD = -ldl

HOSTILE_IT = \
	tests/integration/90-sync-order.sh \
	tests/integration/91-seg-deleted.sh \
	tests/integration/92-full-readonly.sh \
	tests/integration/93-eio.sh \
	tests/integration/94-takeover.sh
TESTS += $(HOSTILE_IT)
EXTRA_DIST += $(HOSTILE_IT) tests/hostile/hostile-lib.sh

# The long variant: more states, more passes, more faults.
check-hostile: vaultfs$(EXEEXT) tests/hostile/syncsim$(EXEEXT) \
		tests/hostile/faultshim.so$(EXEEXT)
	@for t in $(HOSTILE_IT); do \
	  echo "== $$t (long)"; \
	  VFS_HOSTILE_LONG=1 top_builddir='$(abs_top_builddir)' \
	    top_srcdir='$(abs_top_srcdir)' \
	    $(SHELL) "$(abs_top_srcdir)/$$t"; rc=$$?; \
	  [ $$rc = 0 ] || [ $$rc = 77 ] || exit 1; \
	done
.PHONY: check-hostile

# Regression: a writer frozen past its lease checks it before committing.
check_PROGRAMS += tests/hostile/test_takeover
TESTS += tests/hostile/test_takeover
tests_hostile_test_takeover_SOURCES = tests/hostile/test_takeover.c \
	tests/unit/fsutil.c tests/unit/fsutil.h
tests_hostile_test_takeover_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs \
	-I$(top_srcdir)/tests/unit
tests_hostile_test_takeover_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(SODIUM_CFLAGS)
tests_hostile_test_takeover_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=time
tests_hostile_test_takeover_LDADD = fs/libvfsstore.a common/libvfscommon.a \
	$(CMOCKA_LIBS) $(SODIUM_LIBS)
