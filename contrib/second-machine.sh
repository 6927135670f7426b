#!/bin/sh
# second-machine.sh BUILD_DIR - a new user restores a backup on a second
# machine, with the password and with the 64-digit key; printed like a
# terminal session (each command, then its output). docs/second-machine.md
# holds a recorded run; tests/integration/49-second-machine.sh runs it.
#
# Everything happens on this machine in a temporary folder:
#   vault/     a local vaultsrv over its own SoftHSM token (stands for the
#              provider's Backup Key Vault)
#   machine1/  the old phone/laptop: its own HOME and XDG state dir, a
#              cloud folder (Dropbox/chat-backup) and the chat history
#   machine2/  the new machine: another HOME and state dir (it has never
#              seen the store, the vault or the key) and its own copy of
#              the cloud folder, made by "the sync client" (cp -a)
# The user brings to machine 2 only what a person has: the password (in
# their head; typed into a 0600 file here so the run is unattended), the
# 64-digit key (on paper; typed the same way), the account token the
# provider's app holds, and the vault's URL.
# The run fails (exit 1) if any step fails or a restored tree differs from
# the original. The temporary folder is removed at the end.
set -eu
b=${1:?usage: second-machine.sh BUILD_DIR}
b=$(cd "$b" && pwd)
VAULTSRV="$b/vaultsrv/vaultsrv"
HSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -x "$b/vaultfs" ] || { echo "second-machine: $b/vaultfs not built" >&2; exit 1; }
[ -x "$VAULTSRV" ] || { echo "second-machine: $VAULTSRV not built" >&2; exit 1; }
[ -c /dev/fuse ] || { echo "second-machine: /dev/fuse is missing" >&2; exit 1; }
[ -e "$HSM_MODULE" ] || { echo "second-machine: no SoftHSM at $HSM_MODULE" >&2; exit 1; }
for t in softhsm2-util curl diff; do
	command -v $t >/dev/null 2>&1 ||
		{ echo "second-machine: $t missing" >&2; exit 1; }
done
PATH="$b:$PATH"
export PATH

D=$(mktemp -d "${TMPDIR:-/tmp}/vaultfs-2nd.XXXXXX")
V="$D/vault"
H1="$D/machine1/home"
H2="$D/machine2/home"
SRV_PID=""
mkdir -p "$V/tokens" "$H1" "$H2"

cleanup() {
	rc=$?
	set +e
	awk -v t="$D/" 'index($5, t) == 1 { print $5 }' /proc/self/mountinfo |
		sort -r | while read -r m; do
		vaultfs umount "$m" >/dev/null 2>&1 || fusermount3 -uz "$m"
	done
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	rm -rf "$D"
	exit $rc
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

# machine N: a login of its own (HOME, XDG state dir), in its home
machine() {
	HOME="$D/machine$1/home"
	XDG_STATE_HOME="$HOME/.local/state"
	export HOME XDG_STATE_HOME
	PROMPT="$2@machine$1:~\$"
	cd "$HOME"
}
say() { printf '\n# %s\n' "$*"; }
# run CMD...: the command as typed, then its output (both streams)
run() {
	printf '%s %s\n' "$PROMPT" "$*"
	"$@" 2>&1
}

# ---- the provider's vault (not part of the session) ----
(
	umask 077
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$V" >"$V/softhsm2.conf"
	od -An -N4 -tu4 /dev/urandom | tr -d ' \n' >"$V/pin"
	echo >>"$V/pin"
)
SOFTHSM2_CONF="$V/softhsm2.conf"
export SOFTHSM2_CONF
softhsm2-util --init-token --free --label vault --pin "$(cat "$V/pin")" \
	--so-pin "$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')" >/dev/null
while :; do
	PORT=$((20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000))
	ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q . || break
done
URL="http://127.0.0.1:$PORT"
cat >"$V/vaultsrv.conf" <<EOC
listen = 127.0.0.1:$PORT
pkcs11_module = $HSM_MODULE
token_label = vault
pin_file = $V/pin
db = $V/vault.db
max_attempts = 10
log_level = warn
EOC
"$VAULTSRV" init --config "$V/vaultsrv.conf" >"$V/init.out" 2>&1 ||
	{ cat "$V/init.out" >&2; exit 1; }
(umask 077 && "$VAULTSRV" token --config "$V/vaultsrv.conf" \
	--account alice >"$V/account-token")
"$VAULTSRV" serve --config "$V/vaultsrv.conf" 2>>"$V/server.log" &
SRV_PID=$!
i=0
until curl -s -o /dev/null "$URL/healthz"; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$SRV_PID" 2>/dev/null; then
		cat "$V/server.log" >&2
		exit 1
	fi
	sleep 0.1
done
for h in "$H1" "$H2"; do
	(umask 077 && cp "$V/account-token" "$h/.vault-token")
done

echo "vaultfs: restoring a backup on a second machine"
echo "(vault: $URL, account 'alice'; each machine has its own HOME and"
echo " state dir; machine 2's cloud folder is a copy of machine 1's)"

# ---- machine 1: the backup ----
machine 1 alice
say "Machine 1: create the backup (password + 64-digit key), write chats."
(umask 077 && echo 'purple elephant 1984' >password.txt)
mkdir -p Dropbox
run vaultfs --version
run vaultfs init --vault "$URL" --account alice \
	--account-token-file .vault-token --password-file password.txt \
	--recovery-key-file recovery-key.txt Dropbox/chat-backup
mkdir -p mnt
run vaultfs mount --password-file password.txt Dropbox/chat-backup mnt
mkdir -p original/chats/bob original/chats/family original/media
cat >original/chats/bob/2024-06-01.txt <<'EOF'
[09:14] bob: are we still on for lunch?
[09:15] alice: yes! 12:30 at the usual place
EOF
cat >original/chats/family/2024-06-02.txt <<'EOF'
[18:02] mum: dinner on sunday?
[18:06] alice: count me in
EOF
head -c 300000 /dev/urandom >original/media/IMG-0001.jpg
ln -s ../../media/IMG-0001.jpg original/chats/bob/photo.jpg
touch -d '2024-06-02 18:06' original/chats/family/2024-06-02.txt
run cp -a original/. mnt/
run find mnt -type f -o -type l
run vaultfs umount mnt
run ls Dropbox/chat-backup
echo "(the old machine is now gone; the sync client has uploaded the folder)"

# ---- the sync client ----
mkdir -p "$H2/Dropbox"
cp -a "$H1/Dropbox/chat-backup" "$H2/Dropbox/"
# what the user carries over: the password and the key on paper, retyped
(umask 077 && cp "$H1/password.txt" "$H2/password.txt")
(umask 077 && tr 'a-f' 'A-F' <"$H1/recovery-key.txt" >"$H2/key-from-paper.txt")

# ---- machine 2: the restore ----
machine 2 alice
say "Machine 2 (new): nothing about the store is known here yet."
run ls -a
run ls .local/state/vaultfs || true
say "What the folder tells without the key:"
run vaultfs status Dropbox/chat-backup

say "1) Restore with the password, through the vault."
run vaultfs restore --vault "$URL" --account alice \
	--account-token-file .vault-token --password-file password.txt \
	Dropbox/chat-backup restored-with-password
say "The 64-digit key can be shown again after the password worked:"
run vaultfs recovery-key --show --password-file password.txt \
	--output recovery-key-again.txt Dropbox/chat-backup
run cat recovery-key-again.txt
tr 'A-F' 'a-f' <key-from-paper.txt | cmp -s - recovery-key-again.txt || {
	echo "second-machine: the key shown again is not machine 1's key" >&2
	exit 1
}

say "2) Restore with the 64-digit key only (no vault needed)."
run cat key-from-paper.txt
run vaultfs restore --recovery-key-file key-from-paper.txt \
	Dropbox/chat-backup restored-with-key
run vaultfs status --recovery-key-file key-from-paper.txt Dropbox/chat-backup

say "Both restores equal machine 1's original:"
run find restored-with-key -type f -o -type l
run cat restored-with-key/chats/bob/2024-06-01.txt
run ls -l restored-with-key/chats/family/2024-06-02.txt
# machine 1's original, copied here only for the comparison
cp -a "$H1/original" original-from-machine1
run diff -r original-from-machine1 restored-with-password
run diff -r original-from-machine1 restored-with-key
run diff -r --no-dereference original-from-machine1 restored-with-key
echo "(no output from diff: identical)"
# (sanitizer builds: the daemons' logs must be clean)
if grep -qs -e 'Sanitizer' -e 'runtime error:' \
	"$H1/.local/state/vaultfs/vaultfs.log" "$H2/.local/state/vaultfs/vaultfs.log" \
	"$V/server.log"; then
	echo "second-machine: sanitizer report in a log:" >&2
	cat "$H1/.local/state/vaultfs/vaultfs.log" "$V/server.log" >&2
	exit 1
fi
say "Done."
