#!/bin/bash
# etcd-bench.sh - recoveries/s through two vaultsrv replicas sharing a
# 3-member etcd cluster (data dirs on the same disk as the SQLite file),
# against one vaultsrv on SQLite, with the same clients (vs_probe bench:
# real blinding, unblinding and signing; Argon2 once per client). Not
# part of make check. From a build dir after `make check`:
#   top_srcdir=.. top_builddir=. bash ../tests/bench/etcd-bench.sh
# CLIENTS (16) and BENCH_SECONDS (10).
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/etcd-lib.sh"
CLIENTS=${CLIENTS:-16}
SECONDS_RUN=${BENCH_SECONDS:-10}

EV_EXTRA_CONF="threads = 4
connection_limit = 512"
ev_setup 2
for r in 1 2; do
	sed -i 's/^log_level = info/log_level = warn/; /^evaluation_log/d' \
		"$T/r$r/vaultsrv.conf"
done
i=0
while [ $i -lt "$CLIENTS" ]; do
	ev_token 1 "bench$i" >>"$T/tokens.txt"
	i=$((i + 1))
done

echo "== SQLite, one vaultsrv, $CLIENTS clients, ${SECONDS_RUN}s"
# its own token: one token holds one vault's keys
mkdir -p "$T/sq/tokens"
printf 'directories.tokendir = %s/sq/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T" >"$T/sq/softhsm2.conf"
SOFTHSM2_CONF="$T/sq/softhsm2.conf"
export SOFTHSM2_CONF
softhsm2-util --init-token --free --label "$LABEL" --pin "$PIN" \
	--so-pin "$SO_PIN" >/dev/null || fail "softhsm2-util"
CONF="$T/sq/vaultsrv.conf"
DB="$T/sq/vault.db"
vs_port
vs_write_conf "threads = 4
connection_limit = 512"
sed -i 's/^log_level = info/log_level = warn/; /^evaluation_log/d' "$CONF"
vs_init
i=0
while [ $i -lt "$CLIENTS" ]; do
	vs_token "bench$i" >>"$T/sq/tokens.txt"
	i=$((i + 1))
done
vs_start
"$PROBE" --url "$URL" --tokens "$T/sq/tokens.txt" --clients "$CLIENTS" \
	--seconds "$SECONDS_RUN" bench
vs_stop
unset SOFTHSM2_CONF

echo "== etcd (3 members, loopback), two vaultsrv replicas, $CLIENTS clients, ${SECONDS_RUN}s"
ev_replica_start 1
ev_replica_start 2
"$PROBE" --url "$R_URL_1,$R_URL_2" --tokens "$T/tokens.txt" \
	--clients "$CLIENTS" --seconds "$SECONDS_RUN" bench
echo "== etcd, one replica"
# fresh accounts: the bench registers them
ev_etcdctl del --prefix "$ETCD_PREFIX/a/" >/dev/null
ev_replica_kill 2 TERM
"$PROBE" --url "$R_URL_1" --tokens "$T/tokens.txt" \
	--clients "$CLIENTS" --seconds "$SECONDS_RUN" bench
ev_replicas_stop
