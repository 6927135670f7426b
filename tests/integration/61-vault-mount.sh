#!/bin/sh
# 61-vault-mount.sh - vaultfs with the password vault: init with a password
# (registered, then proven by one recovery), mount with the password,
# content intact after a remount; passwd with the old password (old one
# dead, new one works); a header naming another vault URL is reported,
# never followed; --no-recovery-key; and neither the password nor K (hex
# or raw) in any vault file, vaultfs log or state file.
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"

vi_setup alice
PW='correct horse 61'
vi_pw "$T/pw" "$PW"
vi_init "$T/cloud" "$T/key" "$T/pw"
grep -q "checked" "$T/out" || fail "init did not say the password was checked: $(cat "$T/out")"
[ -f "$XDG_STATE_HOME"/vaultfs/vaults/*.conf ] || fail "vault not remembered"
grep -q "^url $URL\$" "$XDG_STATE_HOME"/vaultfs/vaults/*.conf ||
	fail "remembered URL wrong: $(cat "$XDG_STATE_HOME"/vaultfs/vaults/*.conf)"
grep -q '^v1\.' "$XDG_STATE_HOME"/vaultfs/vaults/*.conf &&
	fail "the token itself was remembered"
# the vault holds exactly one store for alice, counter 0
[ "$(sqlite3 "$DB" "SELECT count(*) FROM stores WHERE account='alice'")" = 1 ] ||
	fail "vault does not hold the store"
[ "$(vi_attempts alice)" = 0 ] || fail "counter not reset after init's check"

# (1) mount with the password, write, umount, remount: intact
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
mkdir "$T/mnt/chats"
printf 'hello from 61\n' >"$T/mnt/chats/a.txt"
head -c 300000 /dev/urandom >"$T/mnt/blob"
vfs_manifest "$T/mnt" >"$T/m1"
vfs_umount "$T/mnt"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
vfs_manifest "$T/mnt" >"$T/m2"
cmp -s "$T/m1" "$T/m2" || fail "content differs after remount with the password"
[ "$(cat "$T/mnt/chats/a.txt")" = "hello from 61" ] || fail "file content"
vfs_umount "$T/mnt"
echo "61: init + mount with the password: content intact ($(wc -l <"$T/m1") entries)"

# the unmount reported the generation, signed
g=$(sqlite3 "$DB" "SELECT generation FROM generations WHERE account='alice'")
[ -n "$g" ] && [ "$g" -ge 2 ] || fail "no generation reported at unmount (got '$g')"
echo "61: generation $g reported to the vault"

# short passwords are refused before anything is made
vi_pw "$T/short" 'abc12'
expect_code 2 "$VAULTFS" init --vault "$URL" --account alice \
	--account-token-file "$TOK" --password-file "$T/short" \
	--recovery-key-file "$T/key-short" "$T/cloud-short"
expect_err "at least 6 characters"
[ ! -e "$T/cloud-short" ] && [ ! -e "$T/key-short" ] || fail "left files behind"

# (8) passwd with the old password: old dead, new works
NPW='battery staple 61'
vi_pw "$T/npw" "$NPW"
expect_code 0 "$VAULTFS" passwd --password-file "$T/pw" \
	--new-password-file "$T/npw" "$T/cloud"
grep -q "old password no longer works" "$T/out" || fail "passwd output: $(cat "$T/out")"
mkdir -p "$T/mnt"
expect_code 12 "$VAULTFS" mount --password-file "$T/pw" "$T/cloud" "$T/mnt"
expect_err "wrong password, 9 attempts left"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/npw"
[ "$(cat "$T/mnt/chats/a.txt")" = "hello from 61" ] || fail "content after passwd"
vfs_umount "$T/mnt"
echo "61: passwd: old password refused ('9 attempts left'), new one mounts"

# (9) a header naming another vault URL: reported, never followed.
# The same vault under another loopback name stands in for "another".
URL2="http://localhost:$PORT"
expect_code 0 "$VAULTFS" mount --vault "$URL2" --password-file "$T/npw" \
	"$T/cloud" "$T/mnt"
expect_err "header names the vault '$URL'"
expect_err "this machine uses '$URL2'"
vfs_umount "$T/mnt"
# a fresh machine does not follow the header on its own
XDG_STATE_HOME="$T/state-new"
export XDG_STATE_HOME
before=$(sqlite3 "$DB" "SELECT count(*) FROM audit")
expect_code 2 "$VAULTFS" mount --account-token-file "$TOK" \
	--password-file "$T/npw" "$T/cloud" "$T/mnt"
expect_err "not trusted on this machine"
expect_err "pass --vault $URL"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM audit")" = "$before" ] ||
	fail "the vault was asked although not trusted"
[ -d "$T/state-new/vaultfs/vaults" ] && [ -n "$(ls "$T/state-new/vaultfs/vaults")" ] &&
	fail "an untrusted URL was remembered"
echo "61: header URL mismatch reported; untrusted header URL not followed"

# --vault on a new machine: trusted from then on (no --vault next time)
vi_mount_pw "$T/cloud" "$T/mnt" "$T/npw" --vault "$URL" \
	--account-token-file "$TOK"
vfs_umount "$T/mnt"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/npw"
vfs_umount "$T/mnt"
XDG_STATE_HOME="$T/state"
export XDG_STATE_HOME

# --no-recovery-key: needs a password, warns; a second store on alice
expect_code 2 "$VAULTFS" init --no-recovery-key "$T/cloud-nokey"
expect_err "needs a password"
expect_code 0 "$VAULTFS" init --vault "$URL" --account alice \
	--account-token-file "$TOK" --password-file "$T/npw" \
	--no-recovery-key "$T/cloud-nokey"
expect_err "the password is the only way in"
grep -q "one more store" "$T/out" || fail "second store did not join the account"
vi_mount_pw "$T/cloud-nokey" "$T/mnt" "$T/npw"
echo nokey >"$T/mnt/f"
vfs_umount "$T/mnt"
echo "61: --no-recovery-key store protected by the password only"

# (7) no secret anywhere the vault or vaultfs writes
KHEX=$(tr -d ' \n-' <"$T/key")
[ ${#KHEX} = 64 ] || fail "key file holds ${#KHEX} hex digits"
# raw K as " aa bb ..." to look for in od's byte-aligned dump
KSP=$(printf '%s' "$KHEX" | sed 's/../ &/g')
# the checks below can fail: they find K in a file that holds it
printf 'x%sy' "$KHEX" >"$T/ctl-hex"
grep -qaF -e "$KHEX" "$T/ctl-hex" || fail "hex control not found"
if command -v xxd >/dev/null 2>&1; then
	printf '%s' "$KHEX" | xxd -r -p >"$T/ctl-raw"
	od -An -v -tx1 "$T/ctl-raw" | tr -s ' \n' '  ' | grep -qF -e "$KSP" ||
		fail "raw control not found"
	rm -f "$T/ctl-raw"
fi
rm -f "$T/ctl-hex"
n=0
for f in $(find "$T/tokens" "$T"/vault.db* "$T/server.log" "$T/init.out" \
	"$EVLOG" "$T"/state*/ -type f 2>/dev/null); do
	n=$((n + 1))
	for s in "$PW" "$NPW" "$KHEX" \
		"$(printf '%s' "$KHEX" | tr a-f A-F)"; do
		if grep -qaF -e "$s" "$f"; then
			fail "secret found in $f"
		fi
	done
	od -An -v -tx1 "$f" | tr -s ' \n' '  ' | grep -qF -e "$KSP" &&
		fail "raw K found in $f"
done
[ $n -ge 5 ] || fail "only $n files checked"
echo "61: no password, no K (hex or raw) in $n vault/vaultfs files"
echo "61-vault-mount: ok"
