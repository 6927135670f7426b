#!/bin/sh
# vs-fuzz.sh - build and run vaultsrv's libFuzzer harnesses (clang needed;
# not part of make check).
#   tests/fuzz/vs-fuzz.sh BUILDDIR [SECONDS]
# BUILDDIR is a configured build directory (for config.h). Each harness
# runs SECONDS (default 60) with ASan + UBSan; corpora go to
# BUILDDIR/fuzz-corpus/NAME; a crash leaves crash-* in BUILDDIR/fuzz.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=$(cd "${1:?usage: vs-fuzz.sh BUILDDIR [SECONDS]}" && pwd)
secs=${2:-60}
command -v clang >/dev/null || { echo "vs-fuzz: clang not installed" >&2; exit 77; }
mkdir -p "$b/fuzz"
CF="-g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
 -I$b -I$top -I$top/common $(pkg-config --cflags libsodium libcjson)"
LIBS="$(pkg-config --libs libsodium libcjson)"
build() { # name sources...
	n=$1
	shift
	# shellcheck disable=SC2086
	clang $CF -o "$b/fuzz/$n" "$top/tests/fuzz/$n.c" "$@" $LIBS
}
build fuzz_vs_json "$top/vaultsrv/json.c"
build fuzz_vs_token "$top/vaultsrv/token.c"
build fuzz_vs_config "$top/vaultsrv/config.c" "$top/common/log.c"
for n in fuzz_vs_json fuzz_vs_token fuzz_vs_config; do
	mkdir -p "$b/fuzz-corpus/$n"
	(cd "$b/fuzz" && "./$n" -max_total_time="$secs" -max_len=4096 \
		"$b/fuzz-corpus/$n" 2>&1 | tail -n 2)
done
