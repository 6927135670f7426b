# targets.sh - the fuzz targets and the sources each one is built from
# (sourced by run.sh; tests/fuzz/local.mk lists the same for the replay
# programs of make check). "store" stands for the store library's sources.
FUZZ_COMMON="common/buf.c common/keytext.c common/log.c common/vfs_error.c"
# The store library's C sources, read from fs/store.mk so that a new
# store module cannot be forgotten here (session 3's fs/hwm_async.c was).
FUZZ_STORE=$(sed -n '/^fs_libvfsstore_a_SOURCES/,/^$/p' \
	"${top:-$top_srcdir}/fs/store.mk" | grep -o 'fs/[a-z_]*\.c' | tr '\n' ' ')
[ -n "$FUZZ_STORE" ] || { echo "fuzz: no store sources in fs/store.mk" >&2; exit 99; }
# Every vaultsrv module but main.c (from vaultsrv/local.mk), for the
# parsers whose modules reach into the rest of the server (the config's
# rotation schedule, the ceremony's HSM calls).
FUZZ_VAULTSRV=$(grep -o 'vaultsrv/[a-z_]*\.c' "${top:-$top_srcdir}/vaultsrv/local.mk" |
	grep -v '^vaultsrv/main\.c$' | sort -u | tr '\n' ' ')
FUZZ_TARGETS="fuzz_keytext fuzz_header fuzz_commit fuzz_meta fuzz_segment
 fuzz_sealed fuzz_lease fuzz_vfs_vaultconf fuzz_vc_json fuzz_vc_proto
 fuzz_vs_json fuzz_vs_token fuzz_vs_config fuzz_vs_etcd fuzz_vs_ceremony"

# fuzz_sources TARGET: sources besides the harness itself and fuzz_util.c
fuzz_sources() {
	case $1 in
	fuzz_keytext) echo "$FUZZ_COMMON" ;;
	fuzz_header | fuzz_commit | fuzz_meta)
		echo "$FUZZ_STORE $FUZZ_COMMON" ;;
	fuzz_segment | fuzz_sealed | fuzz_lease)
		echo "tests/fuzz/fuzz_store.c $FUZZ_STORE $FUZZ_COMMON" ;;
	fuzz_vfs_vaultconf) echo "fs/cli.c $FUZZ_COMMON" ;;
	fuzz_vc_json) echo "vaultclient/json.c $FUZZ_COMMON" ;;
	fuzz_vc_proto)
		echo "vaultclient/protocol.c vaultclient/json.c" \
			"vaultclient/oprf.c vaultclient/vcrypto.c $FUZZ_COMMON" ;;
	fuzz_vs_json) echo "vaultsrv/json.c $FUZZ_COMMON" ;;
	fuzz_vs_token) echo "vaultsrv/token.c $FUZZ_COMMON" ;;
	fuzz_vs_config) echo "$FUZZ_VAULTSRV $FUZZ_COMMON" ;;
	fuzz_vs_etcd) echo "vaultsrv/etcd_parse.c vaultsrv/json.c $FUZZ_COMMON" ;;
	fuzz_vs_ceremony)
		echo "$FUZZ_VAULTSRV $FUZZ_COMMON" ;;
	*) return 1 ;;
	esac
}

# fuzz_max_len TARGET: the largest input worth trying
fuzz_max_len() {
	case $1 in
	fuzz_keytext | fuzz_vs_token) echo 1024 ;;
	fuzz_segment | fuzz_sealed) echo 262144 ;;
	fuzz_meta | fuzz_vc_proto | fuzz_vc_json | fuzz_vs_json | \
	fuzz_vs_ceremony) echo 65536 ;;
	*) echo 8192 ;;
	esac
}
