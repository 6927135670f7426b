# fs/libvfsstore.a: the encrypted store (everything below the FUSE layer).
noinst_HEADERS += fs/store.h
