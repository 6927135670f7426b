# Integration tests: real FUSE mounts, real vaultsrv + SoftHSM.
EXTRA_DIST += tests/integration/lib.sh
include tests/integration/fs.mk
include tests/integration/vault.mk
include tests/integration/pkg.mk
include tests/integration/hostile.mk
