#!/bin/sh
# 10-cli.sh - the vaultfs command line with real FUSE mounts: init output
# rules, key errors and their exit codes, the daemon's ready pipe, umount
# waiting for the daemon, -f, --read-only, bad -o options, dead daemons.
# Runs against $VAULTFS (default: vaultfs linked with the in-memory store
# test double; 20-cli-store.sh runs it against the real store).
. "${top_srcdir}/tests/integration/lib.sh"
VAULTFS=${VFS_BIN:-$VFS_MEMSTORE}
vfs_require_fuse
vfs_setup
cd "$T"

# --help / --version / usage
expect_code 0 "$VAULTFS" --version
grep -q '^vaultfs [0-9]' out || fail "--version output"
expect_code 0 "$VAULTFS" mount --help
grep -q -e '--recovery-key-file' out || fail "mount --help output"
expect_code 2 "$VAULTFS" mount onlyone
expect_err 'CLOUD_DIR and MOUNTPOINT needed'
expect_code 2 "$VAULTFS" bogus

# init without a terminal and without --recovery-key-file: refused, and
# nothing created.
expect_code 2 "$VAULTFS" init cloud </dev/null
expect_err '--recovery-key-file'
[ ! -e cloud ] || fail "init without key destination created the folder"

# init with a key file: 0600, exactly the grouped digits and a newline.
expect_code 0 "$VAULTFS" init --recovery-key-file key cloud
[ "$(stat -c %a key)" = 600 ] || fail "key file mode $(stat -c %a key)"
[ "$(wc -c <key)" -eq 80 ] || fail "key file is $(wc -c <key) bytes"
[ "$(wc -l <key)" -eq 1 ] || fail "key file has more than one line"
grep -Eq '^([0-9a-f]{4} ){15}[0-9a-f]{4}$' key || fail "key file content"
grep -q -f key out && fail "the key went to stdout as well"

# refuses to overwrite an existing key file; leaves it alone
sum=$(sha256sum key)
mkdir cloud2
expect_code 2 "$VAULTFS" init --recovery-key-file key cloud2
expect_err 'refusing to overwrite'
[ "$(sha256sum key)" = "$sum" ] || fail "existing key file was changed"
[ -z "$(ls -A cloud2)" ] || fail "refused init wrote into the folder"

# refuses a non-empty folder, and removes the key file it had made
expect_code 2 "$VAULTFS" init --recovery-key-file key3 cloud
expect_err 'not empty'
[ ! -e key3 ] || fail "key file left behind by a failed init"

# init on a terminal prints the key once, with a warning
if command -v script >/dev/null 2>&1; then
	script -qec "'$VAULTFS' init '$T/cloudt'" /dev/null >tty.out </dev/null ||
		fail "init on a terminal failed: $(cat tty.out)"
	grep -q WARNING tty.out || fail "no warning with the printed key"
	tr -d '\r' <tty.out | grep -Eo '([0-9a-f]{4} ){15}[0-9a-f]{4}' >keyt
	[ "$(wc -l <keyt)" -eq 1 ] || fail "key not printed exactly once"
	vfs_mount cloudt mntt keyt
	vfs_umount "$T/mntt"

	# --recovery-key asks on the terminal, without echo
	# type the key once the prompt is out (it is written after the
	# terminal's input was flushed), however slow the program starts
	{
		i=0
		while ! grep -q '64-digit recovery key:' tty2.out 2>/dev/null &&
			[ $i -lt 600 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		cat keyt
		# keep the terminal open until the command is done
		while ! grep -q 'rc=' tty2.out 2>/dev/null &&
			[ $i -lt 1200 ]; do
			sleep 0.1
			i=$((i + 1))
		done
	} | script -qec \
		"'$VAULTFS' mount --recovery-key '$T/cloudt' '$T/mntt'; echo rc=\$?" \
		/dev/null >tty2.out
	grep -q '64-digit recovery key:' tty2.out || fail "no prompt"
	grep -q 'rc=0' tty2.out || fail "--recovery-key mount: $(cat tty2.out)"
	grep -q "$(cut -c1-9 keyt)" tty2.out && fail "the key was echoed"
	vfs_is_mounted "$T/mntt" || fail "--recovery-key: not mounted"
	vfs_umount "$T/mntt"
fi

mkdir mnt
M="$T/mnt"

# no key option
expect_code 2 "$VAULTFS" mount cloud mnt
expect_err '--recovery-key or --recovery-key-file'

# malformed key text: says what is wrong, never echoes it
printf '%s' "$(cut -c1-78 key)" >short
expect_code 4 "$VAULTFS" mount --recovery-key-file short cloud mnt
expect_err 'found 63 hex digits'
grep -q "$(cut -c1-9 key)" err && fail "error message quotes the key"
sed 's/^./x/' key >badchar
expect_code 4 "$VAULTFS" mount --recovery-key-file badchar cloud mnt
expect_err 'not a hex digit'
vfs_is_mounted "$M" && fail "mounted with a malformed key"

# wrong key
(cd cloud2 && "$VAULTFS" init --recovery-key-file ../key2 . >/dev/null)
expect_code 5 "$VAULTFS" mount --recovery-key-file key2 cloud mnt
expect_err 'wrong key'
vfs_is_mounted "$M" && fail "mounted with a wrong key"

# not a store; missing mount point
mkdir empty
expect_code 3 "$VAULTFS" mount --recovery-key-file key empty mnt
expect_code 8 "$VAULTFS" mount --recovery-key-file key cloud nomnt
expect_code 8 "$VAULTFS" mount --recovery-key-file key cloud key

# bad FUSE option: usage error, nothing mounted, no daemon left
expect_code 2 "$VAULTFS" mount --recovery-key-file key -o no_such_opt \
	cloud mnt
vfs_is_mounted "$M" && fail "mounted despite a bad -o option"
[ -z "$(vfs_daemons)" ] || fail "daemon left after a failed mount"

# key from standard input, with dashes and upper case
tr 'a-f ' 'A-F-' <key | expect_code 0 "$VAULTFS" mount \
	--recovery-key-file - cloud mnt
vfs_is_mounted "$M" || fail "not mounted after exit 0"
pid=$(vfs_daemons)
[ -n "$pid" ] || fail "no daemon holds the lock"
echo hello >"$M/file"
[ "$(cat "$M/file")" = hello ] || fail "read back"

# mounting again on the same mount point: refused
expect_code 8 "$VAULTFS" mount --recovery-key-file key cloud mnt
expect_err 'already a vaultfs mount'

# the key is not in the daemon's command line, environment or log
tr -d ' \n' <key >keyflat
! tr '\0' '\n' </proc/"$pid"/cmdline | grep -q -f keyflat ||
	fail "key in argv"
grep -rq -f key "$XDG_STATE_HOME" && fail "key text in the state dir"
grep -rq -f keyflat "$XDG_STATE_HOME" && fail "key digits in the state dir"

# umount: exits 0 only once the daemon is gone
expect_code 0 "$VAULTFS" umount mnt
vfs_is_mounted "$M" && fail "still mounted"
vfs_pid_gone "$pid" || fail "daemon $pid still alive after umount"
expect_code 8 "$VAULTFS" umount mnt
expect_err 'not mounted'

# fusermount3 -u alone ends the daemon too, after a final commit
vfs_mount cloud "$M" key
pid=$(vfs_daemons)
echo "written just before fusermount3" >"$M/late"
fusermount3 -u "$M"
vfs_wait_gone "$pid" || fail "daemon did not exit after fusermount3 -u"
grep -q "done 0" "$XDG_STATE_HOME"/vaultfs/mounts/*.pid ||
	fail "daemon did not finish cleanly after fusermount3 -u"

# SIGTERM: unmounts and commits as well
vfs_mount cloud "$M" key
pid=$(vfs_daemons)
echo "written just before SIGTERM" >"$M/late2"
kill -TERM "$pid"
vfs_wait_gone "$pid" || fail "daemon did not exit on SIGTERM"
vfs_is_mounted "$M" && fail "still mounted after SIGTERM"
if [ -n "${VFS_BIN:-}" ]; then
	# a persistent store: nothing written before either was lost
	vfs_mount cloud "$M" key
	[ "$(cat "$M/late")" = "written just before fusermount3" ] ||
		fail "data written before fusermount3 -u was lost"
	[ "$(cat "$M/late2")" = "written just before SIGTERM" ] ||
		fail "data written before SIGTERM was lost"
	vfs_umount "$M"
fi

# a daemon killed with -9 leaves a dead mount: mount says so, umount
# removes it (and reports the lost daemon), then mounting works again
vfs_mount cloud "$M" key
pid=$(vfs_daemons)
kill -9 "$pid"
vfs_wait_gone "$pid" || fail "daemon $pid survived kill -9"
expect_code 8 "$VAULTFS" mount --recovery-key-file key cloud mnt
expect_err 'dead FUSE mount'
expect_code 1 "$VAULTFS" umount mnt
expect_err 'died without a final commit'
vfs_is_mounted "$M" && fail "dead mount still there"
vfs_mount cloud "$M" key
vfs_umount "$M"

# foreground mode
"$VAULTFS" mount -f --recovery-key-file key cloud mnt 2>fg.err &
fg=$!
i=0
while ! vfs_is_mounted "$M" && [ $i -lt 600 ]; do
	sleep 0.1
	i=$((i + 1))
done
vfs_is_mounted "$M" || fail "foreground mount did not appear"
echo fg >"$M/fg"
vfs_umount "$M"
wait $fg || fail "foreground vaultfs exited $?"
grep -q "mounted '" fg.err || fail "foreground log not on stderr"

# read-only
vfs_mount cloud "$M" key --read-only
grep " $M " /proc/self/mountinfo | grep -q ' ro[, ]' ||
	fail "read-only mount is not ro"
if sh -c 'echo x >"$1"' sh "$M/new" 2>ro.err; then
	fail "wrote to a read-only mount"
fi
grep -q 'Read-only file system' ro.err || fail "read-only: $(cat ro.err)"
vfs_umount "$M"

echo "PASS: 10-cli"
