#!/bin/sh
# crash-short.sh - crash-state enumeration, the tier of make check
# (crash-lib.sh): the short workload through a real mount; at every crash
# point the state with everything issued on disk and the state with only
# what fsync forced, each mounted with the real vaultfs.
. "${top_srcdir}/tests/crash/crash-lib.sh"
crash_setup
workload_short
rec_umount
echo "recorded $N steps"
check_states 1 --variants 2
echo "PASS: crash-short"
