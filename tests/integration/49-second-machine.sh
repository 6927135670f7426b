#!/bin/sh
# 49-second-machine.sh - runs contrib/second-machine.sh (the terminal
# session of docs/second-machine.md): a new user restores a backup on a
# second machine (own HOME, state dir and copy of the cloud folder) with
# the password through the vault and with the 64-digit key; both trees
# equal the original (diff -r), the key shown again equals the first.
# The script fails on any difference; here its transcript is checked too.
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
VAULTSRV=${VAULTSRV:-$top_builddir/vaultsrv/vaultsrv}
[ -x "$VAULTSRV" ] || skip "vaultsrv not built"
command -v softhsm2-util >/dev/null 2>&1 || skip "softhsm2-util not installed"
[ -e "${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}" ] || skip "no SoftHSM module"
command -v curl >/dev/null 2>&1 || skip "curl not installed"
vfs_setup
cd "$T"

TMPDIR="$T" sh "$top_srcdir/contrib/second-machine.sh" "$top_builddir" \
	>session.txt 2>&1 || {
	cat session.txt >&2
	fail "second-machine.sh failed"
}
for want in \
	'alice@machine1:~$ vaultfs init --vault' \
	'alice@machine2:~$ vaultfs restore --vault' \
	'alice@machine2:~$ vaultfs recovery-key --show' \
	'alice@machine2:~$ vaultfs restore --recovery-key-file key-from-paper.txt' \
	'this machine: has never opened this store' \
	'this machine: has seen generation' \
	'alice@machine2:~$ diff -r original-from-machine1 restored-with-key' \
	'(no output from diff: identical)'; do
	grep -qF -e "$want" session.txt || {
		cat session.txt >&2
		fail "transcript lacks: $want"
	}
done
n=$(grep -c '^  3 files (300143 bytes), 5 folders, 1 symlinks' session.txt)
[ "$n" = 2 ] || fail "expected two full restores, found $n"
# the temporary folder of the run is gone, nothing left mounted
[ -z "$(ls -d "$T"/vaultfs-2nd.* 2>/dev/null)" ] || fail "left its folder behind"
grep -q " $T/" /proc/self/mountinfo && fail "left a mount behind"
echo "49: second machine: restored with the password and with the key ($(grep -c '\$ ' session.txt) commands)"
