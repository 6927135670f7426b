#!/bin/sh
# 65-vault-urls.sh - vaultfs takes a LIST of vault URLs (#7.4): the
# replicas of one vault, tried in order, the next one when a URL cannot be
# reached (or answers 503; libvaultclient). A dead URL (a closed loopback
# port) stands first, the live vault second: init registers the password
# through the second URL and remembers the whole list (state dir and
# store header); mount, the daemon's generation reports, passwd and
# restore go through it; a new machine passes the list as repeated
# --vault options; the dead URL alone fails with exit 14 and says what to
# do; a malformed list is a usage error (2).
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"

vi_setup alice
LIVE=$URL
# a loopback port nobody listens on
while :; do
	DPORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000))
	[ "$DPORT" = "$PORT" ] && continue
	ss -Hltn "sport = :$DPORT" 2>/dev/null | grep -q . || break
done
DEAD="http://127.0.0.1:$DPORT"
LIST="$DEAD,$LIVE"
PW='replicas 65 pw'
vi_pw "$T/pw" "$PW"

# init through the second URL; the list is remembered as given
expect_code 0 "$VAULTFS" init --vault "$LIST" --account alice \
	--account-token-file "$TOK" --password-file "$T/pw" \
	--recovery-key-file "$T/key" "$T/cloud"
grep -q "checked" "$T/out" || fail "init output: $(cat "$T/out")"
grep -qx "url $LIST" "$XDG_STATE_HOME"/vaultfs/vaults/*.conf ||
	fail "list not remembered: $(cat "$XDG_STATE_HOME"/vaultfs/vaults/*.conf)"
[ "$(sqlite3 "$DB" "SELECT count(*) FROM stores WHERE account='alice'")" = 1 ] ||
	fail "the live vault does not hold the store"
expect_code 0 "$VAULTFS" status --json "$T/cloud"
grep -q "\"url\": *\"$LIST\"" "$T/out" || fail "header hint: $(cat "$T/out")"
echo "65: init with '$DEAD' (dead) first: registered through the second URL"

# mount with the remembered list and the password; the unmount reports
# the generation through the live URL
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
printf 'through the replica\n' >"$T/mnt/a.txt"
vfs_umount "$T/mnt"
g=$(sqlite3 "$DB" "SELECT generation FROM generations WHERE account='alice'")
[ -n "$g" ] && [ "$g" -ge 2 ] || fail "no generation reported (got '$g')"
echo "65: mount with the remembered list; generation $g reported"

# a new machine: the list as repeated --vault options
XDG_STATE_HOME="$T/state2"
export XDG_STATE_HOME
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw" --vault "$DEAD" --vault "$LIVE" \
	--account alice --account-token-file "$TOK"
[ "$(cat "$T/mnt/a.txt")" = "through the replica" ] || fail "content"
vfs_umount "$T/mnt"
grep -qx "url $LIST" "$T"/state2/vaultfs/vaults/*.conf ||
	fail "repeated --vault not remembered as the list"
# restore with the password through the list (remembered now)
expect_code 0 "$VAULTFS" restore --password-file "$T/pw" "$T/cloud" "$T/dest"
[ "$(cat "$T/dest/a.txt")" = "through the replica" ] || fail "restored content"
echo "65: new machine: --vault DEAD --vault LIVE mounts; restore through it"

# passwd through the list
NPW='replicas 65 new'
vi_pw "$T/npw" "$NPW"
expect_code 0 "$VAULTFS" passwd --password-file "$T/pw" \
	--new-password-file "$T/npw" "$T/cloud"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/npw"
vfs_umount "$T/mnt"
echo "65: passwd through the list"

# only the dead URL: the vault cannot be reached (14), the key still can
XDG_STATE_HOME="$T/state3"
export XDG_STATE_HOME
mkdir -p "$T/mnt"
expect_code 14 "$VAULTFS" mount --vault "$DEAD" --account alice \
	--account-token-file "$TOK" --password-file "$T/npw" "$T/cloud" "$T/mnt"
expect_err "cannot reach the vault"
expect_err "recovery-key"
vfs_is_mounted "$T/mnt" && fail "mounted without a vault"
# malformed lists: usage errors before anything is asked
for bad in "$LIVE," ",$LIVE" "$DEAD,,$LIVE" "$LIVE $DEAD"; do
	expect_code 2 "$VAULTFS" mount --vault "$bad" --password-file "$T/npw" \
		"$T/cloud" "$T/mnt"
	expect_err "wants URL\[,URL...\]"
done
# a list with a plain http:// URL that is not loopback names that URL
expect_code 2 "$VAULTFS" mount --vault "$LIVE,http://192.0.2.1:8443" \
	--account alice --account-token-file "$TOK" --password-file "$T/npw" \
	"$T/cloud" "$T/mnt"
expect_err "'http://192.0.2.1:8443' refused"
echo "65: dead URL alone: exit 14; malformed lists and a non-loopback http:// URL: exit 2"
echo "65-vault-urls: ok"
