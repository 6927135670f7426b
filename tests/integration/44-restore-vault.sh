#!/bin/sh
# 44-restore-vault.sh - a new user restores a backup on a second machine
# (a fresh state dir, nothing remembered): with the password through the
# vault (vault options given explicitly) and with the 64-digit key; both
# trees equal the original. A wrong password is counted and creates
# nothing. On a fresh machine the vault's signed generation catches an old
# copy of the cloud folder (exit 7). status on the second machine tells
# what it can without the key, and the generation with the password.
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"
command -v jq >/dev/null 2>&1 || skip "jq missing (contrib/quickstart deps)"

vi_setup alice
PW='restore me 44'
vi_pw "$T/pw" "$PW"
vi_init "$T/cloud" "$T/key" "$T/pw"

# the first machine writes a history, keeps an old copy of the folder
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
mkdir -p "$T/mnt/chats/2024"
printf 'hello from 44\n' >"$T/mnt/chats/a.txt"
head -c 400000 /dev/urandom >"$T/mnt/chats/2024/voice.opus"
ln -s a.txt "$T/mnt/chats/latest"
vfs_umount "$T/mnt"
cp -a "$T/cloud" "$T/cloud-old"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
head -c 100000 /dev/urandom >"$T/mnt/chats/2024/photo.jpg"
touch -d '2024-02-03 04:05:06' "$T/mnt/chats/2024"
VFS_TIMES=1 vfs_manifest "$T/mnt" >"$T/m.src"
vfs_umount "$T/mnt"

# --- the second machine: nothing remembered ---
XDG_STATE_HOME="$T/state-new"
export XDG_STATE_HOME

# status without the key: the header's hints, no generation
expect_code 0 "$VAULTFS" status --json "$T/cloud"
[ "$(jq -r .vault_hint.url "$T/out")" = "$URL" ] || fail "vault hint: $(cat "$T/out")"
[ "$(jq -r .vault_hint.account "$T/out")" = alice ] || fail "account hint"
[ "$(jq -r .this_machine.vault "$T/out")" = null ] || fail "a fresh machine trusts a vault"
[ "$(jq -r .this_machine.seen_generation "$T/out")" = null ] || fail "seen generation"

# a wrong password: counted, nothing created
vi_pw "$T/bad" 'not the password'
expect_code 12 "$VAULTFS" restore --vault "$URL" --account alice \
	--account-token-file "$TOK" --password-file "$T/bad" "$T/cloud" "$T/r0"
expect_err "wrong password, 9 attempts left"
[ -e "$T/r0" ] && fail "a wrong password created DEST"

# with the password
expect_code 0 "$VAULTFS" restore --vault "$URL" --account alice \
	--account-token-file "$TOK" --password-file "$T/pw" "$T/cloud" "$T/r1"
grep -q "Restored generation" "$T/out" || fail "summary: $(cat "$T/out")"
VFS_TIMES=1 vfs_manifest "$T/r1" >"$T/m.r1"
cmp -s "$T/m.src" "$T/m.r1" || {
	diff "$T/m.src" "$T/m.r1" >&2
	fail "restore with the password differs"
}
[ "$(stat -c %Y "$T/r1/chats/2024")" = "$(date -d '2024-02-03 04:05:06' +%s)" ] ||
	fail "folder mtime"
[ "$(vi_attempts alice)" = 0 ] || fail "counter not reset by the right password"
# the vault is now remembered (trusted) on this machine; status with the
# password adds the generation
expect_code 0 "$VAULTFS" status --json --password-file "$T/pw" "$T/cloud"
[ "$(jq -r .this_machine.vault.url "$T/out")" = "$URL" ] || fail "vault not remembered"
g=$(jq -r .generation "$T/out")
[ "$g" -ge 3 ] || fail "generation with the password: $g"
echo "44: second machine, password: restored generation $g ($(wc -l <"$T/m.r1") entries)"

# --- a third machine, with the 64-digit key only ---
XDG_STATE_HOME="$T/state-key"
export XDG_STATE_HOME
expect_code 0 "$VAULTFS" restore --recovery-key-file "$T/key" "$T/cloud" "$T/r2"
VFS_TIMES=1 vfs_manifest "$T/r2" >"$T/m.r2"
cmp -s "$T/m.src" "$T/m.r2" || fail "restore with the key differs"
# the key from standard input works too
expect_code 0 "$VAULTFS" restore --recovery-key-file - "$T/cloud" "$T/r3" <"$T/key"
VFS_TIMES=1 vfs_manifest "$T/r3" >"$T/m.r3"
cmp -s "$T/m.src" "$T/m.r3" || fail "restore with the key on stdin differs"
echo "44: third machine, 64-digit key: restored, equal"

# --- an old copy of the folder on a fresh machine: the vault says no ---
XDG_STATE_HOME="$T/state-old"
export XDG_STATE_HOME
expect_code 7 "$VAULTFS" restore --vault "$URL" --account alice \
	--account-token-file "$TOK" --password-file "$T/pw" "$T/cloud-old" "$T/r4"
expect_err "the vault '$URL' has seen generation"
[ -e "$T/r4" ] && fail "DEST created from a rolled-back folder"
echo "44: an old copy of the folder is refused through the vault's generation"
