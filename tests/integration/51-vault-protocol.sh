#!/bin/bash
# 51-vault-protocol: every endpoint through the protocol's happy and
# unhappy paths: register, recover (right and wrong password, counter
# reset), replayed finish, passwd, add_store, generation reports, audit,
# rearm with the 64-digit key, delete. Secrets never reach disk or logs.
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup
vs_init
vs_start
TOK=$(vs_token alice)
K1=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
K2=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S1=00112233445566778899aabbccddeeff
S2=ffeeddccbbaa99887766554433221100
PW='correct horse battery staple'

out=$(probe "$TOK" --account alice --password "$PW" --key "$K1" --store "$S1" register)
[ "$out" = registered ] || fail "register: $out"
[ "$(attempts_of alice)" = 0 ] || fail "fresh record must have counter 0"
[ "$(sqlite3 "$DB" "SELECT length(env_tag) FROM accounts WHERE account='alice'")" = 32 ] || fail "no env_tag stored"

# The env_tag is covered by auth_sig: a swapped one is refused, and the
# vault hands back exactly the one registered (vs_probe recover checks it).
TOKB=$(vs_token bob)
rc=0; out=$(probe "$TOKB" --account bob --password x --key "$K1" --store "$S1" --swap-tag register) || rc=$?
[ $rc = 4 ] && echo "$out" | grep -q 'status=401 error=bad_proof' || fail "swapped env_tag: $rc $out"

# A second registration of a live account is refused.
rc=0; out=$(probe "$TOK" --account alice --password x --key "$K1" --store "$S1" register) || rc=$?
[ $rc = 4 ] && echo "$out" | grep -q 'status=409 error=exists' || fail "re-register: $rc $out"

out=$(probe "$TOK" --account alice --password "$PW" --store "$S1" recover) || fail "recover: $out"
[ "$out" = "K=$K1 attempts_left_at_start=9" ] || fail "recover gave: $out"
[ "$(attempts_of alice)" = 0 ] || fail "success must reset the counter"

rc=0; out=$(probe "$TOK" --account alice --password wrong --store "$S1" recover) || rc=$?
[ $rc = 2 ] || fail "wrong password: exit $rc ($out)"
[ "$out" = "status=401 error=wrong_password attempts_left=9" ] || fail "wrong: $out"
rc=0; out=$(probe "$TOK" --account alice --password wrong2 --store "$S1" recover) || rc=$?
[ "$out" = "status=401 error=wrong_password attempts_left=8" ] || fail "wrong2: $out"
[ "$(attempts_of alice)" = 2 ] || fail "two wrong guesses must count 2"
out=$(probe "$TOK" --account alice --password "$PW" --store "$S1" recover) || fail "recover: $out"
[ "$out" = "K=$K1 attempts_left_at_start=7" ] || fail "after 2 wrong: $out"
[ "$(attempts_of alice)" = 0 ] || fail "reset after success"

# A finish replayed with the same challenge is refused.
out=$(probe "$TOK" --account alice --password "$PW" --store "$S1" --replay recover)
echo "$out" | grep -q '^replay status=410 error=stale_challenge$' || fail "replay: $out"

# Unknown store: 404 before anything is counted.
rc=0; out=$(probe "$TOK" --account alice --password "$PW" --store "$S2" recover) || rc=$?
echo "$out" | grep -q 'status=404 error=unknown_store' || fail "unknown store: $out"
[ "$(attempts_of alice)" = 0 ] || fail "unknown store must not count"

# Add a second store under the same password.
out=$(probe "$TOK" --account alice --password "$PW" --key "$K2" --store "$S2" add-store) || fail "add-store: $out"
out=$(probe "$TOK" --account alice --password "$PW" --store "$S2" recover) || fail "recover S2: $out"
[ "${out%% *}" = "K=$K2" ] || fail "S2 gave: $out"

# A password change that would swap a store's k_pub is refused, and the
# old password keeps working.
rc=0; out=$(probe "$TOK" --account alice --password "$PW" --new-password evil --tamper passwd) || rc=$?
echo "$out" | grep -q 'status=400 error=bad_request' || fail "k_pub swap in passwd: $out"
out=$(probe "$TOK" --account alice --password "$PW" --store "$S1" recover) || fail "after refused passwd: $out"

# Change the password: the old one stops working, both stores follow.
PW2='new password 2'
out=$(probe "$TOK" --account alice --password "$PW" --new-password "$PW2" passwd) || fail "passwd: $out"
rc=0; out=$(probe "$TOK" --account alice --password "$PW" --store "$S1" recover) || rc=$?
[ $rc = 2 ] || fail "old password after passwd: $rc $out"
out=$(probe "$TOK" --account alice --password "$PW2" --store "$S1" recover) || fail "new pw S1: $out"
[ "${out%% *}" = "K=$K1" ] || fail "S1 after passwd: $out"
out=$(probe "$TOK" --account alice --password "$PW2" --store "$S2" recover) || fail "new pw S2: $out"
[ "${out%% *}" = "K=$K2" ] || fail "S2 after passwd: $out"

# Generation reports: the highest signed one is kept and verifies.
out=$(probe "$TOK" --account alice --key "$K1" --store "$S1" --gen 5 generation) || fail "gen 5: $out"
echo "$out" | grep -q '^kept=5 verified$' || fail "gen 5: $out"
out=$(probe "$TOK" --account alice --key "$K1" --store "$S1" --gen 3 generation) || fail "gen 3: $out"
echo "$out" | grep -q '^generation=5$' || fail "older report must not win: $out"
# A report signed with another store's K is refused.
rc=0; out=$(probe "$TOK" --account alice --key "$K2" --store "$S1" --gen 9 generation) || rc=$?
echo "$out" | grep -q 'status=401 error=bad_proof' || fail "foreign K report: $out"

# Rearm of a live record with the 64-digit key; a bad K proof is refused.
rc=0; out=$(probe "$TOK" --account alice --key "$K1" --store "$S1" --new-password x --fast-wrong rearm) || rc=$?
echo "$out" | grep -q 'status=401 error=bad_proof' || fail "bad K proof: $out"
PW3='third'
out=$(probe "$TOK" --account alice --key "$K1" --store "$S1" --new-password "$PW3" rearm) || fail "rearm: $out"
out=$(probe "$TOK" --account alice --password "$PW3" --store "$S1" recover) || fail "after rearm: $out"
[ "${out%% *}" = "K=$K1" ] || fail "rearm recover: $out"

# Audit trail: the attempts with their outcomes and source address.
out=$(probe "$TOK" --account alice audit) || fail "audit: $out"
echo "$out" | grep -q '^recover wrong_password 127.0.0.1$' || fail "audit lacks wrong_password: $out"
echo "$out" | grep -q '^recover ok 127.0.0.1$' || fail "audit lacks ok: $out"
echo "$out" | grep -q '^recover attempt 127.0.0.1$' || fail "audit lacks attempt: $out"
echo "$out" | grep -q '^rearm ok' || fail "audit lacks rearm: $out"

# Delete: the record is gone.
out=$(probe "$TOK" --account alice --password "$PW3" delete) || fail "delete: $out"
rc=0; out=$(probe "$TOK" --account alice --password "$PW3" --store "$S1" recover) || rc=$?
echo "$out" | grep -q 'status=404 error=unknown' || fail "after delete: $out"

# Metrics saw the guesses and the HSM evaluations.
m=$(curl -s "$URL/metrics")
echo "$m" | grep -q '^vaultsrv_guesses_total [1-9]' || fail "metrics guesses: $m"
ev=$(echo "$m" | sed -n 's/^vaultsrv_hsm_evaluations_total //p')
[ "$ev" = "$(evaluations)" ] || fail "metrics evaluations $ev != log $(evaluations)"

vs_stop
# Neither the password nor K appears in the database, token or logs.
for secret in "$PW" "$PW2" "$PW3" "$K1" "$K2" "$PIN"; do
	if grep -r -a -F -q -e "$secret" "$T/vault.db"* "$T/tokens" "$T/server.log"; then
		fail "a secret value appears on disk or in the log"
	fi
done
echo "51-vault-protocol: ok"
