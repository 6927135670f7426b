# etcd-lib.sh - helpers for the multi-replica vault tests (70-74), sourced
# after nothing else: a real 3-member etcd cluster on free loopback ports
# with its data dirs in the test's temp dir, and several vaultsrv replicas
# sharing it (store = etcd:...). The trap kills every member and replica
# and removes the dir, whatever happens.
#
# Replica keys: replica 1 runs `vaultsrv init` on its own token; every
# other replica gets the vault keys by the key ceremony (ev_ceremony:
# ceremony-request on the joining token, ceremony-export on replica 1,
# ceremony-import on the joiner; docs/operations.md), never by copying a
# token.
. "$top_srcdir/tests/integration/vault-lib.sh"

ETCD_BIN=${ETCD:-$(command -v etcd || true)}
ETCDCTL_BIN=${ETCDCTL:-$(command -v etcdctl || true)}
[ -n "$ETCD_BIN" ] && [ -x "$ETCD_BIN" ] ||
	skip "etcd not installed (apt-get install etcd-server)"
[ -n "$ETCDCTL_BIN" ] && [ -x "$ETCDCTL_BIN" ] ||
	skip "etcdctl not installed (apt-get install etcd-client)"
export ETCDCTL_API=3

ETCD_N=${ETCD_N:-3}
ETCD_PREFIX=vtest
# TLS to the members (74-etcd-tls.sh): scheme of the client URLs, extra
# etcd flags, etcdctl flags, and options appended to the store spec.
EV_SCHEME=${EV_SCHEME:-http}
EV_ETCD_ARGS=${EV_ETCD_ARGS:-}
EV_CTL_ARGS=${EV_CTL_ARGS:-}
EV_STORE_OPTS=${EV_STORE_OPTS:-}
REPLICAS=""

ev_port_free() {
	! ss -Htan "sport = :$1" 2>/dev/null | grep -q .
}

# Sets EV_PORT to a free port below the kernel's ephemeral range: a member that is
# stopped and restarted must find its port again, and an outgoing
# connection may take any free port of the ephemeral range meanwhile.
ev_free_port() {
	lo=$(cut -f1 /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 32768)
	[ "$lo" -gt 12000 ] || lo=32768
	while :; do
		p=$(( 10000 + $(od -An -N2 -tu2 /dev/urandom) % (lo - 10000) ))
		case " ${EV_USED_PORTS:-} " in *" $p "*) continue ;; esac
		if ev_port_free "$p"; then
			EV_USED_PORTS="${EV_USED_PORTS:-} $p"
			EV_PORT=$p
			return 0
		fi
	done
}

ev_cleanup() {
	rc=$?
	set +e
	pids=""
	for i in $REPLICAS; do
		eval "p=\${R_PID_$i:-}"
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null && pids="$pids $p"
	done
	for i in $(seq 1 $ETCD_N); do
		eval "p=\${E_PID_$i:-}"
		[ -n "$p" ] && kill -KILL "$p" 2>/dev/null && pids="$pids $p"
	done
	for p in $pids; do wait "$p" 2>/dev/null; done
	if [ "$rc" != 0 ] && [ -n "${T:-}" ]; then
		for f in "$T"/etcd*.log "$T"/r*/server.log; do
			[ -f "$f" ] || continue
			echo "--- $f (tail) ---" >&2
			tail -n 20 "$f" >&2
		done
	fi
	(exit "$rc")
	vs_cleanup
}

# Starts ETCD_N members; sets ETCD_ENDPOINTS and E_PID_i.
ev_etcd_start() {
	cluster=""
	for i in $(seq 1 $ETCD_N); do
		ev_free_port
		eval "E_CPORT_$i=$EV_PORT"
		ev_free_port
		eval "E_PPORT_$i=$EV_PORT"
		eval "cluster=\"\${cluster:+\$cluster,}e$i=http://127.0.0.1:\$E_PPORT_$i\""
	done
	ETCD_CLUSTER=$cluster
	ETCD_ENDPOINTS=""
	for i in $(seq 1 $ETCD_N); do
		eval "ETCD_ENDPOINTS=\"\${ETCD_ENDPOINTS:+\$ETCD_ENDPOINTS,}$EV_SCHEME://127.0.0.1:\$E_CPORT_$i\""
		ev_etcd_member_start "$i" new
	done
	ev_etcd_wait_healthy
}

# $1: member, $2: new|existing
ev_etcd_member_start() {
	eval "c=\$E_CPORT_$1; p=\$E_PPORT_$1"
	"$ETCD_BIN" --name "e$1" --data-dir "$T/etcd$1" \
		--listen-client-urls "$EV_SCHEME://127.0.0.1:$c" \
		--advertise-client-urls "$EV_SCHEME://127.0.0.1:$c" \
		--listen-peer-urls "http://127.0.0.1:$p" \
		--initial-advertise-peer-urls "http://127.0.0.1:$p" \
		--initial-cluster "$ETCD_CLUSTER" \
		--initial-cluster-state "${2:-new}" \
		--initial-cluster-token "vt-$$" \
		--heartbeat-interval 50 --election-timeout 500 \
		--log-level warn $EV_ETCD_ARGS >>"$T/etcd$1.log" 2>&1 &
	eval "E_PID_$1=$!"
}

ev_etcdctl() {
	"$ETCDCTL_BIN" --endpoints="$ETCD_ENDPOINTS" --dial-timeout=2s \
		--command-timeout=3s $EV_CTL_ARGS "$@"
}

ev_etcd_wait_healthy() {
	end=$(( $(date +%s) + ${1:-30} ))
	while [ "$(date +%s)" -lt $end ]; do
		if "$ETCDCTL_BIN" --endpoints="$ETCD_ENDPOINTS" --dial-timeout=1s \
			--command-timeout=1s $EV_CTL_ARGS endpoint health \
			>/dev/null 2>&1; then
			return 0
		fi
		sleep 0.2
	done
	ev_etcdctl endpoint health >&2 || true
	fail "etcd cluster did not become healthy"
}

ev_etcd_kill() { # member signal
	eval "p=\$E_PID_$1"
	kill "-${2:-KILL}" "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	eval "E_PID_$1="
}

# Writes $T/r$1/{vaultsrv.conf,softhsm2.conf} and makes the replica's own
# empty SoftHSM token ($T/r$1/tokens).
ev_replica_conf() {
	d="$T/r$1"
	mkdir -p "$d"
	ev_free_port
	port=$EV_PORT
	eval "R_PORT_$1=$port; R_URL_$1=http://127.0.0.1:$port"
	cat >"$d/vaultsrv.conf" <<EOC
# vaultsrv replica $1 (test)
listen = 127.0.0.1:$port
pkcs11_module = $HSM_MODULE
token_label = $LABEL
pin_file = $T/pin
store = etcd:$ETCD_ENDPOINTS?prefix=$ETCD_PREFIX&timeout_ms=${EV_TIMEOUT_MS:-2000}$EV_STORE_OPTS
max_attempts = 10
log_level = info
evaluation_log = $d/evaluations.log
${EV_EXTRA_CONF:-}
EOC
	printf 'directories.tokendir = %s/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
		"$d" >"$d/softhsm2.conf"
	mkdir -p "$d/tokens"
	SOFTHSM2_CONF="$d/softhsm2.conf" softhsm2-util --init-token --free \
		--label "$LABEL" --pin "$PIN" --so-pin "$SO_PIN" >/dev/null ||
		fail "softhsm2-util --init-token for replica $1"
}

# The key ceremony from replica $2 (default 1) to replica $1, whose token
# must be empty: request (its fingerprint passed on as an operator reads
# it out), export, import. Leaves $T/r$1/{request,bundle}.json and the
# commands' output in $T/r$1/ceremony.log.
ev_ceremony() { # joiner [source]
	evc_j=$1
	evc_src=${2:-1}
	evc_log="$T/r$evc_j/ceremony.log"
	rm -f "$T/r$evc_j/request.json" "$T/r$evc_j/bundle.json"
	ev_rsrv "$evc_j" ceremony-request --out "$T/r$evc_j/request.json" \
		>"$T/r$evc_j/request.out" 2>>"$evc_log" ||
		fail "ceremony-request on replica $evc_j: $(cat "$evc_log")"
	evc_fp=$(sed -n 's/^fingerprint //p' "$T/r$evc_j/request.out")
	[ -n "$evc_fp" ] || fail "ceremony-request printed no fingerprint"
	ev_rsrv "$evc_src" ceremony-export --request "$T/r$evc_j/request.json" \
		--fingerprint "$evc_fp" --out "$T/r$evc_j/bundle.json" >>"$evc_log" 2>&1 ||
		fail "ceremony-export on replica $evc_src: $(cat "$evc_log")"
	ev_rsrv "$evc_j" ceremony-import --bundle "$T/r$evc_j/bundle.json" \
		>>"$evc_log" 2>&1 ||
		fail "ceremony-import on replica $evc_j: $(cat "$evc_log")"
}

# Sets up $T, the etcd cluster, N replica configs, runs init through
# replica 1 and gives the others the keys by the ceremony.
ev_setup() { # replicas
	vs_setup
	trap ev_cleanup EXIT
	# a test's own preparation in $T before the members start (TLS)
	if command -v ev_pre_etcd >/dev/null 2>&1; then ev_pre_etcd; fi
	ev_etcd_start
	REPLICAS=$(seq 1 "$1" | tr '\n' ' ')
	for i in $REPLICAS; do ev_replica_conf "$i"; done
	ev_rsrv 1 init >"$T/init.out" 2>&1 ||
		fail "vaultsrv init on etcd: $(cat "$T/init.out")"
	for i in $REPLICAS; do
		[ "$i" = 1 ] || ev_ceremony "$i"
	done
}

ev_rsrv() { # replica args... (vaultsrv with that replica's token)
	r=$1
	shift
	SOFTHSM2_CONF="$T/r$r/softhsm2.conf" "$VAULTSRV" "$@" \
		--config "$T/r$r/vaultsrv.conf"
}

ev_token() { # replica account
	ev_rsrv "$1" token --account "$2"
}

ev_replica_start() { # replica
	SOFTHSM2_CONF="$T/r$1/softhsm2.conf" "$VAULTSRV" serve \
		--config "$T/r$1/vaultsrv.conf" >>"$T/r$1/server.log" 2>&1 &
	eval "R_PID_$1=$!"
	eval "u=\$R_URL_$1; p=\$R_PID_$1"
	i=0
	while [ $i -lt 600 ]; do
		curl -s -o /dev/null "$u/healthz" && return 0
		kill -0 "$p" 2>/dev/null || fail "replica $1 exited: $(tail -n 5 "$T/r$1/server.log")"
		sleep 0.1
		i=$((i + 1))
	done
	fail "replica $1 did not start"
}

ev_replica_kill() { # replica signal
	eval "p=\$R_PID_$1"
	kill "-${2:-KILL}" "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	eval "R_PID_$1="
}

# SIGTERM every running replica; each must exit 0 with no sanitizer report.
ev_replicas_stop() {
	for i in $REPLICAS; do
		eval "p=\${R_PID_$i:-}"
		[ -n "$p" ] || continue
		kill -TERM "$p"
		rc=0
		wait "$p" || rc=$?
		eval "R_PID_$i="
		[ "$rc" = 0 ] || fail "replica $i exited with $rc on SIGTERM"
		! grep -q 'ERROR: AddressSanitizer\|runtime error:' "$T/r$i/server.log" ||
			fail "sanitizer report in replica $i's log"
	done
}

rprobe() { # replica token args...
	eval "u=\$R_URL_$1"
	tok=$2
	shift 2
	"$PROBE" --url "$u" --token "$tok" "$@"
}

# The attempt counter of an account, read from etcd itself (the record's
# little-endian u32 at offset 2: vaultsrv/store_etcd.c).
ev_attempts_of() {
	ev_etcdctl get "$ETCD_PREFIX/a/$1" --print-value-only |
		od -An -tu4 -j2 -N4 | tr -d ' '
}

# The record's state byte (0 live, 1 locked) and wrapped-key length.
ev_state_of() {
	ev_etcdctl get "$ETCD_PREFIX/a/$1" --print-value-only |
		od -An -tu1 -j1 -N1 | tr -d ' '
}
ev_blob_len_of() {
	ev_etcdctl get "$ETCD_PREFIX/a/$1" --print-value-only |
		od -An -tu4 -j6 -N4 | tr -d ' '
}

# HSM evaluations over every replica.
ev_evaluations() {
	n=0
	for i in $REPLICAS; do
		f="$T/r$i/evaluations.log"
		[ -f "$f" ] && n=$((n + $(wc -l <"$f")))
	done
	echo "$n"
}
