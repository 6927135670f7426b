#!/bin/sh
# 11-fsops.sh - POSIX behaviour of the mount, operation by operation, within
# one mount: sizes, holes, truncate, rename (plain, over existing,
# NOREPLACE, EXCHANGE), ENOTEMPTY, links, modes, owners, nanosecond times
# with UTIME_NOW/OMIT, unlinked-but-open files, big directories, statfs,
# fsync, xattrs and fallocate, and SQLite in both journal modes. Every
# step is done the same way in a reference folder on a local file system
# and the two trees are compared at the end.
# Runs against $VAULTFS (default: the in-memory store test double;
# 21-fsops-store.sh runs it against the real store, with a remount).
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VFS_MEMSTORE}
vfs_require_fuse
[ -x "$VFS_PROBE" ] || fail "vfs-probe missing"
vfs_setup
cd "$T"

vfs_init cloud key
M="$T/mnt"
R="$T/ref"
mkdir "$R"
vfs_mount cloud "$M" key

probe() { "$VFS_PROBE" "$@"; }
# want WORD CMD...: CMD prints WORD
want() {
	_w=$1
	shift
	_g=$("$@") || fail "'$*' failed"
	[ "$_g" = "$_w" ] || fail "'$*' gave '$_g', expected '$_w'"
}

# both DIR-RELATIVE-SHELL-CODE: runs the code once in $M and once in $R
both() {
	(cd "$M" && eval "$1") || fail "in mount: $1"
	(cd "$R" && eval "$1") || fail "in reference: $1"
}

# sizes around chunk boundaries, random content
head -c 3145731 /dev/urandom >"$T/big"
both 'head -c 0 "$T/big" >s0; head -c 1 "$T/big" >s1;
	head -c 4095 "$T/big" >s4095; head -c 65537 "$T/big" >s65537;
	cp "$T/big" sbig'
cmp "$M/sbig" "$T/big" || fail "3 MiB file differs"

# holes and truncation
both 'dd if=/dev/urandom of=sparse bs=1 count=0 seek=0 2>/dev/null;
	printf tail | dd of=sparse bs=1 seek=10485760 conv=notrunc 2>/dev/null'
both 'cp "$T/big" t1; truncate -s 100000 t1; truncate -s 200000 t1;
	truncate -s 0 s1; truncate -s 70000 s4095'
cmp "$M/sparse" "$R/sparse" || fail "sparse file differs"
[ "$(stat -c %s "$M/sparse")" -eq 10485764 ] || fail "sparse size"
head -c 10485760 "$M/sparse" | tr -d '\0' | wc -c | grep -qx 0 ||
	fail "hole does not read as zeros"
cmp "$M/t1" "$R/t1" || fail "truncate shrink+grow differs"
# overwrite inside, append at the end
both 'printf XYZ | dd of=s65537 bs=1 seek=65535 conv=notrunc 2>/dev/null;
	printf more >>s65537'

# directories, renames
both 'mkdir -p d1/d2/d3 e; echo a >d1/a; echo b >d1/d2/b; echo c >e/c'
both 'mv d1/a d1/d2/a2; mv e/c d1/a; echo new >n; mv n d1/a'
[ "$(cat "$M/d1/a")" = new ] || fail "rename over existing"
both 'mkdir full; echo x >full/x; mkdir emptyd'
if rmdir "$M/full" 2>err; then fail "rmdir of non-empty dir"; fi
grep -q 'not empty' err || fail "rmdir: $(cat err)"
if mv -T "$M/emptyd" "$M/full" 2>err; then fail "rename over non-empty"; fi
grep -q 'not empty' err || fail "mv over non-empty: $(cat err)"
both 'mv -T full emptyd'
[ "$(cat "$M/emptyd/x")" = x ] || fail "dir rename over empty dir"
both 'echo one >x1; echo two >x2'
want EEXIST probe rename2 noreplace "$M/x1" "$M/x2"
want ok probe rename2 noreplace "$M/x1" "$M/x3"
want ok probe rename2 noreplace "$R/x1" "$R/x3"
want ok probe rename2 exchange "$M/x2" "$M/x3"
want ok probe rename2 exchange "$R/x2" "$R/x3"
[ "$(cat "$M/x2")" = one ] && [ "$(cat "$M/x3")" = two ] ||
	fail "RENAME_EXCHANGE"
if mv "$M/d1" "$M/d1/d2/" 2>/dev/null; then fail "dir moved into itself"; fi

# links, symlinks, modes, owners, times
both 'ln s4095 hard; ln -s d1/d2/b sym; ln -s /nonexistent/target dangling;
	chmod 0640 s4095; chmod 0711 d1; chmod 4755 sbig; mkfifo fifo'
if [ "$(id -u)" = 0 ]; then
	both 'chown 1234:5678 s0'
	[ "$(stat -c %u:%g "$M/s0")" = 1234:5678 ] || fail "chown"
fi
[ "$(stat -c %h "$M/hard")" -eq 2 ] || fail "hard link count"
[ "$(cat "$M/sym")" = b ] || fail "symlink follows"
[ "$(readlink "$M/dangling")" = /nonexistent/target ] || fail "readlink"
[ "$(stat -c %F "$M/fifo")" = fifo ] || fail "mkfifo"
want ok probe utimens "$M/s1" 1234567890.123456789 987654321.987654321
[ "$(TZ=UTC stat -c %x "$M/s1")" = "2009-02-13 23:31:30.123456789 +0000" ] ||
	fail "atime with nanoseconds: $(TZ=UTC stat -c %x "$M/s1")"
[ "$(TZ=UTC stat -c %y "$M/s1")" = "2001-04-19 04:25:21.987654321 +0000" ] ||
	fail "mtime with nanoseconds: $(TZ=UTC stat -c %y "$M/s1")"
# UTIME_OMIT keeps atime, UTIME_NOW sets mtime to now
want ok probe utimens "$M/s1" omit now
[ "$(TZ=UTC stat -c %x "$M/s1")" = "2009-02-13 23:31:30.123456789 +0000" ] ||
	fail "UTIME_OMIT changed atime"
[ "$(stat -c %Y "$M/s1")" -ge "$(($(date +%s) - 5))" ] || fail "UTIME_NOW"
both 'touch -m -d "2001-02-03 04:05:06.000000007" s4095 d1/d2/b sym'

# an open file that lost its name still works
want "STILL here" probe unlinked "$M/gone"
[ ! -e "$M/gone" ] || fail "unlinked file still has a name"

# a big directory (readdir across several requests)
both 'mkdir many; i=0; while [ $i -lt 1500 ]; do
	: >many/entry-with-a-rather-long-name-$i; i=$((i + 1)); done'
[ "$(ls "$M/many" | wc -l)" -eq 1500 ] || fail "readdir lost entries"
[ "$(ls -f "$M/many" | sort | uniq -d | wc -l)" -eq 0 ] ||
	fail "readdir repeated entries"
# (checked; removed so the manifests below stay quick)
both 'rm -r many'

# statfs, fsync
df -P "$M" | grep -q vaultfs || fail "df"
[ "$(stat -f -c %l "$M")" -eq 255 ] || fail "statfs name max"
want ok probe fsync "$M/s65537"
want ok probe fdatasync "$M/s65537"
want ok probe fsync "$M/d1"

# extended attributes and fallocate (more in 28-posix.sh)
want ENODATA probe getxattr "$M/s1" user.x
want - probe listxattr "$M/s1"
want ok probe setxattr "$M/s1" user.x v
want ok probe setxattr "$M/s1" security.y "w w"
want v probe getxattr "$M/s1" user.x
want "user.x security.y" probe listxattr "$M/s1"
want EEXIST probe setxattr "$M/s1" user.x v2 create
want ENODATA probe setxattr "$M/s1" user.z v2 replace
want ok probe setxattr "$M/s1" user.x v2 replace
want ok probe removexattr "$M/s1" security.y
want ENODATA probe removexattr "$M/s1" security.y
want EOPNOTSUPP probe setxattr "$M/s1" system.other v
want EOPNOTSUPP probe setxattr "$M/s1" other.x v
want ok probe setxattr "$M/d1" user.dir yes
want EPERM probe setxattr "$M/fifo" user.x v
both 'head -c 5000 "$T/big" >fa; head -c 5000 "$T/big" >fk'
want ok probe fallocate "$M/fa" 0 4096 8192
want ok probe fallocate "$R/fa" 0 4096 8192
want ok probe fallocate "$M/fk" keep 0 100000
want ok probe fallocate "$R/fk" keep 0 100000
[ "$(stat -c %s "$M/fa")" -eq 12288 ] || fail "fallocate did not extend"
[ "$(stat -c %s "$M/fk")" -eq 5000 ] || fail "fallocate KEEP_SIZE extended"
want EOPNOTSUPP probe fallocate "$M/fa" collapse 0 4096

# SQLite, both journal modes, 2000 messages in transactions
if command -v sqlite3 >/dev/null 2>&1; then
	gen_sql() {
		echo "PRAGMA journal_mode=$1;"
		echo "CREATE TABLE msg(id INTEGER PRIMARY KEY, chat TEXT,"
		echo " body TEXT, ts INTEGER);"
		i=0
		while [ $i -lt 2000 ]; do
			[ $((i % 100)) -eq 0 ] && echo "BEGIN;"
			echo "INSERT INTO msg(chat, body, ts) VALUES" \
				"('chat$((i % 7))', 'message $i', $i);"
			[ $((i % 100)) -eq 99 ] && echo "COMMIT;"
			i=$((i + 1))
		done
		echo "DELETE FROM msg WHERE id % 13 = 0;"
		echo "UPDATE msg SET body = body || ' (edited)' WHERE id % 5 = 0;"
	}
	gen_sql wal >wal.sql
	gen_sql delete >delete.sql
	for mode in wal delete; do
		sqlite3 "$M/chat-$mode.db" <"$mode.sql" >/dev/null
		sqlite3 "$R/chat-$mode.db" <"$mode.sql" >/dev/null
		want ok sqlite3 "$M/chat-$mode.db" "PRAGMA integrity_check;"
		a=$(sqlite3 "$M/chat-$mode.db" "SELECT count(*), sum(ts),
			group_concat(body) FROM msg;" | sha256sum)
		b=$(sqlite3 "$R/chat-$mode.db" "SELECT count(*), sum(ts),
			group_concat(body) FROM msg;" | sha256sum)
		[ "$a" = "$b" ] || fail "sqlite $mode content differs"
	done
	# the databases' bytes are not compared (page layout may differ)
	rm -f "$M"/chat-* "$R"/chat-*
fi

# the whole tree, file by file
vfs_manifest "$M" >m.txt
vfs_manifest "$R" >r.txt
diff r.txt m.txt >&2 || fail "trees differ"
vfs_umount "$M"

# with a persistent store: the same tree after a remount
if [ -n "${VFS_BIN:-}" ]; then
	vfs_mount cloud "$M" key
	vfs_manifest "$M" >m2.txt
	diff r.txt m2.txt >&2 || fail "trees differ after a remount"
	cmp "$M/sbig" "$R/sbig" || fail "big file differs after a remount"
	want "user.x" probe listxattr "$M/s1"
	want v2 probe getxattr "$M/s1" user.x
	want yes probe getxattr "$M/d1" user.dir
	vfs_umount "$M"
fi

echo "PASS: 11-fsops"
