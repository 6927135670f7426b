#!/bin/sh
# crash-full.sh - crash-state enumeration, full tier (make check-crash):
# the short workload, then many files, a file bigger than a segment (so
# the store spills a data-only segment before the commit) and many small
# commits; at every crash point, besides the two states of the short
# tier, CRASH_VARIANTS-2 (default 10) seeded random ones: un-fsynced
# operations dropped or kept in any order, un-fsynced writes torn into
# 512-byte sectors. CRASH_SEED (default 1) picks them; CRASH_JOBS checks
# run at once.
. "${top_srcdir}/tests/crash/crash-lib.sh"
crash_setup
workload_short
# many names in one folder, fsync-ed every 20
step op_mkdir many
i=0
while [ $i -lt 100 ]; do
	mkdata m$i $((100 + i * 37))
	step op_new many/n$i
	step op_put many/n$i 0 m$i
	[ $((i % 20)) -eq 19 ] && sync_point many/n$i
	i=$((i + 1))
done
# 9 MiB in 128 KiB writes, one commit: the dirty data exceeds the 8 MiB
# segment target and is spilled first
mkdata big 131072
step op_new bigfile
i=0
while [ $i -lt 72 ]; do
	step op_put bigfile $((i * 131072)) big
	i=$((i + 1))
done
sync_point bigfile
# small appends, each fsync-ed
mkdata small 700
i=0
while [ $i -lt 30 ]; do
	step op_put g/f $((40000 + i * 700)) small
	sync_point g/f
	i=$((i + 1))
done
step op_sql "DELETE FROM t WHERE id > 3;"
step op_rm bigfile
sync_point .
rec_umount
echo "recorded $N steps"
check_states "${CRASH_SEED:-1}" --variants "${CRASH_VARIANTS:-12}"
echo "PASS: crash-full"
