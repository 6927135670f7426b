#!/bin/sh
# 60-vault-client.sh - libvaultclient (through vaultctl) against a real
# vaultsrv over its own SoftHSM token: register, recover, wrong password
# counting, generation reports, add a store, change the password, lockout,
# rearm with the 64-digit key, delete, and a token for another account.
. "${top_srcdir:-.}/tests/integration/lib.sh"

MODULE="${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}"
[ -x "$VAULTSRV" ] || skip "vaultsrv not built"
[ -x "$VAULTCTL" ] || skip "vaultctl not built"
[ -r "$MODULE" ] || skip "no SoftHSM module at $MODULE"
command -v softhsm2-util >/dev/null || skip "softhsm2-util missing"

T=$(mktemp -d "${TMPDIR:-/tmp}/vc60.XXXXXX")
SRV_PID=
cleanup() {
	if [ -n "$SRV_PID" ]; then
		kill "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT INT TERM

mkdir "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T" >"$T/softhsm2.conf"
SOFTHSM2_CONF="$T/softhsm2.conf"
export SOFTHSM2_CONF
softhsm2-util --init-token --free --label vc60 --pin 246810 \
	--so-pin 135791 >/dev/null || exit 99
printf '246810' >"$T/pin"
chmod 600 "$T/pin"

# a free port: bind-and-release is racy, so retry the start a few times
start_vault() {
	for try in 1 2 3 4 5; do
		PORT=$(( 10000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 22000 ))
		cat >"$T/vault.conf" <<EOF
listen = 127.0.0.1:$PORT
pkcs11_module = $MODULE
token_label = vc60
pin_file = $T/pin
db = $T/vault.db
max_attempts = 3
EOF
		"$VAULTSRV" serve --config "$T/vault.conf" 2>>"$T/srv.log" &
		SRV_PID=$!
		URL="http://127.0.0.1:$PORT"
		for i in $(seq 1 50); do
			if "$VAULTCTL" --url "$URL" health 2>/dev/null; then
				return 0
			fi
			kill -0 "$SRV_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
		SRV_PID=
	done
	cat "$T/srv.log" >&2
	exit 99
}

cat >"$T/vault.conf" <<EOF
listen = 127.0.0.1:1
pkcs11_module = $MODULE
token_label = vc60
pin_file = $T/pin
db = $T/vault.db
max_attempts = 3
EOF
"$VAULTSRV" init --config "$T/vault.conf" >/dev/null 2>>"$T/srv.log" || {
	cat "$T/srv.log" >&2; exit 99; }
"$VAULTSRV" token --config "$T/vault.conf" --account alice >"$T/tok" || exit 99
"$VAULTSRV" token --config "$T/vault.conf" --account bob >"$T/tok-bob" || exit 99
start_vault

newkey() { od -An -N32 -tx1 /dev/urandom | tr -d ' \n' >"$1"; echo >>"$1"; }
newkey "$T/k1"
newkey "$T/k2"
S1=000102030405060708090a0b0c0d0e0f
S2=f0e0d0c0b0a090807060504030201000
VC="$VAULTCTL --url $URL --token-file $T/tok --argon-ops 2 --argon-mem 33554432"

# expects exit code $1 from the rest of the command line
expect() {
	want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = "$want" ] || {
		cat "$T/err" >&2
		fail "'$*' exited $got, want $want"
	}
}
pw() { printf '%s\n' "$1" >"$T/pw"; }
npw() { printf '%s\n' "$1" >"$T/npw"; }
key_of() { tr -d ' \n' <"$1"; }

pw 'correct horse'
expect 0 $VC --password-fd 3 register alice "$S1" "$T/k1" 3<"$T/pw"
expect 9 $VC --password-fd 3 register alice "$S1" "$T/k1" 3<"$T/pw"

# recover gives back K exactly
expect 0 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
[ "$(tr -d ' \n' <"$T/out")" = "$(key_of "$T/k1")" ] || fail "recovered K differs"

# wrong passwords are counted (at recover/start; the client refuses the
# vault's envelope tag and sends no proof), a right one resets the counter
pw 'wrong horse'
expect 3 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
grep -q '2 attempts left' "$T/err" || fail "no attempts count: $(cat "$T/err")"
expect 3 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
grep -q '1 attempts left' "$T/err" || fail "count did not go down"
pw 'correct horse'
expect 0 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
pw 'wrong horse'
expect 3 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
grep -q '2 attempts left' "$T/err" || fail "success did not reset the counter"

# unknown store, unknown account
pw 'correct horse'
expect 8 $VC --password-fd 3 recover alice "$S2" 3<"$T/pw"
expect 8 "$VAULTCTL" --url "$URL" --token-file "$T/tok-bob" --password-fd 3 \
	recover bob "$S1" 3<"$T/pw"
# alice's account with bob's token
expect 6 "$VAULTCTL" --url "$URL" --token-file "$T/tok-bob" --password-fd 3 \
	recover alice "$S1" 3<"$T/pw"

# signed generations: the highest is kept, and verified on the way back
expect 0 $VC gen-get alice "$S1" "$T/k1"
[ "$(cat "$T/out")" = 0 ] || fail "fresh generation is $(cat "$T/out")"
expect 0 $VC gen-report alice "$S1" "$T/k1" 7
expect 0 $VC gen-report alice "$S1" "$T/k1" 5
[ "$(cat "$T/out")" = 7 ] || fail "generation max is $(cat "$T/out")"
expect 0 $VC gen-get alice "$S1" "$T/k1"
[ "$(cat "$T/out")" = 7 ] || fail "generation read back $(cat "$T/out")"
# a report signed with another K is refused
expect 10 $VC gen-report alice "$S1" "$T/k2" 9

# a second store under the same password
expect 0 $VC --password-fd 3 add-store alice "$S2" "$T/k2" 3<"$T/pw"
expect 0 $VC --password-fd 3 recover alice "$S2" 3<"$T/pw"
[ "$(tr -d ' \n' <"$T/out")" = "$(key_of "$T/k2")" ] || fail "store 2 K differs"

# change the password: both stores follow, the old one is dead
npw 'battery staple'
expect 0 $VC --password-fd 3 --new-password-fd 4 passwd alice 3<"$T/pw" 4<"$T/npw"
expect 3 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
pw 'battery staple'
for s in "$S1:$T/k1" "$S2:$T/k2"; do
	expect 0 $VC --password-fd 3 recover alice "${s%%:*}" 3<"$T/pw"
	[ "$(tr -d ' \n' <"$T/out")" = "$(key_of "${s#*:}")" ] ||
		fail "K of ${s%%:*} differs after passwd"
done

# lockout after max_attempts (3) wrong guesses; the right password is
# refused then too
pw 'nope'
expect 3 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
expect 3 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
set +e
$VC --password-fd 3 recover alice "$S1" 3<"$T/pw" >/dev/null 2>&1
rc=$?
set -e
[ "$rc" = 3 ] || [ "$rc" = 4 ] || fail "third wrong guess exited $rc"
pw 'battery staple'
expect 4 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"

# the 64-digit key re-arms the account; only the stores given survive
npw 'new start'
expect 0 $VC --new-password-fd 4 rearm alice "$S1" "$T/k1" 4<"$T/npw"
pw 'new start'
expect 0 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"
[ "$(tr -d ' \n' <"$T/out")" = "$(key_of "$T/k1")" ] || fail "K differs after rearm"
expect 8 $VC --password-fd 3 recover alice "$S2" 3<"$T/pw"
# a wrong K cannot re-arm
expect 10 $VC --new-password-fd 4 rearm alice "$S1" "$T/k2" 4<"$T/npw"

# the audit trail saw all this
expect 0 $VC audit alice
grep -q 'recover attempt' "$T/out" || fail "audit lacks the attempts"
# a wrong password is caught by the envelope tag before any proof is
# sent: the vault counted it at recover/start and never saw a signature
if grep -q 'recover wrong_password' "$T/out"; then
	fail "the client sent a proof for a wrong password"
fi
n=$(wc -l <"$T/out")
[ "$n" -ge 10 ] || fail "audit has only $n events"

# delete, then the account is unknown
expect 0 $VC --password-fd 3 delete alice 3<"$T/pw"
expect 8 $VC --password-fd 3 recover alice "$S1" 3<"$T/pw"

echo "60-vault-client: ok ($n audit events)"
exit 0
