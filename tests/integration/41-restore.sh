#!/bin/sh
# 41-restore.sh - vaultfs restore CLOUD_DIR DEST: the tree comes out equal
# to the mount's (content, types, modes incl. set-id bits, owners as root,
# mtimes of files, symlinks and folders, symlink targets verbatim, hard
# links as hard links, FIFOs, holes kept, extended attributes: user.* on
# files and folders, binary and empty values, trusted.* and security.*
# as root), while the store is mounted
# read-write elsewhere (no lease needed); the progress line shows on a
# terminal only (and so does fsck, fsck --repair and rekey's); DEST not
# empty, DEST inside the cloud folder and a wrong key are refused and
# leave nothing behind.
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key

mkdir -p "$M/chats/2024/media" "$M/empty" "$M/ro"
printf 'hello\n' >"$M/chats/a.txt"
head -c 1500000 /dev/urandom >"$M/chats/2024/media/photo.jpg"
: >"$M/chats/zero-length"
printf 'x' >"$M/chats/name with spaces & ünïcødé"
ln -s a.txt "$M/chats/link"
ln -s ../../no/such/target "$M/chats/2024/dangling"
ln -s "$(printf 'a\tb')" "$M/chats/odd-target"
ln "$M/chats/a.txt" "$M/chats/2024/hardlink"
ln "$M/chats/a.txt" "$M/hardlink2"
mkfifo "$M/chats/fifo"
# a sparse file: a hole, data, a hole at the end
truncate -s 20000000 "$M/sparse"
printf 'middle' | dd of="$M/sparse" bs=1 seek=10000000 conv=notrunc 2>/dev/null
head -c 70000 /dev/urandom >"$M/blockish"
chmod 4755 "$M/chats/a.txt"
chmod 0640 "$M/chats/2024/media/photo.jpg"
chmod 0555 "$M/ro"
chmod 2750 "$M/chats/2024"
if [ "$(id -u)" = 0 ]; then
	chown 1234:5678 "$M/chats/2024/media/photo.jpg"
	chown -h 4321:8765 "$M/chats/link"
	chown 1111:2222 "$M/empty"
	chmod 4755 "$M/chats/a.txt" # chown cleared nothing here, but be sure
fi
touch -h -d '2001-02-03 04:05:06.123456789' "$M/chats/link"
touch -d '2002-03-04 05:06:07.5' "$M/chats/a.txt"
touch -d '1999-12-31 23:59:59' "$M/empty" "$M/chats/2024/media"
touch -d '2010-01-01' "$M/ro"
touch -a -d '2005-05-05 05:05:05.25' "$M/chats/2024/media/photo.jpg"
# extended attributes (files, a folder, binary and empty values; the
# other name spaces as root; one on a FIFO, which restore cannot copy)
XA=0
if command -v setfattr >/dev/null 2>&1 && command -v getfattr >/dev/null 2>&1; then
	XA=1
	setfattr -n user.chat.id -v 42 "$M/chats/a.txt"
	setfattr -n user.blob -v 0x00ff10ee00 "$M/chats/2024/media/photo.jpg"
	setfattr -n user.folder -v "the chats" "$M/chats"
	setfattr -n user.empty "$M/empty"
	head -c 3000 /dev/urandom >xa.big
	setfattr -n user.big -v "0x$(od -An -tx1 xa.big | tr -d ' \n')" "$M/blockish"
	if [ "$(id -u)" = 0 ]; then
		setfattr -n trusted.t -v tval "$M/chats/a.txt"
		setfattr -n security.vaultfs-test -v sval "$M/ro"
		setfattr -n trusted.onfifo -v f "$M/chats/fifo"
	fi
fi
sync "$M/sparse"

# restore while the writer is mounted (read-only open, no lease)
expect_code 0 "$VAULTFS" restore --recovery-key-file key cloud dest
if [ "$XA" = 1 ] && [ "$(id -u)" = 0 ]; then
	# the one attribute restore cannot copy (on a FIFO) is told
	grep -q "trusted.onfifo.*chats/fifo.*not restored" "$T/err" ||
		fail "lost attribute on the FIFO not reported: $(cat "$T/err")"
	grep -q "1 extended attributes were not restored" "$T/err" ||
		fail "lost attribute not counted: $(cat "$T/err")"
	grep -v "onfifo\|1 extended attributes were not" "$T/err" >err.rest || :
	mv err.rest "$T/err"
fi
[ -s "$T/err" ] && fail "restore wrote to stderr without a terminal: $(cat "$T/err")"
grep -q "Restored generation" "$T/out" || fail "no summary: $(cat "$T/out")"
# the access time too (looked at before anything reads the copy)
at=$(stat -c %X.%x dest/chats/2024/media/photo.jpg)
case $at in
"$(date -d '2005-05-05 05:05:05' +%s)".*.250000000*) ;;
*) fail "atime not restored: $at" ;;
esac
grep -q "1 hard links\|2 hard links" "$T/out" || fail "hard links: $(cat "$T/out")"

VFS_TIMES=1 vfs_manifest "$M" >m.mnt
VFS_TIMES=1 vfs_manifest dest >m.out
diff m.mnt m.out >/dev/null || {
	diff m.mnt m.out >&2
	fail "restored tree differs from the mount"
}
# folders: mode, owner and mtime too (the manifest leaves out their times)
(cd "$M" && find . -type d -printf '%p %m %U:%G %T@\n' | LC_ALL=C sort) >d.mnt
(cd dest && find . -type d -printf '%p %m %U:%G %T@\n' | LC_ALL=C sort) >d.out
diff d.mnt d.out >/dev/null || {
	diff d.mnt d.out >&2
	fail "folders differ"
}
[ "$(stat -c %i dest/chats/a.txt)" = "$(stat -c %i dest/chats/2024/hardlink)" ] &&
	[ "$(stat -c %i dest/chats/a.txt)" = "$(stat -c %i dest/hardlink2)" ] ||
	fail "hard links not restored as hard links"
[ "$(stat -c %h dest/chats/a.txt)" = 3 ] || fail "link count $(stat -c %h dest/chats/a.txt)"
[ -p dest/chats/fifo ] || fail "FIFO not a FIFO"
[ "$(readlink dest/chats/odd-target)" = "$(printf 'a\tb')" ] || fail "symlink target"
[ -L dest/chats/2024/dangling ] || fail "dangling symlink"
blocks=$(stat -c %b dest/sparse)
[ "$blocks" -lt 1000 ] || fail "sparse file not sparse: $blocks blocks"
[ "$(stat -c %a dest/chats/a.txt)" = 4755 ] || fail "setuid bit lost"
[ "$(stat -c %a dest/ro)" = 555 ] || fail "read-only folder mode"
echo "41: restored tree equals the mount ($(wc -l <m.out) entries; sparse file $blocks blocks)"

# extended attributes: every name and value of files and folders
xa_manifest() {
	(cd "$1" && getfattr -R -h -d -e hex -m '^(user|trusted|security)\.' . 2>/dev/null |
		awk '/^# file: /{ f = substr($0, 9); next } NF { print f, $0 }' |
		grep -v '^chats/fifo trusted.onfifo=' | LC_ALL=C sort)
}
if [ "$XA" = 1 ]; then
	xa_manifest "$M" >x.mnt
	xa_manifest dest >x.out
	want=5
	[ "$(id -u)" = 0 ] && want=7
	# a.txt has three names: its attributes show under each
	n=$(grep -vc 'hardlink' x.mnt)
	[ "$n" -eq "$want" ] || fail "expected $want attributes in the mount, found $n: $(cat x.mnt)"
	diff x.mnt x.out >/dev/null || {
		diff x.mnt x.out >&2
		fail "extended attributes differ"
	}
	grep -q "extended attributes" "$T/out" || fail "no attribute count: $(cat "$T/out")"
	grep -q '^blockish user.big=0x' x.out || fail "big value missing"
	grep -q '^empty user.empty' x.out || fail "empty value missing"
	[ "$(id -u)" = 0 ] && { grep -q 'trusted.t=' x.out && grep -q 'security.vaultfs-test=' x.out ||
		fail "trusted.*/security.* not restored as root"; }
	echo "41: extended attributes restored ($(wc -l <x.out) name/value pairs)"
fi

# the journal is gone once done; a second restore into it is refused
[ -z "$(ls "$XDG_STATE_HOME/vaultfs/restore" 2>/dev/null)" ] ||
	fail "journal left: $(ls "$XDG_STATE_HOME/vaultfs/restore")"
expect_code 2 "$VAULTFS" restore --recovery-key-file key cloud dest
expect_err "exists and is not empty"
VFS_TIMES=1 vfs_manifest dest >m.out2
cmp -s m.out m.out2 || fail "a refused restore changed DEST"
mkdir full
echo mine >full/mine
expect_code 2 "$VAULTFS" restore --recovery-key-file key cloud full
expect_err "restore into a new or empty folder"
[ "$(cat full/mine)" = mine ] || fail "user file touched"
# an empty existing folder is fine
mkdir emptydest
expect_code 0 "$VAULTFS" restore --recovery-key-file key cloud emptydest
VFS_TIMES=1 vfs_manifest emptydest >m.e
cmp -s m.e m.mnt || fail "restore into an empty folder differs"

# never into the cloud folder (the plaintext would be uploaded)
expect_code 2 "$VAULTFS" restore --recovery-key-file key cloud cloud/plain
expect_err "inside the cloud folder"
[ -e cloud/plain ] && fail "created a folder in the cloud folder"
# a wrong key: nothing created
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >badkey
expect_code 5 "$VAULTFS" restore --recovery-key-file badkey cloud dest3
expect_err "wrong key"
[ -e dest3 ] && fail "DEST created with a wrong key"
expect_code 3 "$VAULTFS" restore --recovery-key-file key dest dest4
[ -e dest4 ] && fail "DEST created for a folder that is no store"
expect_code 2 "$VAULTFS" restore cloud
expect_err "CLOUD_DIR and DEST needed"
echo "41: refused: DEST not empty (2), inside the cloud folder (2), wrong key (5), not a store (3)"

# on a terminal: the progress line (bytes, rate, ETA or done)
if command -v script >/dev/null 2>&1; then
	script -qec "'$VAULTFS' restore --recovery-key-file key cloud dest5" \
		/dev/null >tty.out 2>&1 </dev/null || fail "restore under script: $(cat tty.out)"
	grep -q "restore .*MiB" tty.out || fail "no progress line on a terminal: $(cat tty.out)"
	VFS_TIMES=1 vfs_manifest dest5 >m.5
	cmp -s m.5 m.mnt || fail "restore on a terminal differs"
	echo "41: progress line on a terminal"
fi
vfs_umount "$M"

# The other long commands draw the same progress line (bytes, rate) on a
# terminal and nothing when stderr is not one: fsck, fsck --repair (needs
# the lease: after the umount), rekey.
if command -v script >/dev/null 2>&1; then
	pg_re='[0-9.]* [KMG]\{0,1\}i\{0,1\}B .*/s'
	for c in "fsck" "fsck --repair"; do
		expect_code 0 "$VAULTFS" $c --recovery-key-file key cloud
		grep -q "$pg_re" "$T/err" && fail "$c: progress line without a terminal"
		script -qec "'$VAULTFS' $c --recovery-key-file key cloud" /dev/null \
			>tty.out 2>&1 </dev/null || fail "$c under script: $(cat tty.out)"
		tr '\r' '\n' <tty.out | grep -q "^fsck .*$pg_re" ||
			fail "$c: no progress line on a terminal: $(cat tty.out)"
	done
	script -qec "'$VAULTFS' rekey --recovery-key-file key --new-recovery-key-file key2 cloud" \
		/dev/null >tty.out 2>&1 </dev/null || fail "rekey under script: $(cat tty.out)"
	tr '\r' '\n' <tty.out | grep -q "^rekey .*$pg_re" ||
		fail "rekey: no progress line on a terminal: $(cat tty.out)"
	expect_code 0 "$VAULTFS" rekey --recovery-key-file key2 \
		--new-recovery-key-file key3 cloud
	grep -q "$pg_re" "$T/err" && fail "rekey: progress line without a terminal"
	expect_code 0 "$VAULTFS" restore --recovery-key-file key3 cloud dest6
	VFS_TIMES=1 vfs_manifest dest6 >m.6
	cmp -s m.6 m.mnt || fail "restore after two rekeys differs"
	echo "41: progress line on a terminal for fsck, fsck --repair, rekey; quiet otherwise"
fi
