/*
 * vfs_error.h - error codes shared by the vaultfs programs.
 *
 * Functions return 0 (or a count) on success and a negative number on
 * failure: -errno for system errors, or -VFS_E_* for the conditions that
 * the user must be told about in words and that map to distinct exit codes.
 * VFS_E_* values sit above every errno so the two never collide.
 */
#ifndef VFS_ERROR_H
#define VFS_ERROR_H

enum vfs_error {
	VFS_E_BASE = 4096,
	VFS_E_NOTSTORE,   /* the folder holds no vaultfs store */
	VFS_E_KEYTEXT,    /* malformed 64-digit key text */
	VFS_E_WRONGKEY,   /* key does not open this store */
	VFS_E_DAMAGED,    /* store objects fail authentication or are missing */
	VFS_E_ROLLBACK,   /* store is older than a generation seen before */
	VFS_E_FORK,       /* two histories for one generation */
	VFS_E_VERSION,    /* store format version not supported */
	VFS_E_MOUNTPOINT, /* mount point missing, busy or not a directory */
	VFS_E_LOCKED,     /* vault account locked after too many guesses */
	VFS_E_PASSWORD,   /* wrong password */
	VFS_E_VAULT,      /* vault unreachable or failed */
	VFS_E_TOKEN,      /* account token refused by the vault */
	VFS_E_PROTOCOL,   /* vault answered something malformed */
	VFS_E_LEASE,      /* another writer holds the store */
	VFS_E_MAX
};

/* Returns a static, human-readable description of r (negative). */
const char *vfs_strerror(int r);

#endif
