#!/bin/bash
# 54-vault-crash: kill -9 of vaultsrv in the middle of a guess storm, then
# a restart while the storm goes on. The counter is committed before every
# HSM evaluation, so across the crash the HSM evaluates at most
# max_attempts (10) times and the counter never goes down.
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup
vs_init
vs_start
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=cccccccccccccccccccccccccccccccc
VT=$(vs_token victim)
probe "$VT" --account victim --password 'victim pw' --key "$K" --store "$S" register >/dev/null
ev0=$(evaluations)

storm() { # worker
	j=0
	while [ $j -lt 40 ]; do
		probe "$VT" --account victim --password "w$1.$j" --store "$S" --fast-wrong recover \
			>/dev/null 2>&1 || true
		sleep 0.1
		j=$((j + 1))
	done
}
sampler() {
	while [ ! -e "$T/storm.done" ]; do
		v=$(sqlite3 "$DB" "SELECT attempts FROM accounts WHERE account='victim'" 2>/dev/null) &&
			[ -n "$v" ] && echo "$v" >>"$T/samples"
		sleep 0.02
	done
}
sampler &
SP=$!
pids=""
for w in 1 2 3; do
	storm $w &
	pids="$pids $!"
done
EXTRA_PIDS="$pids $SP"

# Kill -9 once a few guesses are counted, then restart on the same port.
i=0
while [ "$(attempts_of victim)" -lt 3 ] && [ $i -lt 200 ]; do
	sleep 0.01
	i=$((i + 1))
done
at_kill=$(attempts_of victim)
kill -KILL "$SRV_PID"
wait "$SRV_PID" 2>/dev/null || true
SRV_PID=""
[ "$at_kill" -lt 10 ] || fail "the storm was over before the kill ($at_kill)"
sleep 0.3
vs_start
for p in $pids; do wait "$p" || true; done
touch "$T/storm.done"
wait "$SP" || true
EXTRA_PIDS=""

evals=$(( $(evaluations) - ev0 ))
echo "attempts at kill: $at_kill; evaluations over the storm: $evals"
[ "$evals" -le 10 ] || fail "the HSM evaluated $evals times for 10 allowed attempts"
[ "$(attempts_of victim)" = 10 ] || fail "final counter $(attempts_of victim)"
prev=0
while read -r v; do
	[ "$v" -ge "$prev" ] || fail "the counter went down: $prev -> $v"
	prev=$v
done <"$T/samples"
[ "$(wc -l <"$T/samples")" -gt 5 ] || fail "too few samples"
rc=0; out=$(probe "$VT" --account victim --password 'victim pw' --store "$S" recover) || rc=$?
[ $rc = 3 ] || fail "right password after the spent budget: $rc $out"
[ $(( $(evaluations) - ev0 )) -le 10 ] || fail "more evaluations after lockout"
vs_stop
echo "54-vault-crash: ok"
