#!/bin/bash
# 71-etcd-storm: 30 concurrent wrong guesses on one account, spread over
# three vaultsrv replicas sharing etcd: exactly 10 are counted (in etcd,
# in the audit trail) and reach an HSM exactly 10 times in all; the
# account is then locked through every replica and its tombstone holds no
# wrapped key.
. "$top_srcdir/tests/integration/etcd-lib.sh"

ev_setup 3
for i in 1 2 3; do ev_replica_start $i; done
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

VT=$(ev_token 1 victim)
out=$(rprobe 1 "$VT" --account victim --password 'victim pw' --key "$K" --store "$S" register) ||
	fail "register: $out"
ev0=$(ev_evaluations)
pids=""
i=0
while [ $i -lt 30 ]; do
	rprobe $((1 + i % 3)) "$VT" --account victim --password "guess $i" --store "$S" \
		--fast-wrong recover >"$T/guess.$i" 2>&1 &
	pids="$pids $!"
	i=$((i + 1))
done
for p in $pids; do wait "$p" || true; done
wrong=$(cat "$T"/guess.* | grep -c 'error=wrong_password' || true)
locked=$(cat "$T"/guess.* | grep -c 'error=locked' || true)
[ $((wrong + locked)) = 30 ] || fail "unexpected answers: $(cat "$T"/guess.* | sort | uniq -c)"
[ "$wrong" -le 10 ] || fail "$wrong wrong_password answers: more than the budget"
[ "$(ev_attempts_of victim)" = 10 ] || fail "etcd counted $(ev_attempts_of victim), not 10"
[ $(( $(ev_evaluations) - ev0 )) = 10 ] ||
	fail "HSMs evaluated $(( $(ev_evaluations) - ev0 )) times, not 10"
n=$(rprobe 2 "$VT" --account victim audit | grep -c '^recover attempt ' || true)
[ "$n" = 10 ] || fail "audit shows $n attempts, not 10"
for i in 1 2 3; do
	rc=0; out=$(rprobe $i "$VT" --account victim --password 'victim pw' --store "$S" recover) || rc=$?
	[ $rc = 3 ] || fail "victim not locked at replica $i: $out"
done
[ $(( $(ev_evaluations) - ev0 )) = 10 ] || fail "a locked account reached an HSM"
[ "$(ev_state_of victim)" = 1 ] && [ "$(ev_blob_len_of victim)" = 0 ] ||
	fail "no tombstone in etcd"
ev_replicas_stop
echo "71-etcd-storm: ok"
