# crash-lib.sh - crash-state enumeration through real mounts (sourced by
# crash-short.sh and crash-full.sh; docs/testing.md).
#
# 1. record: the vaultfs daemon runs with crashrec.so preloaded, which logs
#    every write, fsync, create, rename, unlink... it makes below the cloud
#    folder (root 0) and the state folder (root 1). The workload changes
#    the mount one system call at a time ("steps") and applies the same
#    change to a plain mirror folder, whose manifest after step N is the
#    state S_N. Marks in the same log: "B N" before step N touches the
#    mount, "F N" once an fsync on the mount returned after step N (S_N
#    must survive any crash from there on).
# 2. enumerate: crashtool gen lists every distinct crash state (crash
#    point, variant) with the steps L..U it may show.
# 3. check each: crashtool make builds the folders; vaultfs mounts them
#    (must succeed: not damaged, not a rollback or fork); the tree must be
#    exactly one of S_L..S_U; vaultfs fsck (when the build has it) must
#    call the store clean; the unmount must succeed.
. "${top_srcdir}/tests/integration/lib.sh"
CRASHREC="$top_builddir/tests/crash/crashrec.so"
CRASHTOOL="$top_builddir/tests/crash/crashtool"

crash_setup() {
	vfs_require_fuse
	[ -f "$CRASHREC" ] || fail "'$CRASHREC' missing"
	[ -x "$CRASHTOOL" ] || fail "'$CRASHTOOL' missing"
	command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (the CLI) missing"
	vfs_setup
	T=$(cd "$T" && pwd -P)
	cd "$T"
	CL="$T/rec/cloud"	# root 0 while recording
	XS="$T/rec/xdg"		# root 1: XDG_STATE_HOME while recording
	LOG="$T/log"
	MIR="$T/mirror"
	ST="$T/states"
	DATA="$T/data"
	M="$T/mnt"
	mkdir -p "$T/rec" "$XS" "$MIR" "$ST" "$DATA" "$M"
	XDG_STATE_HOME="$XS"
	export XDG_STATE_HOME
	vfs_init "$CL" "$T/key"
	# what recording starts from
	mkdir "$T/init"
	cp -a "$CL" "$T/init/0"
	cp -a "$XS" "$T/init/1"
	: >"$LOG"
	N=0
	"$CRASHTOOL" manifest "$MIR" >"$ST/0"
	mark F 0
	# vaultfs --help lists fsck once that command exists
	CRASH_FSCK=0
	"$VAULTFS" --help 2>&1 | grep -q '^ *fsck' && CRASH_FSCK=1
	return 0
}

mark() {
	printf 'M %s %d\n' "$1" "$2" >>"$LOG"
}

# The daemon under the recorder. ASan wants to be first in the library
# list; the shim carries no instrumentation, so tell it not to check.
rec_vaultfs() {
	env LD_PRELOAD="$CRASHREC" CRASHREC_LOG="$LOG" \
		CRASHREC_ROOTS="$CL:$XS" CRASHREC_IGNORE=vaultfs.log \
		CRASHREC_KILL="${REC_KILL:-}" \
		ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0" \
		"$VAULTFS" "$@"
}

# rec_mount [KILLSPEC]: mount under the recorder (KILLSPEC: CRASHREC_KILL)
rec_mount() {
	REC_KILL=${1:-}
	rec_vaultfs mount --recovery-key-file "$T/key" "$CL" "$M" ||
		fail "recording mount failed"
	REC_KILL=
	vfs_is_mounted "$M" || fail "recording mount not there"
}

rec_umount() {
	vfs_umount "$M"
}

# ---- the changes: one mutating system call each; $1 is the tree ----
mkdata() { head -c "$2" /dev/urandom >"$DATA/$1"; }
op_new() { : >"$1/$2"; }
# op_put TREE FILE OFFSET DATA: one write(2) of the data file at OFFSET
op_put() {
	_n=$(stat -c %s "$DATA/$4")
	dd if="$DATA/$4" of="$1/$2" bs="$_n" count=1 seek="$3" \
		oflag=seek_bytes conv=notrunc status=none
}
op_trunc() { truncate -s "$3" "$1/$2"; }
op_mkdir() { mkdir "$1/$2"; }
op_mv() { mv -T "$1/$2" "$1/$3"; }
op_rm() { rm "$1/$2"; }
op_rmdir() { rmdir "$1/$2"; }
op_link() { ln "$1/$2" "$1/$3"; }
op_symlink() { ln -s "$2" "$1/$3"; }
op_chmod() { chmod "$2" "$1/$3"; }
# one SQLite transaction (rollback journal, synchronous=FULL)
op_sql() { sqlite3 "$1/chat.db" "$2"; }

# step OP ARGS...: step N+1 on the mount, then on the mirror.
step() {
	N=$((N + 1))
	mark B $N
	_op=$1
	shift
	"$_op" "$M" "$@" || fail "step $N ($_op $*) failed on the mount"
	"$_op" "$MIR" "$@" || fail "step $N ($_op $*) failed on the mirror"
	"$CRASHTOOL" manifest "$MIR" >"$ST/$N"
}

# sync_point PATH: fsync PATH (relative, "." = the root) on the mount; from
# then on the current state must survive.
sync_point() {
	sync "$M/$1" || fail "fsync of '$1' on the mount failed"
	mark F $N
}

# kill_sync: fsync the mount, and the daemon does not survive it: mounted
# with rec_mount "R:.seg:K", it kills itself right after the rename that
# makes its K-th commit visible, before the folder's fsync. Then the dead
# mount is removed and the store mounted again (recorded), which must show
# what the killed commit made; the mirror follows the mount, as step N+1.
kill_sync() {
	sync "$M/." 2>/dev/null && fail "the daemon survived its kill point"
	expect_code 1 "$VAULTFS" umount "$M"
	N=$((N + 1))
	mark B $N
	rec_mount
	rm -rf "$MIR"
	cp -a "$M" "$MIR"
	"$CRASHTOOL" manifest "$MIR" >"$ST/$N"
	cmp -s "$ST/$N" "$ST/$((N - 1))" ||
		fail "after the kill the mount does not show the last commit"
}

# The workload of both tiers: files, folders, renames, links, a symlink,
# SQLite transactions, truncation, a clean unmount and mount, a kill -9
# right after a commit's rename, deletes.
workload_short() {
	mkdata a1 8192
	mkdata a2 4096
	mkdata b1 100000
	mkdata c1 30000
	mkdata c2 5000
	rec_mount
	step op_new a
	step op_put a 0 a1
	sync_point a
	step op_mkdir d
	step op_new d/b
	step op_put d/b 0 b1
	step op_put a 4096 a2
	sync_point a
	step op_mv d/b d/c
	sync_point d
	step op_sql "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT);"
	sync_point .
	step op_sql "BEGIN; INSERT INTO t(v) VALUES ('hi'), ('there');
		INSERT INTO t(v) VALUES ('third'); COMMIT;"
	step op_sql "INSERT INTO t(v) SELECT v || '!' FROM t;"
	sync_point .
	step op_link d/c e
	step op_symlink d/c s
	step op_rm a
	step op_chmod 600 e
	step op_trunc d/c 5000
	sync_point d/c
	rec_umount
	rec_mount "R:.seg:2"
	step op_new f
	step op_put f 0 c1
	sync_point f
	step op_put f 30000 c2
	kill_sync
	step op_sql "UPDATE t SET v = 'x' WHERE id = 2;"
	step op_put f 1000 c2
	step op_mkdir g
	step op_mv f g/f
	sync_point g
	step op_rm e
	step op_rm d/c
	step op_rmdir d
}

# check_states SEED ARGS...: crashtool gen ARGS, then every state listed,
# CRASH_JOBS (default 2) at a time: a check mostly waits for the daemon.
check_states() {
	_seed=$1
	shift
	"$CRASHTOOL" gen "$LOG" "$T/init" --seed "$_seed" "$@" >"$T/list" ||
		fail "crashtool gen failed"
	_total=$(wc -l <"$T/list")
	[ "$_total" -gt 0 ] || fail "no crash states"
	_jobs=${CRASH_JOBS:-2}
	_pids=
	_k=0
	while [ $_k -lt "$_jobs" ]; do
		awk -v k=$_k -v n="$_jobs" 'NR % n == k' "$T/list" >"$T/list.$_k"
		check_list "$_seed" $_k &
		_pids="$_pids $!"
		_k=$((_k + 1))
	done
	_bad=0
	for _p in $_pids; do
		wait "$_p" || _bad=1
	done
	[ $_bad -eq 0 ] || fail "some crash states failed (above)"
	_ok=$(cat "$T"/passed.* | wc -l)
	[ "$_ok" -eq "$_total" ] || fail "$_ok of $_total crash states checked"
	echo "crash states: $_total enumerated, $_ok passed"
}

# check_list SEED K: the states in $T/list.K, in their own folders.
check_list() {
	CS="$T/cs.$2"
	CM="$T/cmnt.$2"
	mkdir -p "$CM"
	: >"$T/passed.$2"
	while read -r c v lo hi; do
		check_one "$1" "$c" "$v" "$lo" "$hi"
		echo "$c $v" >>"$T/passed.$2"
	done <"$T/list.$2"
	rm -rf "$CS"
}

# check_one SEED C V L U
check_one() {
	rm -rf "$CS"
	"$CRASHTOOL" make "$LOG" "$T/init" "$2" "$3" "$1" "$CS" ||
		fail "crashtool make $2 $3 failed"
	_what="crash state (point $2, variant $3, steps $4..$5)"
	XDG_STATE_HOME="$CS/1"
	# the state as the power cut left it, before anything opens it
	if [ "$CRASH_FSCK" = 1 ]; then
		"$VAULTFS" fsck --recovery-key-file "$T/key" "$CS/0" \
			>"$CS.out" 2>&1 || {
			cat "$CS.out" >&2
			crash_keep "$2" "$3"
			fail "$_what: vaultfs fsck does not call it clean"
		}
	fi
	set +e
	"$VAULTFS" mount --recovery-key-file "$T/key" "$CS/0" "$CM" \
		2>"$CS.err"
	_rc=$?
	set -e
	if [ $_rc -ne 0 ]; then
		cat "$CS.err" >&2
		crash_keep "$2" "$3"
		fail "$_what: mount exited $_rc"
	fi
	"$CRASHTOOL" manifest "$CM" >"$CS.got"
	_j=$4
	_match=
	while [ "$_j" -le "$5" ]; do
		if cmp -s "$CS.got" "$ST/$_j"; then
			_match=$_j
			break
		fi
		_j=$((_j + 1))
	done
	if [ -z "$_match" ]; then
		echo "--- the mount shows:" >&2
		cat "$CS.got" >&2
		echo "--- step $4 (the oldest allowed) was:" >&2
		cat "$ST/$4" >&2
		echo "--- is it mounted: $(vfs_is_mounted "$CM" && echo yes || echo no); the daemon's log:" >&2
		tail -n 40 "$CS/1/vaultfs/vaultfs.log" >&2 2>/dev/null || true
		crash_keep "$2" "$3"
		vfs_umount "$CM"
		fail "$_what: the tree is none of the states of steps $4..$5"
	fi
	vfs_umount "$CM"
	if [ -f "$CS/1/vaultfs/vaultfs.log" ] &&
		grep -q -e 'Sanitizer' -e 'runtime error:' \
			"$CS/1/vaultfs/vaultfs.log"; then
		cat "$CS/1/vaultfs/vaultfs.log" >&2
		fail "$_what: sanitizer report"
	fi
}

# Keeps the failing state (and the recording) for a post-mortem.
crash_keep() {
	[ -n "${CRASH_KEEP:-}" ] || return 0
	rm -rf "$CRASH_KEEP"
	mkdir -p "$CRASH_KEEP"
	XDG_STATE_HOME="$CS/1"
	"$CRASHTOOL" make "$LOG" "$T/init" "$1" "$2" "$_seed" \
		"$CRASH_KEEP/state"
	cp -a "$LOG" "$T/init" "$T/key" "$ST" "$CRASH_KEEP/"
	echo "kept in '$CRASH_KEEP'" >&2
}
