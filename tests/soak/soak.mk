# tests/soak/: the vault under fire (docs/testing.md, "Vault soak").
# A short run is tests/integration/57-vault-soak.sh in make check;
# `make soak-vault` runs the full one: SOAK_SECONDS (default 600) of
# registrations, recoveries and wrong guesses with random kill -9 and
# restarts of vaultsrv, then prints its totals.
EXTRA_DIST += tests/soak/vault-soak.sh
SOAK_TESTS = tests/integration/57-vault-soak.sh \
	tests/integration/58-vault-broken.sh
TESTS += $(SOAK_TESTS)
EXTRA_DIST += $(SOAK_TESTS)

SOAK_SECONDS = 600
# STORE=etcd: one replica on a 3-member etcd cluster (needs etcd).
STORE = sqlite
soak-vault: $(check_PROGRAMS) vaultsrv/vaultsrv
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	SOFTHSM_MODULE='$(SOFTHSM_MODULE)' \
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
	LSAN_OPTIONS=suppressions='$(abs_top_srcdir)/tests/lsan.supp' \
	SOAK_SECONDS='$(SOAK_SECONDS)' SOAK_STORE='$(STORE)' \
	$(SHELL) $(top_srcdir)/tests/soak/vault-soak.sh
.PHONY: soak-vault
