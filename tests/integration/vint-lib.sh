# vint-lib.sh - helpers for the vaultfs + vault integration tests (61-69),
# sourced by them: a SoftHSM token and a vaultsrv of the test's own
# (vault-lib.sh), a state dir of its own, real FUSE mounts, and one trap
# that unmounts everything under $T, stops the daemons and the vault and
# removes $T.
. "$top_srcdir/tests/integration/vault-lib.sh"
vfs_require_fuse

# vi_setup ACCOUNT: temp dir, vault (init, token for ACCOUNT, serve),
# XDG_STATE_HOME=$T/state. Sets ACC, TOK (token file).
vi_setup() {
	vs_setup
	trap vi_cleanup EXIT
	XDG_STATE_HOME="$T/state"
	export XDG_STATE_HOME
	vs_init
	ACC=${1:-alice}
	TOK="$T/token"
	(umask 077 && vs_token "$ACC" >"$TOK") || fail "vaultsrv token"
	vs_start
}

# Daemons still holding a lock under any state dir of this test.
vi_daemons() {
	for f in "$T"/state*/vaultfs/mounts/*.pid; do
		[ -f "$f" ] || continue
		flock -n "$f" true 2>/dev/null && continue
		sed -n 's/^pid //p' "$f"
	done
}

vi_cleanup() {
	rc=$?
	set +e
	trap - EXIT
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		awk -v t="$T/" 'index($5, t) == 1 { print $5 }' \
			/proc/self/mountinfo | sort -r | while read -r m; do
			fusermount3 -uz "$m" 2>/dev/null || umount -l "$m"
		done
		for p in $(vi_daemons); do kill "$p" 2>/dev/null; done
		i=0
		while [ -n "$(vi_daemons)" ] && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		for p in $(vi_daemons); do kill -9 "$p" 2>/dev/null; done
		for l in "$T"/state*/vaultfs/vaultfs.log; do
			[ -f "$l" ] || continue
			if [ $rc -eq 0 ] && grep -q -e 'Sanitizer' \
				-e 'runtime error:' "$l"; then
				echo "FAIL: sanitizer report in $l:" >&2
				rc=1
			fi
			if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
				echo "--- $l (tail) ---" >&2
				tail -n 30 "$l" >&2
			fi
		done
	fi
	if [ -n "${SRV_PID:-}" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null
		wait "$SRV_PID" 2>/dev/null
	fi
	if [ "$rc" != 0 ] && [ -n "${T:-}" ] && [ -f "$T/server.log" ]; then
		echo "--- server log (tail) ---" >&2
		tail -n 30 "$T/server.log" >&2
	fi
	[ -n "${T:-}" ] && rm -rf "$T"
	exit "$rc"
}

# vi_pw FILE TEXT: a password file (mode 0600).
vi_pw() {
	(umask 077 && printf '%s\n' "$2" >"$1")
}

# vi_init CLOUD KEYFILE PWFILE [OPTIONS...]: init with the vault.
vi_init() {
	_c=$1 _k=$2 _p=$3
	shift 3
	"$VAULTFS" init --vault "$URL" --account "$ACC" \
		--account-token-file "$TOK" --password-file "$_p" \
		--recovery-key-file "$_k" "$@" "$_c" >"$T/out" 2>"$T/err" || {
		cat "$T/err" >&2
		fail "vaultfs init --vault '$_c' failed"
	}
}

# vi_mount_pw CLOUD MNT PWFILE [OPTIONS...]: mount with the password.
vi_mount_pw() {
	_c=$1 _m=$2 _p=$3
	shift 3
	mkdir -p "$_m"
	_m=$(cd "$_m" && pwd -P)
	"$VAULTFS" mount --password-file "$_p" "$@" "$_c" "$_m" \
		2>"$T/err" || {
		cat "$T/err" >&2
		fail "vaultfs mount (password) '$_c' failed"
	}
	vfs_is_mounted "$_m" || fail "'$_m' not mounted after vaultfs mount"
}

# The attempt counter of an account, as the vault's database holds it.
vi_attempts() {
	sqlite3 "$DB" "SELECT attempts FROM accounts WHERE account='$1'"
}
