# The vaultfs program: CLI + FUSE layer.
bin_PROGRAMS += vaultfs
vaultfs_SOURCES = fs/main.c
vaultfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(SODIUM_CFLAGS)
vaultfs_LDADD = common/libvfscommon.a $(FUSE_LIBS) $(SODIUM_LIBS)
