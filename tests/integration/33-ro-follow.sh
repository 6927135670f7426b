#!/bin/sh
# 33-ro-follow.sh - read-only mounts follow the writer, and one left on an
# older commit keeps reading through the cleaner's grace period.
#  1. A --read-only mount of the writer's folder shows each fsync-ed commit
#     within 5 s (the latency is printed).
#  2. Device B reads a copy of the cloud folder that a "sync client" (this
#     script) updates late. While B is on an older commit, the writer
#     rewrites and cleans (--clean-grace 15): B reads its files intact
#     after the sync delivered the deletions of the grace period (none).
#     Once the grace period is over and the deletions reach B before the
#     new objects, B reports the missing data (EIO, logged), never wrong
#     data; when the new objects arrive it follows and reads the new state.
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init cloud key
W="$T/w"
R="$T/r"
now_ms() { echo $(($(date +%s%N) / 1000000)); }

# ---- 1. follow latency ----
vfs_mount cloud "$W" key
vfs_mount cloud "$R" key --read-only
worst=0
for n in 1 2 3 4 5; do
	echo "commit $n $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')" >want
	cp want "$W/note"
	sync "$W/note"
	t0=$(now_ms)
	until cmp -s want "$R/note" 2>/dev/null; do
		[ $(($(now_ms) - t0)) -lt 5000 ] ||
			fail "read-only mount did not show commit $n within 5 s"
		sleep 0.05
	done
	lat=$(($(now_ms) - t0))
	[ $lat -gt $worst ] && worst=$lat
	echo "  commit $n visible on the read-only mount after $lat ms"
done
echo "ok: read-only mount follows the writer, worst latency $worst ms (bound 5000)"
vfs_umount "$R"

# ---- 2. a device on an older commit ----
# sync_new: copy objects B lacks; sync_del: delete objects A no longer has
sync_new() {
	(cd cloud && find . -type f ! -name '.tmp-*' ! -name vaultfs.lease) |
		while read -r f; do
			[ -e "devb/$f" ] && continue
			mkdir -p "devb/$(dirname "$f")"
			cp "cloud/$f" "devb/$f.part" && mv "devb/$f.part" "devb/$f"
		done
}
sync_del() {
	(cd devb && find . -type f -name '*.seg') | while read -r f; do
		[ -e "cloud/$f" ] || rm "devb/$f"
	done
}
# f, g and h written in alternating pieces share their segments
for x in f g h; do head -c 8M /dev/urandom >$x.old; done
head -c 8M /dev/urandom >g.new
i=0
while [ $i -lt 8 ]; do
	for x in f g h; do
		dd if=$x.old of="$W/$x" bs=1M skip=$i seek=$i count=1 \
			conv=notrunc 2>/dev/null
	done
	i=$((i + 1))
done
sync "$W"
vfs_umount "$W"
mkdir devb
sync_new
XDG_STATE_HOME="$T/stateb" vfs_mount devb "$R" key --read-only
XDG_STATE_HOME="$T/state"
# objects of devb that the writer's folder no longer has
missing() {
	(cd devb && find . -type f -name '*.seg') | while read -r f; do
		[ -e "cloud/$f" ] || echo "$f"
	done | wc -l
}

# the writer replaces g and cleans (f and h move to a new segment);
# removal waits for the grace period
grace=15
vfs_mount cloud "$W" key --clean-grace $grace --clean-interval 1
t0=$(date +%s)
cp g.new "$W/g"
sync "$W/g"
sleep 4
[ "$(missing)" -eq 0 ] ||
	fail "the cleaner removed segments within the grace period"
sync_del # the sync client delivers deletions first: none yet
cmp -s f.old "$R/f" || fail "device B lost f within the grace period"
cmp -s g.old "$R/g" || fail "device B should still be on the older commit"
echo "ok: device B on an older commit reads f and the old g during the grace period"

# after the grace period the writer removes what it freed
until [ "$(missing)" -gt 0 ]; do
	[ $(($(date +%s) - t0)) -lt $((grace + 30)) ] ||
		fail "nothing removed after the grace period"
	sleep 1
done
echo "ok: the writer removed $(missing) freed segments $(($(date +%s) - t0)) s" \
	"after the rewrite (grace $grace s)"
sync_del
# B is still on the old commit and h (never read there) was in a removed
# segment: reported, never wrong data
if cat "$R/h" >/dev/null 2>"$T/readerr"; then
	fail "device B read h although its segment is gone"
fi
grep -q "Input/output error" "$T/readerr" ||
	fail "device B: unexpected error: $(cat "$T/readerr")"
grep -q "failed authentication or is missing" "$T/stateb/vaultfs/vaultfs.log" ||
	fail "device B did not log the missing data"
echo "ok: device B past the grace period reports the missing data (EIO, logged)"
sync_new
t1=$(now_ms)
until cmp -s g.new "$R/g" 2>/dev/null; do
	# the 5 s bound is checked on the commits above; here (after a
	# missing-segment error) it is that B follows at all: generous, so a
	# loaded sanitizer run does not fail it, and the latency is printed
	[ $(($(now_ms) - t1)) -lt 60000 ] || fail "device B does not follow"
	sleep 0.1
done
cmp -s f.old "$R/f" || fail "device B: f after following"
cmp -s h.old "$R/h" || fail "device B: h after following"
echo "ok: device B follows once the new objects arrive ($(($(now_ms) - t1)) ms)"
XDG_STATE_HOME="$T/stateb" vfs_umount "$R"
vfs_umount "$W"
exit 0
