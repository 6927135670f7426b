#!/bin/sh
# run.sh - build the libFuzzer harnesses with clang and run them.
#
#   tests/fuzz/run.sh BUILDDIR [SECONDS [TARGET...]]
#
# BUILDDIR is a configured build directory (its config.h is used); the
# clang build goes to BUILDDIR/tests/fuzz/clang (objects compiled with
# -fsanitize=fuzzer-no-link,address,undefined, harnesses linked with
# -fsanitize=fuzzer). Each target runs SECONDS (default 60) starting from
# its committed seed corpus tests/fuzz/corpus/TARGET (never written to;
# new inputs go to BUILDDIR/tests/fuzz/clang/corpus/TARGET), FUZZ_JOBS
# (default 2) targets at a time. Exit 1 if any target crashed, leaked,
# timed out or could not be built; its reproducer is under
# BUILDDIR/tests/fuzz/clang/artifacts/TARGET/. Exit 77 without clang.
# Library flags come from the environment (make fuzz passes configure's
# SODIUM_CFLAGS etc.), else from pkg-config.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
b=$(cd "${1:?usage: run.sh BUILDDIR [SECONDS [TARGET...]]}" && pwd)
secs=${2:-60}
[ $# -ge 2 ] && shift 2 || shift $#
jobs=${FUZZ_JOBS:-2}
CLANG=${FUZZ_CC:-clang}
command -v "$CLANG" >/dev/null 2>&1 || {
	echo "fuzz: $CLANG not installed (apt-get install clang libclang-rt-14-dev)" >&2
	exit 77
}
[ -f "$b/config.h" ] || { echo "fuzz: $b/config.h missing: configure first" >&2; exit 99; }
. "$top/tests/fuzz/targets.sh"
targets=${*:-$FUZZ_TARGETS}

pc() { pkg-config "$@" 2>/dev/null || true; }
: "${SODIUM_CFLAGS=$(pc --cflags libsodium)}" "${SODIUM_LIBS=$(pc --libs libsodium)}"
: "${CJSON_CFLAGS=$(pc --cflags libcjson)}" "${CJSON_LIBS=$(pc --libs libcjson)}"
: "${CRYPTO_CFLAGS=$(pc --cflags libcrypto)}" "${CRYPTO_LIBS=$(pc --libs libcrypto)}"
: "${MHD_CFLAGS=$(pc --cflags libmicrohttpd)}" "${MHD_LIBS=$(pc --libs libmicrohttpd)}"
: "${SQLITE_CFLAGS=$(pc --cflags sqlite3)}" "${SQLITE_LIBS=$(pc --libs sqlite3)}"
: "${CURL_CFLAGS=$(pc --cflags libcurl)}" "${CURL_LIBS=$(pc --libs libcurl)}"

out=$b/tests/fuzz/clang
mkdir -p "$out/obj" "$out/bin"
SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined"
CF="-g -O1 -fno-omit-frame-pointer $SAN -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
 -I$b -I$top -I$top/common -I$top/fs -I$top/tests/fuzz
 $SODIUM_CFLAGS $CJSON_CFLAGS $CRYPTO_CFLAGS $MHD_CFLAGS $SQLITE_CFLAGS $CURL_CFLAGS"
LIBS="$CJSON_LIBS $CRYPTO_LIBS $SODIUM_LIBS $MHD_LIBS $SQLITE_LIBS $CURL_LIBS
 -lpthread -lm -ldl"

# --- build: every source once, newer than its object or any header ---
srcs=""
for t in $targets; do
	s=$(fuzz_sources "$t") || { echo "fuzz: unknown target $t" >&2; exit 2; }
	srcs="$srcs tests/fuzz/$t.c tests/fuzz/fuzz_util.c $s"
done
newest_h=$(cd "$top" && ls -t common/*.h fs/*.h vaultclient/*.h vaultsrv/*.h \
	tests/fuzz/*.h | head -n 1)
tocompile=""
for s in $(echo "$srcs" | tr ' ' '\n' | sort -u); do
	o=$out/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$o" ] || [ "$top/$s" -nt "$o" ] || [ "$top/$newest_h" -nt "$o" ] ||
		[ "$b/config.h" -nt "$o" ]; then
		tocompile="$tocompile $s"
	fi
done
export CLANG CF top out
if [ -n "$tocompile" ]; then
	echo "fuzz: compiling$(echo "$tocompile" | wc -w | sed 's/^/ /') sources with $CLANG"
	# harnesses get -fsanitize=fuzzer-no-link too: coverage everywhere
	# shellcheck disable=SC2016
	echo "$tocompile" | tr ' ' '\n' | grep . | xargs -P "$jobs" -I{} sh -c '
		s={}; o=$out/obj/$(echo "$s" | tr / _ | sed "s/\.c\$/.o/")
		$CLANG $CF -fsanitize=fuzzer-no-link -c -o "$o" "$top/$s" || exit 255'
fi
for t in $targets; do
	objs=""
	for s in tests/fuzz/$t.c tests/fuzz/fuzz_util.c $(fuzz_sources "$t"); do
		objs="$objs $out/obj/$(echo "$s" | tr / _ | sed 's/\.c$/.o/')"
	done
	# shellcheck disable=SC2086
	$CLANG $SAN -fsanitize=fuzzer -o "$out/bin/$t" $objs $LIBS
done

# --- run ---
mkdir -p "$out/log"
run_one() {
	t=$1
	mkdir -p "$out/corpus/$t" "$out/artifacts/$t"
	seeds=$top/tests/fuzz/corpus/$t
	[ -d "$seeds" ] || seeds=""
	rc=0
	# shellcheck disable=SC2086
	(cd "$out/artifacts/$t" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		LSAN_OPTIONS=suppressions=$top/tests/lsan.supp \
		"$out/bin/$t" -max_total_time="$secs" -timeout=20 \
		-rss_limit_mb=2048 -max_len="$(fuzz_max_len "$t")" \
		-print_final_stats=1 -artifact_prefix="$out/artifacts/$t/" \
		"$out/corpus/$t" $seeds >"$out/log/$t.log" 2>&1) || rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log/$t.log")
	rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$out/log/$t.log")
	cov=$(grep -o 'cov: [0-9]*' "$out/log/$t.log" | tail -n 1)
	if [ "$rc" -eq 0 ]; then
		printf 'fuzz: %-20s ok    %8s runs %6s exec/s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$cov"
	else
		printf 'fuzz: %-20s FAIL  (exit %s) see %s\n' "$t" "$rc" "$out/log/$t.log"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' "$out/log/$t.log" | head -n 3
		ls "$out/artifacts/$t"/crash-* "$out/artifacts/$t"/leak-* \
			"$out/artifacts/$t"/timeout-* "$out/artifacts/$t"/oom-* 2>/dev/null | head -n 3
		return 1
	fi
}
export secs
fail=0
if [ "$jobs" -le 1 ]; then
	for t in $targets; do run_one "$t" || fail=1; done
else
	pids="" n=0
	for t in $targets; do
		run_one "$t" &
		pids="$pids $!"
		n=$((n + 1))
		if [ "$n" -ge "$jobs" ]; then
			for p in $pids; do wait "$p" || fail=1; done
			pids="" n=0
		fi
	done
	for p in $pids; do wait "$p" || fail=1; done
fi
exit $fail
