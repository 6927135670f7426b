#!/bin/sh
# 22-roundtrip.sh - a tree survives unmount and remount exactly: files of
# several sizes (0, 1, 4095, 65536+1, a few MiB), nested directories,
# symlinks, modes, mtimes with nanoseconds; compared by sha256 of every
# file and stat of every entry.
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VAULTFS}
vfs_require_fuse
vfs_setup
cd "$T"

S="$T/src"
mkdir -p "$S/chats/2024/jan" "$S/chats/2024/feb" "$S/media/deep/er/est"
head -c 5000000 /dev/urandom >"$S/media/video.bin"
head -c 65537 /dev/urandom >"$S/media/photo.jpg"
head -c 4095 /dev/urandom >"$S/chats/2024/jan/4095"
head -c 1 /dev/urandom >"$S/chats/2024/jan/one"
: >"$S/chats/2024/feb/empty"
i=0
while [ $i -lt 50 ]; do
	echo "message $i from alice: $(head -c 30 /dev/urandom | base64)" \
		>>"$S/chats/2024/feb/log.txt"
	i=$((i + 1))
done
printf 'x%.0s' $(seq 1 300) >"$S/media/deep/er/est/leaf"
ln -s ../media/video.bin "$S/chats/link-to-video"
ln -s /does/not/exist "$S/dangling"
chmod 0600 "$S/chats/2024/jan/4095"
chmod 0755 "$S/media/photo.jpg"
chmod 0700 "$S/media/deep"
touch -h -d "2019-05-06 07:08:09.123456789" "$S/chats/link-to-video"
touch -d "2020-01-02 03:04:05.987654321" "$S/chats/2024/jan/one"
touch -d "1999-12-31 23:59:59.000000001" "$S/media/video.bin"
touch -d "2021-06-07 08:09:10.5" "$S/chats/2024/feb"

vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key
cp -a "$S/." "$M/"
VFS_TIMES=1 vfs_manifest "$S" >src.txt
VFS_TIMES=1 vfs_manifest "$M" >m1.txt
diff src.txt m1.txt >&2 || fail "tree differs inside the first mount"
vfs_umount "$M"

vfs_mount cloud "$M" key
VFS_TIMES=1 vfs_manifest "$M" >m2.txt
diff src.txt m2.txt >&2 || fail "tree differs after remount"
cmp "$S/media/video.bin" "$M/media/video.bin" || fail "video differs"

# change some, remount again
printf 'appended\n' >>"$M/chats/2024/feb/log.txt"
printf 'appended\n' >>"$S/chats/2024/feb/log.txt"
rm "$M/media/photo.jpg" "$S/media/photo.jpg"
mv "$M/chats/2024/jan" "$M/chats/2023-jan"
mv "$S/chats/2024/jan" "$S/chats/2023-jan"
touch -d "2022-02-02 02:02:02.222222222" "$S/chats/2024" "$S/chats" \
	"$S/media" "$S/chats/2024/feb/log.txt"
touch -d "2022-02-02 02:02:02.222222222" "$M/chats/2024" "$M/chats" \
	"$M/media" "$M/chats/2024/feb/log.txt"
vfs_umount "$M"
vfs_mount cloud "$M" key
VFS_TIMES=1 vfs_manifest "$S" >src3.txt
VFS_TIMES=1 vfs_manifest "$M" >m3.txt
diff src3.txt m3.txt >&2 || fail "tree differs after changes and remount"
vfs_umount "$M"
echo "PASS: 22-roundtrip"
