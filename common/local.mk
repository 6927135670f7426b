# common/: internal convenience library shared by all programs and tests.
noinst_LIBRARIES += common/libvfscommon.a
common_libvfscommon_a_SOURCES = \
	common/buf.c common/buf.h \
	common/keytext.c common/keytext.h \
	common/log.c common/log.h \
	common/progress.c common/progress.h \
	common/vfs_error.c common/vfs_error.h
common_libvfscommon_a_CFLAGS = $(AM_CFLAGS) $(SODIUM_CFLAGS)
