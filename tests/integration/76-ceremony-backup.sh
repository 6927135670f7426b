#!/bin/bash
# 76-ceremony-backup: an offline backup token for a single-box vault
# (SQLite), made by the key ceremony. A password is registered; the
# vault keys go to a second SoftHSM token (its own token directory) by
# request/export/import; the primary token is destroyed; vaultsrv comes
# up on the backup token with the same database: the password still
# recovers K, the lockout counter carried on, tokens minted before still
# work. The backup token can in turn make the next backup (its keys stay
# extractable by wrap); one imported with --non-extractable cannot, and
# says so.
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup
vs_init
vs_start
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb
AT=$(vs_token alice)
out=$(probe "$AT" --account alice --password 'alice pw' --key "$K" --store "$S" register) ||
	fail "register: $out"
rc=0; out=$(probe "$AT" --account alice --password wrong --store "$S" --fast-wrong recover) || rc=$?
[ "$out" = "status=401 error=wrong_password attempts_left=9" ] || fail "wrong guess: $out"

# mktoken NAME: an empty SoftHSM token in its own directory $T/NAME
mktoken() {
	mkdir -p "$T/$1/tokens"
	printf 'directories.tokendir = %s/%s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T" "$1" >"$T/$1/softhsm2.conf"
	SOFTHSM2_CONF="$T/$1/softhsm2.conf" softhsm2-util --init-token --free \
		--label "$LABEL" --pin "$PIN" --so-pin "$SO_PIN" >/dev/null ||
		fail "softhsm2-util --init-token in $T/$1"
}
# ceremony SOURCE-CONF JOINER-NAME [import options]: the whole ceremony
# into $T/JOINER-NAME with this vault's config; the server keeps running.
ceremony() {
	src=$1
	dst=$2
	shift 2
	SOFTHSM2_CONF="$T/$dst/softhsm2.conf" "$VAULTSRV" ceremony-request \
		--config "$CONF" --out "$T/$dst/request.json" >"$T/$dst/request.out" 2>"$T/$dst/err" ||
		fail "ceremony-request into $dst: $(cat "$T/$dst/err")"
	fp=$(sed -n 's/^fingerprint //p' "$T/$dst/request.out")
	SOFTHSM2_CONF="$src" "$VAULTSRV" ceremony-export --config "$CONF" \
		--request "$T/$dst/request.json" --fingerprint "$fp" \
		--out "$T/$dst/bundle.json" >"$T/$dst/export.out" 2>"$T/$dst/err" ||
		fail "ceremony-export for $dst: $(cat "$T/$dst/err")"
	SOFTHSM2_CONF="$T/$dst/softhsm2.conf" "$VAULTSRV" ceremony-import \
		--config "$CONF" --bundle "$T/$dst/bundle.json" "$@" \
		>"$T/$dst/import.out" 2>"$T/$dst/err" ||
		fail "ceremony-import into $dst: $(cat "$T/$dst/err")"
	# both sides print the same key check values
	[ "$(grep '^key ' "$T/$dst/export.out")" = "$(grep '^key ' "$T/$dst/import.out" | sed 's/ (not extractable)$//;s/ (held already)$//')" ] ||
		fail "check values differ: $(cat "$T/$dst/export.out" "$T/$dst/import.out")"
}

# The backup, made while the vault serves.
mktoken backup
ceremony "$T/softhsm2.conf" backup
# The check values are recorded in the vault's database.
[ "$(sqlite3 "$DB" "SELECT count(*) FROM meta WHERE key LIKE 'kcv.%'")" = 2 ] ||
	fail "the store does not hold the check values"
# A second backup, locked: its keys can never leave it.
mktoken locked
ceremony "$T/softhsm2.conf" locked --non-extractable
grep -q '(not extractable)' "$T/locked/import.out" || fail "import did not say not extractable"
mktoken third
SOFTHSM2_CONF="$T/third/softhsm2.conf" "$VAULTSRV" ceremony-request --config "$CONF" \
	--out "$T/third/request.json" >"$T/third/request.out" 2>/dev/null || fail "request third"
fp=$(sed -n 's/^fingerprint //p' "$T/third/request.out")
rc=0
SOFTHSM2_CONF="$T/locked/softhsm2.conf" "$VAULTSRV" ceremony-export --config "$CONF" \
	--request "$T/third/request.json" --fingerprint "$fp" --out "$T/third/bundle.json" \
	>"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'does not let them out' "$T/err" ||
	fail "export from a non-extractable token: $(cat "$T/err")"
[ ! -e "$T/third/bundle.json" ] || fail "a bundle was written"

# Disaster: the primary token is gone.
vs_stop
rm -rf "$T/tokens"
mkdir "$T/tokens"
rc=0
"$VAULTSRV" token --config "$CONF" --account alice >/dev/null 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "the destroyed token still minted a token"

# The backup token comes out of the drawer.
SOFTHSM2_CONF="$T/backup/softhsm2.conf"
export SOFTHSM2_CONF
vs_start
out=$(probe "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover on the backup token with a token minted before: $out"
[ "$out" = "K=$K attempts_left_at_start=8" ] || fail "recover on the backup token: $out"
BT=$(vs_token bob)
out=$(probe "$BT" --account bob --password 'bob pw' --key "$K" --store "$S" register) ||
	fail "register on the backup token: $out"
out=$(probe "$BT" --account bob --password 'bob pw' --store "$S" recover) ||
	fail "recover bob: $out"

# The restored vault makes its next backup from the backup token.
mktoken next
ceremony "$T/backup/softhsm2.conf" next
vs_stop
SOFTHSM2_CONF="$T/next/softhsm2.conf"
vs_start
out=$(probe "$BT" --account bob --password 'bob pw' --store "$S" recover) ||
	fail "recover on the next backup token: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover on next: $out"
vs_stop
! grep -q 'ERROR: AddressSanitizer\|runtime error:' "$T/server.log" ||
	fail "sanitizer report in the server log"
echo "ceremony backup: ok"
