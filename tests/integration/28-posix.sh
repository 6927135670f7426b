#!/bin/sh
# 28-posix.sh - the rest of POSIX through a real mount of the real store,
# each checked again after a remount: hard links, renameat2 NOREPLACE and
# EXCHANGE (files and directories, across directories), flock and fcntl
# locks between two processes, FIFOs, a sparse file over 4 GiB (writes
# around 4 GiB and 5 GiB, truncate across 4 GiB), extended attributes
# (setfattr/getfattr when installed, vfs-probe always) and fallocate
# (mode 0, KEEP_SIZE, PUNCH_HOLE against a local reference file).
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
[ -x "$VFS_PROBE" ] || fail "vfs-probe missing"
vfs_setup
cd "$T"

probe() { "$VFS_PROBE" "$@"; }
# want WORD CMD...: CMD prints WORD
want() {
	_w=$1
	shift
	_g=$("$@") || fail "'$*' failed"
	[ "$_g" = "$_w" ] || fail "'$*' gave '$_g', expected '$_w'"
}
# bytes FILE OFF COUNT: COUNT bytes at OFF, as hex
bytes() {
	dd if="$1" bs=1 skip="$2" count="$3" status=none | od -An -tx1 |
		tr -d ' \n'
}
# put FILE OFF TEXT: writes TEXT at OFF without truncating
put() {
	printf %s "$3" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
gf() { getfattr --absolute-names "$@"; }
remount() {
	vfs_umount "$M"
	vfs_mount cloud "$M" key
}

vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key

# ---- hard links ----
mkdir "$M/h1" "$M/h2"
echo "first" >"$M/h1/a"
ln "$M/h1/a" "$M/h2/b"
ln "$M/h1/a" "$M/h1/c"
[ "$(stat -c %h "$M/h1/a")" -eq 3 ] || fail "nlink after two links"
[ "$(stat -c %i "$M/h1/a")" = "$(stat -c %i "$M/h2/b")" ] ||
	fail "links name different inodes"
echo "second" >>"$M/h2/b"
[ "$(cat "$M/h1/c")" = "$(printf 'first\nsecond')" ] ||
	fail "data not shared between links"
rm "$M/h1/a"
[ "$(stat -c %h "$M/h2/b")" -eq 2 ] || fail "nlink after unlink"
ln "$M/h2/b" "$M/h1/a" && rm "$M/h1/a"
if ln "$M/h1" "$M/h1-link" 2>/dev/null; then fail "hard link to a dir"; fi

# ---- renameat2 ----
mkdir -p "$M/ra/sub" "$M/rb/sub2/deep"
echo one >"$M/ra/f"
echo two >"$M/rb/g"
echo in-sub >"$M/ra/sub/x"
echo in-sub2 >"$M/rb/sub2/deep/y"
want EEXIST probe rename2 noreplace "$M/ra/f" "$M/rb/g"
want EEXIST probe rename2 noreplace "$M/ra/sub" "$M/rb/sub2"
want ok probe rename2 noreplace "$M/ra/f" "$M/rb/f-moved"
want ok probe rename2 noreplace "$M/rb/f-moved" "$M/ra/f"
want ok probe rename2 exchange "$M/ra/f" "$M/rb/g"
[ "$(cat "$M/ra/f")" = two ] && [ "$(cat "$M/rb/g")" = one ] ||
	fail "RENAME_EXCHANGE of files across directories"
# directories across directories: contents and ".." follow
want ok probe rename2 exchange "$M/ra/sub" "$M/rb/sub2"
[ "$(cat "$M/ra/sub/deep/y")" = in-sub2 ] &&
	[ "$(cat "$M/rb/sub2/x")" = in-sub ] ||
	fail "RENAME_EXCHANGE of directories"
[ "$(stat -c %i "$M/ra/sub/..")" = "$(stat -c %i "$M/ra")" ] ||
	fail "'..' after exchange"
[ "$(stat -c %i "$M/rb/sub2/..")" = "$(stat -c %i "$M/rb")" ] ||
	fail "'..' after exchange (2)"
# a file with a directory
want ok probe rename2 exchange "$M/ra/f" "$M/rb/sub2"
[ -d "$M/ra/f" ] && [ "$(cat "$M/rb/sub2")" = two ] ||
	fail "exchange file with dir"
[ "$(stat -c %h "$M/ra")" -eq 4 ] && [ "$(stat -c %h "$M/rb")" -eq 2 ] ||
	fail "dir link counts after exchange: $(stat -c %h "$M/ra" "$M/rb")"
want ENOENT probe rename2 exchange "$M/ra/f" "$M/rb/none"
if probe rename2 exchange "$M/ra" "$M/ra/sub" | grep -qx ok; then
	fail "exchange of a directory with its own child"
fi

# ---- locks between two processes ----
echo lock >"$M/lockme"
for kind in flock posix; do
	rm -f "$T/held"
	probe lock "$kind" "$M/lockme" 3 >"$T/held" &
	holder=$!
	i=0
	while [ "$(cat "$T/held" 2>/dev/null)" != ok ]; do
		i=$((i + 1))
		[ $i -lt 1200 ] || fail "$kind holder did not lock within 60 s"
		sleep 0.05
	done
	got=$(probe lock "$kind" "$M/lockme")
	case "$got" in
	EAGAIN | EACCES | EWOULDBLOCK) ;;
	*) fail "$kind lock held by another process was granted: $got" ;;
	esac
	wait "$holder"
	want ok probe lock "$kind" "$M/lockme"
done

# ---- FIFOs ----
mkfifo "$M/fifo"
[ -p "$M/fifo" ] || fail "mkfifo"
(echo "through the fifo" >"$M/fifo") &
writer=$!
got=$(timeout 20 cat "$M/fifo") || fail "reading the fifo"
wait "$writer"
[ "$got" = "through the fifo" ] || fail "fifo passed '$got'"

# ---- a sparse file over 4 GiB ----
G4=4294967296
G5=5368709120
: >"$M/big"
put "$M/big" $((G4 - 3)) ABCDEF
put "$M/big" $((G5 + 7)) tail
[ "$(stat -c %s "$M/big")" -eq $((G5 + 11)) ] || fail "size over 5 GiB"
[ "$(stat -c %b "$M/big")" -le 64 ] ||
	fail "st_blocks of a sparse file: $(stat -c %b "$M/big")"
want 00414243444546 bytes "$M/big" $((G4 - 4)) 7
want 007461696c bytes "$M/big" $((G5 + 6)) 5
want 0000 bytes "$M/big" $((G4 / 2)) 2

# ---- extended attributes ----
echo attrs >"$M/xf"
mkdir "$M/xd"
ln -s xf "$M/xl"
if command -v setfattr >/dev/null 2>&1; then
	setfattr -n user.mail -v "hello world" "$M/xf"
	setfattr -n user.bin -v 0x00ff10 "$M/xf"
	setfattr -n trusted.t -v tt "$M/xf"
	setfattr -n user.d -v dir "$M/xd"
	setfattr -h -n trusted.l -v lnk "$M/xl"
	setfattr -n security.f -v fifo "$M/fifo"
	[ "$(gf --only-values -n user.mail "$M/xf")" = "hello world" ] ||
		fail "getfattr user.mail"
	gf -e hex -n user.bin "$M/xf" | grep -qx 'user.bin=0x00ff10' ||
		fail "binary value"
	gf -d -m - "$M/xf" >"$T/xf.attrs"
	grep -qx 'trusted.t="tt"' "$T/xf.attrs" || fail "getfattr -d trusted"
	if setfattr -h -n user.l -v x "$M/xl" 2>"$T/err"; then
		fail "user.* on a symlink"
	fi
	grep -q 'not permitted' "$T/err" || fail "user.* symlink: $(cat "$T/err")"
	setfattr -x user.bin "$M/xf"
	if gf -n user.bin "$M/xf" 2>/dev/null; then fail "removed"; fi
	setfattr -n user.bin -v 0x00ff10 "$M/xf"
else
	echo "note: setfattr/getfattr missing (package attr); vfs-probe only"
	want ok probe setxattr "$M/xf" user.mail "hello world"
	want ok probe setxattr "$M/xf" trusted.t tt
	want ok probe setxattr "$M/xf" user.bin "binary"
	want ok probe setxattr "$M/xd" user.d dir
	want ok probe setxattr "$M/fifo" security.f fifo
fi
want "hello world" probe getxattr "$M/xf" user.mail
want 11 probe getxattr-size "$M/xf" user.mail
want ERANGE probe getxattr-small "$M/xf" user.mail 4
want "user.mail trusted.t user.bin" probe listxattr "$M/xf"
want 29 probe listxattr-size "$M/xf"
want EEXIST probe setxattr "$M/xf" user.mail x create
want ENODATA probe setxattr "$M/xf" user.none x replace
want E2BIG probe setxattr-len "$M/xf" user.huge 65537
want ok probe setxattr-len "$M/xf" user.huge 65536
want 65536 probe getxattr-size "$M/xf" user.huge
# names and values of one inode stay within 256 KiB
want ok probe setxattr-len "$M/xf" user.huge2 65536
want ok probe setxattr-len "$M/xf" user.huge3 65536
want ENOSPC probe setxattr-len "$M/xf" user.huge4 65536
for n in huge huge2 huge3; do want ok probe removexattr "$M/xf" user.$n; done
want EOPNOTSUPP probe setacl "$M/xf"
want EOPNOTSUPP probe setxattr "$M/xf" system.other x
want EPERM probe setxattr "$M/fifo" user.x x
# ctime moves, mtime does not
c0=$(stat -c %.9Z "$M/xf")
m0=$(stat -c %.9Y "$M/xf")
sleep 0.05
want ok probe setxattr "$M/xf" user.tick 1
[ "$(stat -c %.9Z "$M/xf")" != "$c0" ] || fail "setxattr kept ctime"
[ "$(stat -c %.9Y "$M/xf")" = "$m0" ] || fail "setxattr changed mtime"
# the attributes travel with the inode: a link and a rename
ln "$M/xf" "$M/xd/xf-link"
mv "$M/xf" "$M/xd/xf-renamed"
want "hello world" probe getxattr "$M/xd/xf-link" user.mail

# ---- fallocate, against a local file system ----
R="$T/ref"
mkdir "$R"
head -c 300000 /dev/urandom >"$T/rnd"
for d in "$M" "$R"; do
	cp "$T/rnd" "$d/fa"
	fallocate -l 400000 "$d/fa"
	fallocate -n -o 0 -l 1000000 "$d/fa"
	fallocate -p -o 5000 -l 70000 "$d/fa"
	fallocate -p -o 290000 -l 200000 "$d/fa"
done
cmp "$M/fa" "$R/fa" || fail "fallocate content differs from the reference"
[ "$(stat -c %s "$M/fa")" -eq 400000 ] || fail "fallocate size"
[ "$(stat -c %b "$M/fa")" -lt $(((300000 - 70000 + 8192) / 512)) ] ||
	fail "punched range still stored: $(stat -c %b "$M/fa") blocks"
if fallocate -c -o 0 -l 4096 "$M/fa" 2>"$T/err"; then
	fail "collapse range"
fi
grep -q 'not supported' "$T/err" || fail "collapse: $(cat "$T/err")"

# ---- truncate the big file across 4 GiB (after the first remount) ----
remount
want 00414243444546 bytes "$M/big" $((G4 - 4)) 7
want 007461696c bytes "$M/big" $((G5 + 6)) 5
truncate -s $((G4 + 1)) "$M/big"
want 41424344 bytes "$M/big" $((G4 - 3)) 6 # the end: 4 bytes
truncate -s $((G4 - 1)) "$M/big"
truncate -s "$G5" "$M/big"

# ---- everything again after a remount ----
remount
[ "$(stat -c %h "$M/h2/b")" -eq 2 ] || fail "nlink after remount"
[ "$(stat -c %i "$M/h2/b")" = "$(stat -c %i "$M/h1/c")" ] ||
	fail "links after remount"
[ "$(cat "$M/h1/c")" = "$(printf 'first\nsecond')" ] ||
	fail "link data after remount"
[ "$(cat "$M/ra/f/x")" = in-sub ] && [ "$(cat "$M/rb/sub2")" = two ] &&
	[ "$(cat "$M/ra/sub/deep/y")" = in-sub2 ] &&
	[ "$(cat "$M/rb/g")" = one ] || fail "renames after remount"
[ "$(stat -c %i "$M/ra/sub/..")" = "$(stat -c %i "$M/ra")" ] ||
	fail "'..' after remount"
[ -p "$M/fifo" ] || fail "fifo after remount"
[ "$(stat -c %s "$M/big")" -eq "$G5" ] || fail "big size after remount"
want 00414200 bytes "$M/big" $((G4 - 4)) 4
want 0000 bytes "$M/big" "$G4" 2
[ "$(stat -c %b "$M/big")" -le 16 ] || fail "big st_blocks after remount"
want "hello world" probe getxattr "$M/xd/xf-renamed" user.mail
want "hello world" probe getxattr "$M/xd/xf-link" user.mail
want tt probe getxattr "$M/xd/xf-renamed" trusted.t
want "user.mail trusted.t user.bin user.tick" \
	probe listxattr "$M/xd/xf-renamed"
want dir probe getxattr "$M/xd" user.d
want fifo probe getxattr "$M/fifo" security.f
if command -v getfattr >/dev/null 2>&1; then
	[ "$(gf -h --only-values -n trusted.l "$M/xl")" = lnk ] ||
		fail "symlink attribute after remount"
fi
cmp "$M/fa" "$R/fa" || fail "fallocate content after remount"
# locks still work on the remounted file system
want ok probe lock posix "$M/lockme"
vfs_umount "$M"

# the header says format 2 now (a format-1 vaultfs refuses the store)
[ "$(od -An -tu4 -j8 -N4 cloud/vaultfs.hdr | tr -d ' ')" = 2 ] ||
	fail "header format after xattrs: not 2"
echo "PASS: 28-posix"
