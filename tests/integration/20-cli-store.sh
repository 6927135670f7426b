#!/bin/sh
# 20-cli-store.sh - 10-cli.sh against the real vaultfs (encrypted store):
# init output rules, malformed/wrong key exit codes, ready pipe, umount,
# fusermount3 -u, kill -9 then remount, -f, --read-only.
VFS_BIN="$VAULTFS"
export VFS_BIN
exec sh "${top_srcdir}/tests/integration/10-cli.sh"
