#!/bin/bash
# 55-vault-tls: HTTPS with a CA and server certificate made here; the
# protocol runs over it; plain HTTP and unverified clients are refused.
. "$top_srcdir/tests/integration/vault-lib.sh"
command -v openssl >/dev/null 2>&1 || skip "openssl (CLI) not installed"

SCHEME=https
vs_setup
(
	cd "$T"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout ca.key -out ca.pem -days 2 -subj /CN=vs-test-ca 2>/dev/null
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout srv.key -out srv.csr -subj /CN=127.0.0.1 2>/dev/null
	printf 'subjectAltName = IP:127.0.0.1\n' >ext.cnf
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
		-out srv.pem -days 2 -extfile ext.cnf 2>/dev/null
	chmod 600 srv.key
) || fail "making the test CA and certificate"
vs_write_conf "tls_cert = $T/srv.pem
tls_key = $T/srv.key"
CURL_TLS="--cacert $T/ca.pem"
PROBE_TLS="--cacert $T/ca.pem"
vs_init
vs_start
grep -q '(https)' "$T/server.log" || fail "server did not say https"

out=$(curl -s $CURL_TLS "$URL/healthz")
[ "$out" = '{"status":"ok"}' ] || fail "healthz over TLS: $out"
rc=0; curl -s -o /dev/null "$URL/healthz" || rc=$?
[ $rc = 60 ] || fail "an unverified certificate must be refused by curl (rc $rc)"
rc=0; out=$(curl -s --max-time 5 "http://127.0.0.1:$PORT/healthz") || rc=$?
[ $rc != 0 ] || case "$out" in *'"ok"'*) fail "plain HTTP answered on the TLS port" ;; esac

TOK=$(vs_token carol)
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=dddddddddddddddddddddddddddddddd
out=$(probe "$TOK" --account carol --password 'tls pw' --key "$K" --store "$S" register) ||
	fail "register over TLS: $out"
out=$(probe "$TOK" --account carol --password 'tls pw' --store "$S" recover) ||
	fail "recover over TLS: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover over TLS: $out"
rc=0; out=$(probe "$TOK" --account carol --password 'nope' --store "$S" recover) || rc=$?
[ $rc = 2 ] || fail "wrong password over TLS: $out"
expect "$(post /v1/audit '{"account":"carol"' "$TOK")" 400 bad_request
vs_stop
echo "55-vault-tls: ok"
