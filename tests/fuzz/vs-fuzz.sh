#!/bin/sh
# vs-fuzz.sh - run vaultsrv's libFuzzer harnesses only (kept for habit;
# tests/fuzz/run.sh builds and runs all targets, see docs/testing.md).
#   tests/fuzz/vs-fuzz.sh BUILDDIR [SECONDS]
exec "$(dirname "$0")/run.sh" "${1:?usage: vs-fuzz.sh BUILDDIR [SECONDS]}" \
	"${2:-60}" fuzz_vs_json fuzz_vs_token fuzz_vs_config fuzz_vs_etcd fuzz_vs_ceremony
