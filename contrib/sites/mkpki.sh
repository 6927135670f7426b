#!/bin/sh
# mkpki.sh - CAs and certificates for the three-site sample (README).
# Run once on an offline machine; copy each site's files to it and keep
# the CA keys offline. Usage: mkpki.sh OUTDIR [DAYS]
#
#   etcd-peer-ca    signs the members' peer certificates (raft traffic)
#   etcd-client-ca  signs the members' server certificates and the
#                   replicas' client certificates (etcd --client-cert-auth
#                   trusts only this CA)
#   vault-ca        signs the replicas' HTTPS certificates (vaultfs clients
#                   trust it)
set -eu
out=${1:?usage: mkpki.sh OUTDIR [DAYS]}
days=${2:-825}
mkdir -p "$out"
cd "$out"
umask 077

ca() { # name
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.pem" -days "$days" -subj "/CN=$1"
}
# cert name ca san usage
cert() {
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
		-keyout "$1.key" -out "$1.csr" -subj "/CN=$1"
	printf 'subjectAltName=%s\nextendedKeyUsage=%s\n' "$3" "$4" >"$1.ext"
	openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" \
		-CAcreateserial -out "$1.pem" -days "$days" -extfile "$1.ext"
	rm -f "$1.csr" "$1.ext"
}

ca etcd-peer-ca
ca etcd-client-ca
ca vault-ca
for s in a b c; do
	case $s in
	a) ip=2001:db8:a::10 ;;
	b) ip=2001:db8:b::10 ;;
	c) ip=2001:db8:c::10 ;;
	esac
	san="DNS:vault-$s.example.net,IP:$ip"
	cert "etcd-$s-peer" etcd-peer-ca "$san" serverAuth,clientAuth
	cert "etcd-$s-server" etcd-client-ca "$san" serverAuth
	cert "vaultsrv-$s-etcd-client" etcd-client-ca "DNS:vault-$s.example.net" clientAuth
	cert "vaultsrv-$s-https" vault-ca "$san" serverAuth
done
chmod 0644 ./*.pem
echo "made in $out: per site s in a b c:"
echo "  etcd-s-peer.{pem,key} etcd-s-server.{pem,key}  -> /etc/vault-etcd/"
echo "  vaultsrv-s-etcd-client.{pem,key} vaultsrv-s-https.{pem,key} -> /etc/vaultsrv/"
echo "  etcd-peer-ca.pem etcd-client-ca.pem -> /etc/vault-etcd/, etcd-client-ca.pem -> /etc/vaultsrv/"
echo "keep *-ca.key offline"
