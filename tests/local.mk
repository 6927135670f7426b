# tests/: cmocka unit tests (TAP) and shell integration tests.
EXTRA_DIST += tests/lsan.supp tests/vectors
include tests/unit/local.mk
include tests/unit/fs.mk
include tests/unit/vaultclient.mk
include tests/unit/vaultsrv.mk
include tests/integration/local.mk
include tests/fuzz/local.mk
include tests/valgrind/valgrind.mk
include tests/crash/crash.mk
include tests/soak/soak.mk
