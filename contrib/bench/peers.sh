#!/bin/bash
# peers.sh BUILD_DIR [--rounds N] [--quick] [--fs "vaultfs gocryptfs ..."]
#          [--skip "cryfs-sqlite securefs-many ..."] [--many N] [--many-jobs J]
#          [--workdir DIR] [--fio-seconds S] [--keep]
#
# vaultfs against its peers (gocryptfs, CryFS, securefs, from Debian) and a
# plain directory (the ceiling), on the same machine, in one run. Every
# workload is run on every filesystem before the next workload starts, and
# the order of the filesystems rotates from round to round (interleaved:
# A B C D E, B C D E A, ...). Prints, per workload, the median over the
# rounds per filesystem and the ratio vaultfs/peer of those medians.
#
# Honest by construction:
#  - all data is random (from /dev/urandom), made before the clock starts;
#  - cold reads after an unmount of every filesystem, `sync` and
#    `echo 3 > /proc/sys/vm/drop_caches`, then a mount;
#  - what is read back is compared (sha256) with what was written;
#  - cloud-side figures come from listing and hashing every object in the
#    backing folder before and after;
#  - each daemon is traced (strace) during one write+fsync of its mount: a
#    filesystem that issues no fsync/fdatasync/syncfs/sync_file_range on
#    its backing folder is marked, and its figures on fsync-bound rows are
#    shown in brackets without a ratio.
# After the rounds, once per filesystem: cloud bytes / live bytes after a
# rewrite-heavy run and after cleaning (vaultfs remounted with
# --clean-grace 0 --clean-interval 1 until its folder stops changing; the
# peers have no cleaner: their bytes are read as they are), and a store of
# N small files (default 100,000, 0-1 KiB; J writer processes, default 1):
# create, cold mount (peers:
# their KDF), cold find+stat of all, the daemon's VmHWM and VmRSS.
# --skip drops row groups (seq, sync, fio, small, sqlite, space, many) for
# one filesystem (FS-GROUP) or for all (GROUP); a skipped cell prints
# "skip" and never gets a ratio. The fsync probe, cold reads and read-back
# checks still apply to everything that runs.
# Needs root (drop_caches, apt-get for missing peers, strace -p), /dev/fuse
# and a disk-backed work dir (default /var/tmp; not tmpfs).
set -eu -o pipefail

usage() {
	echo "usage: peers.sh BUILD_DIR [--rounds N] [--quick] [--fs LIST] [--skip LIST] [--many N] [--many-jobs J] [--workdir DIR] [--fio-seconds S] [--keep]" >&2
	exit 2
}
[ $# -ge 1 ] || usage
BUILD=$(cd "$1" && pwd)
shift
ROUNDS=3
ROUNDS_SET=0
QUICK=0
KEEP=0
FSLIST="vaultfs gocryptfs cryfs securefs plain"
WORKROOT=${TMPDIR_BENCH:-/var/tmp}
FIO_SECONDS=20
SKIP=
NMANY=
MANYJOBS=1
while [ $# -gt 0 ]; do
	case $1 in
	--rounds) ROUNDS=${2:?}; ROUNDS_SET=1; shift 2 ;;
	--quick) QUICK=1; shift ;;
	--fs) FSLIST=${2:?}; shift 2 ;;
	--skip) SKIP="$SKIP ${2:?}"; shift 2 ;;
	--many) NMANY=${2:?}; shift 2 ;;
	--many-jobs) MANYJOBS=${2:?}; shift 2 ;;
	--workdir) WORKROOT=${2:?}; shift 2 ;;
	--fio-seconds) FIO_SECONDS=${2:?}; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) usage ;;
	esac
done
if [ $QUICK = 1 ]; then
	BIG_MIB=64; FIO_MIB=32; NFILES=500; NMSG=2000; SP_MIB=16
	: "${NMANY:=5000}"
	[ "$FIO_SECONDS" = 20 ] && FIO_SECONDS=5
	# --quick alone means one round; an explicit --rounds wins.
	[ $ROUNDS_SET = 1 ] || ROUNDS=1
else
	BIG_MIB=512; FIO_MIB=256; NFILES=5000; NMSG=20000; SP_MIB=64
	: "${NMANY:=100000}"
fi
NDIRS=50
NSYNC=100
NMANYDIRS=100
SKIP=$(echo "$SKIP" | tr ',' ' ')
for x in $SKIP; do
	g=${x##*-}
	case $g in seq|sync|fio|small|sqlite|space|many) ;; *)
		echo "peers.sh: --skip $x: no row group '$g' (seq sync fio small sqlite space many)" >&2
		exit 2 ;;
	esac
	if [ "$g" != "$x" ]; then
		case " $FSLIST " in *" ${x%-*} "*) ;; *)
			echo "peers.sh: --skip $x: '${x%-*}' is not in --fs" >&2
			exit 2 ;;
		esac
	fi
done
# skipped FS GROUP: true if GROUP is skipped for FS (sync needs seq's file)
skipped() {
	case " $SKIP " in
	*" $2 "*|*" $1-$2 "*) return 0 ;;
	esac
	if [ "$2" = sync ]; then
		skipped "$1" seq
		return
	fi
	return 1
}
# skip_rec ROUND FS KEY...: the cells of a skipped group
skip_rec() {
	local r=$1 f=$2 k
	shift 2
	for k in "$@"; do
		echo "$r $f $k skip" >>"$RES"
	done
}
VAULTFS="$BUILD/vaultfs"
[ -x "$VAULTFS" ] || { echo "peers.sh: no vaultfs binary in $BUILD" >&2; exit 2; }

# --- the tools: installed from Debian when missing (root only) -------------
need_pkgs=
for t in gocryptfs:gocryptfs cryfs:cryfs securefs:securefs fio:fio \
	sqlite3:sqlite3 strace:strace perl:perl-base fusermount3:fuse3; do
	command -v "${t%%:*}" >/dev/null 2>&1 || need_pkgs="$need_pkgs ${t#*:}"
done
if [ -n "$need_pkgs" ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "peers.sh: missing:$need_pkgs (run as root to install them)" >&2
		exit 2
	fi
	echo "installing:$need_pkgs" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y $need_pkgs >&2
fi
COLD=1
if [ "$(id -u)" != 0 ]; then
	echo "peers.sh: not root: reads will NOT be cold (no drop_caches)" >&2
	COLD=0
fi

# --- work dir, private HOME/XDG dirs, cleanup trap -------------------------
D=$(mktemp -d "$WORKROOT/peerbench.XXXXXX")
case $(stat -f -c %T "$D") in
tmpfs|ramfs) echo "peers.sh: $D is on $(stat -f -c %T "$D"): use --workdir on a disk" >&2 ;;
esac
export HOME="$D/home" XDG_STATE_HOME="$D/home/state" XDG_DATA_HOME="$D/home/data" \
	XDG_CONFIG_HOME="$D/home/config" XDG_CACHE_HOME="$D/home/cache"
export CRYFS_FRONTEND=noninteractive CRYFS_NO_UPDATE_CHECK=1
mkdir -p "$HOME" "$XDG_STATE_HOME" "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" \
	"$XDG_CACHE_HOME" "$D/src"
export LC_ALL=C

cloud() { echo "$D/$1/cloud"; }
mnt() { if [ "$1" = plain ]; then echo "$D/plain/cloud"; else echo "$D/$1/mnt"; fi; }
is_mounted() { awk -v m="$1" '$5 == m { f = 1 } END { exit !f }' /proc/self/mountinfo; }

# daemon_pid FS: the process serving FS's mount (its argv holds the mount
# point, its name is the filesystem's binary).
daemon_pid() {
	local m p comm
	m=$(mnt "$1")
	for p in /proc/[0-9]*; do
		comm=$(cat "$p/comm" 2>/dev/null) || continue
		[ "$comm" = "$1" ] || continue
		if tr '\0' '\n' <"$p/cmdline" 2>/dev/null | grep -qxF -- "$m"; then
			echo "${p#/proc/}"
			return 0
		fi
	done
	return 1
}

wait_gone() { # PID SECONDS
	local i=0
	while [ -d "/proc/$1" ] && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ ! -d "/proc/$1" ]
}

wait_mounted() { # MNT SECONDS
	local i=0
	while ! is_mounted "$1" && [ $i -lt $(($2 * 10)) ]; do
		sleep 0.1
		i=$((i + 1))
	done
	is_mounted "$1"
}

fs_init() {
	local c m
	c=$(cloud "$1")
	m=$(mnt "$1")
	mkdir -p "$D/$1" "$m"
	case $1 in
	vaultfs) "$VAULTFS" init --recovery-key-file "$D/vaultfs/key" "$c" >/dev/null ;;
	gocryptfs) mkdir -p "$c"; gocryptfs -q -init -passfile "$D/pass" "$c" >/dev/null ;;
	cryfs) mkdir -p "$c" ;; # created by the first mount
	securefs) mkdir -p "$c"; securefs create --keyfile "$D/pass" "$c" >/dev/null ;;
	plain) mkdir -p "$c" ;;
	esac
}

fs_mount() {
	local c m
	c=$(cloud "$1")
	m=$(mnt "$1")
	case $1 in
	vaultfs) "$VAULTFS" mount --recovery-key-file "$D/vaultfs/key" \
		${VFS_MOUNT_OPTS:-} "$c" "$m" ;;
	gocryptfs) gocryptfs -q -passfile "$D/pass" "$c" "$m" 2>>"$D/gocryptfs.err" ;;
	cryfs) cryfs "$c" "$m" <"$D/pass" >"$D/cryfs.out" 2>&1 ;;
	securefs) securefs mount -b --log "$D/securefs.log" --keyfile "$D/pass" "$c" "$m" >/dev/null 2>&1 ;;
	plain) return 0 ;;
	esac
	wait_mounted "$m" 120
}

fs_umount() {
	local m pid
	m=$(mnt "$1")
	[ "$1" = plain ] && return 0
	is_mounted "$m" || return 0
	pid=$(daemon_pid "$1") || pid=
	case $1 in
	vaultfs) "$VAULTFS" umount "$m" ;;
	*) fusermount3 -u "$m" ;;
	esac
	# CryFS and others flush after the kernel unmount: wait for the daemon.
	if [ -n "$pid" ] && ! wait_gone "$pid" 300; then
		echo "peers.sh: $1 daemon $pid still alive 300 s after unmount" >&2
		return 1
	fi
}

cleanup() {
	local f m
	trap - EXIT INT TERM
	[ -n "${STRACE_PID:-}" ] && kill "$STRACE_PID" 2>/dev/null
	for f in $FSLIST; do
		[ "$f" = plain ] && continue
		m=$(mnt "$f")
		if is_mounted "$m"; then
			fs_umount "$f" >/dev/null 2>&1 || fusermount3 -uz "$m" 2>/dev/null || true
		fi
	done
	if [ $KEEP = 1 ]; then
		echo "kept $D" >&2
	else
		rm -rf "$D"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

drop_caches() {
	sync
	if [ $COLD = 1 ]; then
		echo 3 >/proc/sys/vm/drop_caches
	fi
}

now_ns() { date +%s%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", (b - a) / 1e9 }'; }

RES="$D/results"
: >"$RES"
VERIFY_FAILED=0
rec() { # ROUND FS KEY VALUE
	echo "$1 $2 $3 $4" >>"$RES"
	printf '  r%s %-9s %-14s %s\n' "$1" "$2" "$3" "$4"
}
bad() { # FS WHAT
	echo "VERIFY FAILED: $1: $2" | tee -a "$D/verify" >&2
	VERIFY_FAILED=1
}

# timed ROUND FS KEY CMD...: wall seconds of CMD, FAIL if it fails.
timed() {
	local r=$1 f=$2 k=$3 t0 t1
	shift 3
	t0=$(now_ns)
	if "$@"; then
		t1=$(now_ns)
		rec "$r" "$f" "$k" "$(secs "$t0" "$t1")"
	else
		rec "$r" "$f" "$k" FAIL
		echo "peers.sh: $f: $k failed" >&2
	fi
}

# fsync_path PATH: open PATH (file or directory) and fsync it.
fsync_path() {
	perl -MIO::Handle -e 'open(my $h, "<", $ARGV[0]) or die "$ARGV[0]: $!";
		$h->sync or die "fsync $ARGV[0]: $!"' "$1"
}

# objects DIR: "path size" of every file under DIR, sorted.
objects() { (cd "$1" && find . -type f -printf '%P %s\n' | sort); }
# hashes DIR: "path sha256 size" of every file under DIR, sorted.
hashes() {
	(cd "$1" && find . -type f -printf '%P %s\n' >"$D/hashes.sizes" &&
		find . -type f -printf '%P\0' | xargs -0r sha256sum |
		awk 'FILENAME == ARGV[1] { size[$1] = $2; next }
			{ p = substr($0, 67); print p, $1, size[p] }' \
			"$D/hashes.sizes" - | sort)
}
# new_objects BEFORE AFTER: "count bytes" of paths of AFTER not in BEFORE.
new_objects() {
	awk 'FILENAME == ARGV[1] { seen[$1] = 1; next }
		!($1 in seen) { n++; s += $2 } END { printf "%d %d\n", n, s }' "$1" "$2"
}
# changed_objects BEFORE AFTER (hash lists): new or changed "count bytes".
changed_objects() {
	awk 'FILENAME == ARGV[1] { seen[$1 " " $2] = 1; next }
		!($1 " " $2 in seen) { n++; s += $3 } END { printf "%d %d\n", n, s }' "$1" "$2"
}

# --- the data, made before any clock starts ---------------------------------
echo "preparing random data in $D/src ..." >&2
head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$D/pass"
echo >>"$D/pass"
chmod 600 "$D/pass"
head -c $((BIG_MIB * 1048576)) /dev/urandom >"$D/src/big"
BIG_SHA=$(sha256sum <"$D/src/big" | cut -c1-64)
head -c $((NSYNC * 4096)) /dev/urandom >"$D/src/patches"
# small files: 1-16 KiB, random sizes and content, in NDIRS directories
perl -e '
	my ($root, $n, $nd) = @ARGV;
	open(my $r, "<:raw", "/dev/urandom") or die;
	read($r, my $seed, 4); srand(unpack("L", $seed));
	mkdir "$root" or die;
	for my $d (0 .. $nd - 1) { mkdir "$root/d$d" or die; }
	for my $i (0 .. $n - 1) {
		my $sz = 1024 + int(rand(15 * 1024 + 1));
		read($r, my $buf, $sz) == $sz or die;
		open(my $f, ">:raw", "$root/d" . ($i % $nd) . "/f$i") or die;
		print $f $buf; close($f) or die;
	}' "$D/src/small" "$NFILES" "$NDIRS"
(cd "$D/src" && find small -type f -print0 | sort -z | xargs -0 sha256sum) >"$D/src/small.sha"
# the chat: NMSG messages of ~200 B of random lower-case words, 10 per
# transaction; NEEDLE is a random 3-letter string, EXPECT how many bodies
# hold it (LIKE is case-insensitive for ASCII; the bodies are lower case).
perl -e '
	my ($n, $dir) = @ARGV;
	open(my $r, "<:raw", "/dev/urandom") or die;
	read($r, my $seed, 4); srand(unpack("L", $seed));
	my @a = ("a" .. "z");
	my $needle = join("", map { $a[int(rand(26))] } 1 .. 3);
	my $body_sql = "";
	my $expect = 0;
	my $ts = 1700000000;
	for my $i (1 .. $n) {
		$body_sql .= "BEGIN;\n" if ($i - 1) % 10 == 0;
		my $b = "";
		while (length($b) < 190) {
			$b .= join("", map { $a[int(rand(26))] } 1 .. 2 + int(rand(8))) . " ";
		}
		$expect++ if index($b, $needle) >= 0;
		$ts += 1 + int(rand(60));
		$body_sql .= sprintf("INSERT INTO msg(chat, sender, ts, body) VALUES(%d, %d, %d, %s);\n",
			int(rand(50)), int(rand(200)), $ts, "\x27$b\x27");
		$body_sql .= "COMMIT;\n" if $i % 10 == 0;
	}
	$body_sql .= "COMMIT;\n" if $n % 10 != 0;
	my $schema = "CREATE TABLE msg(id INTEGER PRIMARY KEY, chat INTEGER NOT NULL, " .
		"sender INTEGER NOT NULL, ts INTEGER NOT NULL, body TEXT NOT NULL);\n" .
		"CREATE INDEX msg_chat_ts ON msg(chat, ts);\n";
	for my $mode ("WAL", "DELETE") {
		open(my $f, ">", "$dir/chat-$mode.sql") or die;
		print $f "PRAGMA journal_mode=$mode;\n", $schema, $body_sql;
		close($f) or die;
	}
	open(my $f, ">", "$dir/needle") or die;
	print $f "$needle $expect\n";
	close($f);' "$NMSG" "$D/src"
read -r NEEDLE EXPECT <"$D/src/needle"
# 100 random 4 KiB-aligned offsets inside the big file
perl -e 'open(my $r, "<:raw", "/dev/urandom") or die; read($r, my $s, 4);
	srand(unpack("L", $s)); print int(rand($ARGV[0] * 256)) * 4096, "\n" for 1 .. $ARGV[1]' \
	"$BIG_MIB" "$NSYNC" >"$D/src/offsets"
# The rewrite-heavy run (space phase): rewrite.pl DIR writes DIR/file of
# SP_MIB MiB in 1 MiB pieces, then rewrites it 5 times, each time all its
# pieces in a random order (the same order on every filesystem), with an
# fsync every 8 pieces; then 16 files of 2 MiB and deletes 8 of them. All
# data comes from the random big file. Run once here on the local disk, it
# gives the expected contents.
perl -e 'open(my $r, "<:raw", "/dev/urandom") or die; read($r, my $s, 4);
	srand(unpack("L", $s));
	for my $p (1 .. 5) {
		my @a = (0 .. $ARGV[0] - 1);
		for (my $i = $#a; $i > 0; $i--) {
			my $j = int(rand($i + 1)); @a[$i, $j] = @a[$j, $i];
		}
		print "@a\n";
	}' "$SP_MIB" >"$D/src/space.order"
cat >"$D/rewrite.pl" <<'EOF'
use strict;
use IO::Handle;
my ($dir, $big, $order, $n, $bigmib) = @ARGV;
open(my $o, "<", $order) or die "$order: $!";
my @passes = map { chomp; [split / /] } <$o>;
open(my $src, "<:raw", $big) or die "$big: $!";
my $k = 0;
sub piece {
	my $off = ($k++ % $bigmib) * 1048576;
	sysseek($src, $off, 0) or die "seek: $!";
	sysread($src, my $buf, 1048576) == 1048576 or die "read: $!";
	return $buf;
}
open(my $f, ">:raw", "$dir/file") or die "$dir/file: $!";
for my $i (0 .. $n - 1) {
	syswrite($f, piece()) == 1048576 or die "write: $!";
	$f->sync or die "fsync: $!" if $i % 8 == 7;
}
for my $p (@passes) {
	my $w = 0;
	for my $i (@$p) {
		sysseek($f, $i * 1048576, 0) or die "seek: $!";
		syswrite($f, piece()) == 1048576 or die "write: $!";
		$f->sync or die "fsync: $!" if ++$w % 8 == 0;
	}
}
$f->sync or die "fsync: $!";
close($f) or die;
for my $j (0 .. 15) {
	open(my $g, ">:raw", "$dir/f$j") or die "$dir/f$j: $!";
	syswrite($g, piece() . piece()) == 2097152 or die "write: $!";
	$g->sync or die "fsync: $!";
	close($g) or die;
}
unlink("$dir/f$_") or die "unlink: $!" for grep { $_ % 2 == 0 } 0 .. 15;
EOF
mkdir "$D/src/space"
perl "$D/rewrite.pl" "$D/src/space" "$D/src/big" "$D/src/space.order" "$SP_MIB" "$BIG_MIB"
(cd "$D/src/space" && sha256sum file f*) >"$D/src/space.sha"
rm -rf "$D/src/space"
# NMANY files of 0-1 KiB in NMANYDIRS directories (many phase): sizes are
# random; contents are slices of the random big file. many.pl DIR writes
# them; the expected count and total size are checked after the cold mount.
perl -e 'open(my $r, "<:raw", "/dev/urandom") or die; read($r, my $s, 4);
	srand(unpack("L", $s)); print int(rand(1025)), "\n" for 1 .. $ARGV[0]' \
	"$NMANY" >"$D/src/many.sizes"
MANY_BYTES=$(awk '{ s += $1 } END { print s + 0 }' "$D/src/many.sizes")
cat >"$D/many.pl" <<'EOF'
use strict;
my ($dir, $sizes, $big, $nd, $jobs) = @ARGV;
open(my $z, "<", $sizes) or die "$sizes: $!";
my @sz = map { chomp; $_ } <$z>;
open(my $src, "<:raw", $big) or die "$big: $!";
read($src, my $blob, 1048576) == 1048576 or die "read: $!";
mkdir "$dir" or die "$dir: $!";
mkdir "$dir/d$_" or die "$dir/d$_: $!" for 0 .. $nd - 1;
# $jobs processes, job k writing the files i with i % $jobs == k
my @kids;
for my $k (0 .. $jobs - 1) {
	my $pid = fork() // die "fork: $!";
	if ($pid) { push @kids, $pid; next; }
	for (my $i = $k; $i <= $#sz; $i += $jobs) {
		open(my $f, ">:raw", "$dir/d" . ($i % $nd) . "/f$i") or die "f$i: $!";
		print $f substr($blob, ($i * 1031) % (1048576 - 1024), $sz[$i]);
		close($f) or die "f$i: $!";
	}
	exit 0;
}
my $bad = 0;
for (@kids) { waitpid($_, 0); $bad = 1 if $?; }
die "a writer failed\n" if $bad;
EOF
cat "$D/src/big" "$D/src/patches" >/dev/null # source in the page cache

# sync_writes FILE: NSYNC x (4 KiB write at the next offset + fsync)
sync_writes() {
	perl -MIO::Handle -e '
		my ($path, $offs, $patches, $n) = @ARGV;
		open(my $o, "<", $offs) or die; my @off = map { chomp; $_ } <$o>;
		my $data = do { open(my $p, "<:raw", $patches) or die; local $/; <$p> };
		@off == $n && length($data) == $n * 4096 or die "offsets/patches mismatch";
		open(my $f, "+<:raw", $path) or die "$path: $!";
		for my $i (0 .. $#off) {
			sysseek($f, $off[$i], 0) or die "seek: $!";
			syswrite($f, substr($data, $i * 4096, 4096)) == 4096 or die "write: $!";
			$f->sync or die "fsync: $!";
		}
		close($f) or die;' "$1" "$D/src/offsets" "$D/src/patches" "$NSYNC"
}

# --- versions, machine ------------------------------------------------------
pkgver() { dpkg-query -W -f '${Version}' "$1" 2>/dev/null || echo '?'; }
echo "peer benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), Linux $(uname -r)"
echo "work dir: $D on $(stat -f -c %T "$D") ($(df -P "$D" | awk 'NR == 2 { print $1 }'))"
echo "vaultfs: $("$VAULTFS" --version 2>&1 | head -1) ($BUILD)"
echo "gocryptfs $(pkgver gocryptfs), cryfs $(pkgver cryfs), securefs $(pkgver securefs), fuse3 $(pkgver fuse3), fio $(pkgver fio), sqlite3 $(pkgver sqlite3), strace $(pkgver strace)"
echo "sizes: big file $BIG_MIB MiB, fio $FIO_MIB MiB for $FIO_SECONDS s, $NFILES files in $NDIRS dirs, $NMSG messages; rounds $ROUNDS; cold reads: $([ $COLD = 1 ] && echo yes || echo NO)"
echo "filesystems: $FSLIST"
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"

# --- init and first mount; the fsync probe ------------------------------------
declare -A NOSYNC=()
for f in $FSLIST; do
	t0=$(now_ns)
	fs_init "$f"
	fs_mount "$f"
	t1=$(now_ns)
	echo "  $f: created and mounted in $(secs "$t0" "$t1") s"
done

echo "fsync probe: fsync/fdatasync/syncfs/sync_file_range calls on the backing folder by the daemon during one 4 KiB write + fsync:"
for f in $FSLIST; do
	if [ "$f" = plain ]; then
		echo "  plain: (the kernel's own fsync)"
		continue
	fi
	m=$(mnt "$f")
	pid=$(daemon_pid "$f") || { echo "peers.sh: no daemon for $f" >&2; exit 1; }
	strace -f -y -qq -e trace=fsync,fdatasync,syncfs,sync_file_range \
		-o "$D/strace.$f" -p "$pid" 2>"$D/strace.$f.err" &
	STRACE_PID=$!
	sleep 3 # attach to every thread
	head -c 4096 /dev/urandom >"$m/fsync-probe"
	fsync_path "$m/fsync-probe"
	sleep 3 # background flushers
	kill "$STRACE_PID" 2>/dev/null || true
	wait "$STRACE_PID" 2>/dev/null || true
	STRACE_PID=
	c=$(cloud "$f")
	total=$(grep -cE '^[0-9]+ +(fsync|fdatasync|syncfs|sync_file_range)\(' "$D/strace.$f" || true)
	onback=$(grep -E '^[0-9]+ +(fsync|fdatasync|syncfs|sync_file_range)\(' "$D/strace.$f" | grep -cF "<$c" || true)
	if [ "$onback" -eq 0 ]; then
		NOSYNC[$f]=1
		echo "  $f (pid $pid): $onback on the backing folder ($total in all) -> NOT durable on fsync; in [brackets] on fsync-bound rows"
	else
		echo "  $f (pid $pid): $onback on the backing folder ($total in all)"
	fi
	rm -f "$m/fsync-probe"
done

# --- the rounds -----------------------------------------------------------
# order for round R: FSLIST rotated by R-1
order() {
	local -a a=($FSLIST)
	local n=${#a[@]} i
	for ((i = 0; i < n; i++)); do
		printf '%s ' "${a[$(((i + $1 - 1) % n))]}"
	done
}

run_round() {
	local r=$1 f m c o t0 t1 n nb kb x
	local ord
	ord=$(order "$r")
	echo "round $r: order $ord; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
	for f in $ord; do
		objects "$(cloud "$f")" >"$D/$f.l0"
	done

	echo " sequential write"
	for f in $ord; do
		m=$(mnt "$f")
		if skipped "$f" seq; then
			skip_rec "$r" "$f" seqwrite big_objs big_bytes cold_read
			continue
		fi
		timed "$r" "$f" seqwrite dd if="$D/src/big" of="$m/big" bs=1M \
			count="$BIG_MIB" conv=fsync status=none
	done
	for f in $ord; do # cloud objects for the big file (settled)
		fsync_path "$(mnt "$f")"
	done
	sleep 3
	for f in $ord; do
		skipped "$f" seq && continue
		objects "$(cloud "$f")" >"$D/$f.l1"
		read -r n nb < <(new_objects "$D/$f.l0" "$D/$f.l1")
		rec "$r" "$f" big_objs "$n"
		rec "$r" "$f" big_bytes "$nb"
	done

	echo " fio file (not timed) and small files"
	for f in $ord; do
		skipped "$f" fio && continue
		dd if="$D/src/big" of="$(mnt "$f")/fio.dat" bs=1M count="$FIO_MIB" \
			conv=fsync status=none
	done
	for f in $ord; do
		objects "$(cloud "$f")" >"$D/$f.l2"
	done
	for f in $ord; do
		m=$(mnt "$f")
		if skipped "$f" small; then
			skip_rec "$r" "$f" small_create small_objs small_bytes \
				cold_tar small_rm
			continue
		fi
		timed "$r" "$f" small_create sh -c 'cp -r "$1" "$2" && exec "$3" "$2"' sh \
			"$D/src/small" "$m/small" "$D/fsync-path"
	done
	sleep 3
	for f in $ord; do
		skipped "$f" small && continue
		objects "$(cloud "$f")" >"$D/$f.l3"
		read -r n nb < <(new_objects "$D/$f.l2" "$D/$f.l3")
		rec "$r" "$f" small_objs "$n"
		rec "$r" "$f" small_bytes "$nb"
	done

	echo " sqlite chat inserts"
	for x in WAL DELETE; do
		for f in $ord; do
			m=$(mnt "$f")
			if skipped "$f" sqlite; then
				skip_rec "$r" "$f" "sql_$x" "search_$x"
				continue
			fi
			timed "$r" "$f" "sql_$x" sh -c 'sqlite3 "$1" <"$2" >/dev/null' sh \
				"$m/chat-$x.db" "$D/src/chat-$x.sql"
		done
	done

	echo " unmount all, drop caches, mount all"
	for f in $ord; do
		fs_umount "$f"
	done
	drop_caches
	for f in $ord; do
		[ "$f" = plain ] && continue
		timed "$r" "$f" mount fs_mount "$f"
	done

	echo " cold reads"
	for f in $ord; do
		skipped "$f" seq && continue
		m=$(mnt "$f")
		timed "$r" "$f" cold_read dd if="$m/big" of=/dev/null bs=1M status=none
		[ "$(sha256sum <"$m/big" | cut -c1-64)" = "$BIG_SHA" ] ||
			bad "$f" "round $r: big file differs"
	done
	for f in $ord; do
		skipped "$f" small && continue
		m=$(mnt "$f")
		timed "$r" "$f" cold_tar sh -c 'tar cf - -C "$1" small | cat >/dev/null' sh "$m"
		(cd "$m" && find small -type f -print0 | sort -z | xargs -0 sha256sum) |
			cmp -s - "$D/src/small.sha" || bad "$f" "round $r: small files differ"
	done
	for x in WAL DELETE; do
		for f in $ord; do
			skipped "$f" sqlite && continue
			m=$(mnt "$f")
			timed "$r" "$f" "search_$x" sh -c \
				'sqlite3 "$1" "SELECT count(*) FROM msg WHERE body LIKE '\''%$2%'\'';" >"$3"' \
				sh "$m/chat-$x.db" "$NEEDLE" "$D/search.out"
			[ "$(cat "$D/search.out")" = "$EXPECT" ] ||
				bad "$f" "round $r: $x search found $(cat "$D/search.out"), not $EXPECT"
			[ "$(sqlite3 "$m/chat-$x.db" 'SELECT count(*) FROM msg;')" = "$NMSG" ] ||
				bad "$f" "round $r: $x database has not $NMSG messages"
		done
	done

	echo " fio 4k random read/write 70/30"
	for f in $ord; do
		if skipped "$f" fio; then
			skip_rec "$r" "$f" fio_iops
			continue
		fi
		m=$(mnt "$f")
		t0=$(now_ns)
		if o=$(fio --name=randrw --filename="$m/fio.dat" --size="${FIO_MIB}m" \
			--bs=4k --rw=randrw --rwmixread=70 --ioengine=psync --direct=0 \
			--runtime="$FIO_SECONDS" --time_based --end_fsync=1 \
			--randrepeat=0 --minimal 2>"$D/fio.err"); then
			t1=$(now_ns)
			kb=$(echo "$o" | awk -F';' '{ print $6 + $47 }')
			rec "$r" "$f" fio_iops "$(awk -v kb="$kb" -v a="$t0" -v b="$t1" \
				'BEGIN { printf "%.0f", kb / 4 / ((b - a) / 1e9) }')"
		else
			rec "$r" "$f" fio_iops FAIL
			cat "$D/fio.err" >&2
		fi
	done

	echo " sync cost: $NSYNC x (4 KiB write + fsync)"
	for f in $ord; do
		if skipped "$f" sync; then
			skip_rec "$r" "$f" sync100 sync_objs sync_bytes
			continue
		fi
		m=$(mnt "$f")
		c=$(cloud "$f")
		if [ "$r" = 1 ]; then
			hashes "$c" >"$D/$f.h0"
		fi
		timed "$r" "$f" sync100 sync_writes "$m/big"
		if [ "$r" = 1 ]; then
			hashes "$c" >"$D/$f.h1"
			read -r n nb < <(changed_objects "$D/$f.h0" "$D/$f.h1")
			rec "$r" "$f" sync_objs "$n"
			rec "$r" "$f" sync_bytes "$nb"
		fi
	done

	echo " rm -rf of the small files; then everything"
	for f in $ord; do
		skipped "$f" small && continue
		timed "$r" "$f" small_rm rm -rf "$(mnt "$f")/small"
	done
	for f in $ord; do
		m=$(mnt "$f")
		rm -rf "${m:?}"/*
		fsync_path "$m"
		if [ "$f" != plain ]; then
			rec "$r" "$f" rss_kib \
				"$(awk '/VmHWM/ { print $2 }' "/proc/$(daemon_pid "$f")/status")"
		fi
	done
	sleep 3
	for f in $ord; do
		c=$(cloud "$f")
		rec "$r" "$f" clean_bytes "$(find "$c" -type f -printf '%s\n' |
			awk '{ s += $1 } END { print s + 0 }')"
	done
	echo "round $r: load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
}

# fsync-path helper for sh -c (cp + fsync in one timed command)
cat >"$D/fsync-path" <<'EOF'
#!/bin/sh
exec perl -MIO::Handle -e 'open(my $h, "<", $ARGV[0]) or die "$ARGV[0]: $!"; $h->sync or die "fsync: $!"' "$1"
EOF
chmod +x "$D/fsync-path"

# bytes DIR: the sum of the sizes of all files under DIR (a cleaner may
# remove files during the walk: find's complaints are ignored)
bytes() {
	{ find "$1" -type f -printf '%s\n' 2>/dev/null || true; } |
		awk '{ s += $1 } END { print s + 0 }'
}

# wait_settled DIR MAX: until DIR's file count and bytes have not changed
# for 10 s (polled every 2 s), at most MAX seconds; prints the seconds.
wait_settled() {
	local t=0 same=0 last= cur
	while [ $t -lt "$2" ] && [ $same -lt 5 ]; do
		sleep 2
		t=$((t + 2))
		cur="$({ find "$1" -type f 2>/dev/null || true; } | wc -l) $(bytes "$1")"
		if [ "$cur" = "$last" ]; then
			same=$((same + 1))
		else
			same=0
		fi
		last=$cur
	done
	echo "$t"
}

# Space: everything the rounds left was removed (clean_bytes); now the
# rewrite-heavy run, then cloud bytes / live bytes before and after
# cleaning. Live bytes = the sizes of the files in the mount.
space_phase() {
	local f m c live cb t
	echo "space: $SP_MIB MiB file written + rewritten 5 times in random 1 MiB pieces (fsync every 8), 16 x 2 MiB files, 8 deleted"
	for f in $FSLIST; do
		if skipped "$f" space; then
			skip_rec 1 "$f" space_write space_before space_after
			continue
		fi
		m=$(mnt "$f")
		mkdir "$m/space"
		timed 1 "$f" space_write perl "$D/rewrite.pl" "$m/space" \
			"$D/src/big" "$D/src/space.order" "$SP_MIB" "$BIG_MIB"
		fsync_path "$m/space"
		fsync_path "$m"
	done
	sleep 3
	for f in $FSLIST; do
		skipped "$f" space && continue
		m=$(mnt "$f")
		c=$(cloud "$f")
		live=$(bytes "$m")
		cb=$(bytes "$c")
		echo "  $f: live $live bytes, cloud $cb bytes"
		rec 1 "$f" space_before "$(awk -v a="$cb" -v b="$live" 'BEGIN { printf "%.3f", a / b }')"
		if [ "$f" = vaultfs ]; then
			fs_umount "$f"
			VFS_MOUNT_OPTS="--clean-grace 0 --clean-interval 1" fs_mount "$f"
			t=$(wait_settled "$c" 600)
			cb=$(bytes "$c")
			echo "  $f: cloud $cb bytes after cleaning (mount --clean-grace 0 --clean-interval 1; settled after $t s)"
			fs_umount "$f" # back to the default cleaning
			fs_mount "$f"
		fi
		rec 1 "$f" space_after "$(awk -v a="$cb" -v b="$live" 'BEGIN { printf "%.3f", a / b }')"
		(cd "$m/space" && sha256sum file f*) | cmp -s - "$D/src/space.sha" ||
			bad "$f" "space: rewritten files differ"
		rm -rf "$m/space"
		fsync_path "$m"
	done
}

# Many files: NMANY files of 0-1 KiB, then all unmounted, caches dropped,
# timed cold mount, timed find+stat of all (count and total size checked),
# the daemon's VmHWM and VmRSS after that.
many_phase() {
	local f m o n sz pid
	echo "many files: $NMANY files of 0-1 KiB in $NMANYDIRS dirs; cold mount, find+stat, daemon memory"
	for f in $FSLIST; do
		if skipped "$f" many; then
			skip_rec 1 "$f" many_create many_mount many_stat many_hwm many_rss
			continue
		fi
		m=$(mnt "$f")
		timed 1 "$f" many_create sh -c 'perl "$1" "$2" "$3" "$4" "$5" "$7" && exec "$6" "$2"' sh \
			"$D/many.pl" "$m/many" "$D/src/many.sizes" "$D/src/big" \
			"$NMANYDIRS" "$D/fsync-path" "$MANYJOBS"
		fsync_path "$m"
	done
	sleep 3
	for f in $FSLIST; do
		fs_umount "$f"
	done
	drop_caches
	for f in $FSLIST; do
		skipped "$f" many && continue
		[ "$f" = plain ] || timed 1 "$f" many_mount fs_mount "$f"
	done
	for f in $FSLIST; do
		skipped "$f" many && continue
		m=$(mnt "$f")
		timed 1 "$f" many_stat sh -c \
			'find "$1" -type f -printf "%s\n" | awk "{ n++; s += \$1 } END { print n + 0, s + 0 }" >"$2"' \
			sh "$m/many" "$D/many.out"
		read -r n sz <"$D/many.out"
		[ "$n $sz" = "$NMANY $MANY_BYTES" ] ||
			bad "$f" "many: $n files of $sz bytes, not $NMANY of $MANY_BYTES"
		[ "$f" = plain ] && continue
		pid=$(daemon_pid "$f")
		rec 1 "$f" many_hwm "$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")"
		rec 1 "$f" many_rss "$(awk '/VmRSS/ { print $2 }' "/proc/$pid/status")"
	done
}

# A rough estimate, from the one-round runs of 2026-11-29 on the 2-vCPU
# development VM at load average ~10 (docs/benchmarks.md): a full round
# ~20 min, a --quick one ~3 min; the space and many phases ~EST_PH min.
if [ $QUICK = 1 ]; then EST_R=3; EST_PH=3; else EST_R=20; EST_PH=20; fi
echo "estimated run time: ~$((ROUNDS * EST_R + EST_PH)) min ($ROUNDS x ~$EST_R min per round + ~$EST_PH min space/many phases, with all five filesystems, on the 2-vCPU VM at load ~10)"
T_START=$(now_ns)
for ((round = 1; round <= ROUNDS; round++)); do
	run_round "$round"
	t1=$(now_ns)
	echo "round $round done after $(secs "$T_START" "$t1") s in all; at this pace the rounds end at $(date -u -d "@$(((T_START + (t1 - T_START) * ROUNDS / round) / 1000000000))" +%H:%M) UTC, then the space and many phases"
done
T_END=$(now_ns)
space_phase
many_phase
T_PH=$(now_ns)
for f in $FSLIST; do
	fs_umount "$f"
done

# --- the table ---------------------------------------------------------------
# key|label|unit|better|fsync-bound
cat >"$D/keys" <<EOF
seqwrite|seq. write $BIG_MIB MiB (dd 1M, conv=fsync)|s|lower|y
cold_read|cold seq. read $BIG_MIB MiB (dd 1M)|s|lower|n
fio_iops|fio 4k randrw 70/30 ${FIO_MIB} MiB ${FIO_SECONDS}s +fsync|IOPS|higher|y
small_create|create $NFILES files 1-16 KiB (cp -r + fsync dir)|s|lower|n
cold_tar|cold tar of $NFILES files|s|lower|n
small_rm|rm -rf $NFILES files|s|lower|n
sql_WAL|sqlite WAL: $NMSG msgs, 10/txn|s|lower|y
sql_DELETE|sqlite DELETE: $NMSG msgs, 10/txn|s|lower|y
search_WAL|cold LIKE search (WAL db)|s|lower|n
search_DELETE|cold LIKE search (DELETE db)|s|lower|n
sync100|$NSYNC x (4 KiB write + fsync)|s|lower|y
mount|mount (store with data; peers: KDF)|s|lower|n
big_objs|cloud: new objects, $BIG_MIB MiB file|objects|lower|n
big_bytes|cloud: new bytes, $BIG_MIB MiB file|MB|lower|n
small_objs|cloud: new objects, $NFILES files|objects|lower|n
small_bytes|cloud: new bytes, $NFILES files|MB|lower|n
sync_objs|cloud: new/changed objects, $NSYNC fsyncs (r1)|objects|lower|n
sync_bytes|cloud: new/changed bytes, $NSYNC fsyncs (r1)|MB|lower|n
clean_bytes|cloud: bytes left after rm of all|MB|lower|n
rss_kib|daemon peak RSS since mount|MiB|lower|n
space_write|rewrite-heavy run ($SP_MIB MiB x 6 + 32 MiB, once)|s|lower|y
space_before|cloud/live bytes after it, before cleaning|ratio|lower|n
space_after|cloud/live after cleaning (vaultfs: grace 0)|ratio|lower|n
many_create|create $NMANY files 0-1 KiB, $MANYJOBS proc(s)|s|lower|n
many_mount|cold mount, $NMANY-file store (peers: KDF)|s|lower|n
many_stat|cold find+stat of $NMANY files|s|lower|n
many_hwm|daemon VmHWM after mount + stat, $NMANY files|MiB|lower|n
many_rss|daemon VmRSS after mount + stat, $NMANY files|MiB|lower|n
EOF
echo
echo "medians over $ROUNDS round(s) (load average at end: $(cut -d' ' -f1-3 /proc/loadavg); rounds took $(secs "$T_START" "$T_END") s, space and many phases $(secs "$T_END" "$T_PH") s)"
awk -v fslist="$FSLIST" -v nosync="${!NOSYNC[*]}" '
function fmt(v) {
	if (v == "FAIL" || v == "-" || v == "skip") return v
	if (v >= 100000) return sprintf("%.3g", v)
	if (v >= 100) return sprintf("%.0f", v)
	if (v >= 10) return sprintf("%.1f", v)
	if (v >= 1) return sprintf("%.2f", v)
	return sprintf("%.3f", v)
}
function median(list,    a, n, i, j, t) {
	n = split(list, a, " ")
	for (i = 1; i <= n; i++)
		if (a[i] == "FAIL" || a[i] == "skip") return a[i]
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && a[j - 1] + 0 > a[j] + 0; j--) {
			t = a[j]; a[j] = a[j - 1]; a[j - 1] = t
		}
	if (n == 0) return "-"
	if (n % 2) return a[(n + 1) / 2]
	return (a[n / 2] + a[n / 2 + 1]) / 2
}
FILENAME ~ /keys$/ {
	split($0, k, "|")
	nk++; key[nk] = k[1]; label[k[1]] = k[2]; unit[k[1]] = k[3]
	better[k[1]] = k[4]; fb[k[1]] = k[5]
	next
}
{ vals[$3 "," $2] = vals[$3 "," $2] " " $4 }
END {
	nf = split(fslist, fs, " ")
	split(nosync, ns, " ")
	for (i in ns) bad[ns[i]] = 1
	printf "%-46s %-7s", "workload (lower is better unless IOPS)", "unit"
	for (i = 1; i <= nf; i++) printf " %10s", fs[i]
	for (i = 1; i <= nf; i++) if (fs[i] != "vaultfs") printf " %11s", "v/" substr(fs[i], 1, 9)
	printf "\n"
	for (j = 1; j <= nk; j++) {
		kk = key[j]
		any = 0
		for (i = 1; i <= nf; i++) {
			m[i] = median(vals[kk "," fs[i]])
			if (m[i] != "-" && m[i] != "FAIL" && m[i] != "skip") {
				if (unit[kk] == "MB") m[i] = m[i] / 1e6
				if (unit[kk] == "MiB") m[i] = m[i] / 1024
			}
			if (m[i] != "-" && m[i] != "skip") any = 1
		}
		if (!any) continue
		printf "%-46s %-7s", substr(label[kk], 1, 46), unit[kk]
		for (i = 1; i <= nf; i++) {
			s = fmt(m[i])
			if (fb[kk] == "y" && (fs[i] in bad) && s != "-" && s != "skip") s = "[" s "]"
			printf " %10s", s
		}
		v = -1
		for (i = 1; i <= nf; i++) if (fs[i] == "vaultfs") v = m[i]
		for (i = 1; i <= nf; i++) {
			if (fs[i] == "vaultfs") continue
			if (v == -1 || v == "-" || v == "FAIL" || v == "skip" || m[i] == "-" || m[i] == "FAIL" || m[i] == "skip" || m[i] + 0 == 0 ||
			    (fb[kk] == "y" && (fs[i] in bad)))
				r = "-"
			else
				r = sprintf("%.3g", v / m[i])
			printf " %11s", r
		}
		printf "\n"
	}
}' "$D/keys" "$RES"
echo "ratios: vaultfs/peer of the medians (time: >1 = vaultfs slower; IOPS: <1 = vaultfs slower; cloud figures: >1 = vaultfs makes more)."
if [ ${#NOSYNC[@]} -gt 0 ]; then
	echo "[x]: the daemon issued no fsync on its backing folder for an fsync of the mount (not durable); no ratio on fsync-bound rows."
fi
if [ $VERIFY_FAILED = 1 ]; then
	echo "READ-BACK VERIFICATION FAILED:"
	cat "$D/verify"
	exit 1
fi
echo "read-back verification: all sha256 and query results matched"
