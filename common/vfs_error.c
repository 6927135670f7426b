/*
 * vfs_error.c - words for the vaultfs error codes and for -errno.
 */
#include "config.h"

#include <string.h>

#include "vfs_error.h"

const char *vfs_strerror(int r)
{
	int e = r < 0 ? -r : r;

	switch (e) {
	case VFS_E_NOTSTORE:
		return "not a vaultfs store";
	case VFS_E_KEYTEXT:
		return "malformed 64-digit key";
	case VFS_E_WRONGKEY:
		return "wrong key for this store";
	case VFS_E_DAMAGED:
		return "store damaged";
	case VFS_E_ROLLBACK:
		return "store rolled back to an older state";
	case VFS_E_FORK:
		return "store history forked";
	case VFS_E_VERSION:
		return "unsupported store format version";
	case VFS_E_MOUNTPOINT:
		return "mount point problem";
	case VFS_E_LOCKED:
		return "vault account locked";
	case VFS_E_PASSWORD:
		return "wrong password";
	case VFS_E_VAULT:
		return "vault unreachable";
	case VFS_E_TOKEN:
		return "account token refused";
	case VFS_E_PROTOCOL:
		return "malformed answer from the vault";
	case VFS_E_LEASE:
		return "store is mounted read-write elsewhere";
	default:
		break;
	}
	if (e > 0 && e < VFS_E_BASE)
		return strerror(e);
	return "unknown error";
}
