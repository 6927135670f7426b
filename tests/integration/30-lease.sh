#!/bin/sh
# 30-lease.sh - one read-write mount per store: a second writer is refused
# with a message naming the holder (host, process, since, until); read-only
# mounts are allowed; a kill -9-ed writer of this machine is reclaimed
# without asking; another machine's lease (written by tests/integration/
# vfs-lease with the real encoder) needs both its expiry and --take-over.
. "${top_srcdir}/tests/integration/lib.sh"
VFS_LEASE="$top_builddir/tests/integration/vfs-lease"
FAULTSHIM="$top_builddir/tests/hostile/faultshim.so"
vfs_require_fuse
[ -x "$VFS_LEASE" ] || fail "helper '$VFS_LEASE' missing"
[ -f "$FAULTSHIM" ] || fail "helper '$FAULTSHIM' missing"
vfs_setup
cd "$T"

vfs_init cloud key
host=$(hostname)

# ---- a second writer on this machine ----
vfs_mount cloud "$T/a" key
pid=$(vfs_daemons)
[ -n "$pid" ] || fail "no daemon"
mkdir -p "$T/b"
expect_code 11 "$VAULTFS" mount --recovery-key-file key cloud "$T/b"
expect_err "mounted read-write on this machine by '$host' (process $pid) since"
expect_err "mount here with --read-only"
vfs_is_mounted "$T/b" && fail "second writer mounted"
# --take-over never takes a live writer of this machine
expect_code 11 "$VAULTFS" mount --recovery-key-file key --take-over cloud "$T/b"
expect_err "(process $pid)"
echo "ok: second writer refused: $(head -n 1 "$T/err")"
# a refused mount gives the mount point back before it returns, even when
# its daemon is slow to exit (as under a leak checker): the mount point is
# free at once
env LD_PRELOAD="$FAULTSHIM" FAULTSHIM_EXIT_DELAY_MS=4000 \
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
	"$VAULTFS" mount --recovery-key-file key cloud "$T/b" >"$T/out" 2>"$T/err" &&
	fail "second writer mounted"
vfs_mount cloud "$T/b" key --read-only
vfs_umount "$T/b"
echo "ok: the mount point is free as soon as a refused mount returns"

# the lease names the holder, but not in clear text
"$VFS_LEASE" show cloud key >"$T/show" || fail "vfs-lease show"
grep -q "^host $host pid $pid since [0-9]* expires [0-9]* this_machine 1 alive 1 version 2$" \
	"$T/show" || { cat "$T/show" >&2; fail "lease holder"; }
if [ ${#host} -ge 4 ] && grep -a -q -F "$host" cloud/vaultfs.lease; then
	fail "the host name is readable in the lease object"
fi

# readers are welcome
vfs_mount cloud "$T/b" key --read-only
printf 'hello\n' >"$T/a/f"
sync "$T/a/f"
i=0
until [ "$(cat "$T/b/f" 2>/dev/null)" = hello ]; do
	i=$((i + 1))
	[ $i -lt 600 ] || fail "read-only mount does not follow within 60 s"
	sleep 0.1
done
vfs_umount "$T/b"

# ---- the writer dies: its lease is reclaimed without --take-over ----
dd if=/dev/urandom of="$T/a/data" bs=64k count=16 conv=fsync 2>/dev/null
want=$(sha256sum <"$T/a/data")
kill -9 "$pid"
vfs_wait_gone "$pid" || fail "daemon $pid does not die within 60 s"
expect_code 1 "$VAULTFS" umount "$T/a"
[ -f cloud/vaultfs.lease ] || fail "the dead writer's lease should still be there"
vfs_mount cloud "$T/a" key
[ "$(sha256sum <"$T/a/data")" = "$want" ] || fail "data lost"
echo "ok: dead writer's lease reclaimed"
vfs_umount "$T/a"
[ -f cloud/vaultfs.lease ] && fail "lease left behind after umount"

# ---- another machine's lease ----
now=$(date +%s)
"$VFS_LEASE" write cloud key other-machine phone-7 4242 $((now - 100)) +600 ||
	fail "vfs-lease write"
grep -a -q -F phone-7 cloud/vaultfs.lease &&
	fail "the host name is readable in the lease object"
expect_code 11 "$VAULTFS" mount --recovery-key-file key cloud "$T/a"
expect_err "mounted read-write elsewhere by 'phone-7' (process 4242) since"
expect_err "its lease runs until"
expect_err "mount with --take-over after that time"
echo "ok: foreign lease refused: $(tail -n 1 "$T/err")"
expect_code 11 "$VAULTFS" mount --recovery-key-file key --take-over cloud "$T/a"
expect_err "so --take-over cannot take it yet"
vfs_is_mounted "$T/a" && fail "mounted over an unexpired foreign lease"
vfs_mount cloud "$T/b" key --read-only
vfs_umount "$T/b"
grep -q "host phone-7 pid 4242" <<EOF || fail "a reader changed the lease"
$("$VFS_LEASE" show cloud key)
EOF

# expired: still refused without --take-over, which then takes it
"$VFS_LEASE" write cloud key other-machine phone-7 4242 $((now - 2000)) -10 ||
	fail "vfs-lease write"
expect_code 11 "$VAULTFS" mount --recovery-key-file key cloud "$T/a"
expect_err "its lease expired at"
expect_err "mount again with --take-over"
echo "ok: expired foreign lease needs --take-over"
vfs_mount cloud "$T/a" key --take-over
pid=$(vfs_daemons)
"$VFS_LEASE" show cloud key >"$T/show"
grep -q "^host $host pid $pid " "$T/show" || {
	cat "$T/show" >&2
	fail "the lease was not taken over"
}
[ "$(sha256sum <"$T/a/data")" = "$want" ] || fail "data lost"
vfs_umount "$T/a"
echo "ok: taken over with --take-over"

# usage: --take-over is for read-write mounts
expect_code 2 "$VAULTFS" mount --recovery-key-file key --read-only --take-over \
	cloud "$T/a"
expect_err "take-over"
exit 0
