#!/bin/sh
# 43-debris.sh - sync debris in the cloud folder: conflict copies placed by
# the test ("x (1)", "x (conflicted copy ...)", "x.conflict", a copy of a
# segment, a stray file and folder, a name with a newline) are reported at
# mount (stderr), in STATE_DIR/vaultfs.log (one line each, control
# characters shown as '?') and by 'vaultfs status'; debris appearing while
# mounted is reported by the periodic re-scan; and every debris file keeps
# its bytes and mtime through mount, writes, commits, cleaning (when the
# mount has --clean-interval) and unmount.
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
command -v jq >/dev/null 2>&1 || skip "jq missing (contrib/quickstart deps)"
vfs_setup
cd "$T"
LOG="$XDG_STATE_HOME/vaultfs/vaultfs.log"

vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key
mkdir "$M/chats"
i=0
while [ $i -lt 20 ]; do
	head -c 20000 /dev/urandom >"$M/chats/m$i"
	sync "$M/chats/m$i" # one commit each: small segments to clean
	i=$((i + 1))
done
vfs_manifest "$M" >m.before
vfs_umount "$M"

seg=$(cd cloud && find log -name '*.seg' | LC_ALL=C sort | sed -n 2p)
[ -n "$seg" ] || fail "no segment found"
segdir=$(dirname "$seg")
segbase=$(basename "$seg" .seg)
cp -p cloud/vaultfs.hdr "cloud/vaultfs (1).hdr"
cp -p cloud/vaultfs.hdr "cloud/vaultfs.hdr.conflict"
cp -p "cloud/$seg" "cloud/$segdir/$segbase (conflicted copy 2024-01-02).seg"
echo "a note" >cloud/notes.txt
mkdir "cloud/log (1)"
echo x >"cloud/log (1)/inside"
printf 'evil' >"$(printf 'cloud/evil\nvaultfs[1]: level=error forged')"
debris_list() {
	printf '%s\n' "vaultfs (1).hdr" "vaultfs.hdr.conflict" \
		"$segdir/$segbase (conflicted copy 2024-01-02).seg" \
		notes.txt "log (1)/inside"
}
# sha256 and mtime (ns) of every debris file, the one with a newline too
snap() {
	(cd cloud && debris_list | while read -r n; do
		echo "$n $(sha256sum <"$n" | cut -c1-64) $(stat -c '%s %.9Y' "$n")"
	done
	f=$(printf 'evil\nvaultfs[1]: level=error forged')
	echo "evil $(sha256sum <"$f" | cut -c1-64) $(stat -c '%s %.9Y' "$f")")
}
touch -d '2020-01-01T00:00:00Z' "cloud/vaultfs (1).hdr" "cloud/notes.txt"
snap >snap.before

# clean as soon as possible when the mount can be told to
cleanopts=
if "$VAULTFS" mount --help | grep -q -- --clean-interval; then
	cleanopts="--clean-interval 1 --clean-grace 0"
fi
mkdir -p "$M"
# shellcheck disable=SC2086
expect_code 0 "$VAULTFS" mount --recovery-key-file key $cleanopts cloud "$M"
expect_err "not vaultfs objects (sync debris)"
expect_err "'vaultfs (1).hdr': sync conflict copy of 'vaultfs.hdr'"
expect_err "'vaultfs.hdr.conflict': sync conflict copy of 'vaultfs.hdr'"
expect_err "'$segdir/$segbase (conflicted copy 2024-01-02).seg': sync conflict copy of '$seg'"
expect_err "'notes.txt': unknown file"
expect_err "'log (1)': sync conflict copy of 'log'"
expect_err "'evil?vaultfs\[1\]: level=error forged': unknown file"
grep -q "^vaultfs\[1\]" "$T/err" && fail "a file name forged a line on stderr"
echo "43: mount warned about 6 debris entries on stderr"

for n in "vaultfs (1).hdr" "vaultfs.hdr.conflict" "notes.txt" "log (1)" \
	"$segdir/$segbase (conflicted copy 2024-01-02).seg"; do
	grep -F "sync debris in the cloud folder: '$n'" "$LOG" >/dev/null ||
		fail "not in the log: '$n'"
done
grep -q "^vaultfs\[1\]: level=error forged" "$LOG" &&
	fail "a file name forged a log line"
grep -q "'evil?vaultfs\[1\]: level=error forged'" "$LOG" ||
	fail "the name with a newline is not logged with '?'"

expect_code 0 "$VAULTFS" status --json "$M"
[ "$(jq -r .debris_count "$T/out")" = 6 ] ||
	fail "status debris_count: $(jq -c .debris "$T/out")"
[ "$(jq -r '.debris[] | select(.name == "vaultfs (1).hdr") | .kind' "$T/out")" = conflict-copy ] ||
	fail "status kind of 'vaultfs (1).hdr'"
[ "$(jq -r '.debris[] | select(.name == "notes.txt") | .kind' "$T/out")" = unknown ] ||
	fail "status kind of notes.txt"
[ "$(jq -r '.debris[] | select(.name == "vaultfs (1).hdr") | .mtime' "$T/out")" = 2020-01-01T00:00:00Z ] ||
	fail "status mtime of 'vaultfs (1).hdr'"
expect_code 0 "$VAULTFS" status "$M"
grep -q "sync debris:  6 entries, left untouched" "$T/out" || fail "human status: $(cat "$T/out")"
grep -q "maybe a forked history" "$T/out" || fail "segment copy not called a possible fork"
echo "43: logged one line per entry; status lists them"

# writes and commits with debris around; debris appearing meanwhile
i=0
while [ $i -lt 20 ]; do
	head -c 30000 /dev/urandom >"$M/chats/n$i"
	sync "$M/chats/n$i"
	i=$((i + 1))
done
rm "$M/chats/m1" "$M/chats/m2"
sync "$M/chats"
cp -p cloud/vaultfs.hdr "cloud/vaultfs (conflicted copy 2024-05-06).hdr"
t=0
until grep -q "sync debris appeared in the cloud folder: 'vaultfs (conflicted copy 2024-05-06).hdr'" "$LOG"; do
	t=$((t + 1))
	[ $t -lt 300 ] || fail "debris that appeared while mounted was not reported within 30 s"
	sleep 0.1
done
echo "43: debris appearing while mounted reported after $((t / 10)) s"
"$VAULTFS" status --json "$M" >"$T/out"
t=0
until [ "$(jq -r .debris_count "$T/out")" = 7 ]; do
	t=$((t + 1))
	[ $t -lt 600 ] || fail "status did not pick up the new debris within 60 s: $(cat "$T/out")"
	sleep 0.1
	"$VAULTFS" status --json "$M" >"$T/out"
done
if [ -n "$cleanopts" ]; then
	# let the cleaner run (grace 0): it removes old segments, never debris
	t=0
	while [ -e "cloud/$seg" ] && [ $t -lt 300 ]; do
		sleep 0.2
		t=$((t + 1))
	done
	[ -e "cloud/$seg" ] && fail "the cleaner did not remove '$seg'"
	echo "43: the cleaner removed '$seg'; its conflict copy stays"
else
	echo "43: (this vaultfs has no --clean-interval: cleaning is covered by test_scan)"
fi
vfs_manifest "$M" >m.during
vfs_umount "$M"

snap >snap.after
diff snap.before snap.after >/dev/null || {
	diff snap.before snap.after >&2
	fail "debris changed"
}
[ -d "cloud/log (1)" ] || fail "debris folder gone"
# the store is intact, and still reports the debris
vfs_mount cloud "$M" key
vfs_manifest "$M" >m.after
cmp -s m.during m.after || fail "content differs after remount"
vfs_umount "$M"
snap >snap.after2
cmp -s snap.before snap.after2 || fail "debris changed by the second mount"
echo "43: every debris file kept its bytes and mtime; the store is intact"
