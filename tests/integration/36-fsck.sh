#!/bin/sh
# 36-fsck.sh - vaultfs fsck on a store written through a real mount: clean
# (also while mounted, without writing anything), each kind of damage the
# tamper test makes is found with the right exit code and names the
# object (and for data, the files), rollback is exit 7, foreign names are
# notes, --repair removes only safe debris, never while a writer holds the
# store, and the progress line stays off when stderr is not a terminal.
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$top_builddir/vaultfs}
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init pristine key
M="$T/mnt"
vfs_mount pristine "$M" key
head -c 200000 /dev/urandom >"$M/a"
"$VFS_PROBE" fsync "$M/a" >/dev/null
mkdir "$M/d"
head -c 5000 /dev/urandom >"$M/d/b"
ln "$M/d/b" "$M/b-link"
"$VFS_PROBE" fsync "$M/d/b" >/dev/null
echo "small" >"$M/d/c"

# while mounted: read-only check, the lease is named
expect_code 0 "$VAULTFS" fsck --recovery-key-file key pristine
grep -q 'vaultfs.lease.*running' "$T/out" || fail "no writer reported"
[ ! -s "$T/err" ] || fail "stderr not quiet off a terminal: $(cat "$T/err")"
expect_code 11 "$VAULTFS" fsck --repair --recovery-key-file key pristine
expect_err 'needs the store.s lease'
vfs_umount "$M"

expect_code 0 "$VAULTFS" fsck --recovery-key-file key pristine
grep -q '^the store is sound$' "$T/out" || fail "clean store: $(cat "$T/out")"
grep -q 'checked generation [0-9]*: .* 3 files' "$T/out" ||
	fail "summary: $(cat "$T/out")"
# exit codes of what stops the check
expect_code 3 "$VAULTFS" fsck --recovery-key-file key "$T"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >wrongkey
expect_code 5 "$VAULTFS" fsck --recovery-key-file wrongkey pristine
expect_code 2 "$VAULTFS" fsck pristine extra
expect_code 2 "$VAULTFS" fsck --password-file key --recovery-key-file key \
	pristine

segs=$(cd pristine && find log -name '*.seg' | LC_ALL=C sort)
newest=$(echo "$segs" | tail -n 1)
# the segment holding a's data: the one written by the first fsync
first_data=$(echo "$segs" | sed -n 2p)

fresh() { rm -rf cloud && cp -a pristine cloud; }
flip() { # FILE OFFSET
	_b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
	printf "$(printf '\\%03o' $(((_b + 1) % 256)))" |
		dd of="$1" bs=1 seek="$2" conv=notrunc 2>/dev/null
}

# data: a's first chunk; both a's name and the range are named
fresh
flip "cloud/$first_data" 100
expect_code 6 "$VAULTFS" fsck --recovery-key-file key cloud
grep -q "^damage: $first_data: data chunk at offset 40" "$T/out" ||
	fail "data damage not named: $(cat "$T/out")"
grep -q "^damage: '/a': cannot be read: bytes 0-65535" "$T/out" ||
	fail "damaged file not named: $(cat "$T/out")"
grep -q "^DAMAGED" "$T/out" || fail "no verdict"
expect_code 6 "$VAULTFS" fsck --repair --recovery-key-file key cloud
grep -q 'nothing changed' "$T/out" || fail "repair did not refuse"
cmp -s "cloud/$first_data" "pristine/$first_data" && fail "flip undone?"

# each object flipped, truncated, deleted: never exit 0 with a state dir
# that saw the newest commit, unless the object is garbage
for o in $segs vaultfs.hdr; do
	size=$(stat -c %s "pristine/$o")
	for how in flip truncate delete; do
		fresh
		case $how in
		flip) flip "cloud/$o" $((size / 2)) ;;
		truncate) truncate -s $((size - 1)) "cloud/$o" ;;
		delete) rm "cloud/$o" ;;
		esac
		set +e
		"$VAULTFS" fsck --recovery-key-file key cloud >"$T/out" 2>&1
		rc=$?
		set -e
		case $rc in
		6 | 7) ;;
		*) cat "$T/out" >&2; fail "$how $o: fsck exited $rc" ;;
		esac
		grep -q -e "$o" -e "rolled back" "$T/out" ||
			fail "$how $o: object not named: $(cat "$T/out")"
	done
done

# swapped segments
fresh
a1=$(echo "$segs" | sed -n 2p)
a2=$(echo "$segs" | sed -n 3p)
mv "cloud/$a1" cloud/x && mv "cloud/$a2" "cloud/$a1" && mv cloud/x "cloud/$a2"
set +e
"$VAULTFS" fsck --recovery-key-file key cloud >"$T/out" 2>&1
rc=$?
set -e
[ $rc -eq 6 ] || [ $rc -eq 7 ] || fail "swap: exit $rc"
grep -q 'under another number' "$T/out" || fail "swap not named"

# rollback: an older copy of the folder (this machine's record is put
# back afterwards)
cp -a "$XDG_STATE_HOME" "$T/state-saved"
fresh
vfs_mount cloud "$M" key
echo more >"$M/e"
vfs_umount "$M"
cp -a cloud newer
rm -rf cloud && cp -a pristine cloud
expect_code 7 "$VAULTFS" fsck --recovery-key-file key cloud
grep -q '^rollback: .*rolled back' "$T/out" || fail "rollback not said"
# a machine that never saw the newer one: clean
expect_code 0 env XDG_STATE_HOME="$T/other-state" \
	"$VAULTFS" fsck --recovery-key-file key cloud
rm -rf "$XDG_STATE_HOME"
mv "$T/state-saved" "$XDG_STATE_HOME"

# a torn newest segment on a machine that never saw it: a crash leftover
rm -rf cloud && cp -a newer cloud
torn=$(cd cloud && find log -name '*.seg' | LC_ALL=C sort | tail -n 1)
[ "$torn" != "$newest" ] || fail "no newer segment"
truncate -s $(($(stat -c %s "cloud/$torn") / 2)) "cloud/$torn"
expect_code 0 "$VAULTFS" fsck --recovery-key-file key cloud
grep -q "^note: $torn: .*crash leftover" "$T/out" ||
	fail "torn segment not noted: $(cat "$T/out")"

# foreign names and temporaries: notes; --repair removes only the
# temporary, never a conflict copy
fresh
cp "cloud/$newest" "cloud/${newest%.seg} (1).seg"
echo hi >"cloud/vaultfs (conflicted copy).hdr"
echo x >cloud/log/00/.tmp-0123456789abcdef
expect_code 0 "$VAULTFS" fsck --recovery-key-file key cloud
grep -q "^note: .*(1).seg: looks like a sync client's conflict copy" \
	"$T/out" || fail "conflict copy: $(cat "$T/out")"
grep -q 'sound (3 notes' "$T/out" || fail "notes: $(cat "$T/out")"
expect_code 0 "$VAULTFS" fsck --repair --recovery-key-file key cloud
grep -q '^repaired: log/00/.tmp-0123456789abcdef: removed' "$T/out" ||
	fail "temporary not removed: $(cat "$T/out")"
[ ! -e cloud/log/00/.tmp-0123456789abcdef ] || fail "temporary still there"
[ -e "cloud/${newest%.seg} (1).seg" ] || fail "conflict copy touched"
[ -e "cloud/vaultfs (conflicted copy).hdr" ] || fail "conflict copy touched"
[ ! -e cloud/vaultfs.lease ] || fail "repair left its lease"
vfs_mount cloud "$M" key
cmp -s "$M/d/b" "$M/b-link" || fail "store changed by repair"
vfs_umount "$M"

# plain fsck wrote nothing: the folder it checked while mounted, and the
# state dir's record are unchanged by a check
fresh
sum1=$(cd "$XDG_STATE_HOME/vaultfs" && sha256sum ./*[0-9a-f] 2>/dev/null | sort)
"$VAULTFS" fsck --recovery-key-file key cloud >/dev/null
sum2=$(cd "$XDG_STATE_HOME/vaultfs" && sha256sum ./*[0-9a-f] 2>/dev/null | sort)
[ "$sum1" = "$sum2" ] || fail "fsck changed the state dir"
diff -r cloud pristine >/dev/null || fail "fsck changed the cloud folder"

# the header: damaged is exit 6 without asking for a key
fresh
flip cloud/vaultfs.hdr 20
expect_code 6 "$VAULTFS" fsck cloud
grep -q '^damage: vaultfs.hdr: is damaged' "$T/out" || fail "header"
echo "PASS: 36-fsck"
