#!/bin/sh
# 27-kill9.sh - kill -9 of the daemon during writes, several times: every
# write that fsync had confirmed is there and intact after a remount.
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VAULTFS}
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init cloud key
M="$T/mnt"
: >synced
: >synced-log

# content of file number $1: deterministic, a few KiB to ~100 KiB
content() {
	seq "$1" $(($1 + 1 + ($1 * 7919) % 20000))
}

# writer ROUND: new files and appends to one log, fsync after each;
# records what fsync confirmed (on the local disk) before going on.
writer() {
	i=0
	while :; do
		n=$(($1 * 1000 + i))
		content $n >"$T/tmpc"
		dd if="$T/tmpc" of="$M/f$n" bs=64k conv=fsync 2>/dev/null ||
			exit 0
		echo "f$n $(sha256sum <"$T/tmpc" | cut -c1-64)" >>synced
		printf 'line %d\n' $n |
			dd of="$M/log" oflag=append conv=notrunc,fsync \
				2>/dev/null || exit 0
		echo "line $n" >>synced-log
		i=$((i + 1))
	done
}

round=1
while [ $round -le 5 ]; do
	vfs_mount cloud "$M" key
	pid=$(vfs_daemons)
	[ -n "$pid" ] || fail "no daemon"
	base=$(wc -l <synced)
	writer $round &
	w=$!
	# kill only once this round has fsync-ed something (a loaded machine
	# may take a while to start the writer), then a little later
	t=0
	while [ "$(wc -l <synced)" -le "$base" ] && [ $t -lt 300 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	sleep "0.$((3 + round))"
	kill -9 "$pid"
	wait $w || true
	vfs_wait_gone "$pid" || fail "daemon $pid survived kill -9"
	# the daemon is dead: umount removes the mount and says so (exit 1)
	expect_code 1 "$VAULTFS" umount "$M"
	expect_err "died without a final commit"
	vfs_is_mounted "$M" && fail "dead mount still there"

	vfs_mount cloud "$M" key
	while read -r f sum; do
		[ -f "$M/$f" ] || fail "round $round: fsync-ed $f is missing"
		[ "$(sha256sum <"$M/$f" | cut -c1-64)" = "$sum" ] ||
			fail "round $round: fsync-ed $f differs"
	done <synced
	# every fsync-ed log line is there, in order
	n=$(wc -l <synced-log)
	[ "$n" -eq 0 ] && [ ! -e "$M/log" ] && : >"$M/log"
	head -n "$n" "$M/log" | cmp -s - synced-log ||
		fail "round $round: fsync-ed log lines lost or changed"
	# lines written but not yet fsync-ed may have survived too: from
	# here on the log as it is now is the baseline
	cp "$M/log" synced-log
	vfs_umount "$M"
	echo "round $round: $(wc -l <synced) files, $n log lines verified"
	round=$((round + 1))
done
[ "$(wc -l <synced)" -gt 5 ] || fail "too few writes to mean anything"
echo "PASS: 27-kill9"
