#!/bin/sh
# 93-eio.sh - the cloud folder answers EIO (tests/hostile/faultshim.so
# preloaded into the daemon, switched by a control file): on reads of
# segments, reads through the mount fail with EIO and a log line, never
# wrong bytes, and work again once the folder does; on writes and on
# fsync of new objects, fsync through the mount fails (claims nothing),
# the data stays readable, and it commits once the folder works again
# (checked by a remount without the shim). A mount while reads fail
# refuses with a clear message.
. "${top_srcdir}/tests/integration/lib.sh"
. "${top_srcdir}/tests/hostile/hostile-lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"
LOG="$XDG_STATE_HOME/vaultfs/vaultfs.log"

vfs_init cloud key
W="$T/w"
: >ctl
shim_mount() {
	env LD_PRELOAD="$FAULTSHIM" FAULTSHIM_ROOT="$T/cloud" \
		FAULTSHIM_CTL="$T/ctl" FAULTSHIM_LOG="$T/faults" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$VAULTFS" mount --recovery-key-file key "$@" cloud "$W" ||
		fail "mount with the fault shim failed"
	vfs_is_mounted "$W" || fail "not mounted"
}
mkdir -p "$W"
vfs_mount cloud "$W" key
for f in a b c; do head -c 700000 /dev/urandom >"want.$f"; cp "want.$f" "$W/$f"; done
sync "$W/a"
vfs_umount "$W"

# ---- reads fail ----
shim_mount
echo read-eio >ctl
neio=0
for f in a b c; do
	s=$(sha_or_err "$W/$f")
	case $s in
	EIO) neio=$((neio + 1)) ;;
	"$(sha256sum <"want.$f" | cut -c1-64)") ;;
	*) fail "read of $f while the folder fails: $s" ;;
	esac
done
[ $neio -gt 0 ] || fail "no read failed although every segment read fails"
[ -s faults ] || fail "the shim injected nothing"
grep -q "read: inode [0-9]*: I/O error" "$LOG" || fail "EIO not logged"
ls "$W" >/dev/null || fail "the mount does not answer readdir"
echo "93: reads while the folder fails: $neio of 3 files EIO, $(wc -l <faults) faults injected; logged: $(grep -m 1 'read: inode' "$LOG" | sed 's/^.*func=[^ ]* //')"
: >ctl
for f in a b c; do
	cmp -s "want.$f" "$W/$f" || fail "$f reads wrong after the folder recovered"
done
echo "93: the folder works again: every file reads right"

# ---- writes fail ----
for fault in write-eio write-enospc fsync-eio; do
	: >faults
	echo $fault >ctl
	head -c 300000 /dev/urandom >"want.$fault"
	cp "want.$fault" "$W/$fault" || fail "$fault: write into memory failed"
	if sync "$W/$fault" 2>err; then
		fail "$fault: fsync claimed durability"
	fi
	[ -s faults ] || fail "$fault: the shim injected nothing"
	cmp -s "want.$fault" "$W/$fault" || fail "$fault: data reads wrong"
	cmp -s want.a "$W/a" || fail "$fault: committed data reads wrong"
	echo "93: $fault: fsync failed: $(sed 's/^sync: //' err)"
	: >ctl
	sync "$W/$fault" || fail "$fault: fsync fails after the folder recovered"
done
vfs_manifest "$W" >m.before
vfs_umount "$W"
vfs_mount cloud "$W" key
vfs_manifest "$W" >m.after
cmp -s m.before m.after || { diff m.before m.after >&2; fail "remount differs"; }
for f in write-eio write-enospc fsync-eio; do
	cmp -s "want.$f" "$W/$f" || fail "$f: lost"
done
echo "93: after the faults every fsync-ed file is in the store (remount without the shim)"
vfs_umount "$W"

# ---- a mount while reads fail ----
echo read-eio >ctl
set +e
env LD_PRELOAD="$FAULTSHIM" FAULTSHIM_ROOT="$T/cloud" FAULTSHIM_CTL="$T/ctl" \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	"$VAULTFS" mount --recovery-key-file key cloud "$W" 2>err
rc=$?
set -e
[ $rc -ne 0 ] || fail "mounted although no segment can be read"
vfs_is_mounted "$W" && fail "mounted although no segment can be read"
echo "93: mount while every segment read fails: exit $rc: $(head -n 1 err)"
: >ctl
exit 0
