#!/bin/sh
# sync-cost.sh BUILD_DIR - what a sync client sees, measured through a real
# mount: objects for a 512 MiB file, new/changed cloud bytes and objects after
# 100 x (4 KiB write at a random offset + fsync), objects for 5,000 small files
# in 50 directories (written one process per file, then after cleaning, then
# in one batch). Prints one line per figure. Needs /dev/fuse.
#   SIZE_MIB=512 FILES=5000 contrib/bench/sync-cost.sh build
set -eu
b=$(cd "${1:?usage: sync-cost.sh BUILD_DIR}" && pwd)
VAULTFS="$b/vaultfs"
SIZE_MIB=${SIZE_MIB:-512}
FILES=${FILES:-5000}
D=$(mktemp -d "${TMPDIR:-/tmp}/vaultfs-synccost.XXXXXX")
XDG_STATE_HOME="$D/state"
export XDG_STATE_HOME
C1="$D/cloud1"
C2="$D/cloud2"
M="$D/mnt"
mkdir -p "$M"
cleanup() {
	if grep -q " $M " /proc/self/mountinfo; then
		"$VAULTFS" umount "$M" >/dev/null 2>&1 || fusermount3 -uz "$M"
	fi
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

snapshot() { # DIR -> "path sha256 size" per object, sorted
	(cd "$1" && find . -type f ! -name '.tmp-*' -printf '%P\n' | sort |
		while read -r f; do
			printf '%s %s %s\n' "$f" "$(sha256sum <"$f" | cut -c1-64)" \
				"$(stat -c %s "$f")"
		done)
}

"$VAULTFS" init --recovery-key-file "$D/key" "$C1" >/dev/null
"$VAULTFS" mount --recovery-key-file "$D/key" "$C1" "$M"
dd if=/dev/urandom of="$M/big" bs=1M count="$SIZE_MIB" conv=fsync status=none
"$VAULTFS" umount "$M"
n=$(find "$C1" -type f | wc -l)
bytes=$(du -sb "$C1" | cut -f1)
echo "file of $SIZE_MIB MiB: $n objects, $bytes bytes in the cloud folder"

"$VAULTFS" mount --recovery-key-file "$D/key" "$C1" "$M"
snapshot "$C1" >"$D/before"
blocks=$((SIZE_MIB * 256))
i=0
while [ $i -lt 100 ]; do
	off=$(shuf -i 0-$((blocks - 1)) -n 1)
	dd if=/dev/urandom of="$M/big" bs=4096 count=1 seek="$off" \
		conv=notrunc,fsync status=none
	i=$((i + 1))
done
snapshot "$C1" >"$D/after"
"$VAULTFS" umount "$M"
# new or changed objects: lines of "after" not in "before" (by path+hash)
awk 'NR==FNR { seen[$1" "$2]=1; next } !($1" "$2 in seen) { n++; s+=$3 }
	END { printf "100 x (4 KiB random write + fsync): %d new or changed objects, %d bytes\n", n, s }' \
	"$D/before" "$D/after"
gone=$(awk 'NR==FNR { seen[$1]=1; next } !($1 in seen) { n++ } END { print n+0 }' \
	"$D/after" "$D/before")
echo "  (objects removed meanwhile: $gone)"

# 5,000 small files, written the way a slow writer does it: one process per
# file. The daemon commits dirty data once it is 3 s old (fs/main.c,
# MAIN_COMMIT_AGE_MS), and every commit is a new segment object, so the
# object count right after writing follows the time the writing took (one
# segment per ~3 s), not the data. After a cleaning mount (grace 0) the
# cleaner has merged the small segments.
"$VAULTFS" init --recovery-key-file "$D/key2" "$C2" >/dev/null
"$VAULTFS" mount --recovery-key-file "$D/key2" "$C2" "$M"
t0=$(date +%s)
i=0
while [ $i -lt "$FILES" ]; do
	dir="$M/d$((i % 50))"
	[ -d "$dir" ] || mkdir "$dir"
	head -c $((1024 + (i * 7919) % 15360)) /dev/urandom >"$dir/f$i"
	i=$((i + 1))
done
t1=$(date +%s)
"$VAULTFS" umount "$M"
n=$(find "$C2" -type f | wc -l)
nseg=$(find "$C2" -type f -name '*.seg' | wc -l)
bytes=$(du -sb "$C2" | cut -f1)
echo "$FILES small files (1-16 KiB) in 50 directories, one process per file: $n objects ($nseg segments), $bytes bytes; the writing took $((t1 - t0)) s (auto-commit every 3 s: ~$(((t1 - t0) / 3 + 1)) commits)"
"$VAULTFS" mount --clean-grace 0 --clean-interval 1 --recovery-key-file "$D/key2" "$C2" "$M"
last=
same=0
t=0
while [ $same -lt 5 ] && [ $t -lt 300 ]; do
	sleep 2
	t=$((t + 2))
	cur="$(find "$C2" -type f | wc -l) $(du -sb "$C2" | cut -f1)"
	if [ "$cur" = "$last" ]; then same=$((same + 1)); else same=0; fi
	last=$cur
done
"$VAULTFS" umount "$M"
n=$(find "$C2" -type f | wc -l)
nseg=$(find "$C2" -type f -name '*.seg' | wc -l)
bytes=$(du -sb "$C2" | cut -f1)
echo "  after a cleaning mount (--clean-grace 0 --clean-interval 1, settled after $t s): $n objects ($nseg segments), $bytes bytes"

# The same files again, written in one batch (cp -r, then fsync of the root).
mkdir "$D/src"
"$VAULTFS" mount --recovery-key-file "$D/key2" "$C2" "$M"
cp -r "$M/." "$D/src/"
"$VAULTFS" umount "$M"
"$VAULTFS" init --recovery-key-file "$D/key3" "$D/cloud3" >/dev/null
"$VAULTFS" mount --recovery-key-file "$D/key3" "$D/cloud3" "$M"
t0=$(date +%s)
cp -r "$D/src/." "$M/"
perl -MIO::Handle -e 'open(my $h, "<", $ARGV[0]) or die; $h->sync or die' "$M"
t1=$(date +%s)
"$VAULTFS" umount "$M"
n=$(find "$D/cloud3" -type f | wc -l)
nseg=$(find "$D/cloud3" -type f -name '*.seg' | wc -l)
bytes=$(du -sb "$D/cloud3" | cut -f1)
echo "the same files in one batch (cp -r + fsync of the root, $((t1 - t0)) s): $n objects ($nseg segments), $bytes bytes"
