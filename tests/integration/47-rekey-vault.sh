#!/bin/sh
# 47-rekey-vault.sh - `vaultfs rekey` of a password-protected store with
# a real vault: a rekey that cannot reach the vault switches the store
# but stays unfinished, and the password (old K at the vault) still
# mounts it through the journal; the rerun registers the new key; then
# the password gives the new key (recovery-key --show), the old 64-digit
# key is refused (5), the content is unchanged, the vault's generation
# record verifies with the new key; a second rekey with the 64-digit key,
# a new password and --no-recovery-key.
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"

vi_setup alice
vi_pw "$T/pw" 'rekey 47 password'
vi_init "$T/cloud" "$T/k1" "$T/pw"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
mkdir "$T/mnt/chats"
head -c 3000000 /dev/urandom >"$T/mnt/chats/db"
printf 'hello 47\n' >"$T/mnt/chats/a.txt"
vfs_manifest "$T/mnt" >"$T/m1"
vfs_umount "$T/mnt"

# (1) the vault is down: the key comes from the 64-digit key, the switch
# happens, the vault step fails (14) and the change stays unfinished
vs_stop
expect_code 14 "$VAULTFS" rekey --recovery-key-file "$T/k1" \
	--new-password-file "$T/pw" --new-recovery-key-file "$T/k2" "$T/cloud"
expect_err "run 'vaultfs rekey' again"
[ -e "$T/cloud/vaultfs.rekey" ] || fail "no journal after an unfinished rekey"
[ -s "$T/k2" ] || fail "new key not saved before the switch"
vs_start
# the password (old K at the vault) still opens it, through the journal
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
vfs_manifest "$T/mnt" >"$T/m2"
cmp -s "$T/m1" "$T/m2" || fail "content differs in the unfinished state"
vfs_umount "$T/mnt"
expect_code 5 "$VAULTFS" recovery-key --show --password-file "$T/pw" \
	--output "$T/shown-early" "$T/cloud"
expect_err "run it again to finish"
echo "47: vault down: switched but unfinished; the password still mounts it"

# (2) the rerun with the password resumes and registers the new key
expect_code 0 "$VAULTFS" rekey --password-file "$T/pw" \
	--new-recovery-key-file "$T/k2" "$T/cloud"
expect_err "resuming the unfinished key change"
grep -q "password now recovers the new key" "$T/out" ||
	fail "rekey output: $(cat "$T/out")"
[ ! -e "$T/cloud/vaultfs.rekey" ] || fail "journal left"
expect_code 0 "$VAULTFS" recovery-key --show --password-file "$T/pw" \
	--output "$T/shown" "$T/cloud"
cmp -s "$T/k2" "$T/shown" || fail "the password does not give the new key"
cmp -s "$T/k1" "$T/k2" && fail "the key did not change"
mkdir -p "$T/mnt"
expect_code 5 "$VAULTFS" mount --recovery-key-file "$T/k1" "$T/cloud" "$T/mnt"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
if grep -q "cannot get the latest generation" "$T/err"; then
	fail "the vault's generation record does not verify with the new key: $(cat "$T/err")"
fi
vfs_manifest "$T/mnt" >"$T/m3"
cmp -s "$T/m1" "$T/m3" || fail "content differs after rekey"
vfs_umount "$T/mnt"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM stores WHERE account='alice'")" = 1 ] ||
	fail "the vault does not hold exactly one store"
[ "$(vi_attempts alice)" = 0 ] || fail "attempts $(vi_attempts alice)"
echo "47: rerun finished: password -> new key, old key refused (5), content intact"

# (3) a second rekey with the 64-digit key, a new password, no new
# 64-digit key: the password is then the only way in
vi_pw "$T/npw" 'rekey 47 second password'
expect_code 0 "$VAULTFS" rekey --recovery-key-file "$T/k2" \
	--new-password-file "$T/npw" --no-recovery-key "$T/cloud"
expect_code 5 "$VAULTFS" mount --recovery-key-file "$T/k2" "$T/cloud" "$T/mnt"
expect_code 12 "$VAULTFS" mount --password-file "$T/pw" "$T/cloud" "$T/mnt"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/npw"
vfs_manifest "$T/mnt" >"$T/m4"
cmp -s "$T/m1" "$T/m4" || fail "content differs after the second rekey"
vfs_umount "$T/mnt"
echo "47: second rekey (--no-recovery-key, new password): only the new password opens it"
