#!/bin/bash
# 78-etcd-epochs: master key rotation with three replicas over a 3-member
# etcd cluster (issue #7.3). An `etcdctl snapshot save` is taken, then
# `vaultsrv rotate` runs while traffic goes through every replica; after
# it, counters and passwords are intact and every blob in etcd is under
# the new epoch. The snapshot is restored into a new cluster and a
# replica pointed at it: every request on the old records fails with a
# clear 503 and no HSM evaluates anything = no guess.
#
# KEY CEREMONY STAND-IN: the replicas share one SoftHSM token directory
# (a copy of replica 1's), so the new master key made by the rotation is in
# every replica's HSM before it becomes current, and the old one is gone
# from all of them when it is destroyed. With separate HSMs, the ceremony
# hands the new key over in epoch_prepare() (vaultsrv/epoch.h).
. "$top_srcdir/tests/integration/etcd-lib.sh"

ev_setup 3
mkdir "$T/shared"
cp -a "$T/r1/tokens/." "$T/shared/"
for i in $REPLICAS; do
	printf 'directories.tokendir = %s/shared\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T" >"$T/r$i/softhsm2.conf"
done
for i in $REPLICAS; do ev_replica_start $i; done
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=78787878787878780000000000000078

# blob of a record in etcd: u32 length at offset 6, bytes from 10
blob_head() { # account -> "LEN HEX6"
	ev_etcdctl get "$ETCD_PREFIX/a/$1" --print-value-only >"$T/rec.bin"
	echo "$(od -An -tu4 -j6 -N4 "$T/rec.bin" | tr -d ' ') $(od -An -tx1 -j10 -N6 "$T/rec.bin" | tr -d ' \n')"
}

users="u1 u2 u3 u4 u5 u6"
for u in $users; do
	eval "TOK_$u=\$(ev_token 1 $u)"
	eval "rprobe 2 \"\$TOK_$u\" --account $u --password pw-$u --key $K --store $S register" \
		>/dev/null || fail "register $u"
done
for g in 1 2; do
	rprobe 3 "$TOK_u1" --account u1 --password "x$g" --store $S --fast-wrong recover >/dev/null 2>&1 &&
		fail "wrong password accepted"
done
for g in 1 2 3; do
	rprobe 1 "$TOK_u2" --account u2 --password "y$g" --store $S --fast-wrong recover >/dev/null 2>&1 &&
		fail "wrong password accepted"
done
set -- $(blob_head u3)
[ $(( $1 % 8 )) = 0 ] || fail "a blob before any rotation must be bare: $*"

# The snapshot an attacker would restore later.
first=${ETCD_ENDPOINTS%%,*}
"$ETCDCTL_BIN" --endpoints="$first" snapshot save "$T/pre.snap" >"$T/snap.out" 2>&1 ||
	fail "snapshot save: $(cat "$T/snap.out")"

traffic() {
	j=0
	while [ ! -e "$T/stop" ] && [ $j -lt 6 ]; do
		r=$((1 + j % 3))
		for u in u3 u4; do
			eval "rprobe $r \"\$TOK_$u\" --account $u --password pw-$u --store $S recover" \
				>>"$T/traffic.ok" 2>>"$T/traffic.err" ||
				echo "FAIL recover $u at $r" >>"$T/traffic.bad"
		done
		rc=0
		rprobe $r "$TOK_u5" --account u5 --password "w$j" --store $S --fast-wrong recover \
			>>"$T/traffic.wrong" 2>&1 || rc=$?
		case $rc in
		2) echo counted >>"$T/u5.count" ;;
		*) echo "FAIL wrong guess at $r rc=$rc" >>"$T/traffic.bad" ;;
		esac
		tok=$(ev_token 1 "n$j")
		rprobe $r "$tok" --account "n$j" --password "pw-n$j" --key $K --store $S register \
			>/dev/null 2>>"$T/traffic.err" || echo "FAIL register n$j at $r" >>"$T/traffic.bad"
		echo "n$j" >>"$T/registered"
		j=$((j + 1))
	done
}
traffic &
TP=$!
sleep 0.5
out=$(ev_rsrv 1 rotate --grace 2) || fail "rotate: $out"
echo "$out"
echo "$out" | grep -q '^epoch 1 -> 2: ' || fail "rotate said: $out"
touch "$T/stop"
wait $TP || true
[ ! -s "$T/traffic.bad" ] || fail "traffic failed during the rotation: $(cat "$T/traffic.bad") $(tail -5 "$T/traffic.err")"
[ -s "$T/traffic.ok" ] || fail "no traffic during the rotation"
for i in $REPLICAS; do
	ev_rsrv $i rotate --status >"$T/status.$i" || fail "status at $i"
	grep -q '^epoch 2 ' "$T/status.$i" && grep -qx 'token holds 2' "$T/status.$i" ||
		fail "replica $i: $(cat "$T/status.$i")"
done
for u in $users $(cat "$T/registered"); do
	set -- $(blob_head "$u")
	[ $(( $1 % 8 )) = 6 ] && [ "$2" = 564500000002 ] || fail "$u not under epoch 2: $*"
done
[ "$(ev_attempts_of u1)" = 2 ] || fail "u1: $(ev_attempts_of u1) attempts, want 2"
[ "$(ev_attempts_of u2)" = 3 ] || fail "u2: $(ev_attempts_of u2) attempts, want 3"
wrong=$(wc -l <"$T/u5.count")
[ "$(ev_attempts_of u5)" = "$wrong" ] || fail "u5: $(ev_attempts_of u5) counted, $wrong wrong guesses"
for u in $users $(cat "$T/registered"); do
	eval "tok=\${TOK_$u:-}"
	[ -n "$tok" ] || tok=$(ev_token 1 "$u")
	out=$(rprobe 3 "$tok" --account "$u" --password "pw-$u" --store $S recover) ||
		fail "recover $u after the rotation: $out"
	case "$out" in K=$K*) ;; *) fail "$u: wrong K: $out" ;; esac
done
ev_replicas_stop

# Restore the pre-rotation snapshot into a new one-member cluster.
ev_free_port
NC=$EV_PORT
ev_free_port
NP=$EV_PORT
"$ETCDCTL_BIN" snapshot restore "$T/pre.snap" --name n1 --data-dir "$T/restored" \
	--initial-cluster "n1=http://127.0.0.1:$NP" \
	--initial-advertise-peer-urls "http://127.0.0.1:$NP" \
	--initial-cluster-token "vt-restored-$$" >"$T/restore.out" 2>&1 ||
	fail "snapshot restore: $(cat "$T/restore.out")"
"$ETCD_BIN" --name n1 --data-dir "$T/restored" \
	--listen-client-urls "http://127.0.0.1:$NC" \
	--advertise-client-urls "http://127.0.0.1:$NC" \
	--listen-peer-urls "http://127.0.0.1:$NP" \
	--initial-advertise-peer-urls "http://127.0.0.1:$NP" \
	--initial-cluster "n1=http://127.0.0.1:$NP" \
	--initial-cluster-state existing --log-level warn >>"$T/etcd-restored.log" 2>&1 &
ETCD_N=$((ETCD_N + 1))
eval "E_PID_$ETCD_N=$!"
OLD_ENDPOINTS=$ETCD_ENDPOINTS
ETCD_ENDPOINTS="http://127.0.0.1:$NC"
ev_etcd_wait_healthy
[ "$(ev_attempts_of u1)" = 2 ] || fail "the restored snapshot is not the old one"
sed -i "s|^store = etcd:$OLD_ENDPOINTS?|store = etcd:$ETCD_ENDPOINTS?|" "$T/r2/vaultsrv.conf"
grep -q "^store = etcd:$ETCD_ENDPOINTS?" "$T/r2/vaultsrv.conf" || fail "config not rewritten"
ev_replica_start 2
ev0=$(ev_evaluations)
for u in u3 u1; do
	rc=0
	out=$(eval "rprobe 2 \"\$TOK_$u\" --account $u --password pw-$u --store $S recover") || rc=$?
	[ "$out" = "status=503 error=key_unavailable" ] ||
		fail "restored $u, right password: rc=$rc $out"
	rc=0
	out=$(eval "rprobe 2 \"\$TOK_$u\" --account $u --password bad --store $S --fast-wrong recover") || rc=$?
	[ "$out" = "status=503 error=key_unavailable" ] ||
		fail "restored $u, wrong password: rc=$rc $out"
done
[ "$(ev_evaluations)" = "$ev0" ] ||
	fail "the HSM evaluated $(( $(ev_evaluations) - ev0 )) times on a restored snapshot"
grep -q "the store was restored from a copy older than a rotation" "$T/r2/server.log" ||
	fail "no warning about the restored store in replica 2's log"
ev_replicas_stop
echo "78-etcd-epochs: ok"
