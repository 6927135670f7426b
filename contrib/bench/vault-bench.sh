#!/bin/sh
# vault-bench.sh - the vault benchmark in one command: makes a SoftHSM
# token (own SOFTHSM2_CONF) and a vaultsrv in a temp dir on a free
# 127.0.0.1 port, mints one account token per client, runs vault_bench
# (client-side cost, bare HSM rate, concurrent recoveries over HTTP) and
# always stops the server and removes the dir (trap).
#
# usage: vault-bench.sh [--clients N] [--server-threads N] [vault_bench
#        options...]   (see vault_bench --help; docs/benchmarks.md)
# Environment: VAULTSRV, VAULT_BENCH (the two programs; default: in the
# build tree given by BUILDDIR or the current directory), SOFTHSM_MODULE.
# `make bench-vault` in a build directory sets them.
set -eu

BUILDDIR=${BUILDDIR:-.}
VAULTSRV=${VAULTSRV:-$BUILDDIR/vaultsrv/vaultsrv}
VAULT_BENCH=${VAULT_BENCH:-$BUILDDIR/contrib/bench/vault_bench}
HSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
CLIENTS=16
SERVER_THREADS=4 # vaultsrv's default

die() { echo "vault-bench: $*" >&2; exit 1; }

# Our options first; the rest goes to vault_bench as it is.
while [ $# -gt 0 ]; do
	case "$1" in
	--clients) [ $# -ge 2 ] || die "--clients needs a number"
		CLIENTS=$2; shift 2 ;;
	--server-threads) [ $# -ge 2 ] || die "--server-threads needs a number"
		SERVER_THREADS=$2; shift 2 ;;
	*) break ;;
	esac
done
case "$CLIENTS" in ''|*[!0-9]*) die "bad --clients '$CLIENTS'" ;; esac
case "$SERVER_THREADS" in ''|*[!0-9]*) die "bad --server-threads" ;; esac
[ "$CLIENTS" -ge 1 ] || die "--clients must be at least 1"

[ -x "$VAULTSRV" ] || die "vaultsrv not found at '$VAULTSRV' (build it, or set VAULTSRV)"
[ -x "$VAULT_BENCH" ] || die "vault_bench not found at '$VAULT_BENCH' (make -C BUILD bench-vault builds it)"
[ -e "$HSM_MODULE" ] || die "no PKCS#11 module at '$HSM_MODULE' (apt-get install softhsm2)"
command -v softhsm2-util >/dev/null 2>&1 || die "softhsm2-util not installed"
command -v curl >/dev/null 2>&1 || die "curl not installed"

T=""
SRV_PID=""
cleanup() {
	rc=$?
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
	if [ "$rc" != 0 ] && [ -n "$T" ] && [ -f "$T/server.log" ]; then
		echo "--- vaultsrv log (tail) ---" >&2
		tail -n 20 "$T/server.log" >&2
	fi
	[ -n "$T" ] && rm -rf "$T"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

T=$(mktemp -d "${TMPDIR:-/tmp}/vault-bench.XXXXXX")
umask 077
mkdir "$T/tokens"
printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T" >"$T/softhsm2.conf"
SOFTHSM2_CONF="$T/softhsm2.conf"
export SOFTHSM2_CONF
PIN=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
SO_PIN=$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
LABEL=vbench
softhsm2-util --init-token --free --label "$LABEL" --pin "$PIN" \
	--so-pin "$SO_PIN" >/dev/null || die "softhsm2-util --init-token failed"
printf '%s\n' "$PIN" >"$T/pin"

write_conf() {
	cat >"$T/vaultsrv.conf" <<EOC
# vault-bench configuration (defaults but for the paths)
listen = 127.0.0.1:$PORT
pkcs11_module = $HSM_MODULE
token_label = $LABEL
pin_file = $T/pin
db = $T/vault.db
threads = $SERVER_THREADS
log_level = warn
EOC
}

pick_port() {
	while :; do
		PORT=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom | tr -d ' ') % 40000 ))
		if ! ss -Hltn "sport = :$PORT" 2>/dev/null | grep -q .; then
			break
		fi
	done
	URL="http://127.0.0.1:$PORT"
}

pick_port
write_conf
"$VAULTSRV" init --config "$T/vaultsrv.conf" >"$T/init.out" 2>&1 ||
	die "vaultsrv init: $(cat "$T/init.out")"

# One token per client; tokens are secrets: a 0600 file, never argv.
i=0
: >"$T/bench-tokens"
while [ $i -lt "$CLIENTS" ]; do
	acct=$(printf 'bench%03d' $i)
	tok=$("$VAULTSRV" token --config "$T/vaultsrv.conf" --account "$acct") ||
		die "vaultsrv token failed"
	printf '%s %s\n' "$acct" "$tok" >>"$T/bench-tokens"
	i=$((i + 1))
done

# Start, retrying on another port if this one was taken meanwhile.
tries=0
while :; do
	"$VAULTSRV" serve --config "$T/vaultsrv.conf" >>"$T/server.log" 2>&1 &
	SRV_PID=$!
	i=0
	while [ $i -lt 100 ]; do
		curl -s -o /dev/null "$URL/healthz" && break
		kill -0 "$SRV_PID" 2>/dev/null || break
		sleep 0.1
		i=$((i + 1))
	done
	if curl -s -o /dev/null "$URL/healthz"; then
		break
	fi
	kill -TERM "$SRV_PID" 2>/dev/null || true
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
	tries=$((tries + 1))
	[ $tries -lt 3 ] || die "vaultsrv did not start"
	pick_port
	write_conf
done

cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
echo "vault benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "machine: $(nproc) CPUs ($cpu), $(uname -sr)"
echo "vaultsrv: threads=$SERVER_THREADS (= HSM sessions), SoftHSM $(softhsm2-util --version 2>/dev/null || echo '?'), plain HTTP on 127.0.0.1"
# The figures mean little on a busy machine: say how busy it was.
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo

"$VAULT_BENCH" --url "$URL" --tokens "$T/bench-tokens" \
	--pkcs11-module "$HSM_MODULE" --token-label "$LABEL" \
	--pin-file "$T/pin" --server-pid "$SRV_PID" --clients "$CLIENTS" "$@"
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
