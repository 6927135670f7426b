#!/bin/sh
# 46-rekey.sh - `vaultfs rekey` of a store with the 64-digit key only:
# everything (sha256 of every file, modes, links, symlinks) is the same
# under the new key; the old key is refused (exit 5); no segment of the
# old key is left; refused while the store is mounted read-write (exit
# 11), with a wrong key (5), and to a pipe without a key file (2); the
# new key file is never overwritten; a second rekey works too.
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init cloud k1
vfs_mount cloud mnt k1
mkdir -p mnt/chats/media
head -c 12000000 /dev/urandom >mnt/chats/media/video
printf 'hello 46\n' >mnt/chats/a.txt
ln -s a.txt mnt/chats/link
ln mnt/chats/a.txt mnt/hard
chmod 0640 mnt/chats/a.txt
dd if=/dev/urandom of=mnt/chats/media/video bs=4096 count=3 seek=100 \
	conv=notrunc 2>/dev/null
vfs_manifest mnt >m1
segs_old=$(find cloud/log -name '*.seg' | sort)

# refused while mounted read-write
expect_code 11 "$VAULTFS" rekey --recovery-key-file k1 \
	--new-recovery-key-file k2 cloud
expect_err "mounted read-write"
[ ! -e k2 ] || fail "a key file was written although nothing was done"
vfs_umount mnt

# refused to a pipe without a key file; a wrong key
expect_code 2 "$VAULTFS" rekey --recovery-key-file k1 cloud
expect_err "not a terminal"
vfs_init other kx
expect_code 5 "$VAULTFS" rekey --recovery-key-file kx \
	--new-recovery-key-file k2 cloud
[ ! -e cloud/vaultfs.rekey ] || fail "a journal was left by a wrong key"

expect_code 0 "$VAULTFS" rekey --recovery-key-file k1 \
	--new-recovery-key-file k2 cloud
grep -q "was changed" "$T/out" || fail "rekey output: $(cat "$T/out")"
[ "$(stat -c %a k2)" = 600 ] || fail "new key file mode"
cmp -s k1 k2 && fail "the new key is the old one"
[ ! -e cloud/vaultfs.rekey ] || fail "journal left after rekey"
for s in $segs_old; do
	[ ! -e "$s" ] || fail "old segment $s left"
done
expect_code 0 "$VAULTFS" fsck --recovery-key-file k2 cloud
echo "46: rekey done: $(echo "$segs_old" | wc -w) old segments gone, $(find cloud/log -name '*.seg' | wc -l) new"

# the old key is refused, the new one shows the same tree
mkdir -p mnt
expect_code 5 "$VAULTFS" mount --recovery-key-file k1 cloud "$T/mnt"
vfs_mount cloud mnt k2
vfs_manifest mnt >m2
cmp -s m1 m2 || { diff m1 m2 >&2; fail "content differs after rekey"; }
printf 'after 46\n' >mnt/after
vfs_manifest mnt >m3
vfs_umount mnt
echo "46: old key refused (exit 5); new key: the same $(wc -l <m1) entries"

# a second rekey, with an existing new key file: refused, nothing done
expect_code 2 "$VAULTFS" rekey --recovery-key-file k2 \
	--new-recovery-key-file k1 cloud
expect_err "refusing to overwrite"
[ ! -e cloud/vaultfs.rekey ] || fail "journal left by a refused rekey"
expect_code 0 "$VAULTFS" rekey --recovery-key-file k2 \
	--new-recovery-key-file k3 cloud
expect_code 5 "$VAULTFS" mount --recovery-key-file k2 cloud "$T/mnt"
vfs_mount cloud mnt k3
vfs_manifest mnt >m4
cmp -s m3 m4 || fail "content differs after the second rekey"
vfs_umount mnt
echo "46: second rekey: the previous key refused, content intact"
