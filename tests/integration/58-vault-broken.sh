#!/bin/bash
# 58-vault-broken: broken state at startup and per request. Each way the
# database, the token or the PIN can be broken makes `vaultsrv serve` (and
# `vaultsrv token`) exit 1 with one error line naming the problem - never a
# signal, a sanitizer report, a hang or a new empty database - and damage
# met by a request is a 503 JSON answer. After the good state is back,
# every counter is where it was (no silent reset).
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup
vs_init
vs_start
S=5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
TA=$(vs_token alice)
TL=$(vs_token locky)
probe "$TA" --account alice --password 'alice pw' --key "$K" --store "$S" register >/dev/null
probe "$TL" --account locky --password 'locky pw' --key "$K" --store "$S" register >/dev/null
for i in 1 2 3; do
	rc=0
	probe "$TA" --account alice --password "no$i" --store "$S" --fast-wrong recover >/dev/null || rc=$?
	[ $rc = 2 ] || fail "wrong guess $i on alice: $rc"
done
i=0
while [ $i -lt 10 ]; do
	probe "$TL" --account locky --password "no$i" --store "$S" --fast-wrong recover >/dev/null || true
	i=$((i + 1))
done
vs_stop
[ "$(sqlite3 "$DB" "SELECT attempts, state FROM accounts WHERE account='alice'")" = "3|0" ] ||
	fail "alice's counter before the test"
[ "$(sqlite3 "$DB" "SELECT attempts, state FROM accounts WHERE account='locky'")" = "10|1" ] ||
	fail "locky is not locked before the test"
ev0=$(evaluations)
# After the clean stop the WAL is checkpointed: vault.db is the whole state.
cp "$DB" "$T/good.db"
cp -a "$T/tokens" "$T/tokens.good"
cp "$T/pin" "$T/pin.good"
n=0

restore() {
	rm -f "$DB" "$DB-wal" "$DB-shm"
	cp "$T/good.db" "$DB"
	rm -rf "$T/tokens"
	cp -a "$T/tokens.good" "$T/tokens"
	rm -rf "$T/pin"
	cp "$T/pin.good" "$T/pin"
	chmod 600 "$T/pin"
}

# refused CASE REGEX: serve and token must both fail cleanly, naming it.
refused() {
	for cmd in serve token; do
		rc=0
		if [ $cmd = serve ]; then
			timeout 60 "$VAULTSRV" serve --config "$CONF" >"$T/out" 2>&1 || rc=$?
		else
			timeout 60 "$VAULTSRV" token --config "$CONF" --account alice \
				>"$T/out" 2>&1 || rc=$?
		fi
		[ $rc = 1 ] || { cat "$T/out" >&2; fail "$1: vaultsrv $cmd exited $rc, want 1"; }
		if grep -q -E 'Sanitizer|runtime error:' "$T/out"; then
			cat "$T/out" >&2
			fail "$1: sanitizer report from vaultsrv $cmd"
		fi
		[ "$(grep -c . "$T/out")" = 1 ] ||
			{ cat "$T/out" >&2; fail "$1: vaultsrv $cmd printed more than one line"; }
		grep -q -E "$2" "$T/out" ||
			fail "$1: vaultsrv $cmd says '$(cat "$T/out")', want /$2/"
	done
	echo "$1: $(sed 's/^vaultsrv: level=error func=[a-z_]* //' "$T/out")"
	n=$((n + 1))
}

dbsize=$(stat -c %s "$DB")
pg=$(sqlite3 "$DB" "PRAGMA page_size")
acc_page=$(sqlite3 "$DB" "SELECT rootpage FROM sqlite_master WHERE name='accounts'")

# ---- the database ----
head -c "$dbsize" /dev/urandom >"$DB"
cp "$DB" "$T/broken"
refused "db random bytes" "store '.*' is damaged"
cmp -s "$DB" "$T/broken" || fail "vaultsrv changed a damaged database"
restore

truncate -s $((dbsize / 2)) "$DB"
refused "db truncated to half" "store '.*' is damaged"
restore

truncate -s 0 "$DB"
refused "db truncated to 0" "store '.*' is damaged"
[ "$(stat -c %s "$DB")" = 0 ] || fail "vaultsrv filled an empty database"
restore

dd if=/dev/urandom of="$DB" bs=1 seek=16 count=84 conv=notrunc 2>/dev/null
refused "db header overwritten" "store '.*' is damaged"
restore

dd if=/dev/urandom of="$DB" bs="$pg" seek=$((acc_page - 1)) count=1 conv=notrunc 2>/dev/null
refused "db accounts page overwritten" "store '.*' is damaged"
restore

sqlite3 "$DB" "DROP TABLE meta"
refused "db without its meta table" "store '.*' is damaged"
restore

sqlite3 "$DB" "UPDATE meta SET value='1' WHERE key='schema'"
refused "db of another schema" "another schema version"
restore

rm -f "$DB"
refused "db missing" "no vault there .*restore it from its backup"
[ ! -e "$DB" ] || fail "vaultsrv created a database where the vault's was missing"
# init must not make a fresh vault over a token that holds vault keys.
rc=0
"$VAULTSRV" init --config "$CONF" >"$T/out" 2>&1 || rc=$?
[ $rc != 0 ] || fail "vaultsrv init made a new vault over the old token"
[ ! -e "$DB" ] || fail "vaultsrv init left a new database behind"
echo "db missing, init: $(cat "$T/out")"
restore

# ---- the token and the PIN ----
rm -rf "$T/tokens"
refused "token directory missing" "cannot reach token|no token labelled"
restore

for f in "$T"/tokens/*/*.object; do
	[ "$(basename "$f")" = token.object ] && continue
	head -c "$(stat -c %s "$f")" /dev/urandom >"$f"
done
refused "token key files corrupted" "does not hold this vault's keys|cannot reach token"
restore

f=$(ls "$T"/tokens/*/token.object)
head -c "$(stat -c %s "$f")" /dev/urandom >"$f"
refused "token file corrupted" "cannot reach token|no token labelled|refused the PIN"
restore

printf '11112222\n' >"$T/pin"
refused "wrong PIN" "refused the PIN from pin_file"
restore

rm -f "$T/pin"
refused "pin file missing" "pin_file '.*' cannot be opened"
restore

chmod 644 "$T/pin"
refused "pin file readable by others" "pin_file '.*' must be a regular file"
restore

: >"$T/pin"
refused "pin file empty" "pin_file '.*' holds no PIN"
restore

rm -f "$T/pin"
mkdir "$T/pin"
refused "pin file a directory" "pin_file '.*' must be a regular file"
restore

# ---- damage met by a request: 503 JSON, and the server lives on ----
vs_start
# Reload the server's page cache: a write by another connection, then a
# page of the accounts table overwritten under the running server.
dd if=/dev/urandom of="$DB" bs="$pg" seek=$((acc_page - 1)) count=1 conv=notrunc 2>/dev/null
sqlite3 "$DB" "INSERT INTO meta(key, value) VALUES('soak-test', 'x')" 2>/dev/null || true
out=$(probe "$TA" --account alice --password 'alice pw' --store "$S" recover) && rc=0 || rc=$?
case "$out" in
"status=503 error=unavailable"*) ;;
*) fail "recover on a damaged page: $rc $out" ;;
esac
kill -0 "$SRV_PID" || fail "vaultsrv died on a damaged page"
curl -s -o /dev/null -w '%{http_code}' "$URL/healthz" | grep -q 200 || fail "healthz after damage"
echo "damaged page under a running server: $out"
n=$((n + 1))
vs_stop
refused "the same damage at the next start" "store '.*' is damaged"
restore

# A wrapped key the token refuses: 503 for that account, the others work.
sqlite3 "$DB" "UPDATE accounts SET blob=zeroblob(40) WHERE account='alice'"
vs_start
out=$(probe "$TA" --account alice --password 'alice pw' --store "$S" recover) && rc=0 || rc=$?
case "$out" in
"status=503 error=unavailable"*) ;;
*) fail "recover with a damaged wrapped key: $rc $out" ;;
esac
echo "damaged wrapped key: $out"
n=$((n + 1))
vs_stop
restore

# ---- the good state again: nothing was reset ----
vs_start
[ "$(attempts_of alice)" = 3 ] || fail "alice's counter is $(attempts_of alice), was 3"
[ "$(evaluations)" = "$ev0" ] || fail "evaluations while broken: $ev0 -> $(evaluations)"
rc=0
probe "$TL" --account locky --password 'locky pw' --store "$S" recover >/dev/null || rc=$?
[ $rc = 3 ] || fail "locky is not locked any more ($rc)"
probe "$TA" --account alice --password 'alice pw' --store "$S" recover | grep -q "^K=$K " ||
	fail "alice does not recover after the broken states"
[ "$(attempts_of alice)" = 0 ] || fail "alice's counter after a success"
vs_stop
if grep -q -E 'Sanitizer|runtime error:' "$T/server.log"; then
	fail "sanitizer report in the server log"
fi
echo "58-vault-broken: $n broken states refused cleanly; ok"
