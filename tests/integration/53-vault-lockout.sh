#!/bin/bash
# 53-vault-lockout: the attempt budget. Sequential: the tenth wrong guess
# locks (423, not 401). Concurrent: 20 wrong guesses at once count exactly
# 10 and reach the HSM exactly 10 times. A locked account keeps only its
# K-derived public keys, and the 64-digit key re-arms it.
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup
vs_init
vs_start
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

# Sequential: 9 wrong guesses leave 1; the 10th locks.
BT=$(vs_token bob)
probe "$BT" --account bob --password 'bob pw' --key "$K" --store "$S" register >/dev/null
i=1
while [ $i -le 9 ]; do
	rc=0; out=$(probe "$BT" --account bob --password x --store "$S" --fast-wrong recover) || rc=$?
	[ "$out" = "status=401 error=wrong_password attempts_left=$((10 - i))" ] ||
		fail "guess $i: $out"
	i=$((i + 1))
done
rc=0; out=$(probe "$BT" --account bob --password x --store "$S" --fast-wrong recover) || rc=$?
[ $rc = 3 ] && [ "$out" = "status=423 error=locked attempts_left=0" ] || fail "10th guess: $rc $out"
rc=0; out=$(probe "$BT" --account bob --password 'bob pw' --store "$S" recover) || rc=$?
[ $rc = 3 ] || fail "right password after lockout must be refused: $out"
[ "$(attempts_of bob)" = 10 ] || fail "bob counted $(attempts_of bob)"

# Concurrent: 20 wrong guesses against a fresh account.
VT=$(vs_token victim)
probe "$VT" --account victim --password 'victim pw' --key "$K" --store "$S" register >/dev/null
ev0=$(evaluations)
g0=$(curl -s "$URL/metrics" | sed -n 's/^vaultsrv_guesses_total //p')
pids=""
i=0
while [ $i -lt 20 ]; do
	probe "$VT" --account victim --password "guess $i" --store "$S" --fast-wrong recover \
		>"$T/guess.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
EXTRA_PIDS=$pids
for p in $pids; do wait "$p" || true; done
EXTRA_PIDS=""
wrong=$(cat "$T"/guess.* | grep -c 'error=wrong_password' || true)
locked=$(cat "$T"/guess.* | grep -c 'error=locked' || true)
[ $((wrong + locked)) = 20 ] || fail "unexpected answers: $(cat "$T"/guess.*)"
[ "$(attempts_of victim)" = 10 ] || fail "counted $(attempts_of victim), not 10"
[ $(( $(evaluations) - ev0 )) = 10 ] || fail "HSM evaluated $(( $(evaluations) - ev0 )) times"
g1=$(curl -s "$URL/metrics" | sed -n 's/^vaultsrv_guesses_total //p')
[ $((g1 - g0)) = 10 ] || fail "metrics counted $((g1 - g0)) guesses"
[ "$(probe "$VT" --account victim audit | grep -c '^recover attempt ')" = 10 ] ||
	fail "audit does not show exactly 10 attempts"
rc=0; out=$(probe "$VT" --account victim --password 'victim pw' --store "$S" recover) || rc=$?
[ $rc = 3 ] || fail "victim not locked: $out"
[ $(( $(evaluations) - ev0 )) = 10 ] || fail "a locked account reached the HSM"

# The tombstone: no wrapped OPRF key, no auth key, no enc_k; k_pub kept.
[ "$(sqlite3 "$DB" "SELECT state, blob IS NULL, auth_pub IS NULL FROM accounts WHERE account='victim'")" = "1|1|1" ] ||
	fail "tombstone keeps secrets: $(sqlite3 "$DB" "SELECT state, length(blob) FROM accounts WHERE account='victim'")"
[ "$(sqlite3 "$DB" "SELECT enc_k IS NULL, length(k_pub) FROM stores WHERE account='victim'")" = "1|32" ] ||
	fail "tombstone store row wrong"
curl -s "$URL/metrics" | grep -q '^vaultsrv_lockouts_total 2$' || fail "lockouts metric"
# Registration over a tombstone is refused; the 64-digit key re-arms.
rc=0; out=$(probe "$VT" --account victim --password new --key "$K" --store "$S" register) || rc=$?
[ $rc = 3 ] || fail "register over tombstone: $out"
rc=0; out=$(probe "$VT" --account victim --key "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" \
	--store "$S" --new-password new rearm) || rc=$?
echo "$out" | grep -q 'status=401 error=bad_proof' || fail "rearm with a wrong K: $out"
out=$(probe "$VT" --account victim --key "$K" --store "$S" --new-password 'fresh pw' rearm) || fail "rearm: $out"
out=$(probe "$VT" --account victim --password 'fresh pw' --store "$S" recover) || fail "after rearm: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "after rearm: $out"
[ "$(attempts_of victim)" = 0 ] || fail "rearm must give a fresh counter"
vs_stop
echo "53-vault-lockout: ok"
