# vault-lib.sh - helpers for the vault integration tests (sourced after
# lib.sh): a SoftHSM token in the test's own temp dir, a vaultsrv on a free
# 127.0.0.1 port, a trap that always stops it and removes the dir.
. "$top_srcdir/tests/integration/lib.sh"

PROBE="$top_builddir/tests/integration/vs_probe"
HSM_MODULE=${SOFTHSM_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
[ -x "$VAULTSRV" ] || skip "vaultsrv not built at $VAULTSRV"
[ -x "$PROBE" ] || skip "vs_probe not built"
command -v softhsm2-util >/dev/null 2>&1 || skip "softhsm2-util not installed"
[ -e "$HSM_MODULE" ] || skip "no PKCS#11 module at $HSM_MODULE"
command -v curl >/dev/null 2>&1 || skip "curl not installed"
command -v sqlite3 >/dev/null 2>&1 || skip "sqlite3 (CLI) not installed"

SRV_PID=""
PORT=""
SCHEME=${SCHEME:-http}
PIN=81726354
SO_PIN=99887766
LABEL=vstest

vs_cleanup() {
	rc=$?
	if [ -n "$SRV_PID" ]; then
		kill -TERM "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
	fi
	for p in ${EXTRA_PIDS:-}; do
		kill -KILL "$p" 2>/dev/null || true
	done
	if [ "$rc" != 0 ] && [ -n "${T:-}" ] && [ -f "$T/server.log" ]; then
		echo "--- server log (tail) ---" >&2
		tail -n 40 "$T/server.log" >&2
	fi
	[ -n "${T:-}" ] && rm -rf "$T"
	exit "$rc"
}

# Makes the temp dir, token and config; sets T, CONF, DB, EVLOG.
vs_setup() {
	T=$(mktemp -d "${TMPDIR:-/tmp}/vs-test.XXXXXX")
	trap vs_cleanup EXIT
	trap 'exit 99' INT TERM HUP PIPE
	mkdir "$T/tokens"
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$T" >"$T/softhsm2.conf"
	SOFTHSM2_CONF="$T/softhsm2.conf"
	export SOFTHSM2_CONF
	softhsm2-util --init-token --free --label "$LABEL" --pin "$PIN" \
		--so-pin "$SO_PIN" >/dev/null || fail "softhsm2-util --init-token"
	(umask 077 && printf '%s\n' "$PIN" >"$T/pin")
	DB="$T/vault.db"
	EVLOG="$T/evaluations.log"
	CONF="$T/vaultsrv.conf"
	vs_port
	vs_write_conf "${1:-}"
}

# A free port below the kernel's ephemeral range (32768 up by default):
# an outgoing connection of another test may take any free port of that
# range between our check and the server's bind.
vs_port() {
	while :; do
		PORT=$(( 10000 + $(od -An -N2 -tu2 /dev/urandom) % 22000 ))
		if ! ss -Htan "sport = :$PORT" 2>/dev/null | grep -q .; then
			break
		fi
	done
	URL="${SCHEME:-http}://127.0.0.1:$PORT"
}

# $1: extra config lines
vs_write_conf() {
	cat >"$CONF" <<EOC
# vaultsrv test configuration
listen = 127.0.0.1:$PORT
pkcs11_module = $HSM_MODULE
token_label = $LABEL
pin_file = $T/pin
db = $DB
max_attempts = 10
log_level = info
evaluation_log = $EVLOG
$1
EOC
}

vs_init() {
	"$VAULTSRV" init --config "$CONF" >"$T/init.out" 2>&1 ||
		fail "vaultsrv init: $(cat "$T/init.out")"
}

vs_token() { # account [ttl]
	"$VAULTSRV" token --config "$CONF" --account "$1" ${2:+--ttl "$2"}
}

vs_start() {
	tries=0
	while :; do
		"$VAULTSRV" serve --config "$CONF" >>"$T/server.log" 2>&1 &
		SRV_PID=$!
		i=0
		while [ $i -lt 300 ]; do
			if curl -s -o /dev/null ${CURL_TLS:-} "${URL}/healthz"; then
				return 0
			fi
			kill -0 "$SRV_PID" 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$SRV_PID" 2>/dev/null || true
		wait "$SRV_PID" 2>/dev/null || true
		SRV_PID=""
		tries=$((tries + 1))
		[ $tries -lt 3 ] || fail "vaultsrv did not start"
		# The port may have been taken meanwhile: pick another.
		old=$PORT
		vs_port
		sed -i "s/^listen = 127.0.0.1:$old\$/listen = 127.0.0.1:$PORT/" "$CONF"
	done
}

# Stops with SIGTERM and checks the clean exit status.
vs_stop() {
	[ -n "$SRV_PID" ] || return 0
	kill -TERM "$SRV_PID"
	rc=0
	wait "$SRV_PID" || rc=$?
	SRV_PID=""
	[ "$rc" = 0 ] || fail "vaultsrv exited with $rc on SIGTERM"
}

probe() { # token args...
	tok=$1
	shift
	"$PROBE" --url "$URL" --token "$tok" ${PROBE_TLS:-} "$@"
}

# POST path body token -> prints "STATUS BODY"
post() {
	curl -s ${CURL_TLS:-} -o "$T/resp" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $3" -H 'Content-Type: application/json' \
		--data-binary "$2" "$URL$1" >"$T/code" || echo 000 >"$T/code"
	echo "$(cat "$T/code") $(cat "$T/resp")"
}

# expect_status "STATUS BODY" status error_code
expect() {
	got_status=${1%% *}
	got_body=${1#* }
	[ "$got_status" = "$2" ] ||
		fail "expected HTTP $2 ($3), got $got_status: $got_body"
	case "$got_body" in
	*"\"error\":\"$3\""*) ;;
	*) fail "expected error '$3' in JSON, got: $got_body" ;;
	esac
}

attempts_of() { # account
	sqlite3 "$DB" "SELECT attempts FROM accounts WHERE account='$1'"
}

evaluations() {
	if [ -f "$EVLOG" ]; then wc -l <"$EVLOG" | tr -d ' '; else echo 0; fi
}
