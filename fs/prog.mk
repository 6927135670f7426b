# The vaultfs program: CLI (cli.c), FUSE layer (fsops.c), commands (main.c).
noinst_LIBRARIES += fs/libvfscli.a
fs_libvfscli_a_SOURCES = fs/cli.c fs/cli.h fs/fsops.c fs/fsops.h \
	fs/cmdutil.c fs/cmdutil.h
# status and restore: store.h only (so vaultfs-memstore links them too).
fs_libvfscli_a_SOURCES += fs/cmd_status.c fs/cmd_status.h \
	fs/cmd_restore.c fs/cmd_restore.h
fs_libvfscli_a_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(SODIUM_CFLAGS) \
	$(CJSON_CFLAGS)
VAULTFS_LIBS = $(FUSE_LIBS) $(SODIUM_LIBS) -lpthread

bin_PROGRAMS += vaultfs
vaultfs_SOURCES = fs/main.c
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
