#!/bin/bash
# 70-etcd-replicas: three vaultsrv replicas over one 3-member etcd cluster
# are one vault. A password registered through one recovers through the
# others; wrong guesses through one are counted for all; a token minted
# with one replica's keys is accepted by the others; generation reports
# and the audit trail are shared; a tombstone made through one is locked
# everywhere. Replica keys: by the key ceremony (etcd-lib.sh, ev_ceremony).
. "$top_srcdir/tests/integration/etcd-lib.sh"

ev_setup 3
for i in 1 2 3; do ev_replica_start $i; done
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

# A token from replica 2's keys, used at 1 and 3.
AT=$(ev_token 2 alice)
out=$(rprobe 1 "$AT" --account alice --password 'alice pw' --key "$K" --store "$S" register) ||
	fail "register through replica 1: $out"
ev0=$(ev_evaluations)
out=$(rprobe 3 "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover through replica 3: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover through 3: $out"
[ "$(ev_attempts_of alice)" = 0 ] || fail "success must reset the counter"

# Wrong guesses through 1 and 2 are one budget, seen by 3.
rc=0; out=$(rprobe 1 "$AT" --account alice --password x --store "$S" --fast-wrong recover) || rc=$?
[ "$out" = "status=401 error=wrong_password attempts_left=9" ] || fail "guess at 1: $out"
rc=0; out=$(rprobe 2 "$AT" --account alice --password y --store "$S" --fast-wrong recover) || rc=$?
[ "$out" = "status=401 error=wrong_password attempts_left=8" ] || fail "guess at 2: $out"
[ "$(ev_attempts_of alice)" = 2 ] || fail "etcd counted $(ev_attempts_of alice), not 2"
out=$(rprobe 3 "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover at 3 after guesses: $out"
[ "$out" = "K=$K attempts_left_at_start=7" ] || fail "3 does not see the guesses: $out"
[ $(( $(ev_evaluations) - ev0 )) = 4 ] ||
	fail "HSM evaluations $(( $(ev_evaluations) - ev0 )), want 4"

# A token minted with replica 1's keys, for a new account, at 2 and 3;
# a token from another vault is refused by every replica.
BT=$(ev_token 1 bob)
out=$(rprobe 2 "$BT" --account bob --password 'bob pw' --key "$K" --store "$S" register) ||
	fail "register bob at 2: $out"
out=$(rprobe 3 "$BT" --account bob --password 'bob pw' --store "$S" recover) ||
	fail "recover bob at 3: $out"
for i in 1 2 3; do
	eval "u=\$R_URL_$i"
	code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
		-H "Authorization: Bearer ${BT%.*}.AAAA" --data '{"account":"bob"}' "$u/v1/audit")
	[ "$code" = 401 ] || fail "replica $i took a forged token: $code"
done

# Generation reports are shared.
out=$(rprobe 1 "$AT" --account alice --key "$K" --store "$S" --gen 41 generation) ||
	fail "generation at 1: $out"
out=$(rprobe 3 "$AT" --account alice --key "$K" --store "$S" --gen 7 generation) ||
	fail "generation at 3: $out"
echo "$out" | grep -q 'generation=41' || fail "3 does not keep the highest: $out"

# The audit trail: 3 sees what 1 and 2 did.
n=$(rprobe 3 "$AT" --account alice audit | grep -c '^recover attempt ' || true)
[ "$n" = 4 ] || fail "audit through 3 shows $n attempts, want 4"

# Lock alice through 1 and 2 alternately; locked at 3, tombstone in etcd.
i=0
while [ $i -lt 10 ]; do
	r=$((1 + i % 2))
	rc=0; rprobe $r "$AT" --account alice --password "g$i" --store "$S" --fast-wrong recover >/dev/null || rc=$?
	i=$((i + 1))
done
rc=0; out=$(rprobe 3 "$AT" --account alice --password 'alice pw' --store "$S" recover) || rc=$?
[ $rc = 3 ] || fail "alice not locked at 3: $out"
[ "$(ev_state_of alice)" = 1 ] && [ "$(ev_blob_len_of alice)" = 0 ] ||
	fail "no tombstone in etcd: state $(ev_state_of alice)"
# The 64-digit key re-arms through another replica.
out=$(rprobe 2 "$AT" --account alice --key "$K" --store "$S" --new-password 'new pw' rearm) ||
	fail "rearm at 2: $out"
out=$(rprobe 1 "$AT" --account alice --password 'new pw' --store "$S" recover) ||
	fail "recover after rearm at 1: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "after rearm: $out"

ev_replicas_stop
echo "70-etcd-replicas: ok"
