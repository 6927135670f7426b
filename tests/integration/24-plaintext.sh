#!/bin/sh
# 24-plaintext.sh - nothing under CLOUD_DIR reveals a name or content: unique
# markers in file and directory names, symlink targets and contents
# (small, chunk-sized and large files, SQLite) never appear in any
# object's name or bytes, and the key is nowhere there either.
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VAULTFS}
vfs_require_fuse
vfs_setup
cd "$T"

NAME=zqxnamemarker$$
DIRM=zqxdirmarker$$
BODY=ZQXBODYMARKER$$
LINK=zqxlinkmarker$$
vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key
mkdir "$M/$DIRM"
echo "$BODY" >"$M/$DIRM/$NAME.txt"
ln -s "/target/$LINK" "$M/$DIRM/sym"
# a big file made of the marker, and one chunk-sized
yes "$BODY" | head -c 3000000 >"$M/$NAME-big"
yes "$BODY" | head -c 65536 >"$M/$NAME-chunk"
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$M/$NAME.db" "CREATE TABLE t(x); INSERT INTO t
		VALUES ('$BODY');" || fail "sqlite"
fi
vfs_umount "$M"

for m in $NAME $DIRM $BODY $LINK; do
	if find cloud | grep -qi "$m"; then fail "marker $m in a name"; fi
	if grep -rqai "$m" cloud; then fail "marker $m in the cloud folder"; fi
done
tr -d ' \n' <key >keyflat
grep -rqa -f keyflat cloud && fail "the key is in the cloud folder"
grep -rqa -f key cloud && fail "the key text is in the cloud folder"
# and the content is really there (the test can fail)
vfs_mount cloud "$M" key
[ "$(cat "$M/$DIRM/$NAME.txt")" = "$BODY" ] || fail "content lost"
[ "$(readlink "$M/$DIRM/sym")" = "/target/$LINK" ] || fail "symlink lost"
vfs_umount "$M"
echo "PASS: 24-plaintext"
