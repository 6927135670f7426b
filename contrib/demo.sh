#!/bin/sh
# demo.sh BUILD_DIR - the quick-start demo (called by `contrib/quickstart demo`).
#
# A temporary "cloud" folder stands in for a folder inside Dropbox/Drive/
# Syncthing, and a local vaultsrv (over its own SoftHSM token, on a free
# loopback port) stands in for the Backup Key Vault. We create a store
# protected by a password AND a 64-digit recovery key, mount it with the
# password, write a small chat history (text files and a SQLite database),
# unmount, show that the cloud folder only holds ciphertext, mount again
# with the password, then with the 64-digit key as a user would type it,
# and show a wrong password being counted. Passwords come from a 0600 file
# so the demo runs unattended (interactively, vaultfs asks on the
# terminal). Everything happens in a temporary directory that is removed
# at the end.
set -eu
b=${1:?usage: demo.sh BUILD_DIR}
b=$(cd "$b" && pwd)
VAULTFS="$b/vaultfs"
VAULTSRV="$b/vaultsrv/vaultsrv"
HSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -x "$VAULTFS" ] || { echo "demo: $VAULTFS not built" >&2; exit 1; }
[ -x "$VAULTSRV" ] || { echo "demo: $VAULTSRV not built" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "demo: /dev/fuse is missing" >&2; exit 1; }
[ -e "$HSM_MODULE" ] || { echo "demo: no SoftHSM at $HSM_MODULE" >&2; exit 1; }
for t in softhsm2-util curl; do
	command -v $t >/dev/null 2>&1 || { echo "demo: $t missing" >&2; exit 1; }
done

D=$(mktemp -d "${TMPDIR:-/tmp}/vaultfs-demo.XXXXXX")
CLOUD="$D/Dropbox/chat-backup"
MNT="$D/chats"
KEY="$D/recovery-key.txt"
PW="$D/password.txt"
TOK="$D/account-token.txt"
V="$D/vault"
SRV_PID=""
# Keep the demo's per-machine state (rollback protection, logs) in D too.
XDG_STATE_HOME="$D/state"
export XDG_STATE_HOME

cleanup() {
	if grep -q " $MNT " /proc/self/mountinfo 2>/dev/null; then
		"$VAULTFS" umount "$MNT" >/dev/null 2>&1 ||
			fusermount3 -uz "$MNT" 2>/dev/null || true
	fi
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
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

say "2. A local Backup Key Vault: vaultsrv over a SoftHSM token in $V"
echo "   (for real, the vault runs at your provider, its keys in an HSM)."
mkdir -p "$V/tokens"
(
	umask 077
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$V" >"$V/softhsm2.conf"
	od -An -N4 -tu4 /dev/urandom | tr -d ' \n' >"$V/pin"
	echo >>"$V/pin"
)
SOFTHSM2_CONF="$V/softhsm2.conf"
export SOFTHSM2_CONF
softhsm2-util --init-token --free --label demo-vault --pin "$(cat "$V/pin")" \
	--so-pin "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" >/dev/null
# a free port on the loopback address (plain http is for loopback only)
while :; do
	PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
	ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . || break
done
URL="http://127.0.0.1:$PORT"
cat >"$V/vaultsrv.conf" <<EOC
listen = 127.0.0.1:$PORT
pkcs11_module = $HSM_MODULE
token_label = demo-vault
pin_file = $V/pin
db = $V/vault.db
max_attempts = 10
log_level = warn
EOC
run "$VAULTSRV" init --config "$V/vaultsrv.conf"
echo "   The provider issues the account's token (kept in a 0600 file):"
(umask 077 && "$VAULTSRV" token --config "$V/vaultsrv.conf" \
	--account demo-user >"$TOK")
run ls -l "$TOK"
"$VAULTSRV" serve --config "$V/vaultsrv.conf" 2>>"$V/server.log" &
SRV_PID=$!
i=0
until curl -s -o /dev/null "$URL/healthz"; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$SRV_PID" 2>/dev/null; then
		echo "demo: vaultsrv did not start:" >&2
		cat "$V/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
echo "   vaultsrv listens on $URL"

say "3. Create an empty store, protected by a password AND a 64-digit key."
echo "   The password comes from a 0600 file so the demo runs unattended;"
echo "   without --password-file vaultfs asks twice on the terminal (no echo)."
(umask 077 && echo 'correct horse battery staple' >"$PW")
run "$VAULTFS" init --vault "$URL" --account demo-user \
	--account-token-file "$TOK" --password-file "$PW" \
	--recovery-key-file "$KEY" "$CLOUD"
run ls -l "$KEY"
echo "   The key: $(cat "$KEY")"

say "4. Mount it with the password: vaultfs recovers the key from the vault."
echo "   The command returns once the mount is ready."
run "$VAULTFS" mount --password-file "$PW" "$CLOUD" "$MNT"
run df -h "$MNT"

say "5. Write a small chat history into the mount."
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

say "6. Unmount: commits, unmounts, waits for the daemon to exit."
run "$VAULTFS" umount "$MNT"

say "7. What the cloud (and the sync client) sees: only ciphertext."
run find "$CLOUD" -type f -exec ls -l {} +
first=$(find "$CLOUD" -type f -name '*.seg' | sort | tail -n 1)
echo "   the first bytes of $(basename "$first"):"
od -An -tx1 -N64 "$first"
if grep -rqa -e lunch -e dessert -e alice "$CLOUD"; then
	echo "   !! plaintext found in the cloud folder" >&2
	exit 1
fi
echo "   grep for 'lunch', 'dessert', 'alice' in the cloud folder: nothing."

say "8. Mount again with the password: everything is there."
run "$VAULTFS" mount --password-file "$PW" "$CLOUD" "$MNT"
run cat "$MNT/chats/alice/2024-06-01.txt"
run "$VAULTFS" umount "$MNT"

say "9. Without the vault (offline, or it is gone): the 64-digit key, as"
echo "   typed by a person (any case, dashes or spaces)."
echo "   Interactively: vaultfs mount --recovery-key."
typed=$(tr 'a-f ' 'A-F-' <"$KEY")
echo "   typing: $typed"
printf '%s\n' "$typed" |
	run "$VAULTFS" mount --recovery-key-file - "$CLOUD" "$MNT"
run cat "$MNT/chats/family/2024-06-01.txt"
if command -v sqlite3 >/dev/null 2>&1; then
	run sqlite3 -header -column "$MNT/msgstore.db" \
		"SELECT ts, chat, sender, body FROM messages ORDER BY ts"
	run sqlite3 "$MNT/msgstore.db" "PRAGMA integrity_check"
fi
run "$VAULTFS" umount "$MNT"

say "10. A wrong password is counted by the vault: 10 wrong in a row lock"
echo "    the password out for good; the 64-digit key can then set a new one"
echo "    (vaultfs passwd --recovery-key-file)."
(umask 077 && echo 'wrong horse' >"$D/wrong-password.txt")
set +e
run "$VAULTFS" mount --password-file "$D/wrong-password.txt" "$CLOUD" "$MNT"
rc=$?
set -e
echo "   exit code $rc (12 = wrong password; see docs/cli.md)"
if [ "$rc" != 12 ]; then
	echo "demo: a wrong password was not refused as such" >&2
	exit 1
fi
echo "   The right password resets the counter:"
run "$VAULTFS" mount --password-file "$PW" "$CLOUD" "$MNT"
run "$VAULTFS" umount "$MNT"

say "11. A wrong 64-digit key is refused, and nothing is mounted."
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/wrong-key.txt"
set +e
"$VAULTFS" mount --recovery-key-file "$D/wrong-key.txt" "$CLOUD" "$MNT"
rc=$?
set -e
echo "   exit code $rc (5 = wrong key; see docs/cli.md)"

say "Done. Removing $D."
