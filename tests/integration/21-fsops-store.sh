#!/bin/sh
# 21-fsops-store.sh - 11-fsops.sh against the real vaultfs, plus a remount:
# the tree must be identical after unmount and mount.
VFS_BIN="$VAULTFS"
export VFS_BIN
exec sh "${top_srcdir}/tests/integration/11-fsops.sh"
