#!/bin/sh
# 31-clean-space.sh - the cleaner's space bound: after a rewrite-heavy
# workload (a file of VFS_CLEAN_MIB MiB, default 32, rewritten in random
# 1 MiB pieces 5 times; half of 16 other files deleted) and cleaning with
# --clean-grace 0, the cloud folder holds at most 1.3x the live data.
# 'make check-clean-long' runs it with the issue's 64 MiB. Prints the ratio, and how long
# foreground writes waited while the cleaner ran (a measurement, not a
# pass/fail: the machine may be loaded). Every file is intact afterwards,
# also after a remount.
. "${top_srcdir}/tests/integration/lib.sh"
VFS_STALL="$top_builddir/tests/integration/vfs-stall"
vfs_require_fuse
[ -x "$VFS_STALL" ] || fail "helper '$VFS_STALL' missing"
vfs_setup
cd "$T"

vfs_init cloud key
M="$T/mnt"
mkdir ref
big=${VFS_CLEAN_MIB:-32}

bytes() { find "$1" -type f -printf '%s\n' | awk '{ s += $1 } END { print s + 0 }'; }
ratio() { awk -v c="$1" -v l="$2" 'BEGIN { printf "%.3f", c / l }'; }
mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }

# ---- workload, default cleaner settings (grace 1 h: nothing removed) ----
vfs_mount cloud "$M" key
head -c "${big}M" /dev/urandom >ref/big
head -c 64M /dev/urandom >pool
cp ref/big "$M/big"
i=0
while [ $i -lt 16 ]; do
	head -c $((big * 32))K /dev/urandom >ref/s$i
	cp ref/s$i "$M/s$i"
	i=$((i + 1))
done
sync "$M/big"
awk -v n="$big" 'BEGIN { srand(31); for (i = 0; i < 5 * n; i++)
	print int(rand() * n), int(rand() * 64) }' >offsets
n=0
while read -r o p; do
	dd if=pool of=ref/big bs=1M skip="$p" seek="$o" count=1 conv=notrunc \
		2>/dev/null
	dd if=ref/big of="$M/big" bs=1M skip="$o" seek="$o" count=1 \
		conv=notrunc 2>/dev/null || fail "rewrite at $o MiB"
	n=$((n + 1))
	[ $((n % 8)) -eq 0 ] && sync "$M/big"
done <offsets
i=0
while [ $i -lt 16 ]; do
	rm "$M/s$i" ref/s$i
	i=$((i + 2))
done
sync "$M"
vfs_umount "$M"
before=$(bytes cloud)

# ---- clean with grace 0, a writer timing its writes meanwhile ----
vfs_mount cloud "$M" key --clean-grace 0 --clean-interval 1
rm -f stop
"$VFS_STALL" "$M/probe" stop >stall.out &
probe=$!
t0=$(date +%s)
live=0
prev=
stable=0
while :; do
	sleep 1
	live=$(bytes "$M")
	now=$(bytes cloud)
	r=$(ratio "$now" "$live")
	echo "  t+$(($(date +%s) - t0))s cloud $(mib "$now") live $(mib "$live") ratio $r"
	# within the bound, and settled (the probe's commits add a little)
	if awk -v r="$r" -v a="$now" -v b="${prev:-0}" \
		'BEGIN { d = a - b; if (d < 0) d = -d; exit !(r <= 1.3 && d < 1048576) }'; then
		stable=$((stable + 1))
		[ $stable -ge 3 ] && break
	else
		stable=0
	fi
	prev=$now
	[ $(($(date +%s) - t0)) -lt 120 ] ||
		fail "cloud bytes not within 1.3x of live data after 120 s (ratio $r)"
done
: >stop
wait $probe || fail "foreground writes failed during cleaning"
echo "ok: before cleaning cloud $(mib "$before") = $(ratio "$before" "$live")x live;" \
	"after cleaning $(mib "$now") = ${r}x live $(mib "$live")" \
	"in $(($(date +%s) - t0)) s"
echo "ok: foreground writes during cleaning: $(cat stall.out)"

# ---- everything intact, now and after a remount ----
check() {
	[ "$(cd "$M" && ls | grep -v '^probe$' | sort | tr '\n' ' ')" = \
		"$(cd ref && ls | sort | tr '\n' ' ')" ] || fail "file list differs"
	for f in ref/*; do
		cmp -s "$f" "$M/${f#ref/}" || fail "${f#ref/} differs"
	done
}
check
vfs_umount "$M"
vfs_mount cloud "$M" key --read-only
check
vfs_umount "$M"
echo "ok: all files intact after cleaning and a remount"
exit 0
