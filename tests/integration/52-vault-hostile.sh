#!/bin/bash
# 52-vault-hostile: a corpus of hostile requests aimed at a victim account.
# Each gets a 4xx JSON error, the server keeps answering (a slow client
# holds only its own connection), and nothing is counted or evaluated.
. "$top_srcdir/tests/integration/vault-lib.sh"

vs_setup "connection_timeout = 2"
vs_init
vs_start
VT=$(vs_token victim)
MT=$(vs_token mallory)
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=0123456789abcdef0123456789abcdef
probe "$VT" --account victim --password 'victim pw' --key "$K" --store "$S" register >/dev/null ||
	fail "register victim"
ev0=$(evaluations)
G=$(printf '\004%s' "$(head -c 64 /dev/zero | tr '\0' 'A')" | base64 -w0) # off-curve

# Sizes: a declared and a chunked body over 16 KiB.
head -c 20000 /dev/zero | tr '\0' ' ' >"$T/big"
out=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $VT" \
	--data-binary @"$T/big" "$URL/v1/recover/start")
[ "$out" = '{"error":"too_large","message":"request bodies are limited to 16 KiB"} 413' ] ||
	fail "oversized: $out"
out=$(curl -s -w ' %{http_code}' -X POST -H "Authorization: Bearer $VT" \
	-H 'Transfer-Encoding: chunked' --data-binary @"$T/big" "$URL/v1/recover/start")
case "$out" in *'"too_large"'*' 413') ;; *) fail "chunked oversized: $out" ;; esac

# Tokens: missing, forged, expired, another vault's.
out=$(post /v1/audit '{"account":"victim"}' "")
expect "$out" 401 bad_token
forged="${VT%?}$( [ "${VT#"${VT%?}"}" = A ] && echo B || echo A)"
expect "$(post /v1/audit '{"account":"victim"}' "$forged")" 401 bad_token
acct_forged=$(echo "$VT" | sed 's/^v1\.dmljdGlt\./v1.bWFsbG9yeQ./')
expect "$(post /v1/audit '{"account":"mallory"}' "$acct_forged")" 401 bad_token
ET=$(vs_token victim 1)
sleep 2
out=$(post /v1/recover/start "{\"account\":\"victim\",\"action\":\"recover\",\"store_id\":\"$S\",\"blinded\":\"$G\"}" "$ET")
expect "$out" 401 bad_token
echo "$out" | grep -q 'expired' || fail "expired token message: $out"
# A second vault (own token label and database) mints a foreign token.
softhsm2-util --init-token --free --label other --pin "$PIN" --so-pin "$SO_PIN" >/dev/null
sed -e 's/^token_label = .*/token_label = other/' -e "s|^db = .*|db = $T/other.db|" \
	"$CONF" >"$T/other.conf"
"$VAULTSRV" init --config "$T/other.conf" >/dev/null
OT=$("$VAULTSRV" token --config "$T/other.conf" --account victim)
out=$(post /v1/audit '{"account":"victim"}' "$OT")
expect "$out" 401 bad_token
echo "$out" | grep -q 'another vault' || fail "foreign vault message: $out"

# Token for another account.
expect "$(post /v1/audit '{"account":"victim"}' "$MT")" 403 token_mismatch
expect "$(post /v1/recover/start "{\"account\":\"victim\",\"action\":\"recover\",\"store_id\":\"$S\",\"blinded\":\"$G\"}" "$MT")" \
	403 token_mismatch

# Malformed bodies and fields.
for body in '' '{' '[]' '"x"' '{"account":"victim"} x' 'null' '{"account":"vic\u0000tim"}'; do
	expect "$(post /v1/audit "$body" "$VT")" 400 bad_request
done
nest=$(printf '%*s' 3000 '' | tr ' ' '[')
expect "$(post /v1/audit "{\"account\":\"victim\",\"x\":$nest}" "$VT")" 400 bad_request
expect "$(post /v1/audit '{"account":5}' "$VT")" 400 bad_request
rs="{\"account\":\"victim\",\"action\":\"recover\",\"store_id\":\"$S\""
expect "$(post /v1/recover/start "$rs,\"blinded\":17}" "$VT")" 400 bad_request
expect "$(post /v1/recover/start "$rs,\"blinded\":\"!!notbase64\"}" "$VT")" 400 bad_request
expect "$(post /v1/recover/start "$rs}" "$VT")" 400 bad_request
expect "$(post /v1/recover/start "{\"account\":\"victim\",\"action\":\"steal\",\"store_id\":\"$S\",\"blinded\":\"$G\"}" "$VT")" \
	400 bad_request
expect "$(post /v1/recover/start "{\"account\":\"victim\",\"action\":\"recover\",\"store_id\":\"ABC\",\"blinded\":\"$G\"}" "$VT")" \
	400 bad_request
# Points: off the curve, compressed, the generator's x with a wrong y.
expect "$(post /v1/recover/start "$rs,\"blinded\":\"$G\"}" "$VT")" 400 bad_point
C=$(printf '\002%s' "$(head -c 32 /dev/zero | tr '\0' 'A')" | base64 -w0)
expect "$(post /v1/recover/start "$rs,\"blinded\":\"$C\"}" "$VT")" 400 bad_request
GX=6b17d1f2e12c4247f8bce6e563a440f277037d812deb33a0f4a13945d898c296
GY1=4fe342e2fe1a7f9b8ee7eb4a7c0f9e162bce33576b315ececbb6406837bf51f6 # y+1
P=$(perl -e 'print pack("H*", $ARGV[0])' "04$GX$GY1" | base64 -w0)
expect "$(post /v1/recover/start "$rs,\"blinded\":\"$P\"}" "$VT")" 400 bad_point
expect "$(post /v1/register/start '{"account":"mallory","blinded":"'"$G"'"}' "$MT")" 400 bad_point

# Challenges: unknown (or replayed) ones are stale; another account's is
# not usable and stays the victim's.
Z16=$(head -c 16 /dev/zero | base64 -w0)
Z64=$(head -c 64 /dev/zero | base64 -w0)
expect "$(post /v1/recover/finish "{\"chal_id\":\"$Z16\",\"sig\":\"$Z64\"}" "$VT")" 410 stale_challenge
expect "$(post /v1/rearm "{\"chal_id\":\"$Z16\",\"sig\":\"$Z64\",\"blinded\":\"$G\"}" "$VT")" 400 bad_point
expect "$(post /v1/register/finish '{"account":"victim"}' "$VT")" 400 bad_request

# Random bytes at every endpoint: always a 4xx JSON error.
for ep in register/start register/finish recover/start recover/finish passwd \
	store/add delete kchallenge rearm generation generation/get audit; do
	i=0
	while [ $i -lt 5 ]; do
		head -c $((1 + $(od -An -N2 -tu2 /dev/urandom) % 3000)) /dev/urandom >"$T/rnd"
		code=$(curl -s -o "$T/resp" -w '%{http_code}' -X POST \
			-H "Authorization: Bearer $VT" --data-binary @"$T/rnd" "$URL/v1/$ep")
		case "$code" in 4??) ;; *) fail "random body at $ep gave $code" ;; esac
		grep -q '"error":"' "$T/resp" || fail "random body at $ep: no JSON error"
		i=$((i + 1))
	done
done

# A slow client that never finishes its request holds only its own
# connection: others are served meanwhile, and it is cut after the
# connection timeout (2 s here).
exec 3<>"/dev/tcp/127.0.0.1/$PORT"
printf 'POST /v1/audit HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n' >&3
t0=$(date +%s)
i=0
while [ $i -lt 5 ]; do
	curl -s --max-time 2 "$URL/healthz" | grep -q ok || fail "blocked by a slow client"
	i=$((i + 1))
done
out=$(probe "$VT" --account victim --password 'victim pw' --store "$S" recover) ||
	fail "recover during slow client: $out"
[ "$(attempts_of victim)" = 0 ] || fail "victim counter after own success"
ev0=$((ev0 + 1)) # the victim's own recovery
sleep 3
# The server closed it: reading gives EOF at once instead of blocking.
rc=0; timeout 3 cat <&3 >/dev/null || rc=$?
[ $rc = 0 ] || fail "slow connection was not cut (read: $rc)"

exec 3<&-
# generous: a recover (Argon2id) under ASan on a loaded machine is slow;
# what matters is that the slow client blocked nobody (checked above)
[ $(( $(date +%s) - t0 )) -lt 90 ] || fail "slow client test took too long"

curl -s "$URL/healthz" | grep -q ok || fail "server stopped answering"
[ "$(attempts_of victim)" = 0 ] || fail "hostile requests counted on the victim"
[ "$(evaluations)" = "$ev0" ] || fail "hostile requests reached the HSM ($(evaluations) != $ev0)"
vs_stop
echo "52-vault-hostile: ok"
