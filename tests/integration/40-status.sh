#!/bin/sh
# 40-status.sh - vaultfs status, both forms: on a mount point (the daemon's
# live figures: generation, last commit, uncommitted bytes, objects, lease,
# read-only follower) and on a store folder without and with the key; --json
# prints exactly one JSON object on stdout; a dead mount, a folder that is
# no store and a wrong key are clear errors.
. "${top_srcdir}/tests/integration/lib.sh"
vfs_require_fuse
command -v jq >/dev/null 2>&1 || skip "jq missing (contrib/quickstart deps)"
vfs_setup
cd "$T"

vfs_init cloud key
M="$T/mnt"
vfs_mount cloud "$M" key

# --- a mount point ---
mkdir "$M/chats"
head -c 3000000 /dev/urandom >"$M/chats/media.bin"
sync "$M/chats/media.bin" # fsync: a commit
# the daemon republishes within about a second of a change
i=0
while :; do
	expect_code 0 "$VAULTFS" status --json "$M"
	[ "$(jq -r .generation "$T/out")" -ge 2 ] && break
	i=$((i + 1))
	[ $i -lt 600 ] || fail "the fsync's commit not in the status: $(cat "$T/out")"
	sleep 0.1
done
[ -s "$T/err" ] && fail "status --json wrote to stderr: $(cat "$T/err")"
[ "$(wc -l <"$T/out")" = 1 ] || fail "--json printed more than one line"
jq -e . "$T/out" >/dev/null || fail "--json output is not JSON: $(cat "$T/out")"
cp "$T/out" j1
j() { jq -r "$1" "$2"; }
[ "$(j .kind j1)" = mount ] || fail "kind: $(j .kind j1)"
[ "$(j .mounted j1)" = true ] || fail "mounted"
[ "$(j .read_only j1)" = false ] || fail "read_only"
[ "$(j .mountpoint j1)" = "$M" ] || fail "mountpoint $(j .mountpoint j1)"
[ "$(j .cloud_dir j1)" = "$T/cloud" ] || fail "cloud_dir $(j .cloud_dir j1)"
pid=$(vfs_daemons)
[ "$(j .pid j1)" = "$pid" ] || fail "pid $(j .pid j1), daemon $pid"
[ "$(j .lease.holder j1)" = "this mount" ] || fail "lease $(j .lease j1)"
[ "$(j .vault j1)" = null ] || fail "vault should be null"
g1=$(j .generation j1)
[ "$g1" -ge 2 ] || fail "generation $g1 after an fsync"
now=$(date +%s)
lc=$(j .last_commit_unix j1)
[ $((now - lc)) -le 30 ] && [ $((now - lc)) -ge 0 ] ||
	fail "last commit time $lc, now $now"
[ "$(j .inodes j1)" = 3 ] || fail "inodes $(j .inodes j1) (root, chats, media)"
[ "$(j .live_bytes j1)" -ge 3000000 ] || fail "live bytes $(j .live_bytes j1)"
[ "$(j .debris_count j1)" = 0 ] || fail "debris on a clean folder"
# the store id is the header's (as seen without the key)
expect_code 0 "$VAULTFS" status --json cloud
cp "$T/out" f1
[ "$(j .store_id f1)" = "$(j .store_id j1)" ] || fail "store ids differ"

# uncommitted data shows, then is committed within seconds
head -c 100000 /dev/urandom >"$M/chats/pending"
expect_code 0 "$VAULTFS" status --json "$M"
u=$(j .uncommitted_bytes "$T/out")
i=0
while [ "$u" = 0 ] && [ $i -lt 5 ]; do
	# the ticker may have published before the write landed
	sleep 0.3
	"$VAULTFS" status --json "$M" >"$T/out"
	u=$(j .uncommitted_bytes "$T/out")
	[ "$(j .generation "$T/out")" -gt "$g1" ] && break
	i=$((i + 1))
done
[ "$u" -gt 0 ] || [ "$(j .generation "$T/out")" -gt "$g1" ] ||
	fail "neither uncommitted bytes nor a new commit"
i=0
while :; do
	"$VAULTFS" status --json "$M" >"$T/out"
	[ "$(j .uncommitted_bytes "$T/out")" = 0 ] &&
		[ "$(j .generation "$T/out")" -gt "$g1" ] && break
	i=$((i + 1))
	[ $i -lt 600 ] || fail "not committed within 60 s: $(cat "$T/out")"
	sleep 0.1
done
# objects and bytes follow the commits (rescanned after a commit)
i=0
while [ "$(j .cloud_bytes "$T/out")" -lt 3000000 ]; do
	i=$((i + 1))
	[ $i -lt 300 ] || fail "cloud bytes not updated within 60 s: $(cat "$T/out")"
	sleep 0.2
	"$VAULTFS" status --json "$M" >"$T/out"
done
[ "$(j .objects "$T/out")" -ge 2 ] || fail "objects $(j .objects "$T/out")"
echo "40: mount status: generation, commit time, uncommitted bytes, objects"

# human form: says the same in words
expect_code 0 "$VAULTFS" status "$M"
grep -q "vaultfs mount, read-write, daemon pid $pid" "$T/out" ||
	fail "human status: $(cat "$T/out")"
grep -q "generation:   [0-9][0-9]*, last commit 20" "$T/out" ||
	fail "no generation line"
grep -q "lease:        held by this mount" "$T/out" || fail "no lease line"
grep -q "sync debris:  none" "$T/out" || fail "no debris line"

# a read-only mount of the same store follows; its status says so
R="$T/ro"
vfs_mount cloud "$R" key --read-only
expect_code 0 "$VAULTFS" status --json "$R"
[ "$(j .read_only "$T/out")" = true ] || fail "ro mount not read_only"
[ "$(j .lease.present "$T/out")" = true ] || fail "ro: writer's lease not seen"
vfs_umount "$R"

# the status file is the daemon's, 0600, and holds no key material
sf=$(ls "$XDG_STATE_HOME"/vaultfs/mounts/*.status)
[ "$(stat -c %a "$sf")" = 600 ] || fail "status file mode $(stat -c %a "$sf")"
keyhex=$(tr -d ' \n-' <key)
grep -qi "$keyhex" "$sf" && fail "the key is in the status file"

# --- the store folder while mounted, without the key ---
expect_code 0 "$VAULTFS" status --json cloud
cp "$T/out" f2
[ "$(j .kind f2)" = store ] || fail "kind $(j .kind f2)"
[ "$(j .lease.present f2)" = true ] || fail "lease not seen while mounted"
[ "$(j .lease.holder f2)" = null ] || fail "holder claimed without the key"
[ "$(j '.this_machine.mounted_at[0].mountpoint' f2)" = "$M" ] ||
	fail "mounted_at: $(j .this_machine f2)"
[ "$(j .generation f2)" = null ] || fail "generation without the key"
expect_code 0 "$VAULTFS" status cloud
grep -q "cannot be read without the key" "$T/out" || fail "lease text"
grep -q "unknown without the key" "$T/out" || fail "generation text"
vfs_umount "$M"
[ -e "$sf" ] && fail "status file left after unmount"

# --- the folder, unmounted, without and with the key ---
expect_code 0 "$VAULTFS" status --json cloud
cp "$T/out" f3
[ "$(j .lease.present f3)" = false ] || fail "lease present after umount"
n=$(find cloud/log -name '*.seg' | wc -l)
[ "$(j .objects f3)" = "$n" ] || fail "objects $(j .objects f3), find says $n"
b=$(find cloud/log -name '*.seg' -exec stat -c %s {} + | awk '{ s += $1 } END { print s }')
[ "$(j .segment_bytes f3)" = "$b" ] || fail "segment bytes $(j .segment_bytes f3) vs $b"
gseen=$(j .this_machine.seen_generation f3)
[ "$gseen" -ge 3 ] || fail "seen generation $gseen"
[ "$(j '.this_machine.mounted_at | length' f3)" = 0 ] || fail "still mounted_at"
expect_code 0 "$VAULTFS" status --json --recovery-key-file key cloud
cp "$T/out" f4
[ "$(j .generation f4)" = "$gseen" ] || fail "keyed generation $(j .generation f4) vs seen $gseen"
[ "$(j .inodes f4)" = 4 ] || fail "keyed inodes $(j .inodes f4)"
[ "$(j .live_bytes f4)" -ge 3100000 ] || fail "keyed live bytes"
expect_code 0 "$VAULTFS" status --recovery-key-file key cloud
grep -q "files:        4" "$T/out" || fail "keyed human form: $(cat "$T/out")"
# a fresh machine knows nothing of it, and says so
XDG_STATE_HOME="$T/state2" "$VAULTFS" status cloud >"$T/out" ||
	fail "status on a fresh machine"
grep -q "has never opened this store" "$T/out" || fail "fresh machine text"
echo "40: folder status without the key, with the key, on a fresh machine"

# --- errors ---
head -c 64 /dev/urandom | od -An -tx1 | tr -d ' \n' | head -c 64 >badkey
expect_code 5 "$VAULTFS" status --recovery-key-file badkey cloud
expect_err "wrong key"
mkdir notastore
expect_code 3 "$VAULTFS" status notastore
expect_err "neither a vaultfs mount nor a vaultfs store"
expect_code 2 "$VAULTFS" status --json
expect_code 2 "$VAULTFS" status --recovery-key-file key --password-file key cloud
# a dead mount (daemon killed): said so, exit 8
vfs_mount cloud "$M" key
pid=$(vfs_daemons)
kill -9 "$pid"
vfs_wait_gone "$pid" || fail "daemon $pid does not die within 60 s"
expect_code 8 "$VAULTFS" status "$M"
expect_err "dead vaultfs mount"
expect_code 1 "$VAULTFS" umount "$M"
echo "40: errors: wrong key (5), not a store (3), usage (2), dead mount (8)"
