#!/bin/sh
# 32-clean-kill9.sh - kill -9 of the daemon while the cleaner works (grace
# 0, a pass every second), at a different moment each round; after every
# kill a remount shows every file exactly as last fsync-ed, and the next
# round makes new garbage for the cleaner.
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init cloud key
M="$T/mnt"
mkdir ref
bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
head -c 64M /dev/urandom >pool

# rewrite N random 256 KiB pieces of ref/big and the mount's copy, fsync
rewrite() {
	awk -v n="$1" -v s="$2" 'BEGIN { srand(s); for (i = 0; i < n; i++)
		print int(rand() * 64), int(rand() * 256) }' >offsets
	while read -r o p; do
		dd if=pool of=ref/big bs=256k skip="$p" seek="$o" count=1 \
			conv=notrunc 2>/dev/null
		dd if=ref/big of="$M/big" bs=256k skip="$o" seek="$o" count=1 \
			conv=notrunc 2>/dev/null || fail "rewrite"
	done <offsets
	sync "$M/big"
}

check() {
	for f in ref/*; do
		cmp -s "$f" "$M/${f#ref/}" || fail "round $1: ${f#ref/} differs"
	done
	[ "$(ls "$M" | sort | tr '\n' ' ')" = "$(ls ref | sort | tr '\n' ' ')" ] ||
		fail "round $1: file list differs"
}

vfs_mount cloud "$M" key
head -c 16M pool >ref/big
cp ref/big "$M/big"
i=0
while [ $i -lt 12 ]; do
	dd if=pool of=ref/s$i bs=64k skip=$((i * 7)) count=$((4 + i)) 2>/dev/null
	cp ref/s$i "$M/s$i"
	i=$((i + 1))
done
sync "$M"
rewrite 64 1
i=0
while [ $i -lt 12 ]; do
	rm "$M/s$i" ref/s$i
	i=$((i + 3))
done
sync "$M"
vfs_umount "$M"

round=1
while [ $round -le 5 ]; do
	before=$(bytes cloud)
	vfs_mount cloud "$M" key --clean-grace 0 --clean-interval 1
	pid=$(vfs_daemons)
	# the first pass starts a second after the mount; kill within it or
	# one of the passes right after
	sleep "$((1 + round % 3)).$((round * 37 % 10))"
	kill -9 "$pid"
	vfs_wait_gone "$pid" || fail "daemon $pid does not die within 60 s"
	at_kill=$(bytes cloud)
	expect_code 1 "$VAULTFS" umount "$M"
	vfs_mount cloud "$M" key
	check $round
	echo "ok: round $round: killed after $((1 + round % 3)).$((round * 37 % 10)) s," \
		"cloud $before -> $at_kill bytes, all files intact"
	rewrite 32 $((round + 1))
	vfs_umount "$M"
	round=$((round + 1))
done
vfs_mount cloud "$M" key --read-only
check final
vfs_umount "$M"
exit 0
