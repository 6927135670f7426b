#!/bin/bash
# 56-vault-ratelimit: per-address and per-account token buckets. Requests
# with bad tokens drain only their address's bucket, never an account's;
# one account's requests from several addresses share its bucket.
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup "rate_limit_per_minute = 5"
vs_init
vs_start
curl -s --interface 127.0.0.2 -o /dev/null "$URL/healthz" ||
	skip "cannot use 127.0.0.2 as a source address"
AT=$(vs_token alice)
BT=$(vs_token bob)
# bob's token with its last MAC character changed.
FT="${BT%?}$([ "${BT#"${BT%?}"}" = A ] && echo B || echo A)"

req() { # source token account
	curl -s --interface "$1" -o "$T/resp" -w '%{http_code}' -X POST \
		-H "Authorization: Bearer $2" --data-binary "{\"account\":\"$3\"}" \
		"$URL/v1/audit"
}

# A stranger at .3 with a forged bob token: 5 answered (401), then 429.
for i in 1 2 3 4 5; do
	[ "$(req 127.0.0.3 "$FT" bob)" = 401 ] || fail "forged token $i"
done
[ "$(req 127.0.0.3 "$FT" bob)" = 429 ] || fail "address limit not applied"
grep -q '"error":"rate_limited"' "$T/resp" || fail "429 body: $(cat "$T/resp")"
grep -q 'this address' "$T/resp" || fail "429 must name the address limit"
# bob's own bucket is untouched: 5 requests from .4 pass.
for i in 1 2 3 4 5; do
	[ "$(req 127.0.0.4 "$BT" bob)" = 200 ] || fail "bob request $i was limited"
done
# alice from two addresses: the account bucket (5) is shared.
for i in 1 2 3; do
	[ "$(req 127.0.0.5 "$AT" alice)" = 200 ] || fail "alice .5 request $i"
done
for i in 1 2; do
	[ "$(req 127.0.0.6 "$AT" alice)" = 200 ] || fail "alice .6 request $i"
done
[ "$(req 127.0.0.6 "$AT" alice)" = 429 ] || fail "account limit not applied"
grep -q 'this account' "$T/resp" || fail "429 must name the account limit"
# healthz and metrics are not limited.
for i in 1 2 3 4 5 6 7; do
	curl -s --interface 127.0.0.3 "$URL/healthz" | grep -q ok || fail "healthz limited"
done
curl -s "$URL/metrics" | grep -q 'endpoint="audit",code="429"} 2' || fail "429s not counted"
vs_stop
echo "56-vault-ratelimit: ok"
