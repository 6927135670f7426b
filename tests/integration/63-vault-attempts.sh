#!/bin/sh
# 63-vault-attempts.sh - wrong passwords at mount: counted down ("9
# attempts left", 8, 7), reset by the right one; a second store on the
# same account shares the counter; 10 wrong guesses lock the account
# (the right password then gets the locked message), the 64-digit key
# still mounts, and 'vaultfs passwd --recovery-key-file' re-arms it with
# a new password that mounts.
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"

vi_setup carol
vi_pw "$T/pw" 'the right one'
vi_pw "$T/bad" 'not the right one'
vi_init "$T/cloudA" "$T/keyA" "$T/pw"
# (5) a second store on the same account: init --vault with that account
vi_init "$T/cloudB" "$T/keyB" "$T/pw"
grep -q "one more store" "$T/out" || fail "store B did not join carol's account"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM stores WHERE account='carol'")" = 2 ] ||
	fail "the vault does not hold both stores"
mkdir -p "$T/mnt"

wrong() { # CLOUD EXPECTED-LEFT
	expect_code 12 "$VAULTFS" mount --password-file "$T/bad" "$1" "$T/mnt"
	expect_err "wrong password, $2 attempts\{0,1\} left"
	seen="$seen $2"
}

# (3) counted down on store A, the right password resets
seen=""
wrong "$T/cloudA" 9
wrong "$T/cloudA" 8
wrong "$T/cloudA" 7
echo "63: wrong passwords on A:$seen attempts left"
[ "$(vi_attempts carol)" = 3 ] || fail "vault counter is $(vi_attempts carol), want 3"
vi_mount_pw "$T/cloudA" "$T/mnt" "$T/pw"
echo A >"$T/mnt/which"
vfs_umount "$T/mnt"
[ "$(vi_attempts carol)" = 0 ] || fail "the right password did not reset the counter"
seen=""
wrong "$T/cloudA" 9
echo "63: after the right password, next wrong says:$seen"

# (5) the counter is the account's: wrong guesses on A reduce B's
wrong "$T/cloudA" 8
seen=""
wrong "$T/cloudB" 7
wrong "$T/cloudB" 6
wrong "$T/cloudA" 5
echo "63: shared counter, B then B then A:$seen attempts left"

# (4) spend the rest: 4 3 2 1, then the 10th wrong guess locks
seen=""
for n in 4 3 2 1; do wrong "$T/cloudA" $n; done
expect_code 13 "$VAULTFS" mount --password-file "$T/bad" "$T/cloudA" "$T/mnt"
expect_err "is locked after too many wrong passwords"
echo "63: wrong:$seen, then locked (exit 13)"
# the right password: the locked message, on either store
for c in cloudA cloudB; do
	expect_code 13 "$VAULTFS" mount --password-file "$T/pw" "$T/$c" "$T/mnt"
	expect_err "the password can no longer recover this backup"
	expect_err "64-digit recovery key still can"
	expect_err "vaultfs passwd --recovery-key-file"
done
vfs_is_mounted "$(cd "$T/mnt" && pwd -P)" && fail "mounted while locked"
lockmsg=$(grep -m1 locked "$T/err")
# the 64-digit key still mounts
vfs_mount "$T/cloudA" "$T/mnt" "$T/keyA"
[ "$(cat "$T/mnt/which")" = A ] || fail "store A content with the key"
vfs_umount "$T/mnt"
# another store's key cannot re-arm this one
vi_pw "$T/new" 'brand new password'
expect_code 5 "$VAULTFS" passwd --recovery-key-file "$T/keyB" \
	--new-password-file "$T/new" "$T/cloudA"
expect_err "not the key it holds for this store"
# the right key re-arms with a new password
expect_code 0 "$VAULTFS" passwd --recovery-key-file "$T/keyA" \
	--new-password-file "$T/new" "$T/cloudA"
grep -q "re-armed" "$T/out" || fail "passwd output: $(cat "$T/out")"
[ "$(vi_attempts carol)" = 0 ] || fail "re-arm did not give a fresh counter"
vi_mount_pw "$T/cloudA" "$T/mnt" "$T/new"
[ "$(cat "$T/mnt/which")" = A ] || fail "store A content after re-arm"
vfs_umount "$T/mnt"
expect_code 12 "$VAULTFS" mount --password-file "$T/pw" "$T/cloudA" "$T/mnt"
expect_err "wrong password, 9 attempts left"
echo "63: locked: '$lockmsg'"
echo "63: the 64-digit key mounted and re-armed; the new password mounts"
echo "63-vault-attempts: ok"
