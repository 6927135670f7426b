#!/bin/bash
# 75-ceremony-replicas: three vaultsrv replicas on a 3-member etcd cluster
# whose tokens got the vault keys by the key ceremony (ev_setup: request,
# export from replica 1, import), not by copying. A password registered
# through one recovers through another; a token minted by one is accepted
# by the others. The ceremony refuses, with a message saying why: a wrong
# fingerprint at export, a bundle made for another request, a tampered
# bundle (wrapped bytes, check value, vault id), a bundle carrying another
# vault's keys relabelled as this vault's, a replayed bundle, and a
# bundle for a token that holds other keys under the same labels; after
# every refusal the joining token holds no vault key, and the right
# bundle still imports. A second ceremony brings a replica only the keys
# it lacks (a new master key epoch). The keys never leave a token in clear: the
# joining token's transport key is sensitive and never extractable, the
# imported keys are sensitive, and the bundle unwraps only in the token
# that made the request.
. "$top_srcdir/tests/integration/etcd-lib.sh"
command -v pkcs11-tool >/dev/null 2>&1 || skip "pkcs11-tool not installed (opensc)"
command -v jq >/dev/null 2>&1 || skip "jq not installed"

ev_setup 3

# The three-site sample (contrib/sites): each replica configuration
# parses (a config error would be exit 2), each etcd setting is a flag
# of this etcd.
for s in a b c; do
	rc=0
	"$VAULTSRV" ceremony-import --config "$top_srcdir/contrib/sites/vaultsrv-site-$s.conf" \
		--bundle /nonexistent >"$T/err" 2>&1 || rc=$?
	[ "$rc" = 1 ] || fail "contrib/sites/vaultsrv-site-$s.conf: $(cat "$T/err")"
	"$ETCD_BIN" --help >"$T/etcd-help" 2>&1 || true
	sed -n 's/^\(ETCD_[A-Z_]*\)=.*/\1/p' "$top_srcdir/contrib/sites/etcd-site-$s.env" |
		while read -r v; do
			flag=$(echo "${v#ETCD_}" | tr 'A-Z_' 'a-z-')
			grep -q -e "--$flag\b" "$T/etcd-help" ||
				fail "contrib/sites/etcd-site-$s.env: $v is no etcd flag"
		done || exit 1
done
for i in 1 2 3; do ev_replica_start $i; done
K=$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')
S=aaaaaaaaaaaaaaaabbbbbbbbbbbbbbbb

# The three tokens hold the same keys: export and import print the same
# check values.
for i in 2 3; do
	want=$(grep '^key ' "$T/r$i/ceremony.log" | grep -v 'not extractable' | sort -u | wc -l)
	[ "$want" = 2 ] || fail "replica $i: export and import disagree on check values: $(cat "$T/r$i/ceremony.log")"
done

# A password registered through 1 recovers through 3; a token minted by
# 2 works at 1 and 3, one minted by 3 at 2.
AT=$(ev_token 2 alice)
out=$(rprobe 1 "$AT" --account alice --password 'alice pw' --key "$K" --store "$S" register) ||
	fail "register through replica 1: $out"
out=$(rprobe 3 "$AT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover through replica 3: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover through 3: $out"
BT=$(ev_token 3 bob)
out=$(rprobe 2 "$BT" --account bob --password 'bob pw' --key "$K" --store "$S" register) ||
	fail "register bob at 2 with a token from 3: $out"
out=$(rprobe 1 "$BT" --account bob --password 'bob pw' --store "$S" recover) ||
	fail "recover bob at 1: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover bob at 1: $out"

# What the ceremony leaves in the tokens (pkcs11-tool reads attributes).
p11() { # replica args...
	pr=$1
	shift
	SOFTHSM2_CONF="$T/r$pr/softhsm2.conf" pkcs11-tool --module "$HSM_MODULE" \
		--token-label "$LABEL" --login --pin "$PIN" "$@" 2>&1
}
objs=$(p11 2 --list-objects)
echo "$objs" | grep -q 'vaultsrv-transport' && fail "replica 2 kept its transport key: $objs"
for l in vaultsrv-master-1 vaultsrv-token-mac; do
	echo "$objs" | grep -A3 "label: *$l\$" | grep -q 'Access:.*sensitive' ||
		fail "imported $l is not sensitive: $objs"
	p11 2 --read-object --type secrkey --label "$l" >"$T/read.out" 2>&1 &&
		fail "the value of $l was readable from replica 2's token"
done

# A fourth token (not serving) joins while things go wrong around it.
ev_replica_conf 4
ev_replica_conf 5
REPLICAS="$REPLICAS 4 5"
ev_rsrv 4 ceremony-request --out "$T/r4/request.json" >"$T/r4/request.out" 2>/dev/null ||
	fail "ceremony-request on 4"
FP4=$(sed -n 's/^fingerprint //p' "$T/r4/request.out")
ID4=$(sed -n 's/^request //p' "$T/r4/request.out")
[ "$(jq -r .fingerprint "$T/r4/request.json" | sed 's/..../& /g;s/ $//')" = "$FP4" ] ||
	fail "printed fingerprint differs from the request's"
objs=$(p11 4 --list-objects)
echo "$objs" | grep -A4 "label: *vaultsrv-transport-$ID4" |
	grep -q 'Access: *sensitive, always sensitive, never extractable' ||
	fail "transport key of 4 is not sensitive and never extractable: $objs"
echo "$objs" | grep -A4 "label: *vaultsrv-transport-$ID4" | grep -q 'Usage:.*unwrap' ||
	fail "transport key of 4 cannot unwrap: $objs"

# A wrong fingerprint (one digit changed): nothing is exported.
case $FP4 in 0*) bad=1${FP4#0} ;; *) bad=0${FP4#?} ;; esac
rc=0
ev_rsrv 1 ceremony-export --request "$T/r4/request.json" --fingerprint "$bad" \
	--out "$T/r4/nobundle.json" >"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "export accepted a wrong fingerprint"
grep -q 'may have been replaced' "$T/err" || fail "wrong fingerprint: $(cat "$T/err")"
[ ! -e "$T/r4/nobundle.json" ] || fail "a bundle was written for a wrong fingerprint"
# A fingerprint that is not one.
rc=0
ev_rsrv 1 ceremony-export --request "$T/r4/request.json" --fingerprint "12 34" \
	--out "$T/r4/nobundle.json" >"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q -- '--fingerprint must be' "$T/err" || fail "short fingerprint: $(cat "$T/err")"

# The right bundle for 4, made by replica 2 (a ceremony-made token is a
# source too).
ev_rsrv 2 ceremony-export --request "$T/r4/request.json" --fingerprint "$FP4" \
	--out "$T/r4/bundle.json" >"$T/r4/export.out" 2>&1 || fail "export for 4: $(cat "$T/r4/export.out")"
[ "$(jq -r '.keys | length' "$T/r4/bundle.json")" = 2 ] || fail "bundle keys"
[ "$(jq -r '.keys[].wrapped' "$T/r4/bundle.json" | while read -r w; do
	printf '%s' "$w" | base64 -d | wc -c; done | sort -u)" = 384 ] ||
	fail "wrapped keys are not 384-byte RSA blocks"
[ "$(jq -r 'keys_unsorted | join(",")' "$T/r4/bundle.json")" = "format,request_id,fingerprint,vault_id,oaep,created,keys" ] ||
	fail "unexpected bundle fields: $(jq -c 'keys_unsorted' "$T/r4/bundle.json")"
[ "$(jq -r '[.keys[] | keys_unsorted | join(",")] | unique | .[]' "$T/r4/bundle.json")" = "label,kcv,wrapped" ] ||
	fail "unexpected key fields"

# expect_refused replica bundle-file pattern: import fails, says why,
# and the token still holds no vault key.
expect_refused() {
	rc=0
	ev_rsrv "$1" ceremony-import --bundle "$2" >"$T/err" 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "import of $2 into $1 was accepted"
	grep -q "$3" "$T/err" || fail "import of $2 into $1: wanted '$3', got: $(cat "$T/err")"
	rc=0
	ev_token "$1" nobody >/dev/null 2>&1 || rc=$?
	[ "$rc" != 0 ] || fail "token $1 holds vault keys after a refused import"
}

# A bundle for another request: 5's request, imported into 4 (which has a
# pending request of its own), and 4's bundle into 5.
ev_rsrv 5 ceremony-request --out "$T/r5/request.json" >"$T/r5/request.out" 2>/dev/null ||
	fail "ceremony-request on 5"
FP5=$(sed -n 's/^fingerprint //p' "$T/r5/request.out")
ev_rsrv 1 ceremony-export --request "$T/r5/request.json" --fingerprint "$FP5" \
	--out "$T/r5/bundle.json" >/dev/null 2>&1 || fail "export for 5"
expect_refused 4 "$T/r5/bundle.json" 'no pending request.*another token'
expect_refused 5 "$T/r4/bundle.json" 'no pending request.*another token'
# Same request id, other transport key (the fingerprint inside differs).
jq -c --arg f "$(jq -r .fingerprint "$T/r5/bundle.json")" '.fingerprint = $f' \
	"$T/r4/bundle.json" >"$T/b-fpr.json"
expect_refused 4 "$T/b-fpr.json" 'made for another transport key'

# Tampered: one byte of a wrapped key, a check value, the vault id.
jq -c '.keys[0].wrapped |= (.[0:10] + (if .[10:11] == "A" then "B" else "A" end) + .[11:])' \
	"$T/r4/bundle.json" >"$T/b-wrapped.json"
expect_refused 4 "$T/b-wrapped.json" 'does not unwrap'
jq -c '.keys[1].kcv = "00000000000000000000000000000000"' "$T/r4/bundle.json" >"$T/b-kcv.json"
expect_refused 4 "$T/b-kcv.json" "is not the vault's"
jq -c '.vault_id = "00000000000000000000000000000000"' "$T/r4/bundle.json" >"$T/b-vid.json"
expect_refused 4 "$T/b-vid.json" 'holds the keys of vault 0000'
jq -c '.keys = [.keys[0]]' "$T/r4/bundle.json" >"$T/b-short.json"
expect_refused 4 "$T/b-short.json" 'not a ceremony bundle'
printf '{"format":"vaultsrv-ceremony-bundle-1"' >"$T/b-trunc.json"
expect_refused 4 "$T/b-trunc.json" 'not a ceremony bundle'

# Another vault's keys, wrapped for 4's real transport key and dressed up
# as this vault's (vault id and check values copied from the real
# bundle): they unwrap, but do not match the check values in the store.
mkdir -p "$T/other/tokens"
printf 'directories.tokendir = %s/other/tokens\nobjectstore.backend = file\nlog.level = ERROR\n' \
	"$T" >"$T/other/softhsm2.conf"
SOFTHSM2_CONF="$T/other/softhsm2.conf" softhsm2-util --init-token --free \
	--label "$LABEL" --pin "$PIN" --so-pin "$SO_PIN" >/dev/null || fail "other token"
sed -e "s|^store = .*|db = $T/other/vault.db|" -e '/^listen/d' -e '/^evaluation_log/d' \
	"$T/r1/vaultsrv.conf" >"$T/other/vaultsrv.conf"
echo "listen = 127.0.0.1:1" >>"$T/other/vaultsrv.conf"
osrv() { SOFTHSM2_CONF="$T/other/softhsm2.conf" "$VAULTSRV" "$@" --config "$T/other/vaultsrv.conf"; }
osrv init >"$T/other/init.out" 2>&1 || fail "other vault init: $(cat "$T/other/init.out")"
OVID=$(sed -n 's/^vault_id //p' "$T/other/init.out")
# the attacker edits the (unsigned) vault id of 4's request
jq -c --arg v "$OVID" '.vault_id = $v' "$T/r4/request.json" >"$T/other/request.json"
osrv ceremony-export --request "$T/other/request.json" --fingerprint "$FP4" \
	--out "$T/other/bundle.json" >"$T/other/export.out" 2>&1 ||
	fail "other vault's export: $(cat "$T/other/export.out")"
jq -c --slurpfile real "$T/r4/bundle.json" \
	'.vault_id = $real[0].vault_id | .keys |= [range(length) as $i | .[$i] | .kcv = $real[0].keys[$i].kcv]' \
	"$T/other/bundle.json" >"$T/b-subst.json"
expect_refused 4 "$T/b-subst.json" 'does not match the vault'"'"'s check value'
# and without dressing up: the vault id gives it away
expect_refused 4 "$T/other/bundle.json" 'holds the keys of vault'
# A request for another vault is refused at export.
rc=0
ev_rsrv 1 ceremony-export --request "$T/other/request.json" --fingerprint "$FP4" \
	--out "$T/r4/x.json" >"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'the request is for vault' "$T/err" || fail "other vault's request exported: $(cat "$T/err")"
# The other vault's token, asked to export for this vault's request:
# refused (its store holds another vault_id).
rc=0
osrv ceremony-export --request "$T/r4/request.json" --fingerprint "$FP4" \
	--out "$T/other/x.json" >"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'the request is for vault' "$T/err" || fail "cross-vault export: $(cat "$T/err")"

# The bundle unwraps only in the token that made the request: into the
# source token (no such pending request) it does not.
expect_refused_src() {
	rc=0
	ev_rsrv 1 ceremony-import --bundle "$T/r4/bundle.json" >"$T/err" 2>&1 || rc=$?
	[ "$rc" != 0 ] && grep -q 'no pending request' "$T/err" || fail "import into the source: $(cat "$T/err")"
}
expect_refused_src

# After all that, the right bundle imports, once.
ev_rsrv 4 ceremony-import --bundle "$T/r4/bundle.json" >"$T/r4/import.out" 2>&1 ||
	fail "the right bundle for 4 was refused: $(cat "$T/r4/import.out")"
grep -q 'transport key destroyed' "$T/r4/import.out" || fail "import output: $(cat "$T/r4/import.out")"
p11 4 --list-objects | grep -q 'vaultsrv-transport' && fail "4 kept its transport key"
rc=0
ev_rsrv 4 ceremony-import --bundle "$T/r4/bundle.json" >"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'a replay' "$T/err" || fail "replayed bundle: $(cat "$T/err")"
# Files are never overwritten.
rc=0
ev_rsrv 1 ceremony-export --request "$T/r5/request.json" --fingerprint "$FP5" \
	--out "$T/r5/bundle.json" >"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q 'never overwritten' "$T/err" || fail "overwrite: $(cat "$T/err")"

# 4 serves the vault: alice recovers through it with a token minted by 4.
ev_replica_start 4
CT=$(ev_token 4 alice)
out=$(rprobe 4 "$CT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "recover through replica 4: $out"
[ "$out" = "K=$K attempts_left_at_start=9" ] || fail "recover through 4: $out"
out=$(rprobe 1 "$CT" --account alice --password 'alice pw' --store "$S" recover) ||
	fail "token from 4 at replica 1: $out"

# A new master key epoch reaches a replica that holds the old keys: a
# second ceremony brings only what it lacks. (pkcs11-tool makes key 2 in
# replica 1's token, standing in for the rotation's epoch_prepare.)
p11 1 --keygen --key-type AES:32 --label vaultsrv-master-2 --sensitive \
	--extractable --usage-wrap >"$T/keygen.out" 2>&1 || fail "keygen: $(cat "$T/keygen.out")"
ev_rsrv 4 ceremony-request --out "$T/r4/epoch.json" >"$T/r4/epoch.out" 2>"$T/err" ||
	fail "request on a token with keys: $(cat "$T/err")"
grep -q 'only the keys it lacks' "$T/err" || fail "request on a token with keys: $(cat "$T/err")"
ev_rsrv 1 ceremony-export --request "$T/r4/epoch.json" \
	--fingerprint "$(sed -n 's/^fingerprint //p' "$T/r4/epoch.out")" \
	--out "$T/r4/epoch-bundle.json" >"$T/r4/epoch-export.out" 2>&1 ||
	fail "export of epoch 2: $(cat "$T/r4/epoch-export.out")"
[ "$(jq -r '.keys | length' "$T/r4/epoch-bundle.json")" = 3 ] || fail "epoch bundle keys"
ev_rsrv 4 ceremony-import --bundle "$T/r4/epoch-bundle.json" >"$T/r4/epoch-import.out" 2>&1 ||
	fail "import of epoch 2: $(cat "$T/r4/epoch-import.out")"
grep -q '^imported 1 new keys (2 held already)' "$T/r4/epoch-import.out" &&
	grep -q '^key vaultsrv-master-1 kcv [0-9a-f]* (held already)$' "$T/r4/epoch-import.out" &&
	grep -q '^key vaultsrv-master-2 kcv [0-9a-f]*$' "$T/r4/epoch-import.out" ||
	fail "epoch import: $(cat "$T/r4/epoch-import.out")"
p11 4 --list-objects | grep -q 'label: *vaultsrv-master-2$' || fail "4 lacks key 2"
# A token holding another key under a vault key's label (another
# vault's token) is refused, and keeps what it had.
SOFTHSM2_CONF="$T/other/softhsm2.conf" "$VAULTSRV" ceremony-request --config "$T/r1/vaultsrv.conf" \
	--out "$T/other/req2.json" >"$T/other/req2.out" 2>/dev/null || fail "request on the other token"
ev_rsrv 1 ceremony-export --request "$T/other/req2.json" \
	--fingerprint "$(sed -n 's/^fingerprint //p' "$T/other/req2.out")" \
	--out "$T/other/bundle2.json" >/dev/null 2>&1 || fail "export for the other token"
rc=0
SOFTHSM2_CONF="$T/other/softhsm2.conf" "$VAULTSRV" ceremony-import --config "$T/r1/vaultsrv.conf" \
	--bundle "$T/other/bundle2.json" >"$T/err" 2>&1 || rc=$?
[ "$rc" != 0 ] && grep -q "holds a different key under that label" "$T/err" ||
	fail "import over different keys: $(cat "$T/err")"
osrv token --account x >/dev/null 2>&1 || fail "the other vault's token lost its keys"

REPLICAS="1 2 3 4"
ev_replicas_stop
echo "ceremony replicas: ok"
