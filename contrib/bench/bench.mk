# contrib/bench/: benchmarks (not part of make check's TESTS).
#
# vault_bench is a check program so that every `make check` (also with
# --enable-werror and --enable-sanitizers) compiles and links it; it runs
# only through `make bench-vault` (contrib/bench/vault-bench.sh), which sets
# up a SoftHSM token and a vaultsrv in a temp dir. BENCH_ARGS passes
# options to the script, e.g. make bench-vault BENCH_ARGS='--clients 2
# --recoveries 20'.
check_PROGRAMS += contrib/bench/vault_bench
contrib_bench_vault_bench_SOURCES = contrib/bench/vault_bench.c
contrib_bench_vault_bench_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) \
	$(CURL_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS)
# The time spent inside HTTP round trips is measured by wrapping the
# client's one transport call at link time.
contrib_bench_vault_bench_LDFLAGS = $(AM_LDFLAGS) -Wl,--wrap=http_request
# Only hsm.o is taken from libvaultsrv.a (the bench calls hsm_* alone).
contrib_bench_vault_bench_LDADD = vaultclient/libvaultclient.a \
	vaultsrv/libvaultsrv.a common/libvfscommon.a \
	$(CURL_LIBS) $(CJSON_LIBS) $(CRYPTO_LIBS) $(SODIUM_LIBS)
EXTRA_DIST += contrib/bench/vault-bench.sh

bench-vault: contrib/bench/vault_bench$(EXEEXT) vaultsrv/vaultsrv$(EXEEXT)
	VAULTSRV='$(abs_top_builddir)/vaultsrv/vaultsrv$(EXEEXT)' \
	VAULT_BENCH='$(abs_top_builddir)/contrib/bench/vault_bench$(EXEEXT)' \
	SOFTHSM_MODULE='$(SOFTHSM_MODULE)' \
	$(SHELL) '$(abs_top_srcdir)/contrib/bench/vault-bench.sh' $(BENCH_ARGS)
.PHONY: bench-vault

# vaultfs against gocryptfs, CryFS, securefs and a plain directory, on this
# machine, interleaved (contrib/bench/peers.sh; root: installs the peers with
# apt-get if missing, drops the page cache for cold reads). Not in `make
# check`. make bench-peers BENCH_ARGS='--quick' is a smoke run.
EXTRA_DIST += contrib/bench/peers.sh
bench-peers: vaultfs$(EXEEXT)
	bash '$(abs_top_srcdir)/contrib/bench/peers.sh' '$(abs_top_builddir)' $(BENCH_ARGS)
.PHONY: bench-peers
