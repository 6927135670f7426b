#!/bin/sh
# 92-full-readonly.sh - the cloud folder turns read-only (a read-only bind
# remount: chmod does not stop root), then fills up (a small tmpfs).
# Each time: writes through the mount keep going into memory up to the
# spill bound (8 MiB of dirty data, then the write fails), fsync fails
# (EROFS/ENOSPC) and claims nothing, committed data keeps reading, a
# read-only follower stays on the last commit; when permission or space
# returns the dirty data commits by itself, the follower follows, and a
# remount shows exactly what was written.
. "${top_srcdir}/tests/integration/lib.sh"
. "${top_srcdir}/tests/hostile/hostile-lib.sh"
vfs_require_fuse
[ "$(id -u)" = 0 ] || skip "needs root (bind and tmpfs mounts)"
vfs_setup
cd "$T"

# fault_round NAME ERRTEXT BREAK REPAIR: BREAK makes the cloud folder
# fail, REPAIR undoes it.
fault_round() {
	name=$1 errtext=$2 brk=$3 fix=$4
	rm -f key
	vfs_init "$C" key
	vfs_mount "$C" "$W" key
	head -c 3000000 /dev/urandom >"$W/committed"
	sync "$W/committed"
	XDG_STATE_HOME="$T/stateb" vfs_mount "$C" "$R" key --read-only
	i=0
	until cmp -s "$W/committed" "$R/committed"; do
		i=$((i + 1))
		[ $i -lt 600 ] || fail "$name: follower does not show the first commit (60 s)"
		sleep 0.1
	done
	$brk
	# dirty data within the bound: accepted into memory
	head -c 2000000 /dev/urandom >want.dirty
	cp want.dirty "$W/dirty" || fail "$name: write within the bound failed"
	mkdir "$W/dir"
	echo hello >"$W/dir/note"
	if sync "$W/dirty" 2>"$T/syncerr"; then
		fail "$name: fsync claimed durability"
	fi
	grep -q "$errtext" "$T/syncerr" ||
		fail "$name: fsync error: $(cat "$T/syncerr")"
	echo "92: $name: write of 2 MB accepted, fsync failed: $(sed 's/^sync: //' "$T/syncerr")"
	cmp -s want.dirty "$W/dirty" || fail "$name: dirty data reads wrong"
	# past the bound: the spill fails, and the write says so
	if head -c 10000000 /dev/urandom >"$W/toobig" 2>"$T/writeerr"; then
		fail "$name: 10 MB of dirty data accepted without anywhere to spill"
	fi
	echo "92: $name: beyond the memory bound the write fails: $(sed 's/^.*: //' "$T/writeerr" | head -n 1)"
	rm -f "$W/toobig"
	sleep 4 # the automatic commit tries and fails
	grep -q "automatic commit failed (will retry)" "$XDG_STATE_HOME/vaultfs/vaultfs.log" ||
		fail "$name: the failing automatic commit is not logged"
	cmp -s want.dirty "$W/dirty" || fail "$name: dirty data lost while failing"
	cmp -s "$W/committed" "$R/committed" || fail "$name: follower lost the commit"
	[ -e "$R/dirty" ] && fail "$name: follower shows uncommitted data"
	$fix
	t0=$(now_ms)
	wait_until 15 grep -q "automatic commit works again" \
		"$XDG_STATE_HOME/vaultfs/vaultfs.log" ||
		fail "$name: no automatic commit within 15 s after the repair"
	echo "92: $name: repaired; the automatic commit went through after $(($(now_ms) - t0)) ms"
	wait_until 15 cmp -s want.dirty "$R/dirty" ||
		fail "$name: the follower does not show the commit made after the repair"
	echo "92: $name: the follower shows it after $(($(now_ms) - t0)) ms"
	vfs_manifest "$W" >m.before
	vfs_umount "$W"
	XDG_STATE_HOME="$T/stateb" vfs_umount "$R"
	vfs_mount "$C" "$W" key
	vfs_manifest "$W" >m.after
	cmp -s m.before m.after || {
		diff m.before m.after >&2
		fail "$name: the remount differs"
	}
	cmp -s want.dirty "$W/dirty" || fail "$name: dirty data lost"
	echo "92: $name: remount shows everything written"
	vfs_umount "$W"
	rm -f "$XDG_STATE_HOME/vaultfs/vaultfs.log"
}
W="$T/w"
R="$T/r"

# ---- read-only folder ----
mkdir real "$T/cloud"
mount --bind real "$T/cloud" || skip "bind mounts not possible here"
C="$T/cloud"
ro_break() {
	mount -o remount,bind,ro "$C" || fail "remount read-only"
	touch "$C/x" 2>/dev/null && fail "the bind mount is writable"
	return 0
}
ro_fix() { mount -o remount,bind,rw "$C" || fail "remount read-write"; }
fault_round "read-only folder" "Read-only file system" ro_break ro_fix
umount "$C"

# ---- full disk ----
mkdir small
mount -t tmpfs -o size=8m tmpfs small || skip "cannot mount a tmpfs"
C="$T/small/cloud"
mkdir "$C"
full_break() {
	dd if=/dev/zero of=small/filler bs=64k 2>/dev/null || true
	return 0
}
full_fix() { rm -f small/filler; }
fault_round "full disk" "No space left on device" full_break full_fix
umount small
exit 0
