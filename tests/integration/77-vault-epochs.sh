#!/bin/bash
# 77-vault-epochs: master key rotation on SQLite (issue #7.3). Users are
# registered, some with wrong guesses; a copy of the database is taken;
# `vaultsrv rotate` runs while traffic (right and wrong passwords, new
# registrations) goes on; a second rotation is killed with -9 twice and
# resumed. Counters and passwords survive, every live blob ends under the
# new epoch and the token holds only the newest master key. Then the copy
# taken before the rotations is put back: every request on its records
# fails with a clear 503, and the HSM evaluates nothing (evaluation log).
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup
vs_init
vs_start
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=77777777777777770000000000000077

rotate() { "$VAULTSRV" rotate --config "$CONF" "$@"; }
# live records whose blob is not under epoch $1 (bare blobs are epoch 1;
# later ones carry a 6-byte header 'V' 'E' u32)
not_under() {
	if [ "$1" = 1 ]; then
		sqlite3 "$DB" "SELECT count(*) FROM accounts WHERE state=0 AND length(blob)%8!=0"
	else
		sqlite3 "$DB" "SELECT count(*) FROM accounts WHERE state=0 AND
			(length(blob)%8!=6 OR hex(substr(blob,1,6))!='5645$(printf '%08X' "$1")')"
	fi
}

users="u01 u02 u03 u04 u05 u06 u07 u08 u09 u10"
for u in $users; do
	eval "TOK_$u=\$(vs_token $u)"
	eval "probe \"\$TOK_$u\" --account $u --password \"pw-$u\" --key $K --store $S register" \
		>/dev/null || fail "register $u"
done
# wrong guesses: u01 1, u02 2, u03 3, u04 4
n=1
for u in u01 u02 u03 u04; do
	i=0
	while [ $i -lt $n ]; do
		eval "probe \"\$TOK_$u\" --account $u --password wrong$i --store $S --fast-wrong recover" \
			>/dev/null 2>&1 && fail "a wrong password was accepted"
		i=$((i + 1))
	done
	n=$((n + 1))
done
[ "$(not_under 1)" = 0 ] || fail "blobs before any rotation must be bare (epoch 1)"
rotate --status | grep -q '^epoch 1 ' || fail "status: $(rotate --status)"
# The copy an attacker (or a careless restore) would put back later.
sqlite3 "$DB" ".backup '$T/pre.db'"

# Traffic during the rotation: right passwords on u05-u07, wrong ones on
# u08, new registrations n1, n2, ...; every answer is logged.
traffic() {
	j=0
	while [ ! -e "$T/stop" ]; do
		for u in u05 u06 u07; do
			eval "probe \"\$TOK_$u\" --account $u --password pw-$u --store $S recover" \
				>>"$T/traffic.ok" 2>>"$T/traffic.err" ||
				echo "FAIL recover $u" >>"$T/traffic.bad"
		done
		rc=0
		probe "$TOK_u08" --account u08 --password "w$j" --store $S --fast-wrong recover \
			>>"$T/traffic.wrong" 2>&1 || rc=$?
		case $rc in
		2) echo counted >>"$T/u08.count" ;;
		*) echo "FAIL wrong guess rc=$rc" >>"$T/traffic.bad" ;;
		esac
		tok=$(vs_token "n$j")
		probe "$tok" --account "n$j" --password "pw-n$j" --key $K --store $S register \
			>/dev/null 2>>"$T/traffic.err" || echo "FAIL register n$j" >>"$T/traffic.bad"
		echo "n$j" >>"$T/registered"
		j=$((j + 1))
		[ $j -lt 5 ] || break
	done
}
traffic &
TP=$!
EXTRA_PIDS="$TP"
sleep 0.5
out=$(rotate --grace 2) || fail "rotate: $out"
echo "$out"
echo "$out" | grep -q '^epoch 1 -> 2: ' || fail "rotate said: $out"
touch "$T/stop"
wait $TP || true
EXTRA_PIDS=""
[ ! -s "$T/traffic.bad" ] || fail "traffic failed during the rotation: $(cat "$T/traffic.bad") $(tail -5 "$T/traffic.err")"
[ -s "$T/traffic.ok" ] || fail "no traffic ran during the rotation"
rotate --status | grep -q '^epoch 2 ' || fail "status after: $(rotate --status)"
rotate --status | grep -qx 'token holds 2' || fail "old key kept: $(rotate --status)"
[ "$(not_under 2)" = 0 ] || fail "$(not_under 2) live blobs not under epoch 2"

# counters intact: the 1..4 wrong guesses, and u08's all counted
n=1
for u in u01 u02 u03 u04; do
	[ "$(attempts_of $u)" = $n ] || fail "$u: attempts $(attempts_of $u), want $n"
	n=$((n + 1))
done
wrong=$(wc -l <"$T/u08.count")
[ "$(attempts_of u08)" = "$wrong" ] || fail "u08: $(attempts_of u08) counted, $wrong wrong guesses"

# Second rotation, killed twice with -9 and resumed: first in the middle
# of the rewrap pass (some records moved, paced), then once every record
# is moved (in the grace period, before the epoch advances).
total=$(sqlite3 "$DB" "SELECT count(*) FROM accounts WHERE state=0")
state() { sqlite3 "$DB" "SELECT value FROM meta WHERE key='epoch'"; }
for when in mid-pass moved; do
	"$VAULTSRV" rotate --config "$CONF" --grace 3 --pace 100 >"$T/rot2.out" 2>&1 &
	RP=$!
	EXTRA_PIDS="$RP"
	i=0
	while :; do
		left=$(not_under 3)
		case "$when:$(state)" in
		mid-pass:*"next=3"*) [ "$left" -lt "$total" ] && [ "$left" -gt 0 ] && break ;;
		moved:*"next=3"*) [ "$left" = 0 ] && break ;;
		esac
		kill -0 $RP 2>/dev/null || fail "rotate ended before the kill ($when): $(cat "$T/rot2.out")"
		i=$((i + 1))
		[ $i -lt 600 ] || fail "rotate made no progress ($when)"
		sleep 0.02
	done
	kill -KILL $RP 2>/dev/null || true
	wait $RP 2>/dev/null || true
	EXTRA_PIDS=""
	st=$(rotate --status | head -1)
	case "$st" in
	"rotating 2 -> 3 "*) ;;
	*) fail "after kill -9 ($when): $st ($(cat "$T/rot2.out"))" ;;
	esac
	echo "kill -9 $when: $st, $(not_under 3) of $total live blobs left under epoch 2"
	# both epochs evaluate meanwhile
	for u in u05 u06 u09; do
		eval "probe \"\$TOK_$u\" --account $u --password pw-$u --store $S recover" \
			>/dev/null || fail "recover $u while rotating"
	done
done
out=$(rotate --grace 1) || fail "resume: $out"
echo "$out"
echo "$out" | grep -q '^epoch 2 -> 3: .*resumed' || fail "resume said: $out"
rotate --status | grep -qx 'token holds 3' || fail "old keys kept: $(rotate --status)"
[ "$(not_under 3)" = 0 ] || fail "$(not_under 3) live blobs not under epoch 3"

# Passwords and counters intact after both rotations.
for u in $users $(cat "$T/registered"); do
	eval "tok=\${TOK_$u:-}"
	[ -n "$tok" ] || tok=$(vs_token "$u")
	out=$(probe "$tok" --account "$u" --password "pw-$u" --store $S recover) ||
		fail "recover $u after rotation: $out"
	case "$out" in K=$K*) ;; *) fail "$u: wrong K: $out" ;; esac
done
[ "$(attempts_of u01)" = 0 ] || fail "a success resets the counter"

# The server noticed: retired keys gone here too, floor raised.
vs_stop

sqlite3 "$DB" ".backup '$T/post.db'"

# Put the pre-rotation copy back: no guess on any of its records.
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$T/pre.db" "$DB"
vs_start
ev0=$(evaluations)
for u in u05 u01; do
	rc=0
	out=$(eval "probe \"\$TOK_$u\" --account $u --password pw-$u --store $S recover") || rc=$?
	[ "$out" = "status=503 error=key_unavailable" ] ||
		fail "restored $u, right password: rc=$rc $out"
	rc=0
	out=$(eval "probe \"\$TOK_$u\" --account $u --password bad --store $S --fast-wrong recover") || rc=$?
	[ "$out" = "status=503 error=key_unavailable" ] ||
		fail "restored $u, wrong password: rc=$rc $out"
done
[ "$(evaluations)" = "$ev0" ] || fail "the HSM evaluated $(( $(evaluations) - ev0 )) times on a restored copy"
grep -q "the store was restored from a copy older than a rotation" "$T/server.log" ||
	fail "no warning about the restored store in the server log"
grep -q "master key epoch is not in this HSM" "$T/server.log" ||
	fail "no clear error in the server log"
# a rotation on the restored copy refuses, naming the cause
rc=0
out=$(rotate --grace 0 2>&1) || rc=$?
[ $rc = 1 ] || fail "rotate on the restored copy: rc=$rc $out"
echo "$out" | grep -q "restored" || fail "rotate on the restored copy: $out"
[ "$(evaluations)" = "$ev0" ] || fail "evaluations after the refused rotation"
# new registrations still work (under the token's newest epoch)
tok=$(vs_token late)
probe "$tok" --account late --password pw-late --key $K --store $S register >/dev/null ||
	fail "register on the restored copy"
out=$(probe "$tok" --account late --password pw-late --store $S recover) || fail "recover late: $out"
vs_stop

# The schedule: the current database back, rotate_every = 3s; serve
# rotates by itself (maybe more than once before we look).
rm -f "$DB" "$DB-wal" "$DB-shm"
cp "$T/post.db" "$DB"
echo "rotate_every = 3s" >>"$CONF"
vs_start
i=0
until grep -q "epoch 3 -> 4 done" "$T/server.log"; do
	i=$((i + 1))
	[ $i -lt 200 ] || fail "no scheduled rotation: $(rotate --status)"
	sleep 0.2
done
out=$(probe "$TOK_u05" --account u05 --password pw-u05 --store $S recover) ||
	fail "recover after the scheduled rotation: $out"
vs_stop
rotate --status >"$T/status"
set -- $(head -1 "$T/status")
case "$1" in
epoch) [ "$2" -ge 4 ] && grep -qx "token holds $2" "$T/status" ;;
rotating) [ "$2" -ge 4 ] && grep -qx "token holds $2 $4" "$T/status" ;;
*) false ;;
esac || fail "after the scheduled rotation: $(cat "$T/status")"
echo "77-vault-epochs: ok"
