#!/bin/sh
# 90-sync-order.sh - a read-only device fed by a hostile sync client.
# The writer commits a sequence of known states (a file replaced by
# rename, a file overwritten in place, a 9 MiB file that spills into a
# data-only segment every third state). After each commit tests/hostile/
# syncsim copies the new objects to device B's folder in random or reverse
# order (the commit, the root, before the segments it needs), some in two
# steps (a truncated prefix under the final name, completed later), with
# stale copies of replaced objects re-delivered and random pauses; now and
# then a pass is skipped so several commits arrive at once. Meanwhile a
# poller reads B's read-only mount: every file must hold its bytes at SOME
# committed state (never a mix, never garbage), states must never go back,
# and after the last complete delivery B shows the last state within 10 s.
. "${top_srcdir}/tests/integration/lib.sh"
. "${top_srcdir}/tests/hostile/hostile-lib.sh"
vfs_require_fuse
vfs_setup
cd "$T"

nstates=8
[ "$HOSTILE_LONG" = 1 ] && nstates=40
seed=${VFS_HOSTILE_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
echo "90: seed $seed (VFS_HOSTILE_SEED=$seed replays the deliveries), $nstates states"

vfs_init cloud key
W="$T/w"
R="$T/r"
# the cleaner runs: deletions to sync, deleted segments to resurrect
wopts="--clean-grace 2 --clean-interval 1"
# shellcheck disable=SC2086
vfs_mount cloud "$W" key $wopts
# state 0
head -c 200000 /dev/urandom >"$W/chat"
head -c 524288 /dev/urandom >"$W/log"
head -c 9437184 /dev/urandom >"$W/big"
sync "$W/chat"
mkdir devb st stash
"$SYNCSIM" --order forward cloud devb >/dev/null
XDG_STATE_HOME="$T/stateb" vfs_mount devb "$R" key --read-only
for f in chat log big; do echo "0 $(sha256sum <"$W/$f" | cut -c1-64)" >"st/$f"; done

# ---- the poller: classifies every read of B's files ----
# st/F: "K SHA" for each committed state K; obs: one line per read
touch poll.run
poller() {
	for f in chat log big; do echo 0 >"last.$f"; done
	while [ -e poll.run ]; do
		for f in chat log big; do
			s=$(sha_or_err "$R/$f" poll)
			case $s in
			EIO) echo "EIO $f" >>obs; continue ;;
			ENOENT | ERR:*) echo "BAD $f $s" >>obs; continue ;;
			esac
			ks=$(awk -v s="$s" '$2 == s { print $1 }' "st/$f" | tr '\n' ' ')
			if [ -z "$ks" ] && [ $f = log ]; then
				# log changes in place: a read that straddles
				# the switch to a newer commit may mix them,
				# as on any file system; the next read may not
				s2=$(sha_or_err "$R/$f" poll)
				ks=$(awk -v s="$s2" '$2 == s { print $1 }' "st/$f" | tr '\n' ' ')
				[ -n "$ks" ] && echo "TORN $f" >>obs
			fi
			if [ -z "$ks" ]; then
				echo "WRONG $f $s" >>obs
				continue
			fi
			lo=${ks%% *}
			hi=$(echo "$ks" | awk '{ print $NF }')
			last=$(cat "last.$f")
			if [ "$hi" -lt "$last" ]; then
				echo "BACK $f $lo-$hi after $last" >>obs
				continue
			fi
			[ "$lo" -gt "$last" ] && echo "$lo" >"last.$f"
			echo "OK $f $lo" >>obs
		done
		sleep 0.05
	done
}
bg_start poller
ppid=$!

# ---- the writer and the sync client ----
k=1
pass=0
while [ $k -le $nstates ]; do
	# the in-place overwrite first, in one write(2) of 512 KiB: the
	# automatic commit (dirty for 3 s) cannot split it
	head -c 524288 /dev/urandom >log.new
	head -c $((100000 + k * 3001)) /dev/urandom >chat.new
	dd if=log.new of="$W/log" bs=524288 conv=notrunc 2>/dev/null
	cp chat.new "$W/.chat.new"
	mv "$W/.chat.new" "$W/chat"
	if [ $((k % 3)) = 0 ]; then
		head -c 9437184 /dev/urandom >"$W/.big.new"
		mv "$W/.big.new" "$W/big"
	fi
	sync "$W/chat"
	if [ $k = $((nstates / 2)) ]; then
		# a new lease object: older ones become stale copies
		vfs_umount "$W"
		# shellcheck disable=SC2086
		vfs_mount cloud "$W" key $wopts
	fi
	for f in chat log big; do
		echo "$k $(sha256sum <"$W/$f" | cut -c1-64)" >>"st/$f"
	done
	# skip a pass now and then: commits arrive together
	if [ $(((seed + k) % 4)) != 1 ] || [ $k = $nstates ]; then
		pass=$((pass + 1))
		order=random
		[ $((pass % 3)) = 0 ] && order=reverse
		"$SYNCSIM" --seed $((seed + k)) --order $order --partial 40 \
			--stale 25 --stash stash --conflict 10 --delay-ms 150 \
			cloud devb >>sim.log
		echo "90: state $k committed; pass $pass ($order): $(tail -n 1 sim.log | sed 's/^syncsim: //')"
	else
		echo "90: state $k committed; no pass"
	fi
	k=$((k + 1))
done

# everything arrives, cleanly
"$SYNCSIM" --order forward cloud devb >>sim.log
t0=$(now_ms)
at_last() {
	for f in chat log big; do
		[ "$(sha_or_err "$R/$f")" = "$(awk -v k=$nstates '$1 == k { print $2 }' "st/$f")" ] || return 1
	done
}
if ! wait_until 10 at_last; then
	echo "--- device B's log ---" >&2
	grep -v "answering EIO" "$T/stateb/vaultfs/vaultfs.log" | tail -n 20 >&2
	XDG_STATE_HOME="$T/stateb" "$VAULTFS" status "$R" >&2 || true
	ls -li "$R" >&2
	echo "--- writer's folder / device B's folder ---" >&2
	(cd cloud && find log -type f | sort) | tr '\n' ' ' >&2
	echo >&2
	(cd devb && find log -type f | sort) | tr '\n' ' ' >&2
	echo >&2
	[ -n "${VFS_HOSTILE_DEBUG:-}" ] && { echo "debug: $T" >&2; sleep 900; }
	fail "device B does not show state $nstates 10 s after the complete delivery"
fi
echo "90: device B shows state $nstates $(($(now_ms) - t0)) ms after the complete delivery"
sleep 0.5
rm poll.run
wait $ppid

n_ok=$(grep -c '^OK' obs || true)
n_eio=$(grep -c '^EIO' obs || true)
states=$(awk '$1 == "OK" { print $3 }' obs | sort -n -u | tr '\n' ' ')
echo "90: poller: $n_ok reads at a committed state (states seen: $states), $n_eio EIO," \
	"$(grep -c '^TORN' obs || true) reads of log straddled a switch"
echo "90: sync client: $(grep -c '^partial' sim.log) two-step deliveries," \
	"$(grep -c -e '^stale' -e '^resurrect' sim.log) stale re-deliveries," \
	"$(grep -c '^deliver' sim.log) whole"
if grep -q -e '^WRONG' -e '^BACK' -e '^BAD' obs; then
	grep -e '^WRONG' -e '^BACK' -e '^BAD' obs | head -n 20 >&2
	fail "device B showed bytes of no committed state, or went back"
fi
[ "$n_ok" -gt 0 ] || fail "the poller read nothing"
if [ "$n_eio" -gt 0 ]; then
	# every EIO is logged (fs/fsops.c fsops_errno): data that failed
	# authentication or is missing, or an I/O error reading the folder
	eio_re='failed authentication or is missing\|answering EIO\|: I/O error'
	grep -q "$eio_re" "$T/stateb/vaultfs/vaultfs.log" ||
		fail "device B answered EIO without a log line"
	echo "90: EIO was logged by device B: $(grep -m 1 "$eio_re" "$T/stateb/vaultfs/vaultfs.log")"
fi

# ---- the newest commit arrives in two steps, and nothing after it ----
# B lists the truncated segment while it follows; once it is complete B
# must take it, although no higher number ever appears.
vfs_umount "$W"
vfs_mount cloud "$W" key
head -c 150000 /dev/urandom >chat.last
cp chat.last "$W/.chat.new"
mv "$W/.chat.new" "$W/chat"
sync "$W/chat"
vfs_umount "$W"
new=$( (cd cloud && find log -name '*.seg') | while read -r f; do
	[ -e "devb/$f" ] || echo "$f"
done)
[ -n "$new" ] || fail "the last commit wrote no new segment"
# an auto-commit may have split the write (a loaded machine): the older
# new segments arrive whole, the newest (the last commit) in two steps
newest=$(echo "$new" | LC_ALL=C sort | tail -n 1)
for f in $(echo "$new" | LC_ALL=C sort | sed '$d'); do
	cp "cloud/$f" "devb/$f"
done
new=$newest
size=$(stat -c %s "cloud/$new")
head -c $((size / 2)) "cloud/$new" >"devb/$new"
sleep 3 # B's ticker sees the truncated segment (and cannot load it)
tail -c +$((size / 2 + 1)) "cloud/$new" >>"devb/$new"
cmp -s "cloud/$new" "devb/$new" || fail "completing '$new'"
t0=$(now_ms)
wait_until 15 cmp -s chat.last "$R/chat" ||
	fail "device B does not take a commit that arrived in two steps (last segment '$new')"
echo "90: a last commit delivered in two steps ($new, truncated for 3 s): device B took it $(($(now_ms) - t0)) ms after it was complete"
vfs_mount cloud "$W" key

# conflict copies: untouched by device B (segments are immutable, so a
# copy of one keeps its bytes), and reported in its log
nc=0
for c in $(sed -n 's/^conflict //p' sim.log | tr ' ' '@'); do
	c=$(echo "$c" | tr '@' ' ')
	[ -f "devb/$c" ] || fail "conflict copy '$c' is gone from device B's folder"
	nc=$((nc + 1))
done
echo "90: $nc conflict copies made by the sync client are still there"
if [ $nc -gt 0 ]; then
	c=$(sed -n 's/^conflict //p' sim.log | tail -n 1)
	wait_until 15 grep -q -F "'$c'" "$T/stateb/vaultfs/vaultfs.log" ||
		fail "device B did not report the conflict copy '$c' within 15 s"
	echo "90: device B reported it: $(grep -F "'$c'" "$T/stateb/vaultfs/vaultfs.log" | head -n 1 | sed 's/^.*func=[^ ]* //')"
fi
XDG_STATE_HOME="$T/stateb" vfs_umount "$R"
vfs_umount "$W"
exit 0
