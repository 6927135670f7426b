#!/bin/sh
# 91-seg-deleted.sh - a sync client deletes segments underneath a live
# read-write mount. A data-only segment (the spill of a 9 MiB file) and
# the commit segment of a small file are removed while mounted: reads of
# the bytes they held fail with EIO and a log line, never wrong bytes;
# the rest of those files and every other file read right; the mount
# stays up and keeps committing new data. Then the sync client puts the
# objects back (re-delivery) and the same reads return the right bytes.
. "${top_srcdir}/tests/integration/lib.sh"
. "${top_srcdir}/tests/hostile/hostile-lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"
LOG="$XDG_STATE_HOME/vaultfs/vaultfs.log"

vfs_init cloud key
W="$T/w"
vfs_mount cloud "$W" key
segs() { (cd cloud && find log -name '*.seg' | LC_ALL=C sort); }
head -c 300000 /dev/urandom >want.keep
cp want.keep "$W/keep"
sync "$W/keep"
segs >s0
head -c 9437184 /dev/urandom >want.big
cp want.big "$W/big"
sync "$W/big"
segs >s1
head -c 200000 /dev/urandom >want.small
cp want.small "$W/small"
sync "$W/small"
segs >s2
# the spill of big: its new data-only segment (last byte: kind 2)
spill=
for s in $(comm -13 s0 s1); do
	[ "$(tail -c 1 "cloud/$s" | od -An -tu1 | tr -d ' ')" = 2 ] && spill=$s
done
[ -n "$spill" ] || fail "no data-only segment for big"
small=$(comm -13 s1 s2)
[ "$(echo "$small" | wc -l)" = 1 ] || fail "small made more than one segment: $small"
# a remount drops every cache: the reads below go to the folder
vfs_umount "$W"
vfs_mount cloud "$W" key
for s in "$spill" "$small"; do
	mkdir -p "gone/$(dirname "$s")"
	mv "cloud/$s" "gone/$s"
done
echo "91: deleted the spill of big ($spill) and the commit segment of small ($small) under the live mount"

[ "$(sha_or_err "$W/small")" = EIO ] || fail "small: $(sha_or_err "$W/small") instead of EIO"
# big: the first 64 KiB were in the spill, the last MiB in big's commit
if dd if="$W/big" of=head.got bs=65536 count=1 2>err; then
	fail "big: the first 64 KiB read although their segment is gone"
fi
grep -q "Input/output error" err || fail "big head: $(cat err)"
dd if="$W/big" of=tail.got bs=65536 skip=143 2>/dev/null || fail "big: the tail does not read"
tail -c $((9437184 - 143 * 65536)) want.big | cmp -s - tail.got || fail "big: the tail reads wrong"
cmp -s want.keep "$W/keep" || fail "keep reads wrong"
grep -q "store data failed authentication or is missing; answering EIO" "$LOG" ||
	fail "EIO not logged"
echo "91: missing data: EIO (logged: $(grep -m 1 'answering EIO' "$LOG" | sed 's/^.*func=[^ ]* //')); the rest reads right"

# the mount stays up and commits
head -c 100000 /dev/urandom >want.new
cp want.new "$W/new"
sync "$W/new" || fail "commit after the deletion failed"
ls "$W" >/dev/null
cmp -s want.new "$W/new" || fail "new reads wrong"
echo "91: the mount keeps working: a new file committed"

# the sync client re-delivers the objects
(cd gone && find . -type f) | while read -r f; do cp "gone/$f" "cloud/$f"; done
cmp -s want.small "$W/small" || fail "small after re-delivery"
cmp -s want.big "$W/big" || fail "big after re-delivery"
echo "91: after the objects came back every file reads right"
vfs_manifest "$W" >m.before
vfs_umount "$W"
vfs_mount cloud "$W" key
vfs_manifest "$W" >m.after
cmp -s m.before m.after || { diff m.before m.after >&2; fail "remount differs"; }
vfs_umount "$W"
echo "91: remount shows the same tree"
exit 0
