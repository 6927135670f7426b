# lib.sh - shared helpers for integration tests (sourced).
# Exit 77 = skipped (say why), 99 = hard error.
set -eu
: "${top_builddir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_srcdir:=$top_builddir}"
VAULTFS="$top_builddir/vaultfs"
VAULTSRV="$top_builddir/vaultsrv/vaultsrv"
skip() { echo "SKIP: $*" >&2; exit 77; }
fail() { echo "FAIL: $*" >&2; exit 1; }

# ---- vaultfs mounts (tests 10-49) ----
# vfs_setup: a fresh temp dir $T with its own state dir (XDG_STATE_HOME),
# and a trap that unmounts every mount under $T, stops the daemons that
# serve them, checks their log for sanitizer reports and removes $T.
VFS_PROBE="$top_builddir/tests/integration/vfs-probe"
VFS_MEMSTORE="$top_builddir/tests/integration/vaultfs-memstore"
VAULTCTL="$top_builddir/vaultclient/vaultctl"
# make check-valgrind: the programs run under valgrind memcheck through
# the wrappers it made (tests/valgrind/vg-wrap); it reads their reports.
if [ -n "${VFS_VALGRIND_DIR:-}" ]; then
	VAULTFS="$VFS_VALGRIND_DIR/vaultfs"
	VAULTSRV="$VFS_VALGRIND_DIR/vaultsrv"
	VFS_MEMSTORE="$VFS_VALGRIND_DIR/vaultfs-memstore"
	VAULTCTL="$VFS_VALGRIND_DIR/vaultctl"
fi

vfs_require_fuse() {
	[ -c /dev/fuse ] || skip "no /dev/fuse"
	command -v fusermount3 >/dev/null 2>&1 || skip "fusermount3 missing"
	[ -x "$VAULTFS" ] || fail "vaultfs binary '$VAULTFS' missing"
}

vfs_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/vaultfs-it.XXXXXX")
	XDG_STATE_HOME="$T/state"
	export XDG_STATE_HOME
	trap vfs_cleanup EXIT
	trap 'exit 99' INT TERM HUP
}

# True if $1 (absolute) is a mount point right now.
vfs_is_mounted() {
	awk -v m="$1" '$5 == m { found = 1 } END { exit !found }' \
		/proc/self/mountinfo
}

# Daemon pids still holding their lock under our state dir.
vfs_daemons() {
	for f in "$XDG_STATE_HOME"/vaultfs/mounts/*.pid; do
		[ -f "$f" ] || continue
		flock -n "$f" true 2>/dev/null && continue
		sed -n 's/^pid //p' "$f"
	done
}

vfs_cleanup() {
	rc=$?
	set +e
	trap - EXIT
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		awk -v t="$T/" 'index($5, t) == 1 { print $5 }' \
			/proc/self/mountinfo | sort -r | while read -r m; do
			fusermount3 -uz "$m" 2>/dev/null || umount -l "$m"
		done
		for p in $(vfs_daemons); do kill "$p" 2>/dev/null; done
		i=0
		while [ -n "$(vfs_daemons)" ] && [ $i -lt 100 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		for p in $(vfs_daemons); do kill -9 "$p" 2>/dev/null; done
		if [ $rc -eq 0 ] && vfs_log_has_sanitizer_report; then
			echo "FAIL: sanitizer report in the daemon log:" >&2
			cat "$XDG_STATE_HOME/vaultfs/vaultfs.log" >&2
			rc=1
		fi
		if [ $rc -ne 0 ] && [ $rc -ne 77 ] &&
			[ -f "$XDG_STATE_HOME/vaultfs/vaultfs.log" ]; then
			echo "--- daemon log ---" >&2
			tail -n 50 "$XDG_STATE_HOME/vaultfs/vaultfs.log" >&2
		fi
		rm -rf "$T"
	fi
	exit $rc
}

vfs_log_has_sanitizer_report() {
	[ -f "$XDG_STATE_HOME/vaultfs/vaultfs.log" ] &&
		grep -q -e 'Sanitizer' -e 'runtime error:' \
			"$XDG_STATE_HOME/vaultfs/vaultfs.log"
}

# True if process $1 has exited (gone, or a zombie nobody reaped yet).
vfs_pid_gone() {
	! kill -0 "$1" 2>/dev/null ||
		grep -q '^State:[[:space:]]*Z' "/proc/$1/status" 2>/dev/null
}

# vfs_wait_gone PID [SECONDS]: waits until PID has exited (default 60 s:
# a sanitizer build on a loaded machine can take seconds to tear down a
# killed process); 1 if it is still there.
vfs_wait_gone() {
	_n=$(( ${2:-60} * 10 ))
	while ! vfs_pid_gone "$1"; do
		[ "$_n" -gt 0 ] || return 1
		_n=$((_n - 1))
		sleep 0.1
	done
}

# vfs_init CLOUD KEYFILE: a new store, key in KEYFILE.
vfs_init() {
	"$VAULTFS" init --recovery-key-file "$2" "$1" >/dev/null ||
		fail "vaultfs init '$1' failed"
}

# vfs_mount CLOUD MNT KEYFILE [OPTIONS...]: mount or fail.
vfs_mount() {
	_c=$1 _m=$2 _k=$3
	shift 3
	mkdir -p "$_m"
	_m=$(cd "$_m" && pwd -P)
	"$VAULTFS" mount --recovery-key-file "$_k" "$@" "$_c" "$_m" ||
		fail "vaultfs mount '$_c' '$_m' failed"
	vfs_is_mounted "$_m" || fail "'$_m' not mounted after vaultfs mount"
}

# vfs_umount MNT: commit, unmount, daemon gone.
vfs_umount() {
	"$VAULTFS" umount "$1" || fail "vaultfs umount '$1' failed"
	_m=$(cd "$(dirname "$1")" && pwd -P)/$(basename "$1")
	vfs_is_mounted "$_m" && fail "'$1' still mounted after umount"
	return 0
}

# expect_code WANT CMD...: runs CMD, fails unless it exits WANT. Its stderr
# is kept in $T/err for the caller to inspect.
expect_code() {
	_want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	_got=$?
	set -e
	if [ "$_got" -ne "$_want" ]; then
		cat "$T/err" >&2
		fail "'$*' exited $_got, expected $_want"
	fi
}

# expect_err TEXT: the last expect_code's stderr contains TEXT.
expect_err() {
	grep -q -e "$1" "$T/err" || {
		cat "$T/err" >&2
		fail "stderr does not say '$1'"
	}
}

# sha256 of every file plus type/mode/owner/size/links/link target of every
# entry under DIR, relative paths, sorted: two trees are equal iff their
# manifests are. With VFS_TIMES=1 also mtimes (nanoseconds).
vfs_manifest() {
	_fmt='%F %a %u:%g %s %h'
	[ "${VFS_TIMES:-0}" = 1 ] && _fmt="$_fmt %.9Y"
	(cd "$1" && find . -mindepth 1 | LC_ALL=C sort | while read -r p; do
		if [ -L "$p" ]; then
			echo "$p L $(readlink "$p") $(stat -c "$_fmt" "$p")"
		elif [ -f "$p" ]; then
			echo "$p $(stat -c "$_fmt" "$p")" \
				"$(sha256sum <"$p" | cut -c1-64)"
		elif [ -d "$p" ]; then
			# a directory's size is file-system specific
			echo "$p $(stat -c "%F %a %u:%g" "$p")"
		else
			echo "$p $(stat -c "$_fmt" "$p")"
		fi
	done)
}
