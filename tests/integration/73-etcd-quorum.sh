#!/bin/bash
# 73-etcd-quorum: with two of three etcd members stopped the cluster has
# no quorum: every replica answers 503 "unavailable" to what needs the
# store, counts nothing and evaluates nothing (never a stale counter);
# when the members return, service resumes with the counter as it was.
. "$top_srcdir/tests/integration/etcd-lib.sh"

EV_TIMEOUT_MS=1000
ev_setup 2
for i in 1 2; do ev_replica_start $i; done
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

AT=$(ev_token 1 alice)
out=$(rprobe 1 "$AT" --account alice --password 'alice pw' --key "$K" --store "$S" register) ||
	fail "register: $out"
rc=0; rprobe 2 "$AT" --account alice --password x --store "$S" --fast-wrong recover >/dev/null || rc=$?
[ $rc = 2 ] || fail "wrong guess: $rc"
[ "$(ev_attempts_of alice)" = 1 ] || fail "counted $(ev_attempts_of alice)"
ev0=$(ev_evaluations)
B1=$(ev_token 1 bob1)
B2=$(ev_token 2 bob2)

ev_etcd_kill 1 TERM
ev_etcd_kill 2 TERM
for i in 1 2; do
	rc=0; out=$(rprobe $i "$AT" --account alice --password x --store "$S" --fast-wrong recover) || rc=$?
	[ "$out" = "status=503 error=unavailable" ] || fail "replica $i without quorum: $rc $out"
	rc=0; out=$(rprobe $i "$AT" --account alice --password 'alice pw' --store "$S" recover) || rc=$?
	[ "$out" = "status=503 error=unavailable" ] || fail "replica $i without quorum: $rc $out"
	eval "BT=\$B$i"
	rc=0; out=$(rprobe $i "$BT" --account "bob$i" --password 'b' --key "$K" --store "$S" register) || rc=$?
	[ "$out" = "status=503 error=unavailable" ] || fail "register without quorum: $rc $out"
done
[ $(( $(ev_evaluations) - ev0 )) = 0 ] || fail "an HSM evaluated without a counted attempt"
grep -q 'store unavailable' "$T/r1/server.log" || fail "replica 1 did not log the outage"

ev_etcd_member_start 1 existing
ev_etcd_member_start 2 existing
ev_etcd_wait_healthy
[ "$(ev_attempts_of alice)" = 1 ] || fail "the outage changed the counter: $(ev_attempts_of alice)"
out=$(rprobe 2 "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover after the quorum returned: $out"
[ "$out" = "K=$K attempts_left_at_start=8" ] || fail "after the outage: $out"
ev_replicas_stop
echo "73-etcd-quorum: ok"
