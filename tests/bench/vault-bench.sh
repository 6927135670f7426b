#!/bin/bash
# vault-bench.sh - benchmark of vaultsrv over a fresh SoftHSM token: the
# bare HSM evaluation rate (1 and 2 threads), then recoveries/s and
# latency with CLIENTS (16) concurrent clients for SECONDS (10).
# Run from a build dir after `make check` (or make the two programs):
#   top_srcdir=.. top_builddir=. bash ../tests/bench/vault-bench.sh
: "${top_srcdir:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${top_builddir:=$top_srcdir}"
export top_srcdir top_builddir
. "$top_srcdir/tests/integration/vault-lib.sh"
CLIENTS=${CLIENTS:-16}
SECONDS_RUN=${SECONDS:-10}
HSMB="$top_builddir/tests/bench/hsm_bench"
[ -x "$HSMB" ] || skip "hsm_bench not built"

vs_setup "threads = 4
connection_limit = 512"
sed -i 's/^log_level = info/log_level = warn/; /^evaluation_log/d' "$CONF"
vs_init
echo "== bare HSM (SoftHSM $(softhsm2-util --version)), $(nproc) cores"
for n in 1 2; do
	"$HSMB" "$HSM_MODULE" "$LABEL" "$T/pin" "$SECONDS_RUN" "$n"
done
i=0
while [ $i -lt "$CLIENTS" ]; do
	vs_token "bench$i" >>"$T/tokens.txt"
	i=$((i + 1))
done
vs_start
echo "== recover over HTTP, $CLIENTS clients (client EC work included, Argon2 not)"
"$PROBE" --url "$URL" --tokens "$T/tokens.txt" --clients "$CLIENTS" \
	--seconds "$SECONDS_RUN" bench
vs_stop
