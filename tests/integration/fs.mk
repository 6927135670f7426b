# Integration tests of vaultfs (store, mount): real FUSE mounts.
EXTRA_DIST += $(VAULTFS_IT)

# vaultfs linked with an in-memory test double of store.h: tests the FUSE
# layer and the CLI independently of the real store. Never installed.
check_PROGRAMS += tests/integration/vaultfs-memstore
tests_integration_vaultfs_memstore_SOURCES = fs/main.c \
	tests/integration/memstore.c
tests_integration_vaultfs_memstore_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) \
	$(SODIUM_CFLAGS)
tests_integration_vaultfs_memstore_LDADD = fs/libvfscli.a $(VC_LDADD) \
	fs/libvfsstore.a common/libvfscommon.a $(VAULTFS_LIBS)

# Small helper for system calls the shell cannot make (renameat2, xattrs).
check_PROGRAMS += tests/integration/vfs-probe
tests_integration_vfs_probe_SOURCES = tests/integration/vfs-probe.c

# Plays another machine's writer: writes a lease with the real encoder
# under a chosen identity (tests 30-33).
check_PROGRAMS += tests/integration/vfs-lease
tests_integration_vfs_lease_SOURCES = tests/integration/vfs-lease.c
tests_integration_vfs_lease_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_integration_vfs_lease_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
tests_integration_vfs_lease_LDADD = fs/libvfsstore.a common/libvfscommon.a \
	$(SODIUM_LIBS) -lpthread

# Times foreground writes while the daemon cleans (31).
check_PROGRAMS += tests/integration/vfs-stall
tests_integration_vfs_stall_SOURCES = tests/integration/vfs-stall.c

# The cleaner's space bound with the 64 MiB workload of issue #3 (about
# twice as long as the 32 MiB version in make check).
check-clean-long: vaultfs$(EXEEXT) tests/integration/vfs-stall$(EXEEXT)
	VFS_CLEAN_MIB=64 top_builddir='$(abs_top_builddir)' \
	  top_srcdir='$(abs_top_srcdir)' \
	  $(SHELL) '$(abs_top_srcdir)/tests/integration/31-clean-space.sh'
.PHONY: check-clean-long

VAULTFS_IT = \
	tests/integration/10-cli.sh \
	tests/integration/11-fsops.sh \
	tests/integration/20-cli-store.sh \
	tests/integration/21-fsops-store.sh \
	tests/integration/22-roundtrip.sh \
	tests/integration/23-sqlite.sh \
	tests/integration/24-plaintext.sh \
	tests/integration/25-tamper.sh \
	tests/integration/26-rollback.sh \
	tests/integration/27-kill9.sh \
	tests/integration/28-posix.sh \
	tests/integration/30-lease.sh \
	tests/integration/31-clean-space.sh \
	tests/integration/32-clean-kill9.sh \
	tests/integration/33-ro-follow.sh \
	tests/integration/61-vault-mount.sh \
	tests/integration/62-vault-offline.sh \
	tests/integration/63-vault-attempts.sh \
	tests/integration/64-vault-rollback.sh \
	tests/integration/65-vault-urls.sh \
	tests/integration/66-key-sources.sh
TESTS += $(VAULTFS_IT)
# Helpers of the vaultfs + vault tests (61-69).
EXTRA_DIST += tests/integration/vint-lib.sh

# Randomized model-based test through the real mount (34-model.sh; a long
# run with `make check-model`). vfs-model.c applies random operations to the
# mount and to an in-memory model and compares them (docs/testing.md).
check_PROGRAMS += tests/integration/vfs-model
tests_integration_vfs_model_SOURCES = tests/integration/vfs-model.c
tests_integration_vfs_model_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
tests_integration_vfs_model_LDADD = $(SODIUM_LIBS)
TESTS += tests/integration/34-model.sh
EXTRA_DIST += tests/integration/34-model.sh

# The long run: 2 x 50000 operations (VFS_MODEL_OPS, VFS_MODEL_SEED and
# VFS_MODEL_ARGS as for 34-model.sh). 15-30 minutes on 2 cores.
check-model: tests/integration/vfs-model$(EXEEXT) vaultfs$(EXEEXT)
	VFS_MODEL_OPS=$${VFS_MODEL_OPS:-50000} \
	top_builddir='$(abs_top_builddir)' top_srcdir='$(abs_top_srcdir)' \
	$(SHELL) '$(abs_top_srcdir)/tests/integration/34-model.sh'
.PHONY: check-model
