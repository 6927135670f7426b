#!/bin/sh
# 81-help: --help and --version of every command exit 0 and print a usage
# naming its options; every option a --help names is documented in the
# man page and offered by the bash completion; every vaultsrv.conf key
# (vaultsrv/config.c) is documented in vaultsrv.conf(5) and the example.
. "$top_srcdir/tests/integration/lib.sh"

[ -x "$VAULTFS" ] || fail "vaultfs not built at $VAULTFS"
[ -x "$VAULTSRV" ] || fail "vaultsrv not built at $VAULTSRV"
T=$(mktemp -d "${TMPDIR:-/tmp}/vfs-help.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 99' INT TERM HUP
nfail=0
bad() { echo "not ok: $*" >&2; nfail=$((nfail + 1)); }

# $1: label; $2..: command. Output in $T/out.
run0() {
	label=$1
	shift
	rc=0
	"$@" >"$T/out" 2>"$T/err" || rc=$?
	[ "$rc" = 0 ] || bad "$label: exit $rc, stderr: $(head -c 300 "$T/err")"
	[ -s "$T/err" ] && bad "$label: wrote to stderr: $(head -c 300 "$T/err")"
	return 0
}

# $1: label; rest: strings that must appear in $T/out.
mentions() {
	label=$1
	shift
	for w in "$@"; do
		grep -q -e "$w" "$T/out" || bad "$label: usage does not mention '$w'"
	done
}

# Man page text with troff escapes for '-' undone.
man_text() {
	sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$1"
}
man_text "$top_srcdir/docs/man/vaultfs.1" >"$T/vaultfs.man"
man_text "$top_srcdir/docs/man/vaultsrv.8" >"$T/vaultsrv.man"

# Every --long option of the usage in $T/out is in man page $1 and in
# completion script $2.
documented() {
	label=$1
	grep -o -e '--[a-z][a-z-]*' "$T/out" | sort -u >"$T/opts"
	[ -s "$T/opts" ] || bad "$label: no --options in the usage"
	while read -r o; do
		# The whole option, not a prefix of a longer one.
		re="$o\([^a-z-]\|\$\)"
		grep -q -e "$re" "$2" || bad "$label: '$o' missing from $(basename "$2")"
		grep -q -e "$re" "$3" || bad "$label: '$o' missing from $(basename "$3")"
	done <"$T/opts"
}

VCOMP="$top_srcdir/contrib/completion/vaultfs.bash"
SCOMP="$top_srcdir/contrib/completion/vaultsrv.bash"

run0 "vaultfs --help" "$VAULTFS" --help
mentions "vaultfs --help" '^usage: vaultfs' --help --version init mount umount passwd \
	fsck status restore recovery-key rekey
documented "vaultfs --help" "$T/vaultfs.man" "$VCOMP"

run0 "vaultfs init --help" "$VAULTFS" init --help
mentions "vaultfs init --help" '^usage: vaultfs init' --recovery-key-file \
	--no-recovery-key --vault --account --account-token-file \
	--password-file --log-level --help --version CLOUD_DIR
documented "vaultfs init --help" "$T/vaultfs.man" "$VCOMP"

run0 "vaultfs mount --help" "$VAULTFS" mount --help
mentions "vaultfs mount --help" '^usage: vaultfs mount' --recovery-key \
	--recovery-key-file --vault --account --account-token-file \
	--password-file --read-only --take-over --clean-grace --clean-interval \
	--foreground ' -f' ' -o ' --log-level \
	--help --version CLOUD_DIR MOUNTPOINT
documented "vaultfs mount --help" "$T/vaultfs.man" "$VCOMP"

for c in umount unmount; do
	run0 "vaultfs $c --help" "$VAULTFS" $c --help
	mentions "vaultfs $c --help" '^usage: vaultfs umount' MOUNTPOINT \
		--log-level --help --version
	documented "vaultfs $c --help" "$T/vaultfs.man" "$VCOMP"
done

run0 "vaultfs passwd --help" "$VAULTFS" passwd --help
mentions "vaultfs passwd --help" '^usage: vaultfs passwd' --password-file \
	--recovery-key-file --new-password-file --vault --account \
	--account-token-file --log-level --help --version CLOUD_DIR
documented "vaultfs passwd --help" "$T/vaultfs.man" "$VCOMP"

run0 "vaultfs fsck --help" "$VAULTFS" fsck --help
mentions "vaultfs fsck --help" '^usage: vaultfs fsck' --recovery-key \
	--recovery-key-file --vault --account --account-token-file \
	--password-file --repair --log-level --help --version CLOUD_DIR
documented "vaultfs fsck --help" "$T/vaultfs.man" "$VCOMP"

run0 "vaultfs status --help" "$VAULTFS" status --help
mentions "vaultfs status --help" '^usage: vaultfs status' --json --recovery-key \
	--recovery-key-file --vault --account --account-token-file \
	--password-file --log-level --help --version CLOUD_DIR MOUNTPOINT
documented "vaultfs status --help" "$T/vaultfs.man" "$VCOMP"

run0 "vaultfs restore --help" "$VAULTFS" restore --help
mentions "vaultfs restore --help" '^usage: vaultfs restore' --recovery-key \
	--recovery-key-file --vault --account --account-token-file \
	--password-file --log-level --help --version CLOUD_DIR DEST
documented "vaultfs restore --help" "$T/vaultfs.man" "$VCOMP"

run0 "vaultfs recovery-key --help" "$VAULTFS" recovery-key --help
mentions "vaultfs recovery-key --help" '^usage: vaultfs recovery-key' --show \
	--output --recovery-key --recovery-key-file --password-file --vault \
	--account --account-token-file --log-level --help --version CLOUD_DIR
documented "vaultfs recovery-key --help" "$T/vaultfs.man" "$VCOMP"

run0 "vaultfs rekey --help" "$VAULTFS" rekey --help
mentions "vaultfs rekey --help" '^usage: vaultfs rekey' --recovery-key \
	--recovery-key-file --password-file --new-password-file \
	--new-recovery-key-file --no-recovery-key --vault --account \
	--account-token-file --log-level --help --version CLOUD_DIR
documented "vaultfs rekey --help" "$T/vaultfs.man" "$VCOMP"

# The commands checked here are all that vaultfs --help lists (a new
# command cannot be left out of this test).
VFS_CMDS="init mount umount passwd fsck status restore recovery-key rekey"
"$VAULTFS" --help | sed -n '/^Commands:/,/^$/s/^  \([a-z-]*\) .*/\1/p' |
	LC_ALL=C sort >"$T/cmds.help"
printf '%s\n' $VFS_CMDS | LC_ALL=C sort >"$T/cmds.here"
[ "$(wc -l <"$T/cmds.help")" -ge 9 ] || bad "cannot read the commands of vaultfs --help"
cmp -s "$T/cmds.help" "$T/cmds.here" ||
	bad "vaultfs --help lists other commands than 81-help checks: $(diff "$T/cmds.here" "$T/cmds.help" | grep '^[<>]' | tr '\n' ' ')"
for c in $VFS_CMDS; do
	run0 "vaultfs $c --help" "$VAULTFS" $c --help
	grep -q "^usage: vaultfs $c" "$T/out" || bad "vaultfs $c --help: no usage line"
	documented "vaultfs $c --help" "$T/vaultfs.man" "$VCOMP"
done

ver=$(sed -n 's/^AC_INIT(\[vaultfs\], \[\([^]]*\)\].*/\1/p' \
	"$top_srcdir/configure.ac")
[ -n "$ver" ] || fail "cannot read the version from configure.ac"
for c in "" $VFS_CMDS; do
	run0 "vaultfs $c --version" "$VAULTFS" $c --version
	[ "$(cat "$T/out")" = "vaultfs $ver" ] ||
		bad "vaultfs $c --version printed '$(cat "$T/out")'"
done

for c in "" init token serve rotate ceremony-request ceremony-export ceremony-import; do
	run0 "vaultsrv $c --help" "$VAULTSRV" $c --help
	mentions "vaultsrv $c --help" '^usage: vaultsrv' 'vaultsrv init' \
		'vaultsrv token' 'vaultsrv serve' --config --account --ttl \
		'vaultsrv rotate' --grace --pace --status \
		'vaultsrv ceremony-request' 'vaultsrv ceremony-export' \
		'vaultsrv ceremony-import' --out --request --fingerprint \
		--bundle --non-extractable --help --version
	documented "vaultsrv $c --help" "$T/vaultsrv.man" "$SCOMP"
	run0 "vaultsrv $c --version" "$VAULTSRV" $c --version
	[ "$(cat "$T/out")" = "vaultsrv $ver" ] ||
		bad "vaultsrv $c --version printed '$(cat "$T/out")'"
done

# Usage errors are exit 2 and print the usage on stderr, not stdout.
for args in "--no-such-option" "mount --no-such-option" "mount"; do
	rc=0
	# shellcheck disable=SC2086
	"$VAULTFS" $args >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" = 2 ] || bad "vaultfs $args: exit $rc, expected 2"
	[ -s "$T/out" ] && bad "vaultfs $args: wrote to stdout"
done
for args in "" "serve" "--no-such-option" "token --ttl 0 --config /x"; do
	rc=0
	# shellcheck disable=SC2086
	"$VAULTSRV" $args >"$T/out" 2>"$T/err" </dev/null || rc=$?
	[ "$rc" = 2 ] || bad "vaultsrv $args: exit $rc, expected 2"
	grep -q 'usage\|--ttl' "$T/err" || bad "vaultsrv $args: no usage on stderr"
done

# Every configuration key of vaultsrv/config.c is documented.
sed -n '/config_keys\[K_COUNT\]/,/^};/s/^[[:space:]]*"\([a-z0-9_]*\)",$/\1/p' \
	"$top_srcdir/vaultsrv/config.c" >"$T/keys"
[ "$(wc -l <"$T/keys")" -ge 10 ] || fail "cannot read the keys of vaultsrv/config.c"
man_text "$top_srcdir/docs/man/vaultsrv.conf.5" >"$T/conf.man"
while read -r k; do
	grep -q "^\.B[IR]* $k\b\|^\.BR .*\b$k\b" "$T/conf.man" ||
		bad "key '$k' not documented in vaultsrv.conf.5"
	grep -q "^#\{0,1\}$k = " "$top_srcdir/contrib/vaultsrv.conf.example" ||
		bad "key '$k' missing from contrib/vaultsrv.conf.example"
done <"$T/keys"

[ "$nfail" = 0 ] || fail "$nfail check(s) failed"
echo "81-help: all checks passed ($(wc -l <"$T/keys") config keys)"
