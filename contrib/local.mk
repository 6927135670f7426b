# contrib/
EXTRA_DIST += contrib/quickstart contrib/demo.sh
include contrib/bench/bench.mk
EXTRA_DIST += contrib/bench/sync-cost.sh

# Sync cost through a real mount (objects and bytes a sync client sees).
bench-sync: vaultfs$(EXEEXT)
	$(SHELL) '$(abs_top_srcdir)/contrib/bench/sync-cost.sh' '$(abs_top_builddir)'
.PHONY: bench-sync
include contrib/install.mk
