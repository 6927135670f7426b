# fs/: the store library and the vaultfs program.
bin_PROGRAMS += vaultfs
vaultfs_SOURCES = fs/main.c fs/store.h
vaultfs_CFLAGS = $(AM_CFLAGS) $(FUSE_CFLAGS) $(SODIUM_CFLAGS)
vaultfs_LDADD = common/libvfscommon.a $(FUSE_LIBS) $(SODIUM_LIBS)
