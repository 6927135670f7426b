#!/bin/bash
# vault-soak.sh - the vault under fire (issue #6.4): concurrent
# registrations, recoveries and wrong guesses against a real vaultsrv
# (SoftHSM, SQLite) while the vault is killed with SIGKILL at random moments
# and restarted, for SOAK_SECONDS (default 600). Run by `make soak-vault`
# (full length) and by tests/integration/57-vault-soak.sh (short).
#
# Actors (each a background loop; all talk to the vault through vs_probe):
#   registrars (2)  register fresh accounts; a 2xx answer is "acknowledged"
#                   and goes to acked.txt; they also recover their own
#                   acknowledged accounts now and then (right K or a
#                   transport error, nothing else).
#   guesser (1)     registers a victim, storms it with wrong passwords from
#                   3 parallel loops until every loop is told `locked`, then
#                   checks: HSM evaluations for the victim <= max_attempts,
#                   the right password is refused (423).
#   mixed (1)       owns 3 accounts (registered before the storm), alone: wrong guesses and right ones,
#                   reading the counter from the database before and after
#                   each: +1 per counted wrong guess, 0 after a success,
#                   never down otherwise; evaluations since the last success
#                   <= max_attempts.
#   sampler (1)     reads every victim's counter and state from the
#                   database every ~50 ms: never down, a locked record never
#                   live again.
#   killer (this shell) sleeps 0.3..2.2 s, kill -9, restarts, then spot
#                   checks: a random acknowledged registration recovers with
#                   its K, a random locked victim still refuses.
# At the end: one more kill -9 and restart, every acknowledged registration
# recovers with its K, every unacknowledged one is whole or absent, every
# locked victim refuses its right password, per-account evaluation counts,
# a clean SIGTERM exit, and no sanitizer report in the server log.
#
# Prints one totals line ("soak: ...") and exits 0 only when no invariant
# check failed. Environment: SOAK_SECONDS, SOAK_SEED (RANDOM seed),
# SOAK_STORE=sqlite|etcd. etcd: one replica on a 3-member cluster
# (tests/integration/etcd-lib.sh); every 4th round of the killer kills two
# members instead (no quorum: 503s) and restarts them.
STORE=${SOAK_STORE:-sqlite}
case "$STORE" in
sqlite) . "$top_srcdir/tests/integration/vault-lib.sh" ;;
etcd) . "$top_srcdir/tests/integration/etcd-lib.sh" ;;
*)
	echo "FAIL: SOAK_STORE must be sqlite or etcd, not '$STORE'" >&2
	exit 1
	;;
esac

SECS=${SOAK_SECONDS:-600}
case "$SECS" in
'' | *[!0-9]*) fail "SOAK_SECONDS must be a number of seconds" ;;
esac
MAX=10
RANDOM=${SOAK_SEED:-$$}
S=5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a

if [ "$STORE" = sqlite ]; then
	vs_setup
	vs_init
	SRVLOG="$T/server.log"
else
	ev_setup 1
	EVLOG="$T/r1/evaluations.log"
	SRVLOG="$T/r1/server.log"
fi
mkdir "$T/ev"
: >"$T/acked.txt"
: >"$T/unacked.txt"
: >"$T/locked.txt"
: >"$T/failures"

start_srv() {
	if [ "$STORE" = sqlite ]; then
		vs_start
	else
		ev_replica_start 1
		URL=$R_URL_1
		SRV_PID=$R_PID_1
	fi
	echo "$URL" >"$T/url.new"
	mv "$T/url.new" "$T/url"
}

kill_srv() {
	kill -KILL "$SRV_PID"
	wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
	R_PID_1=""
}

stop_srv() {
	if [ "$STORE" = sqlite ]; then
		vs_stop
	else
		ev_replicas_stop
		SRV_PID=""
	fi
}

# ---- shared helpers of the actors ----
# Each actor appends event words to its own file, $T/ev/<name>.
ev() { echo "$*" >>"$EVF"; }
bad() {
	echo "INVARIANT FAILED: $*" >&2
	echo "$*" >>"$T/failures"
	ev check_failed
}
ok() { ev check_ok; }

rhex() { od -An -N"$1" -tx1 /dev/urandom | tr -d ' \n'; }

# sp TOKEN ARGS...: one vs_probe run; sets RC, OUT and CLASS
# (ok | wrong | locked | unavail | conn | http:STATUS:CODE | local).
sp() {
	local tok=$1 u
	shift
	u=$(cat "$T/url")
	RC=0
	OUT=$("$PROBE" --url "$u" --token "$tok" "$@" 2>"$EVF.err") || RC=$?
	case $RC in
	0) CLASS=ok ;;
	2) CLASS=wrong ;;
	3) CLASS=locked ;;
	4)
		case "$OUT" in
		"status=503 "*) CLASS=unavail ;;
		*) CLASS=$(echo "$OUT" | sed -n 's/^status=\([0-9]*\) error=\([^ ]*\).*/http:\1:\2/p') ;;
		esac
		;;
	*)
		if grep -q 'HTTP request failed' "$EVF.err"; then
			CLASS=conn
		else
			CLASS=local
			OUT="$OUT $(cat "$EVF.err")"
		fi
		;;
	esac
	case $CLASS in
	conn) ev conn_error ;;
	unavail) ev unavailable ;;
	esac
}

# Transport trouble while the vault is down or restarting: expected.
transient() { [ "$CLASS" = conn ] || [ "$CLASS" = unavail ]; }

# record ACCOUNT: prints "attempts state" from the store once, or fails.
# etcd: the record's state byte at offset 1, the little-endian u32
# counter at offset 2 (vaultsrv/store_etcd.c).
record() {
	local v
	if [ "$STORE" = sqlite ]; then
		v=$(sqlite3 -readonly "$DB" \
			"SELECT attempts, state FROM accounts WHERE account='$1'" \
			2>/dev/null) || return 1
		[ -n "$v" ] || return 1
		echo "${v/|/ }"
	else
		v=$(ev_etcdctl get "$ETCD_PREFIX/a/$1" --print-value-only \
			2>/dev/null | od -An -tu1 -N6) || return 1
		set -- $v
		[ $# = 6 ] || return 1
		echo "$(($3 + $4 * 256 + $5 * 65536 + $6 * 16777216)) $2"
	fi
}

# counter ACCOUNT: record, retried (the server may hold a write lock or be
# recovering its WAL; etcd may have lost its quorum for a while).
counter() {
	local i=0
	while [ $i -lt 300 ]; do
		record "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	echo "? ?"
}

# evals ACCOUNT: HSM evaluations of ACCOUNT's counted attempts so far.
evals() { grep -c " evaluation attempt $1\$" "$EVLOG" 2>/dev/null || true; }

mint1() {
	if [ "$STORE" = sqlite ]; then
		"$VAULTSRV" token --config "$CONF" --account "$1" 2>>"$T/mint.err"
	else
		ev_token 1 "$1" 2>>"$T/mint.err"
	fi
}

# `vaultsrv token` while serve starts and dies meanwhile: SoftHSM now and
# then does not find the token ("no token labelled"); counted, retried.
mint() {
	local i=0
	while [ $i -lt 5 ]; do
		mint1 "$1" && return 0
		ev mint_retry
		sleep 0.2
		i=$((i + 1))
	done
	return 1
}

# recover_check ACCOUNT PW K TOKEN: a right-password recovery that must
# give back K (or meet a down vault when transient_ok is set).
recover_check() {
	sp "$4" --account "$1" --password "$2" --store "$S" recover
	case $CLASS in
	ok)
		case "$OUT" in
		"K=$3 "*) ok; ev recover_ok ;;
		*) bad "recover $1 returned another K: $OUT" ;;
		esac
		;;
	conn | unavail)
		[ "${transient_ok:-0}" = 1 ] || bad "recover $1 right after a restart: $CLASS"
		;;
	*) bad "recover $1 with its password: $CLASS $OUT" ;;
	esac
}

# ---- actors ----
registrar() { # worker
	EVF="$T/ev/registrar$1"
	local i=0 a pw K tok line
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		a="r$1-$i"
		pw="pw-$(rhex 6)"
		K=$(rhex 32)
		tok=$(mint "$a") || { bad "vaultsrv token --account $a failed"; continue; }
		sp "$tok" --account "$a" --password "$pw" --key "$K" --store "$S" register
		case $CLASS in
		ok)
			echo "$a $pw $K $tok" >>"$T/acked.txt"
			echo "$a $pw $K $tok" >>"$T/acked.$1"
			ev register_acked
			;;
		conn | unavail)
			echo "$a $pw $K $tok" >>"$T/unacked.txt"
			ev register_unacked
			sleep 0.1
			;;
		*) bad "register $a: $CLASS $OUT" ;;
		esac
		if [ $((i % 3)) = 0 ] && [ -s "$T/acked.$1" ]; then
			line=$(shuf -n 1 "$T/acked.$1")
			transient_ok=1 recover_check $line
		fi
	done
}

# One of three storm loops on a victim: wrong guesses until told locked.
storm() { # victim token loop
	EVF="$T/ev/storm$3"
	local j=0
	while [ $j -lt 60 ]; do
		[ ! -e "$T/stop" ] || return 1
		sp "$2" --account "$1" --password "wrong.$3.$j" --store "$S" --fast-wrong recover
		ev wrong_sent
		case $CLASS in
		wrong) ;;
		locked) return 0 ;;
		conn | unavail) sleep 0.2 ;;
		*) bad "wrong guess on $1: $CLASS $OUT" ;;
		esac
		j=$((j + 1))
	done
	bad "victim $1 not locked after 60 guesses of loop $3"
}

guesser() {
	EVF="$T/ev/guesser"
	local i=0 v pw K tok n c p1 p2 p3
	while [ ! -e "$T/stop" ]; do
		i=$((i + 1))
		v="v$i"
		pw="pw-$(rhex 6)"
		K=$(rhex 32)
		tok=$(mint "$v") || { bad "vaultsrv token --account $v failed"; continue; }
		sp "$tok" --account "$v" --password "$pw" --key "$K" --store "$S" register
		case $CLASS in
		ok) ;;
		conn | unavail) sleep 0.2; continue ;;
		*) bad "register victim $v: $CLASS $OUT"; continue ;;
		esac
		echo "$v" >>"$T/victims"
		storm "$v" "$tok" 1 &
		p1=$!
		storm "$v" "$tok" 2 &
		p2=$!
		storm "$v" "$tok" 3 &
		p3=$!
		# The soak ended mid-storm: an unlocked victim, not checked.
		wait $p1 && wait $p2 && wait $p3 || { wait; break; }
		n=$(evals "$v")
		if [ "$n" -le $MAX ]; then ok; else bad "victim $v: $n HSM evaluations for $MAX attempts"; fi
		c=$(counter "$v")
		if [ "${c% *}" = $MAX ]; then ok; else bad "victim $v locked with counter '$c'"; fi
		# The right password now: refused, and not evaluated.
		while :; do
			sp "$tok" --account "$v" --password "$pw" --store "$S" recover
			transient || break
			sleep 0.2
		done
		if [ "$CLASS" = locked ]; then ok; else bad "locked victim $v, right password: $CLASS $OUT"; fi
		n=$(evals "$v")
		if [ "$n" -le $MAX ]; then ok; else bad "victim $v: $n evaluations after the lock"; fi
		echo "$v $pw $K $tok" >>"$T/locked.txt"
		ev victim_locked
	done
}

# Registered before the storm; "account password K token" per line.
mixed_setup() {
	EVF="$T/ev/setup"
	local a tok pw K
	for a in m1 m2 m3; do
		tok=$(mint "$a") || fail "token for $a"
		pw="pw-$a-$(rhex 4)"
		K=$(rhex 32)
		sp "$tok" --account "$a" --password "$pw" --key "$K" --store "$S" register
		[ "$CLASS" = ok ] || fail "register $a: $CLASS $OUT"
		echo "$a $pw $K $tok" >>"$T/mixed.txt"
	done
}

mixed() {
	EVF="$T/ev/mixed"
	local a c0 c1 s1 n0 n1 tok pw K
	declare -A tokof pwof kof base
	while read -r a pw K tok; do
		tokof[$a]=$tok
		pwof[$a]=$pw
		kof[$a]=$K
		base[$a]=$(evals "$a")
	done <"$T/mixed.txt"
	while [ ! -e "$T/stop" ]; do
		a="m$((RANDOM % 3 + 1))"
		c0=$(counter "$a")
		c0=${c0% *}
		n0=$(evals "$a")
		if [ "$c0" -le $((MAX - 4)) ] && [ $((RANDOM % 3)) != 0 ]; then
			sp "${tokof[$a]}" --account "$a" --password "nope-$RANDOM" \
				--store "$S" --fast-wrong recover
			ev wrong_sent
			c1=$(counter "$a")
			s1=${c1#* }
			c1=${c1% *}
			n1=$(evals "$a")
			case $CLASS in
			wrong)
				if [ "$c1" = $((c0 + 1)) ] && [ "$n1" = $((n0 + 1)) ]; then ok; else
					bad "$a: counted wrong guess took the counter $c0 -> $c1, evaluations $n0 -> $n1"
				fi
				;;
			conn | unavail)
				if [ "$c1" -ge "$c0" ] && [ "$c1" -le $((c0 + 1)) ] &&
					[ "$n1" -le $((n0 + 1)) ]; then ok; else
					bad "$a: interrupted wrong guess took the counter $c0 -> $c1, evaluations $n0 -> $n1"
				fi
				;;
			*) bad "$a: wrong guess answered $CLASS $OUT" ;;
			esac
		else
			sp "${tokof[$a]}" --account "$a" --password "${pwof[$a]}" \
				--store "$S" recover
			c1=$(counter "$a")
			s1=${c1#* }
			c1=${c1% *}
			n1=$(evals "$a")
			case $CLASS in
			ok)
				case "$OUT" in
				"K=${kof[$a]} "*) ;;
				*) bad "$a: recover returned another K: $OUT" ;;
				esac
				if [ "$c1" = 0 ]; then ok; else bad "$a: counter $c1 after a success"; fi
				[ "$c0" = 0 ] || ev proven_reset
				ev recover_ok
				base[$a]=$n1
				;;
			conn | unavail)
				if [ "$c1" = 0 ] || { [ "$c1" -ge "$c0" ] && [ "$c1" -le $((c0 + 1)) ]; }; then ok; else
					bad "$a: interrupted right recover took the counter $c0 -> $c1"
				fi
				# A reset by an interrupted right password (the
				# proof verified, the answer was lost).
				if [ "$c1" -lt "$c0" ]; then
					ev inflight_reset
					base[$a]=$n1
				fi
				;;
			*) bad "$a: right password answered $CLASS $OUT" ;;
			esac
		fi
		if [ "$s1" = 0 ]; then ok; else bad "$a: state $s1 (locked) with fewer than $MAX wrong guesses"; fi
		if [ $((n1 - base[$a])) -le $MAX ]; then ok; else
			bad "$a: $((n1 - base[$a])) evaluations since the last success"
		fi
	done
}

# "account attempts state" lines: every victim (sqlite), the last two
# (etcd: one read per record).
sample_victims() {
	local a v
	if [ "$STORE" = sqlite ]; then
		sqlite3 -readonly -separator ' ' "$DB" \
			"SELECT account, attempts, state FROM accounts WHERE account LIKE 'v%'" \
			2>/dev/null || true
	elif [ -s "$T/victims" ]; then
		for a in $(tail -n 2 "$T/victims"); do
			v=$(record "$a") && echo "$a $v"
		done
	fi
	return 0
}

# Every victim's counter never goes down; a locked record stays locked.
sampler() {
	EVF="$T/ev/sampler"
	declare -A last lock
	local a n st
	while [ ! -e "$T/stop" ]; do
		while read -r a n st; do
			[ -n "$a" ] || continue
			if [ -n "${last[$a]:-}" ]; then
				if [ "$n" -ge "${last[$a]}" ]; then ok; else
					bad "victim $a: counter went down ${last[$a]} -> $n"
				fi
				if [ "${lock[$a]}" = 1 ] && [ "$st" != 1 ]; then
					bad "victim $a: locked, then state $st"
				fi
			fi
			last[$a]=$n
			[ "$st" = 1 ] && lock[$a]=1
			[ -n "${lock[$a]:-}" ] || lock[$a]=0
		done < <(sample_victims)
		sleep 0.05
	done
}

san_check() {
	if grep -q -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' \
		"$SRVLOG"; then
		bad "sanitizer report in the server log"
		grep -E -A5 'Sanitizer|runtime error:' "$SRVLOG" | head -40 >&2
	fi
}

# ---- the run ----
tsetup=$(date +%s)
start_srv
mixed_setup
EVF="$T/ev/killer"
registrar 1 &
PIDS="$!"
registrar 2 &
PIDS="$PIDS $!"
mixed &
PIDS="$PIDS $!"
guesser &
PIDS="$PIDS $!"
sampler &
PIDS="$PIDS $!"
EXTRA_PIDS="$PIDS"

t0=$(date +%s)
end=$((t0 + SECS))
restarts=0
round=0
outages=0
while [ "$(date +%s)" -lt $end ]; do
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	sleep 0.3
	round=$((round + 1))
	if [ "$STORE" = etcd ] && [ $((round % 4)) = 0 ]; then
		# No quorum for 1..2 s: the replica answers 503.
		m1=$((RANDOM % 3 + 1))
		m2=$((m1 % 3 + 1))
		ev_etcd_kill $m1 KILL
		ev_etcd_kill $m2 KILL
		sleep "1.$((RANDOM % 10))"
		ev_etcd_member_start $m1 existing
		ev_etcd_member_start $m2 existing
		ev_etcd_wait_healthy 60
		outages=$((outages + 1))
		continue
	fi
	kill_srv
	restarts=$((restarts + 1))
	sleep "0.$((RANDOM % 4))"
	start_srv
	san_check
	# Spot checks right after the restart (nothing kills meanwhile).
	for line in $(shuf -n 1 "$T/acked.txt" | tr ' ' ','); do
		IFS=, read -r a pw K tok <<<"$line"
		transient_ok=0 recover_check "$a" "$pw" "$K" "$tok"
		ev spot_verified
	done
	for line in $(shuf -n 1 "$T/locked.txt" | tr ' ' ','); do
		IFS=, read -r a pw K tok <<<"$line"
		sp "$tok" --account "$a" --password "$pw" --store "$S" recover
		if [ "$CLASS" = locked ]; then ok; else bad "locked $a after restart $restarts: $CLASS $OUT"; fi
	done
done
touch "$T/stop"
for p in $PIDS; do wait "$p" || true; done
EXTRA_PIDS=""
# The mixed accounts join the final check (not the spot checks: the mixed
# actor must be alone on them to read its counters).
cat "$T/mixed.txt" >>"$T/acked.txt"
t1=$(date +%s)

# ---- final checks: one more kill -9 first ----
kill_srv
restarts=$((restarts + 1))
start_srv
verify_list() { # file lane
	EVF="$T/ev/final$2"
	local a pw K tok
	while read -r a pw K tok; do
		transient_ok=0 recover_check "$a" "$pw" "$K" "$tok"
		ev final_verified
	done <"$1"
}
split -n l/2 "$T/acked.txt" "$T/acked.part."
verify_list "$T/acked.part.aa" 1 &
vp1=$!
verify_list "$T/acked.part.ab" 2 &
vp2=$!
EXTRA_PIDS="$vp1 $vp2"
wait $vp1 $vp2
EXTRA_PIDS=""
EVF="$T/ev/final"
# An unacknowledged registration is all there or not there at all.
while read -r a pw K tok; do
	sp "$tok" --account "$a" --password "$pw" --store "$S" recover
	case "$CLASS:$OUT" in
	ok:"K=$K "*) ok; ev unacked_present ;;
	http:404:unknown:*) ok; ev unacked_absent ;;
	*) bad "unacknowledged registration $a: $CLASS $OUT" ;;
	esac
done <"$T/unacked.txt"
while read -r a pw K tok; do
	sp "$tok" --account "$a" --password "$pw" --store "$S" recover
	if [ "$CLASS" = locked ]; then ok; else bad "locked $a at the end: $CLASS $OUT"; fi
	n=$(evals "$a")
	if [ "$n" -le $MAX ]; then ok; else bad "victim $a: $n evaluations in all"; fi
	c=$(counter "$a")
	# State 1 (tombstone) once its last challenge is answered or expired.
	if [ "${c% *}" = $MAX ]; then ok; else bad "victim $a at the end: counter/state '$c'"; fi
done <"$T/locked.txt"
stop_srv
san_check
t2=$(date +%s)

# ---- totals ----
cnt() { cat "$T"/ev/* 2>/dev/null | grep -c "^$1\$" || true; }
nfail=$(wc -l <"$T/failures")
echo "soak: $((t1 - t0)) s under fire (SOAK_SECONDS=$SECS; setup $((t0 - tsetup)) s, final checks $((t2 - t1)) s), store $STORE, max_attempts $MAX"
echo "soak: registers acknowledged $(cnt register_acked), verified after restarts $(cnt final_verified) of $(wc -l <"$T/acked.txt") (incl. 3 mixed accounts) + $(cnt spot_verified) spot checks; unacknowledged $(cnt register_unacked) (whole $(cnt unacked_present), absent $(cnt unacked_absent))"
echo "soak: recovers ok $(cnt recover_ok), wrong guesses sent $(cnt wrong_sent), victims locked $(cnt victim_locked), counter resets proven $(cnt proven_reset) + by an interrupted right password $(cnt inflight_reset)"
echo "soak: 503s $(cnt unavailable), connection errors $(cnt conn_error), restarts (kill -9) $restarts, etcd quorum outages $outages, HSM evaluations $(evaluations)"
echo "soak: token mints retried $(cnt mint_retry) (SoftHSM token not found while serve restarts), invariant checks run $(( $(cnt check_ok) + $(cnt check_failed) )), failed $nfail"
if [ "$nfail" != 0 ]; then
	sort "$T/failures" | uniq -c | head -20 >&2
	fail "$nfail invariant checks failed"
fi
echo "vault-soak: ok"
