#!/bin/sh
# demo.sh BUILD_DIR - the quick-start demo (called by `contrib/quickstart demo`).
#
# A temporary "cloud" folder stands in for a folder inside Dropbox/Drive/
# Syncthing. We create a store, mount it, write a small chat history (text
# files and a SQLite database), unmount, mount again with the 64-digit
# recovery key as a user would type it, show that everything is there, and
# show that the cloud folder only holds ciphertext. Everything happens in a
# temporary directory that is removed at the end.
set -eu
b=${1:?usage: demo.sh BUILD_DIR}
b=$(cd "$b" && pwd)
VAULTFS="$b/vaultfs"
[ -x "$VAULTFS" ] || { echo "demo: $VAULTFS not built" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "demo: /dev/fuse is missing" >&2; exit 1; }

D=$(mktemp -d "${TMPDIR:-/tmp}/vaultfs-demo.XXXXXX")
CLOUD="$D/Dropbox/chat-backup"
MNT="$D/chats"
KEY="$D/recovery-key.txt"
# Keep the demo's per-machine state (rollback protection, logs) in D too.
XDG_STATE_HOME="$D/state"
export XDG_STATE_HOME

cleanup() {
	if grep -q " $MNT " /proc/self/mountinfo 2>/dev/null; then
		"$VAULTFS" umount "$MNT" >/dev/null 2>&1 ||
			fusermount3 -uz "$MNT" 2>/dev/null || true
	fi
	rm -rf "$D"
}
trap cleanup EXIT INT TERM

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run() {
	printf '$ %s\n' "$*"
	"$@"
}

say "1. A folder inside the sync folder: $CLOUD"
mkdir -p "$D/Dropbox" "$MNT"
run "$VAULTFS" --version

say "2. Create an empty store. The new 64-digit recovery key goes to a file"
echo "   (mode 0600; without --recovery-key-file it is shown once on the terminal)."
run "$VAULTFS" init --recovery-key-file "$KEY" "$CLOUD"
run ls -l "$KEY"
echo "   The key: $(cat "$KEY")"

say "3. Mount it. The command returns once the mount is ready."
run "$VAULTFS" mount --recovery-key-file "$KEY" "$CLOUD" "$MNT"
run df -h "$MNT"

say "4. Write a small chat history into the mount."
mkdir -p "$MNT/chats/alice" "$MNT/chats/family" "$MNT/media"
cat >"$MNT/chats/alice/2024-06-01.txt" <<'EOF'
[09:14] alice: are we still on for lunch?
[09:15] me: yes! 12:30 at the usual place
[09:15] alice: perfect, see you there
EOF
cat >"$MNT/chats/family/2024-06-01.txt" <<'EOF'
[18:02] mum: dinner on sunday?
[18:05] dad: I'll bring dessert
[18:06] me: count me in
EOF
head -c 200000 /dev/urandom >"$MNT/media/photo-0001.jpg"
if command -v sqlite3 >/dev/null 2>&1; then
	sqlite3 "$MNT/msgstore.db" >/dev/null <<'EOF'
PRAGMA journal_mode=WAL;
CREATE TABLE messages(id INTEGER PRIMARY KEY, chat TEXT, sender TEXT,
	body TEXT, ts TEXT);
INSERT INTO messages(chat, sender, body, ts) VALUES
	('alice', 'alice', 'are we still on for lunch?', '2024-06-01 09:14'),
	('alice', 'me', 'yes! 12:30 at the usual place', '2024-06-01 09:15'),
	('family', 'mum', 'dinner on sunday?', '2024-06-01 18:02'),
	('family', 'dad', 'I''ll bring dessert', '2024-06-01 18:05');
EOF
	echo "   msgstore.db: $(sqlite3 "$MNT/msgstore.db" \
		'SELECT count(*) FROM messages') messages"
else
	echo "   (sqlite3 not installed: skipping the database)"
fi
run find "$MNT" -type f

say "5. Unmount: commits, unmounts, waits for the daemon to exit."
run "$VAULTFS" umount "$MNT"

say "6. What the cloud (and the sync client) sees: only ciphertext."
run find "$CLOUD" -type f -exec ls -l {} +
first=$(find "$CLOUD" -type f -name '*.seg' | sort | tail -n 1)
echo "   the first bytes of $(basename "$first"):"
od -An -tx1 -N64 "$first"
if grep -rqa -e lunch -e dessert -e alice "$CLOUD"; then
	echo "   !! plaintext found in the cloud folder" >&2
	exit 1
fi
echo "   grep for 'lunch', 'dessert', 'alice' in the cloud folder: nothing."

say "7. A new machine: mount with the 64-digit key as typed by a person"
echo "   (any case, dashes or spaces). Interactively: vaultfs mount --recovery-key."
typed=$(tr 'a-f ' 'A-F-' <"$KEY")
echo "   typing: $typed"
printf '%s\n' "$typed" |
	run "$VAULTFS" mount --recovery-key-file - "$CLOUD" "$MNT"
run cat "$MNT/chats/alice/2024-06-01.txt"
if command -v sqlite3 >/dev/null 2>&1; then
	run sqlite3 -header -column "$MNT/msgstore.db" \
		"SELECT ts, chat, sender, body FROM messages ORDER BY ts"
	run sqlite3 "$MNT/msgstore.db" "PRAGMA integrity_check"
fi

say "8. A wrong key is refused, and nothing is mounted."
run "$VAULTFS" umount "$MNT"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/wrong-key.txt"
set +e
"$VAULTFS" mount --recovery-key-file "$D/wrong-key.txt" "$CLOUD" "$MNT"
rc=$?
set -e
echo "   exit code $rc (5 = wrong key; see docs/cli.md)"

say "Done. Removing $D."
