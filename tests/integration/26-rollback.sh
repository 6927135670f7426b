#!/bin/sh
# 26-rollback.sh - the cloud folder put back to an older commit (a copy
# taken earlier is restored after more commits) is refused with the
# rollback exit code; the newest state still mounts.
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VAULTFS}
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key
echo old >"$M/f"
vfs_umount "$M"
cp -a cloud old-copy

vfs_mount cloud "$M" key
echo new >"$M/f"
echo more >"$M/g"
vfs_umount "$M"
cp -a cloud new-copy

rm -rf cloud
cp -a old-copy cloud
expect_code 7 "$VAULTFS" mount --recovery-key-file key cloud mnt
expect_err 'older'
vfs_is_mounted "$M" && fail "mounted a rolled-back store"
expect_code 7 "$VAULTFS" mount --read-only --recovery-key-file key cloud mnt

rm -rf cloud
cp -a new-copy cloud
vfs_mount cloud "$M" key
[ "$(cat "$M/f")" = new ] || fail "newest state not there"
vfs_umount "$M"
echo "PASS: 26-rollback"
