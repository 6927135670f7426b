#!/bin/sh
# 25-tamper.sh - tampered cloud objects are detected, never decrypted into
# wrong data: for each object, flip a byte / truncate it / delete it, and
# swap pairs of objects; then either the mount is refused (damaged, or a
# refusal naming the problem) or every file reads either as EIO or as its
# exact original bytes.
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VAULTFS}
vfs_require_fuse
vfs_setup
cd "$T"

vfs_init pristine key
M="$T/mnt"
mkdir orig
head -c 200000 /dev/urandom >orig/a
head -c 5000 /dev/urandom >orig/b
echo "small file" >orig/c
vfs_mount pristine "$M" key
# several commits, so there are several objects
cp orig/a "$M/a"
"$VFS_PROBE" fsync "$M/a" >/dev/null
cp orig/b "$M/b"
"$VFS_PROBE" fsync "$M/b" >/dev/null
mkdir "$M/d"
cp orig/c "$M/d/c"
vfs_umount "$M"

objects=$(cd pristine && find . -type f | LC_ALL=C sort)
[ -n "$objects" ] || fail "no objects in the cloud folder"
echo "objects: $(echo "$objects" | wc -l)"
detected=0
cases=0

# check CASE: mount the tampered copy in ./cloud and judge
check() {
	cases=$((cases + 1))
	rm -rf "$XDG_STATE_HOME"
	set +e
	"$VAULTFS" mount --recovery-key-file key cloud "$M" 2>"$T/err"
	rc=$?
	set -e
	case $rc in
	0) ;;
	3 | 5 | 6 | 7 | 10)
		detected=$((detected + 1))
		vfs_is_mounted "$M" && fail "$1: refused (exit $rc) but mounted"
		return 0
		;;
	*) cat "$T/err" >&2; fail "$1: mount exited $rc" ;;
	esac
	bad=0
	for f in a b d/c; do
		src=orig/$(basename $f)
		if cat "$M/$f" >"$T/read" 2>"$T/rerr"; then
			cmp -s "$T/read" "$src" ||
				fail "$1: WRONG BYTES read from $f"
		else
			grep -q -e 'Input/output error' -e 'No such file' \
				"$T/rerr" || fail "$1: $f: $(cat "$T/rerr")"
			bad=1
		fi
	done
	[ $bad -eq 1 ] && detected=$((detected + 1))
	"$VAULTFS" umount "$M" 2>/dev/null || fusermount3 -uz "$M"
}

for o in $objects; do
	size=$(stat -c %s "pristine/$o")
	rm -rf cloud && cp -a pristine cloud
	# flip one byte in the middle
	off=$((size / 2))
	b=$(od -An -tu1 -j $off -N1 "cloud/$o" | tr -d ' ')
	printf "$(printf '\\%03o' $(((b + 1) % 256)))" |
		dd of="cloud/$o" bs=1 seek=$off conv=notrunc 2>/dev/null
	cmp -s "cloud/$o" "pristine/$o" && fail "flip did not change $o"
	check "flip $o"

	rm -rf cloud && cp -a pristine cloud
	truncate -s $((size - 1)) "cloud/$o"
	check "truncate $o"

	rm -rf cloud && cp -a pristine cloud
	rm "cloud/$o"
	check "delete $o"
done

# swap pairs of objects of the same kind (same folder)
prev=""
for o in $objects; do
	if [ -n "$prev" ] && [ "$(dirname "$prev")" = "$(dirname "$o")" ]; then
		rm -rf cloud && cp -a pristine cloud
		mv "cloud/$o" cloud/swap.tmp
		mv "cloud/$prev" "cloud/$o"
		mv cloud/swap.tmp "cloud/$prev"
		check "swap $prev $o"
	fi
	prev=$o
done

echo "tamper cases: $cases, detected: $detected"
# Every case changed bytes that the store reads at mount or on read of
# these files, unless the object is unused; at least most must be seen.
[ $detected -gt 0 ] || fail "no tampering detected at all"
echo "PASS: 25-tamper"
