#!/bin/sh
# 66-key-sources.sh - the ways docs/install.md and the user unit
# vaultfs@.service document to hand a mount its secret without a person at
# a terminal, each run as documented:
#   - the 64-digit key from the kernel keyring: keyctl pipe into
#     --recovery-key-file - (the drop-in of docs/install.md);
#   - the password on a pipe (as from systemd-ask-password):
#     --password-file /dev/stdin;
#   - the 64-digit key from a 0600 file (the unit's default).
# Each mounts and serves the files; neither secret shows in the daemon's
# command line or environment; a key that is not in the keyring fails
# with the malformed-key code (4) and mounts nothing. The daemon's and
# vaultsrv's log lines are key=value (level, func, msg="...").
. "${top_srcdir:-.}/tests/integration/vint-lib.sh"
command -v keyctl >/dev/null 2>&1 || skip "keyctl (keyutils) not installed"
keyctl session - true >/dev/null 2>&1 || skip "no kernel keyring here"

vi_setup alice
PW='key sources 66'
vi_pw "$T/pw" "$PW"
vi_init "$T/cloud" "$T/key" "$T/pw"
vi_mount_pw "$T/cloud" "$T/mnt" "$T/pw"
echo 'hello 66' >"$T/mnt/a.txt"
vfs_umount "$T/mnt"
KHEX=$(tr -d ' \n-' <"$T/key")

# the daemon's command line and environment hold neither secret
no_secret_in_daemon() {
	pid=$(vi_daemons | head -n 1)
	[ -n "$pid" ] || fail "no daemon found for $1"
	for f in cmdline environ; do
		tr '\0' '\n' <"/proc/$pid/$f" >"$T/proc.$f"
		grep -qiF -e "$KHEX" -e "$PW" "$T/proc.$f" &&
			fail "$1: a secret in the daemon's $f"
	done
	:
}

# 1. the key from the kernel keyring (a session keyring of its own)
keyctl session - sh -c '
	id=$(keyctl padd user "vaultfs:chat" @s <"$1") || exit 90
	keyctl pipe "$(keyctl search @s user vaultfs:chat)" |
		"$4" mount --recovery-key-file - "$2" "$3"
' sh "$T/key" "$T/cloud" "$T/mnt" "$VAULTFS" >"$T/out" 2>"$T/err" ||
	fail "mount with the key from the keyring: $(cat "$T/err")"
[ "$(cat "$T/mnt/a.txt")" = 'hello 66' ] || fail "content (keyring)"
no_secret_in_daemon keyring
vfs_umount "$T/mnt"
echo "66: key from the kernel keyring (keyctl pipe | --recovery-key-file -)"

# a key that is not in the keyring: nothing reaches vaultfs, nothing mounts
set +e
keyctl session - sh -c '
	keyctl pipe "$(keyctl search @s user vaultfs:missing 2>/dev/null)" 2>/dev/null |
		"$3" mount --recovery-key-file - "$1" "$2"
' sh "$T/cloud" "$T/mnt" "$VAULTFS" >"$T/out" 2>"$T/err"
rc=$?
set -e
[ "$rc" = 4 ] || fail "missing keyring key: exit $rc, not 4: $(cat "$T/err")"
vfs_is_mounted "$T/mnt" && fail "mounted without a key"
echo "66: key missing from the keyring: exit 4, nothing mounted"

# 2. the password on a pipe (what systemd-ask-password prints)
cat "$T/pw" | "$VAULTFS" mount --password-file /dev/stdin "$T/cloud" "$T/mnt" \
	2>"$T/err" || fail "mount with the password on a pipe: $(cat "$T/err")"
[ "$(cat "$T/mnt/a.txt")" = 'hello 66' ] || fail "content (password pipe)"
no_secret_in_daemon "password pipe"
vfs_umount "$T/mnt"
echo "66: password on a pipe (--password-file /dev/stdin)"

# 3. the key from a 0600 file
[ "$(stat -c %a "$T/key")" = 600 ] || fail "init made the key file $(stat -c %a "$T/key")"
"$VAULTFS" mount --recovery-key-file "$T/key" "$T/cloud" "$T/mnt" 2>"$T/err" ||
	fail "mount with the key file: $(cat "$T/err")"
[ "$(cat "$T/mnt/a.txt")" = 'hello 66' ] || fail "content (key file)"
no_secret_in_daemon "key file"
vfs_umount "$T/mnt"
echo "66: key from a 0600 file"

# the logs (stderr, the journal under systemd) are key=value lines
kv='level=(error|warn|info|debug) func=[A-Za-z_0-9]+ msg="([^"\\]|\\.)*"$'
LOG="$XDG_STATE_HOME/vaultfs/vaultfs.log"
[ "$(grep -c . "$LOG")" -ge 4 ] || fail "daemon log too short: $(cat "$LOG")"
grep -Ev "^vaultfs\[[0-9]+\]: $kv" "$LOG" >"$T/badlog" &&
	fail "daemon log lines not key=value: $(head -n 3 "$T/badlog")"
grep -Ev "^vaultsrv: $kv" "$T/server.log" >"$T/badlog" &&
	fail "vaultsrv log lines not key=value: $(head -n 3 "$T/badlog")"
echo "66: log lines are key=value ($(wc -l <"$LOG") daemon, $(wc -l <"$T/server.log") vaultsrv)"
echo "66-key-sources: ok"
