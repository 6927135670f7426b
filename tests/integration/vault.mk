# Integration tests of the vault: a real vaultsrv over a SoftHSM token made
# in a temp dir, driven by vs_probe (client half of the protocol, test-only
# hash to curve) and curl.
check_PROGRAMS += tests/integration/vs_probe
tests_integration_vs_probe_SOURCES = tests/integration/vs_probe.c
tests_integration_vs_probe_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS) \
	$(CURL_CFLAGS) $(CJSON_CFLAGS) $(CRYPTO_CFLAGS)
tests_integration_vs_probe_LDADD = $(CURL_LIBS) $(CJSON_LIBS) \
	$(CRYPTO_LIBS) $(SODIUM_LIBS)
EXTRA_DIST += tests/integration/vault-lib.sh tests/integration/etcd-lib.sh
VAULT_TESTS = \
	tests/integration/50-vault-basics.sh \
	tests/integration/51-vault-protocol.sh \
	tests/integration/52-vault-hostile.sh \
	tests/integration/53-vault-lockout.sh \
	tests/integration/54-vault-crash.sh \
	tests/integration/55-vault-tls.sh \
	tests/integration/56-vault-ratelimit.sh \
	tests/integration/77-vault-epochs.sh \
	tests/integration/78-etcd-epochs.sh \
	tests/integration/70-etcd-replicas.sh \
	tests/integration/71-etcd-storm.sh \
	tests/integration/72-etcd-kill.sh \
	tests/integration/73-etcd-quorum.sh \
	tests/integration/74-etcd-tls.sh \
	tests/integration/75-ceremony-replicas.sh \
	tests/integration/76-ceremony-backup.sh
TESTS += $(VAULT_TESTS)
EXTRA_DIST += $(VAULT_TESTS)
# Benchmark (run by hand: tests/bench/vault-bench.sh); built with the
# checks so it never rots.
check_PROGRAMS += tests/bench/hsm_bench
tests_bench_hsm_bench_SOURCES = tests/bench/hsm_bench.c
tests_bench_hsm_bench_CFLAGS = $(VAULTSRV_CFLAGS)
tests_bench_hsm_bench_LDADD = $(VAULTSRV_LIBS) -lpthread
EXTRA_DIST += tests/bench/vault-bench.sh tests/bench/etcd-bench.sh
# vaultsrv replicas on etcd: sample configurations (docs/operations.md)
EXTRA_DIST += contrib/etcd/README contrib/etcd/vaultsrv-replica.conf \
	contrib/etcd/etcd-member.env
# the three-site sample (contrib/sites/README; checked by 75)
EXTRA_DIST += contrib/sites/README contrib/sites/mkpki.sh \
	contrib/sites/etcd-site-a.env contrib/sites/etcd-site-b.env \
	contrib/sites/etcd-site-c.env contrib/sites/vault-etcd.service \
	contrib/sites/vaultsrv-site-a.conf contrib/sites/vaultsrv-site-b.conf \
	contrib/sites/vaultsrv-site-c.conf contrib/sites/softhsm2.conf \
	contrib/sites/backup-softhsm2.conf contrib/sites/vaultsrv-replica.conf
# libFuzzer harnesses of vaultsrv's parsers (run by hand: needs clang).
EXTRA_DIST += tests/fuzz/vs-fuzz.sh tests/fuzz/fuzz_vs_json.c \
	tests/fuzz/fuzz_vs_token.c tests/fuzz/fuzz_vs_config.c tests/fuzz/fuzz_vs_etcd.c
