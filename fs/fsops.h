/*
 * fsops.h - the FUSE side of vaultfs: a low-level (inode-based) session
 * serving a store at a mount point.
 *
 * fsops.c is the only file that includes fuse_lowlevel.h. The FUSE inode
 * numbers are the store's own (STORE_ROOT_INO is FUSE_ROOT_ID).
 */
#ifndef VFS_FSOPS_H
#define VFS_FSOPS_H

#include "store.h"

#define FSOPS_WUR __attribute__((warn_unused_result))

struct fsops;

struct fsops_opts {
	const char *mountpoint; /* absolute path */
	const char *fuse_opts;	/* the user's -o options, comma-separated;
				 * NULL for none */
	int read_only;		/* mount "ro"; the store must be read-only */
	int debug;		/* libfuse's request trace (-d) */
};

/*
 * Creates a FUSE session for s with the options default_permissions,
 * fsname=vaultfs, subtype=vaultfs (+ ro) and the user's options after
 * them, mounts it at o->mountpoint and installs SIGINT/SIGTERM/SIGHUP
 * handlers that end fsops_run. On success the kernel mount exists. s stays
 * owned by the caller and must outlive *ret. Returns -EINVAL when libfuse
 * refuses the options (it logs which), -VFS_E_MOUNTPOINT when the mount
 * fails, -ENOMEM.
 */
int fsops_new(struct store *s, const struct fsops_opts *o,
	      struct fsops **ret) FSOPS_WUR;

/*
 * Serves requests until the file system is unmounted (umount,
 * fusermount3 -u) or a signal ends the session. Returns 0 or -errno.
 */
int fsops_run(struct fsops *f) FSOPS_WUR;

/*
 * Unmounts (if still mounted), calls the destroy handler (which commits the
 * store) if the kernel did not, and frees the session. Returns the result
 * of that last commit (0 when nothing needed committing). NULL does
 * nothing.
 */
int fsops_free(struct fsops *f);

#endif
