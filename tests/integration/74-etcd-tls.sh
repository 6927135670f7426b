#!/bin/bash
# 74-etcd-tls: vaultsrv replicas reach etcd over https with client
# certificates (etcd --client-cert-auth): the store spec's cacert, cert
# and key options. A vault works through two replicas; a replica whose
# client certificate is not from the CA etcd trusts, or without one, or
# that does not trust the members' CA, cannot open the store and says
# so; plain http to a non-loopback member is refused by the config.
. "$top_srcdir/tests/integration/etcd-lib.sh"
command -v openssl >/dev/null 2>&1 || skip "openssl (CLI) not installed"

ETCD_N=1
EV_SCHEME=https
# CA, server cert for 127.0.0.1, client certs: one from the CA, one not.
ev_pre_etcd() {
	P="$T/pki"
	mkdir "$P"
	(
		cd "$P"
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout ca.key -out ca.pem -days 2 -subj /CN=vt-ca
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
			-keyout other-ca.key -out other-ca.pem -days 2 -subj /CN=other-ca
		for n in server client rogue; do
			openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
				-keyout $n.key -out $n.csr -subj /CN=$n
		done
		printf 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n' >server.ext
		printf 'extendedKeyUsage=clientAuth\n' >client.ext
		openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out server.pem -days 2 -extfile server.ext
		openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
			-out client.pem -days 2 -extfile client.ext
		openssl x509 -req -in rogue.csr -CA other-ca.pem -CAkey other-ca.key \
			-CAcreateserial -out rogue.pem -days 2 -extfile client.ext
	) >"$T/pki.log" 2>&1 || fail "openssl: $(tail -n 5 "$T/pki.log")"
	EV_ETCD_ARGS="--cert-file $P/server.pem --key-file $P/server.key --client-cert-auth --trusted-ca-file $P/ca.pem"
	EV_CTL_ARGS="--cacert $P/ca.pem --cert $P/client.pem --key $P/client.key"
	EV_STORE_OPTS="&cacert=$P/ca.pem&cert=$P/client.pem&key=$P/client.key"
}

ev_setup 2
for i in 1 2; do ev_replica_start $i; done
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb
AT=$(ev_token 1 alice)
out=$(rprobe 1 "$AT" --account alice --password 'alice pw' --key "$K" --store "$S" register) ||
	fail "register over TLS: $out"
out=$(rprobe 2 "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover over TLS: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover: $out"
[ "$(ev_attempts_of alice)" = 0 ] || fail "counter in etcd: $(ev_attempts_of alice)"

# Wrong client identities: the store does not open.
C="$T/r2/vaultsrv.conf"
cp "$C" "$T/good.conf"
for variant in rogue nocert untrusted; do
	case $variant in
	rogue) sed "s|cert=$P/client.pem&key=$P/client.key|cert=$P/rogue.pem\\&key=$P/rogue.key|" "$T/good.conf" >"$C" ;;
	nocert) sed "s|&cert=$P/client.pem&key=$P/client.key||" "$T/good.conf" >"$C" ;;
	untrusted) sed "s|cacert=$P/ca.pem|cacert=$P/other-ca.pem|" "$T/good.conf" >"$C" ;;
	esac
	grep -q "$variant\|other-ca" "$C" || [ $variant = nocert ] || fail "sed for $variant"
	rc=0; out=$(ev_rsrv 2 token --account alice 2>&1) || rc=$?
	[ $rc = 1 ] || fail "$variant: token minted with a store it cannot reach ($rc)"
	case "$out" in
	*unreachable*) ;;
	*) fail "$variant: $out" ;;
	esac
done
cp "$T/good.conf" "$C"
# half a client identity, or plain http to another host: refused early
sed "s|&key=$P/client.key||" "$T/good.conf" >"$C"
rc=0; out=$(ev_rsrv 2 token --account alice 2>&1) || rc=$?
[ $rc = 1 ] || fail "cert without key accepted: $out"
sed "s|^store = etcd:https://127.0.0.1|store = etcd:http://192.0.2.1|" "$T/good.conf" >"$C"
rc=0; out=$(ev_rsrv 2 token --account alice 2>&1) || rc=$?
[ $rc = 1 ] || fail "plain http to a remote member accepted: $out"
cp "$T/good.conf" "$C"
ev_replicas_stop
echo "74-etcd-tls: ok"
