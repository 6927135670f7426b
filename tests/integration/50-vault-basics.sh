#!/bin/bash
# 50-vault-basics: init (and its refusal to clobber), the token command,
# config errors, --help/--version, healthz, metrics, SIGTERM.
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup
"$VAULTSRV" --version | grep -q '^vaultsrv [0-9]' || fail "--version"
"$VAULTSRV" --help | grep -q 'vaultsrv serve --config' || fail "--help"
rc=0; "$VAULTSRV" frobnicate --config "$CONF" 2>/dev/null || rc=$?
[ $rc != 0 ] || fail "unknown command must fail"

# pin_file readable by others: refused before the token is touched.
chmod 644 "$T/pin"
rc=0; "$VAULTSRV" init --config "$CONF" >"$T/out" 2>&1 || rc=$?
[ $rc != 0 ] || fail "init with a 0644 pin_file must fail"
grep -q 'chmod 600' "$T/out" || fail "init must say how to fix the pin_file: $(cat "$T/out")"
[ ! -e "$DB" ] || fail "a failed init must not leave a database"
chmod 600 "$T/pin"

vs_init
grep -Eq '^vault_id [0-9a-f]{32}$' "$T/init.out" || fail "init output: $(cat "$T/init.out")"
vid=$(sed -n 's/^vault_id //p' "$T/init.out")
[ "$(stat -c %a "$DB")" = 600 ] || fail "database mode is $(stat -c %a "$DB")"

# init refuses to clobber: the database, then the token's keys.
rc=0; "$VAULTSRV" init --config "$CONF" >"$T/out" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q 'refusing to overwrite' "$T/out" || fail "second init: $rc $(cat "$T/out")"
mv "$DB" "$T/vault.db.saved"
rc=0; "$VAULTSRV" init --config "$CONF" >"$T/out" 2>&1 || rc=$?
[ $rc != 0 ] && grep -q 'already holds vault keys' "$T/out" || fail "init over keys: $(cat "$T/out")"
[ ! -e "$DB" ] || fail "refused init left a database"
mv "$T/vault.db.saved" "$DB"

# token: exactly one line of the documented shape, bound to this vault.
vs_token alice >"$T/tok"
[ "$(wc -l <"$T/tok")" = 1 ] || fail "token printed $(wc -l <"$T/tok") lines"
grep -Eq "^v1\.YWxpY2U\.[0-9]+\.$vid\.[A-Za-z0-9_-]{43}\$" "$T/tok" || fail "token: $(cat "$T/tok")"
exp=$(cut -d. -f3 "$T/tok")
now=$(date +%s)
[ "$exp" -gt $((now + 3600)) ] || fail "default ttl too short"
exp=$(vs_token bob 60 | cut -d. -f3)
[ "$exp" -le $((now + 62)) ] && [ "$exp" -ge $((now + 58)) ] || fail "--ttl 60 gave $exp (now $now)"
rc=0; vs_token 'bad account!' >/dev/null 2>&1 || rc=$?
[ $rc != 0 ] || fail "token for a malformed account id"
rc=0; vs_token alice 0 >/dev/null 2>&1 || rc=$?
[ $rc != 0 ] || fail "--ttl 0 must be refused"

# Config errors name the line.
printf 'listen = 127.0.0.1:1\nbogus = 1\n' >"$T/bad.conf"
rc=0; "$VAULTSRV" serve --config "$T/bad.conf" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q "line 2: unknown key 'bogus'" "$T/out" || fail "bad key: $rc $(cat "$T/out")"
sed "s/^listen = .*/listen = 0.0.0.0:$PORT/" "$CONF" >"$T/open.conf"
rc=0; "$VAULTSRV" serve --config "$T/open.conf" >"$T/out" 2>&1 || rc=$?
[ $rc = 2 ] && grep -q 'refusing plain HTTP' "$T/out" || fail "non-loopback plain HTTP: $(cat "$T/out")"

vs_start
out=$(curl -s -w ' %{http_code} %{content_type}' "$URL/healthz")
[ "$out" = '{"status":"ok"} 200 application/json' ] || fail "healthz: $out"
out=$(post /healthz '{}' x)
expect "$out" 405 method_not_allowed
out=$(curl -s -w ' %{http_code}' "$URL/nope")
[ "$out" = '{"error":"not_found","message":"no such endpoint"} 404' ] || fail "404: $out"
m=$(curl -s "$URL/metrics")
for name in vaultsrv_requests_total vaultsrv_guesses_total \
	vaultsrv_lockouts_total vaultsrv_hsm_evaluations_total; do
	echo "$m" | grep -q "^# TYPE $name counter" || fail "metrics lacks $name"
done
echo "$m" | grep -q '^vaultsrv_requests_total{endpoint="healthz",code="200"} [1-9]' ||
	fail "healthz not counted: $m"
echo "$m" | grep -q '^vaultsrv_hsm_evaluations_total 0$' || fail "evaluations must start at 0"
vs_stop
grep -q 'stopping on signal 15' "$T/server.log" || fail "no clean stop logged"
echo "50-vault-basics: ok"
