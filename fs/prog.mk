# The vaultfs program: CLI (cli.c), FUSE layer (fsops.c), commands (main.c).
noinst_LIBRARIES += fs/libvfscli.a
fs_libvfscli_a_SOURCES = fs/cli.c fs/cli.h fs/fsops.c fs/fsops.h \
	fs/cmdutil.c fs/cmdutil.h \
	fs/cmd_recoverykey.c fs/cmd_keycare.h
# status and restore: store.h only (so vaultfs-memstore links them too).
fs_libvfscli_a_SOURCES += fs/cmd_status.c fs/cmd_status.h \
	fs/cmd_restore.c fs/cmd_restore.h
fs_libvfscli_a_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(SODIUM_CFLAGS) \
	$(CJSON_CFLAGS)
VAULTFS_LIBS = $(FUSE_LIBS) $(SODIUM_LIBS) -lpthread

bin_PROGRAMS += vaultfs
vaultfs_SOURCES = fs/main.c fs/cmd_rekey.c
vaultfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(SODIUM_CFLAGS)
vaultfs_LDADD = fs/libvfscli.a fs/libvfsstore.a $(VC_LDADD) \
	common/libvfscommon.a $(VAULTFS_LIBS)

# Unit tests of the CLI (kept here so fs/ owners do not collide in
# tests/unit/fs.mk).
check_PROGRAMS += tests/unit/test_cli
TESTS += tests/unit/test_cli
tests_unit_test_cli_SOURCES = tests/unit/test_cli.c
tests_unit_test_cli_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_test_cli_LDADD = fs/libvfscli.a common/libvfscommon.a \
	$(CMOCKA_LIBS) $(SODIUM_LIBS)

dist_doc_DATA += docs/cli.md

# status and restore (kept here so fs/ owners do not collide in the
# shared test fragments): the debris scan and status figures of the store,
# and the integration tests 40-44.
check_PROGRAMS += tests/unit/test_scan
TESTS += tests/unit/test_scan
tests_unit_test_scan_SOURCES = tests/unit/test_scan.c tests/unit/fsutil.c \
	tests/unit/fsutil.h
tests_unit_test_scan_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/fs
tests_unit_test_scan_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(SODIUM_CFLAGS)
tests_unit_test_scan_LDADD = fs/libvfsstore.a common/libvfscommon.a \
	$(CMOCKA_LIBS) $(SODIUM_LIBS)

STATUS_IT = \
	tests/integration/40-status.sh \
	tests/integration/41-restore.sh \
	tests/integration/42-restore-resume.sh \
	tests/integration/43-debris.sh \
	tests/integration/44-restore-vault.sh
EXTRA_DIST += $(STATUS_IT)
TESTS += $(STATUS_IT)

# The restore resume test at the size the issue names (~100 MiB); make
# check runs it at 40 MiB.
check-restore-long: all tests/integration/vfs-probe
	cd tests/integration && VFS_RESTORE_MIB=100 \
		top_builddir=$(abs_top_builddir) top_srcdir=$(abs_top_srcdir) \
		$(SHELL) $(abs_top_srcdir)/tests/integration/42-restore-resume.sh
.PHONY: check-restore-long

# Key care (recovery-key, rekey): integration tests 45-48.
KEYCARE_IT = \
	tests/integration/45-recovery-key.sh \
	tests/integration/46-rekey.sh \
	tests/integration/47-rekey-vault.sh \
	tests/integration/48-rekey-kill9.sh \
	tests/integration/49-second-machine.sh
TESTS += $(KEYCARE_IT)
EXTRA_DIST += $(KEYCARE_IT)
