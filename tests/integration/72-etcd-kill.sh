#!/bin/bash
# 72-etcd-kill: during a storm of 30 wrong guesses over three replicas,
# one replica and one etcd member are killed with SIGKILL. No guess is
# granted beyond the budget: etcd counts exactly 10, the HSMs evaluated at
# most as many as were counted (an attempt counted by a dying replica is
# spent, never evaluated twice). The surviving replicas keep serving
# through the two surviving members, and the dead ones rejoin.
. "$top_srcdir/tests/integration/etcd-lib.sh"

ev_setup 3
for i in 1 2 3; do ev_replica_start $i; done
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

VT=$(ev_token 1 victim)
out=$(rprobe 2 "$VT" --account victim --password 'victim pw' --key "$K" --store "$S" register) ||
	fail "register: $out"
ev0=$(ev_evaluations)
pids=""
i=0
while [ $i -lt 30 ]; do
	rprobe $((1 + i % 3)) "$VT" --account victim --password "guess $i" --store "$S" \
		--fast-wrong recover >"$T/guess.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
	if [ $i = 8 ]; then
		ev_replica_kill 1 KILL
		ev_etcd_kill 3 KILL
	fi
done
for p in $pids; do wait "$p" || true; done

# Still 10, never more; evaluations never above the count.
counted=$(ev_attempts_of victim)
evals=$(( $(ev_evaluations) - ev0 ))
wrong=$(cat "$T"/guess.* | grep -c 'error=wrong_password' || true)
[ "$counted" = 10 ] || fail "etcd counted $counted, not 10 ($(cat "$T"/guess.* | sort | uniq -c))"
[ "$evals" -le 10 ] || fail "HSMs evaluated $evals times for 10 counted attempts"
[ "$wrong" -le "$evals" ] || fail "$wrong wrong_password answers for $evals evaluations"
for i in 2 3; do
	rc=0; out=$(rprobe $i "$VT" --account victim --password 'victim pw' --store "$S" recover) || rc=$?
	[ $rc = 3 ] || fail "victim not locked at replica $i: $out"
done
[ $(( $(ev_evaluations) - ev0 )) = "$evals" ] || fail "a locked account reached an HSM"

# The rest serves a fresh account through two etcd members.
AT=$(ev_token 3 alice)
out=$(rprobe 2 "$AT" --account alice --password 'alice pw' --key "$K" --store "$S" register) ||
	fail "register with a member down: $out"
out=$(rprobe 3 "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover with a member down: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover: $out"

# The dead rejoin: the member catches up, the replica serves.
ev_etcd_member_start 3 existing
ev_etcd_wait_healthy
ev_replica_start 1
out=$(rprobe 1 "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover through the restarted replica: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "after restart: $out"
ETCD_ENDPOINTS_ALL=$ETCD_ENDPOINTS
ETCD_ENDPOINTS=http://127.0.0.1:$E_CPORT_3
[ "$(ev_attempts_of victim)" = 10 ] || fail "the restarted member has another count"
ETCD_ENDPOINTS=$ETCD_ENDPOINTS_ALL
ev_replicas_stop
echo "72-etcd-kill: ok"
