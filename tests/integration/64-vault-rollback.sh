#!/bin/sh
# 64-vault-rollback.sh - a rolled-back cloud folder (an earlier copy put
# back after more commits) is refused on a NEW device (empty state dir):
# the vault holds the generation the mount reported at unmount, signed
# with a K-derived key, and mount compares it with the folder's head.
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"

vi_setup dave
vi_pw "$T/pw" 'roll me back'
vi_init "$T/cloud" "$T/key" "$T/pw"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
printf 'version 1\n' >"$T/mnt/state.txt"
vfs_umount "$T/mnt"
g1=$(sqlite3 "$DB" "SELECT generation FROM generations WHERE account='dave'")
cp -a "$T/cloud" "$T/cloud.old"

vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
printf 'version 2\n' >"$T/mnt/state.txt"
sync "$T/mnt/state.txt" 2>/dev/null || true
printf 'more\n' >"$T/mnt/more.txt"
vfs_umount "$T/mnt"
g2=$(sqlite3 "$DB" "SELECT generation FROM generations WHERE account='dave'")
[ -n "$g1" ] && [ -n "$g2" ] && [ "$g2" -gt "$g1" ] ||
	fail "generations reported: '$g1' then '$g2'"
cp -a "$T/cloud" "$T/cloud.new"

# put the old copy back
rm -rf "$T/cloud"
cp -a "$T/cloud.old" "$T/cloud"

# a new device: fresh state dir, the vault given on the command line
XDG_STATE_HOME="$T/state-new"
export XDG_STATE_HOME
mkdir -p "$T/mnt"
expect_code 7 "$VAULTFS" mount --vault "$URL" --account-token-file "$TOK" \
	--password-file "$T/pw" "$T/cloud" "$T/mnt"
expect_err "has seen generation $g2"
expect_err "holds generation $g1"
expect_err "rolled back"
vfs_is_mounted "$(cd "$T/mnt" && pwd -P)" && fail "a rolled-back folder was mounted"
msg=$(grep -m1 'has seen' "$T/err")
# with the 64-digit key too, since the vault is now trusted here
expect_code 7 "$VAULTFS" mount --recovery-key-file "$T/key" "$T/cloud" "$T/mnt"
expect_err "has seen generation $g2"
# a third device that asks no vault cannot tell (read-only, to change
# nothing): that is what the vault's generation is for
XDG_STATE_HOME="$T/state-novault"
export XDG_STATE_HOME
expect_code 0 "$VAULTFS" mount --read-only --recovery-key-file "$T/key" \
	"$T/cloud" "$T/mnt"
[ "$(cat "$T/mnt/state.txt")" = "version 1" ] || fail "old copy content"
vfs_umount "$T/mnt"

# the real latest folder mounts on the new device
rm -rf "$T/cloud"
cp -a "$T/cloud.new" "$T/cloud"
XDG_STATE_HOME="$T/state-new"
export XDG_STATE_HOME
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
[ "$(cat "$T/mnt/state.txt")" = "version 2" ] || fail "latest content"
vfs_umount "$T/mnt"
echo "64: generations reported $g1 then $g2; new device: '$msg'"
echo "64-vault-rollback: ok"
