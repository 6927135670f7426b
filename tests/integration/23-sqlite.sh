#!/bin/sh
# 23-sqlite.sh - a SQLite chat database written inside the mount (2000
# messages in transactions, WAL and DELETE journal modes) is intact after
# a remount: PRAGMA integrity_check = ok, content equal to a reference
# database built the same way on a local file system.
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VAULTFS}
vfs_require_fuse
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 CLI missing"
vfs_setup
cd "$T"

gen_sql() {
	echo "PRAGMA journal_mode=$1;"
	echo "CREATE TABLE chat(id INTEGER PRIMARY KEY, name TEXT);"
	echo "CREATE TABLE msg(id INTEGER PRIMARY KEY, chat INTEGER"
	echo " REFERENCES chat(id), sender TEXT, body TEXT, ts INTEGER);"
	echo "CREATE INDEX msg_chat_ts ON msg(chat, ts);"
	echo "INSERT INTO chat(name) VALUES ('family'), ('work'), ('friends');"
	i=0
	while [ $i -lt 2000 ]; do
		[ $((i % 50)) -eq 0 ] && echo "BEGIN;"
		echo "INSERT INTO msg(chat, sender, body, ts) VALUES" \
			"($((i % 3 + 1)), 'user$((i % 11))'," \
			"'message number $i: $(printf '%0*d' $((i % 97)) 0)'," \
			"$((1700000000 + i * 37)));"
		[ $((i % 50)) -eq 49 ] && echo "COMMIT;"
		i=$((i + 1))
	done
	echo "DELETE FROM msg WHERE id % 17 = 0;"
	echo "UPDATE msg SET body = body || ' (edited)' WHERE id % 9 = 0;"
}
digest() {
	sqlite3 "$1" "SELECT id, chat, sender, body, ts FROM msg ORDER BY id;
		SELECT * FROM chat ORDER BY id;" | sha256sum
}

vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key
for mode in wal delete; do
	gen_sql $mode >$mode.sql
	sqlite3 "$M/$mode.db" <$mode.sql >/dev/null || fail "sqlite $mode"
	sqlite3 "ref-$mode.db" <$mode.sql >/dev/null
done
# a WAL database with an open writer at unmount time is the
# application's business; close everything first (the CLI exits).
vfs_umount "$M"
vfs_mount cloud "$M" key
for mode in wal delete; do
	r=$(sqlite3 "$M/$mode.db" "PRAGMA integrity_check;")
	[ "$r" = ok ] || fail "$mode: integrity_check says: $r"
	[ "$(sqlite3 "$M/$mode.db" "PRAGMA journal_mode;")" = $mode ] ||
		fail "$mode: journal mode lost"
	[ "$(digest "$M/$mode.db")" = "$(digest "ref-$mode.db")" ] ||
		fail "$mode: content differs from the reference"
	n=$(sqlite3 "$M/$mode.db" "SELECT count(*) FROM msg;")
	[ "$n" -eq 1883 ] || fail "$mode: $n messages, expected 1883"
done
# keep writing after the remount
sqlite3 "$M/wal.db" "INSERT INTO msg(chat, sender, body, ts)
	VALUES (1, 'me', 'after remount', 1);"
vfs_umount "$M"
vfs_mount cloud "$M" key
[ "$(sqlite3 "$M/wal.db" "SELECT body FROM msg WHERE ts = 1;")" = \
	"after remount" ] || fail "write after remount lost"
[ "$(sqlite3 "$M/wal.db" "PRAGMA integrity_check;")" = ok ] ||
	fail "integrity after second remount"
vfs_umount "$M"
echo "PASS: 23-sqlite"
