# hostile-lib.sh - helpers of the hostile sync tests 90-94 (sourced after
# tests/integration/lib.sh).
SYNCSIM="$top_builddir/tests/hostile/syncsim"
FAULTSHIM="$top_builddir/tests/hostile/faultshim.so"
[ -x "$SYNCSIM" ] || fail "helper '$SYNCSIM' missing"
[ -f "$FAULTSHIM" ] || fail "helper '$FAULTSHIM' missing"
# VFS_HOSTILE_LONG=1 (make check-hostile): the long variant
HOSTILE_LONG=${VFS_HOSTILE_LONG:-0}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# wait_until SECONDS CMD...: polls CMD every 0.1 s; 1 if it still fails
# after SECONDS.
wait_until() {
	_w_lim=$(($(now_ms) + $1 * 1000))
	shift
	until "$@"; do
		[ "$(now_ms)" -lt "$_w_lim" ] || return 1
		sleep 0.1
	done
}

# sha_or_err FILE [TAG]: sha256 of FILE, or "EIO" / "ENOENT" /
# "ERR:<message>". TAG names the error file (one per concurrent caller).
sha_or_err() {
	_s_err="$T/sha.err.${2:-main}"
	if _s_out=$({ sha256sum <"$1"; } 2>"$_s_err"); then
		echo "${_s_out%% *}"
	elif grep -q "Input/output error" "$_s_err"; then
		echo EIO
	elif grep -q "No such file" "$_s_err"; then
		echo ENOENT
	else
		echo "ERR:$(tr '\n' ' ' <"$_s_err")"
	fi
}

# bg_start CMD...: runs CMD in the background; the exit trap stops it
# before lib.sh's cleanup (unmounts) runs.
BG_PIDS=
bg_start() {
	"$@" &
	BG_PIDS="$BG_PIDS $!"
	trap 'rc=$?; set +e; for p in $BG_PIDS; do kill $p 2>/dev/null; done; wait; (exit $rc); vfs_cleanup' EXIT
}
