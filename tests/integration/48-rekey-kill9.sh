#!/bin/sh
# 48-rekey-kill9.sh - `vaultfs rekey` killed with SIGKILL at random
# moments on a store of ~18 MiB, several rounds: after each kill exactly
# one key is the store's (the old one still opens it, directly or through
# the journal, until the change is finished); the rerun completes; the
# sha256 of every file is unchanged; the previous key is then refused.
# (tests/unit/test_rekey enumerates a crash at every single step; this
# is the same through the real command and real kills.)
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init cloud k0
vfs_mount cloud mnt k0
mkdir -p mnt/chats
head -c 14000000 /dev/urandom >mnt/chats/media
for i in 1 2 3 4 5 6 7 8; do
	head -c $((i * 1000000 / 3)) /dev/urandom >mnt/chats/f$i
done
printf 'hello 48\n' >mnt/chats/a.txt
vfs_manifest mnt >m0
vfs_umount mnt

rand_ms() { # 0 .. $1-1
	echo $(( $(od -An -N2 -tu2 /dev/urandom) % $1 ))
}

# One uninterrupted rekey first: its duration spreads the kills over the
# whole run on a fast or a slow machine.
t0=$(date +%s%N)
expect_code 0 "$VAULTFS" rekey --recovery-key-file k0 \
	--new-recovery-key-file k0b cloud
span=$(( ($(date +%s%N) - t0) / 1000000 + 50 ))

cur=k0b
phases=""
round=1
while [ $round -le 4 ]; do
	next=k$round
	hsum=$(sha256sum <cloud/vaultfs.hdr)
	"$VAULTFS" rekey --recovery-key-file "$cur" \
		--new-recovery-key-file "$next" cloud >"$T/out" 2>"$T/err" &
	pid=$!
	ms=$(rand_ms "$span")
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	kill -9 $pid 2>/dev/null || true
	wait $pid 2>/dev/null || true

	# where did it stop?
	if [ -e cloud/vaultfs.rekey ]; then
		if [ "$(sha256sum <cloud/vaultfs.hdr)" = "$hsum" ]; then
			phase=copying
		else
			phase=switched
		fi
	elif [ "$(sha256sum <cloud/vaultfs.hdr)" = "$hsum" ]; then
		phase=not-started
	else
		phase=finished
	fi
	phases="$phases $phase@${ms}ms"

	# the old key opens it unless the change finished
	mkdir -p mnt mnt2
	if [ $phase = finished ]; then
		expect_code 5 "$VAULTFS" mount --recovery-key-file "$cur" cloud "$T/mnt"
		vfs_mount cloud mnt "$next"
	else
		vfs_mount cloud mnt "$cur"
		[ $phase = switched ] || [ ! -e "$next" ] ||
			expect_code 5 "$VAULTFS" mount --read-only \
				--recovery-key-file "$next" cloud "$T/mnt2"
	fi
	vfs_manifest mnt >m
	cmp -s m0 m || { diff m0 m >&2; fail "round $round ($phase): content differs"; }
	vfs_umount mnt

	# the rerun finishes (exit 5 only when the killed run had finished)
	set +e
	"$VAULTFS" rekey --recovery-key-file "$cur" \
		--new-recovery-key-file "$next" cloud >"$T/out" 2>"$T/err"
	rc=$?
	set -e
	if [ $rc = 5 ] && [ $phase = finished ]; then
		:
	elif [ $rc != 0 ]; then
		cat "$T/err" >&2
		fail "round $round ($phase): rerun exited $rc"
	fi
	[ ! -e cloud/vaultfs.rekey ] || fail "round $round: journal left"
	expect_code 0 "$VAULTFS" fsck --recovery-key-file "$next" cloud
	expect_code 5 "$VAULTFS" mount --recovery-key-file "$cur" cloud "$T/mnt"
	vfs_mount cloud mnt "$next"
	vfs_manifest mnt >m
	cmp -s m0 m || fail "round $round: content differs after the rerun"
	vfs_umount mnt
	cur=$next
	round=$((round + 1))
done
echo "48: a rekey takes ~${span} ms here; 4 kills during rekey, each rerun completed, data intact; stopped at:$phases"
