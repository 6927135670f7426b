# fs/libvfsstore.a: the encrypted store (everything below the FUSE layer).
noinst_HEADERS += fs/store.h
noinst_LIBRARIES += fs/libvfsstore.a
fs_libvfsstore_a_SOURCES = \
	fs/chunk.c fs/chunk.h \
	fs/commit.c fs/commit.h \
	fs/header.c fs/header.h \
	fs/lease.c fs/lease.h \
	fs/meta.c fs/meta.h \
	fs/objstore.c fs/objstore.h \
	fs/scan.c \
	fs/segment.c fs/segment.h \
	fs/store.c fs/store_priv.h
fs_libvfsstore_a_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
