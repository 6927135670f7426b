#!/bin/sh
# 42-restore-resume.sh - restore of a ~100 MiB store of hundreds of files
# killed with kill -9 midway, then run again: the rerun resumes (finished
# files are kept, not rewritten: same inodes), and the final tree equals
# the store's (sha256, modes, symlinks, mtimes). Then the store changes
# (a file removed, one rewritten) and an interrupted restore is resumed
# again: the removed file goes, the rewritten one is redone.
# VFS_RESTORE_MIB sets the size: 40 MiB in make check (about a minute on a
# loaded 2-core VM, most of it writing through the mount), 100 MiB with
# 'make check-restore-long'.
. "${top_srcdir}/tests/integration/lib.sh"

# As vfs_manifest with VFS_TIMES=1 (type, mode, owner, size, links, mtime,
# symlink target, sha256 of every file), but with a fixed number of
# processes: the per-entry forks of vfs_manifest take minutes for hundreds
# of files on a loaded machine.
rs_manifest() {
	(cd "$1" && {
		find . -mindepth 1 \( -type d -printf '%p %y %m %U:%G\n' \) -o \
			-printf '%p %y %m %U:%G %s %n %T@ %l\n'
		find . -type f -exec sha256sum {} + | awk '{ print $2, $1 }'
	} | LC_ALL=C sort)
}
vfs_require_fuse
vfs_setup
cd "$T"

MIB=${VFS_RESTORE_MIB:-40}
NFILES=300
vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key

# NFILES files averaging MIB/NFILES, in 10 folders, some symlinks; made
# in a plain folder, copied in with their times (one pass through FUSE).
avg=$((MIB * 1048576 / NFILES))
mkdir src
i=0
while [ $i -lt $NFILES ]; do
	d="src/d$((i % 10))"
	[ -d "$d" ] || mkdir "$d"
	head -c $(((i * 7919) % (2 * avg) + 1)) /dev/urandom >"$d/f$i"
	chmod $((600 + (i % 2) * 44)) "$d/f$i"
	i=$((i + 1))
done
for k in 0 1 2 3 4; do ln -s "f$k" "src/d$k/link$k"; done
touch -d '2003-04-05 06:07:08' src/d3
cp -a src/. "$M/"
sync "$M/d0/f0"
rs_manifest src >m.src
rs_manifest "$M" >m.mnt
cmp -s m.src m.mnt || fail "the copy into the mount differs"
vfs_umount "$M"

# kill -9 once some files are done (each is fsync-ed, then renamed)
"$VAULTFS" restore --recovery-key-file key cloud dest >r1.out 2>r1.err &
rp=$!
n=0
t=0
while [ "$n" -lt $((NFILES / 4)) ]; do
	vfs_pid_gone $rp && break
	sleep 0.05
	n=$(find dest -type f -name 'f*' 2>/dev/null | wc -l)
	t=$((t + 1))
	[ $t -lt 1200 ] || fail "restore made no progress in 60 s"
done
kill -9 $rp 2>/dev/null || true
wait $rp 2>/dev/null || true
done1=$(find dest -type f -name 'f*' | wc -l)
[ "$done1" -lt $NFILES ] ||
	skip "restore finished before it could be killed (fast machine; raise VFS_RESTORE_MIB)"
[ -n "$(ls "$XDG_STATE_HOME/vaultfs/restore/")" ] || fail "no journal after kill -9"
# the inodes of the finished files: a resumed run must keep them
find dest -type f -name 'f*' -printf '%p %i\n' | LC_ALL=C sort >inodes.before
echo "42: restore killed with $done1 of $NFILES files done"

# a foreign, non-empty folder is still refused; ours is resumed
expect_code 0 "$VAULTFS" restore --recovery-key-file key cloud dest
grep -q "resuming the interrupted restore" "$T/err" || fail "no resume message: $(cat "$T/err")"
already=$(sed -n 's/.*resumed: \([0-9]*\) files were already complete.*/\1/p' "$T/out")
[ -n "$already" ] && [ "$already" -ge "$done1" ] ||
	fail "resumed run redid finished files: $(cat "$T/out")"
rs_manifest dest >m.dest
diff m.src m.dest >/dev/null || {
	diff m.src m.dest | head -20 >&2
	fail "resumed restore differs from the store"
}
(cd "$T" && find dest -type f -name 'f*' -printf '%p %i\n' | LC_ALL=C sort) >inodes.after
comm -23 inodes.before inodes.after >changed
[ -s changed ] && fail "finished files were rewritten: $(head -3 changed)"
[ "$(stat -c %Y dest/d3)" = "$(date -d '2003-04-05 06:07:08' +%s)" ] ||
	fail "folder mtime not restored"
[ -z "$(ls "$XDG_STATE_HOME/vaultfs/restore/")" ] || fail "journal left after success"
find dest -name '.vaultfs-restore*' | grep -q . && fail "temporary files left"
echo "42: resumed: $already files kept, tree equal ($(wc -l <m.dest) entries)"

# the store changes between an interrupted run and its resumption
rm -rf dest
vfs_mount cloud "$M" key
rm "$M/d1/f1" src/d1/f1
head -c 1000 /dev/urandom >src/d2/f2
rm "$M/d2/f2" # (a new file: not an O_TRUNC open of the old one)
cp -a src/d2/f2 "$M/d2/f2"
touch -r src/d1 "$M/d1"
touch -r src/d2 "$M/d2"
rs_manifest src >m.src2
rs_manifest "$M" >m.mnt2
cmp -s m.src2 m.mnt2 || {
	diff m.src2 m.mnt2 >&2
	fail "the changed mount differs from src"
}
vfs_umount "$M"
"$VAULTFS" restore --recovery-key-file key cloud dest >r2.out 2>r2.err &
rp=$!
n=0
while [ "$n" -lt $((NFILES / 4)) ] && ! vfs_pid_gone $rp; do
	sleep 0.05
	n=$(find dest -type f -name 'f*' 2>/dev/null | wc -l)
done
kill -9 $rp 2>/dev/null || true
wait $rp 2>/dev/null || true
# the old content of d2/f2 and a file the store no longer has, as if
# an earlier generation had been restored here
mkdir -p dest/d1 dest/d2
echo stale >dest/d1/f1
echo stale >dest/d2/f2
mkdir -p dest/gone/deeper
echo stale >dest/gone/deeper/x
expect_code 0 "$VAULTFS" restore --recovery-key-file key cloud dest
grep -q "removing 'gone' from the destination" "$T/err" || fail "no removal message: $(cat "$T/err")"
rs_manifest dest >m.dest2
diff m.src2 m.dest2 >/dev/null || {
	diff m.src2 m.dest2 | head -20 >&2
	fail "resumed restore of a changed store differs"
}
echo "42: resumed after the store changed: stale entries removed, tree equal"
