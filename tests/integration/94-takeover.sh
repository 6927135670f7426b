#!/bin/sh
# 94-takeover.sh - a writer killed with -9 leaves its lease; another
# machine (own state folder; machine id, boot id, host name and wall clock
# faked by tests/hostile/faultshim.so) cannot take the store over before
# the lease expires, not even with --take-over; after expiry only with
# --take-over, and then reads everything the dead writer committed. The
# first machine is refused while the second writes. Then the second
# writer is frozen (SIGSTOP) past its lease, the first takes over, and the
# frozen one, thawed with its clock moved on, commits nothing: its fsync
# fails, the store holds only the new writer's history.
. "${top_srcdir}/tests/integration/lib.sh"
. "${top_srcdir}/tests/hostile/hostile-lib.sh"
vfs_require_fuse
vfs_setup
KILL_PIDS=
trap 'rc=$?; set +e; for p in $KILL_PIDS; do kill -CONT $p; kill -9 $p; done 2>/dev/null; (exit $rc); vfs_cleanup' EXIT
cd "$T"

vfs_init cloud key
W="$T/w"
mkdir -p "$W" "$T/w2"
echo 0 >clock.a
echo 0 >clock.b
echo 0123456789abcdef0123456789abcdef >mid.b
echo 01234567-89ab-cdef-0123-456789abcdef >boot.b
# machine A: this machine, its clock in clock.a; B: another machine
as_a() {
	env XDG_STATE_HOME="$T/state" LD_PRELOAD="$FAULTSHIM" \
		FAULTSHIM_TIME_FILE="$T/clock.a" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" "$@"
}
as_b() {
	env XDG_STATE_HOME="$T/state.b" LD_PRELOAD="$FAULTSHIM" \
		FAULTSHIM_TIME_FILE="$T/clock.b" FAULTSHIM_MACHINE_ID="$T/mid.b" \
		FAULTSHIM_BOOT_ID="$T/boot.b" FAULTSHIM_HOSTNAME=phone-b \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" "$@"
}
daemon_of() {
	XDG_STATE_HOME=$1 vfs_daemons
}

# ---- A writes, commits, and dies ----
as_a "$VAULTFS" mount --recovery-key-file key cloud "$W" || fail "A: mount"
head -c 1500000 /dev/urandom >want.a
cp want.a "$W/a"
sync "$W/a"
echo "not committed" >"$W/late"
pa=$(daemon_of "$T/state")
kill -9 "$pa"
wait_until 10 vfs_pid_gone "$pa" || fail "A's daemon does not die"
expect_code 1 "$VAULTFS" umount "$W"
[ -f cloud/vaultfs.lease ] || fail "the dead writer left no lease"
echo "94: writer A killed with -9; its lease stays"

# ---- B before expiry ----
expect_code 11 as_b "$VAULTFS" mount --recovery-key-file key cloud "$W"
expect_err "mounted read-write elsewhere by '$(hostname)'"
expect_err "its lease runs until"
echo "94: B refused: $(head -n 1 "$T/err")"
expect_code 11 as_b "$VAULTFS" mount --recovery-key-file key --take-over cloud "$W"
expect_err "so --take-over cannot take it yet"
vfs_is_mounted "$W" && fail "B mounted over an unexpired lease"
echo "94: B with --take-over before expiry refused: $(grep -m 1 'take-over' "$T/err")"

# ---- 16 minutes later ----
echo 960 >clock.b
expect_code 11 as_b "$VAULTFS" mount --recovery-key-file key cloud "$W"
expect_err "its lease expired at"
expect_err "mount again with --take-over"
echo "94: B after expiry, without --take-over, refused: $(grep -m 1 'expired' "$T/err")"
as_b "$VAULTFS" mount --recovery-key-file key --take-over cloud "$W" ||
	fail "B: --take-over after expiry"
vfs_is_mounted "$W" || fail "B not mounted"
cmp -s want.a "$W/a" || fail "B: A's committed data reads wrong"
[ -e "$W/late" ] && fail "B shows A's uncommitted file"
head -c 800000 /dev/urandom >want.b
cp want.b "$W/b"
sync "$W/b"
echo "94: B took over after expiry with --take-over; A's commits intact, B commits"

# A comes back while B writes: refused
expect_code 11 as_a "$VAULTFS" mount --recovery-key-file key cloud "$T/w2"
expect_err "mounted read-write elsewhere by 'phone-b'"
echo "94: A refused while B holds the lease: $(head -n 1 "$T/err")"

# ---- B frozen past its lease; A takes over; B thaws ----
pb=$(daemon_of "$T/state.b")
[ -n "$pb" ] || fail "no daemon for B"
echo "B's dirty data" >"$W/frozen"
KILL_PIDS=$pb
kill -STOP "$pb"
echo 2000 >clock.a
expect_code 11 as_a "$VAULTFS" mount --recovery-key-file key cloud "$T/w2"
expect_err "mount again with --take-over"
as_a "$VAULTFS" mount --recovery-key-file key --take-over cloud "$T/w2" ||
	fail "A: --take-over of the frozen writer's expired lease"
cmp -s want.b "$T/w2/b" || fail "A: B's commit reads wrong"
head -c 500000 /dev/urandom >want.a2
cp want.a2 "$T/w2/a2"
sync "$T/w2/a2"
echo "94: B frozen past its lease; A took it over with --take-over"
echo 2960 >clock.b
kill -CONT "$pb"
if sync "$W/frozen" 2>err; then
	fail "the thawed writer B claims to have committed after the take-over"
fi
echo "94: thawed B: fsync fails: $(sed 's/^sync: //' err)"
i=0
until grep -q "another writer took over the store's lease" "$T/state.b/vaultfs/vaultfs.log"; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "B does not log that it lost the lease (60 s)"
	sleep 0.1
done
cmp -s want.a2 "$T/w2/a2" || fail "A's data after B thawed"
vfs_manifest "$T/w2" >m.a
fusermount3 -u "$W" 2>/dev/null || umount -l "$W"
KILL_PIDS=
wait_until 10 vfs_pid_gone "$pb" || { kill -9 "$pb"; }
vfs_umount "$T/w2"
echo 0 >clock.a
as_a "$VAULTFS" mount --recovery-key-file key cloud "$W" || fail "A: remount"
vfs_manifest "$W" >m.after
cmp -s m.a m.after || { diff m.a m.after >&2; fail "the store changed after B thawed"; }
[ -e "$W/frozen" ] && fail "the thawed writer's data reached the store"
vfs_umount "$W"
expect_code 0 "$VAULTFS" fsck --recovery-key-file key cloud
echo "94: the store holds A's history only, fsck clean"
exit 0
