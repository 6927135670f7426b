# make check-valgrind: the whole test suite with every program of ours -
# unit tests, vaultfs and its FUSE daemon, vaultsrv and its workers,
# vaultctl - under valgrind memcheck (definite leaks count as errors).
# make check-valgrind-unit: the unit tests only (minutes; run in CI).
# Both need a build without sanitizers (valgrind and ASan exclude each
# other). Reports land in tests/valgrind/logs/; tests/valgrind/vg-report
# fails the target if any process reported an error.
EXTRA_DIST += tests/valgrind/vg-wrap tests/valgrind/vg-report \
	tests/valgrind/vaultfs.supp

VG_DIR = $(abs_top_builddir)/tests/valgrind
VG_LOGS = $(VG_DIR)/logs
VG_BIN = $(VG_DIR)/bin
VG_WRAP = $(abs_top_srcdir)/tests/valgrind/vg-wrap
VG_UNIT_TESTS = $(filter-out %.sh,$(TESTS))

vg-prepare: all $(check_PROGRAMS)
	@command -v valgrind >/dev/null || { \
	  echo "valgrind is not installed (apt-get install valgrind)"; exit 1; }
	@case "$(CFLAGS) $(VFS_CFLAGS)" in *fsanitize=address*) \
	  echo "check-valgrind needs a build without --enable-sanitizers"; \
	  exit 1;; esac
	rm -rf $(VG_LOGS) $(VG_BIN)
	$(MKDIR_P) $(VG_LOGS) $(VG_BIN)
	for p in vaultfs vaultsrv/vaultsrv vaultclient/vaultctl \
	    tests/integration/vaultfs-memstore; do \
	  printf '#!/bin/sh\nexec "%s" "%s" "$$@"\n' "$(VG_WRAP)" \
	    "$(abs_top_builddir)/$$p" >$(VG_BIN)/$${p##*/}; \
	  chmod +x $(VG_BIN)/$${p##*/}; \
	done

check-valgrind-unit: vg-prepare
	VFS_VALGRIND_LOGS=$(VG_LOGS) VFS_VALGRIND_EXIT=97 \
	VFS_VALGRIND_SUPP=$(abs_top_srcdir)/tests/valgrind/vaultfs.supp \
	  $(MAKE) $(AM_MAKEFLAGS) check TESTS="$(VG_UNIT_TESTS)" \
	  LOG_COMPILER="$(VG_WRAP)"
	$(abs_top_srcdir)/tests/valgrind/vg-report $(VG_LOGS)

check-valgrind: vg-prepare
	VFS_VALGRIND_LOGS=$(VG_LOGS) VFS_VALGRIND_DIR=$(VG_BIN) \
	VFS_VALGRIND_SUPP=$(abs_top_srcdir)/tests/valgrind/vaultfs.supp \
	VFS_VALGRIND_EXIT=97 \
	  $(MAKE) $(AM_MAKEFLAGS) check LOG_COMPILER="$(VG_WRAP)"
	$(abs_top_srcdir)/tests/valgrind/vg-report $(VG_LOGS)

clean-local: clean-valgrind
clean-valgrind:
	rm -rf $(VG_LOGS) $(VG_BIN)

.PHONY: vg-prepare check-valgrind check-valgrind-unit clean-valgrind
