#!/bin/sh
# 62-vault-offline.sh - vaultfs when the vault cannot help: stopped (the
# 64-digit key still mounts; without a key the message says the vault is
# unreachable and points to --recovery-key) and a refused account token
# (said so; no attempt counted).
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"

vi_setup bob
vi_pw "$T/pw" 'offline password'
vi_init "$T/cloud" "$T/key" "$T/pw"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
printf 'kept while offline\n' >"$T/mnt/note"
vfs_umount "$T/mnt"

# a token for another account: refused, nothing counted
(umask 077 && vs_token mallory >"$T/tok-mallory")
before=$(vi_attempts bob)
expect_code 14 "$VAULTFS" mount --account-token-file "$T/tok-mallory" \
	--password-file "$T/pw" "$T/cloud" "$T/mnt"
expect_err "refused the account token"
expect_err "no password attempt was counted"
[ "$(vi_attempts bob)" = "$before" ] || fail "a refused token was counted"
# a forged token: refused, nothing counted
(umask 077 && sed 's/.$/A/' "$TOK" >"$T/tok-forged")
cmp -s "$TOK" "$T/tok-forged" && (umask 077 && sed 's/.$/B/' "$TOK" >"$T/tok-forged")
expect_code 14 "$VAULTFS" mount --account-token-file "$T/tok-forged" \
	--password-file "$T/pw" "$T/cloud" "$T/mnt"
expect_err "refused the account token"
[ "$(vi_attempts bob)" = "$before" ] || fail "a forged token was counted"
echo "62: refused tokens reported, counter stays at $before"

# the vault goes away
vs_stop
expect_code 14 "$VAULTFS" mount --password-file "$T/pw" "$T/cloud" "$T/mnt"
expect_err "cannot reach the vault at '$URL'"
expect_err "recovery-key"
vfs_is_mounted "$(cd "$T/mnt" && pwd -P)" && fail "mounted without a key"
msg=$(head -n 1 "$T/err")
expect_code 0 "$VAULTFS" mount --recovery-key-file "$T/key" "$T/cloud" "$T/mnt"
expect_err "cannot get the latest generation"
[ "$(cat "$T/mnt/note")" = "kept while offline" ] || fail "content with the key"
printf 'written offline\n' >"$T/mnt/note2"
vfs_umount "$T/mnt"
grep -q "cannot report generation" "$XDG_STATE_HOME/vaultfs/vaultfs.log" ||
	fail "the failed report at unmount was not logged"
echo "62: vault stopped: '$msg'; the 64-digit key mounts"

# back again: the password works and the new generation is reported
vs_start
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
[ "$(cat "$T/mnt/note2")" = "written offline" ] || fail "offline write lost"
# the ticker reports the changed generation (within about a second here;
# up to 60 s allowed for a slow sanitizer build)
i=0
while :; do
	g=$(sqlite3 "$DB" "SELECT generation FROM generations WHERE account='bob'")
	[ -n "$g" ] && [ "$g" -ge 3 ] && break
	i=$((i + 1))
	[ $i -lt 600 ] || fail "generation not reported after the vault came back (got '$g')"
	sleep 0.1
done
vfs_umount "$T/mnt"
echo "62: vault back: generation $g reported by the running mount"
echo "62-vault-offline: ok"
