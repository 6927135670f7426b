#!/bin/sh
# replay.sh - make check: replays every committed fuzz input through the
# harnesses built as plain programs (tests/fuzz/replay.c):
# tests/fuzz/corpus/TARGET/* (seeds) and tests/fuzz/crashes/TARGET/*
# (reproducers of fixed crashes) must all run clean. A reproducer whose
# name starts with "open-" is a known, not yet fixed crash (the fix belongs
# to another module; docs/testing.md): it is run in a child and reported,
# and the test says so when it stops crashing.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
. "$top_srcdir/tests/fuzz/targets.sh"
fail=0
for t in $FUZZ_TARGETS; do
	prog=$top_builddir/tests/fuzz/$t
	[ -x "$prog" ] || { echo "replay: $prog not built"; exit 99; }
	set --
	for d in "$top_srcdir/tests/fuzz/corpus/$t" "$top_srcdir/tests/fuzz/crashes/$t"; do
		[ -d "$d" ] || continue
		for f in "$d"/*; do
			[ -f "$f" ] || continue
			case ${f##*/} in open-*) continue ;; esac
			set -- "$@" "$f"
		done
	done
	if [ $# -eq 0 ]; then
		echo "replay: $t: no committed inputs"
		fail=1
		continue
	fi
	"$prog" "$@" || { echo "replay: $t FAILED"; fail=1; }
	for f in "$top_srcdir/tests/fuzz/crashes/$t"/open-*; do
		[ -f "$f" ] || continue
		if "$prog" "$f" >/dev/null 2>&1; then
			echo "replay: $t: ${f##*/} no longer crashes: rename it (drop open-)"
		else
			echo "replay: $t: ${f##*/} still crashes (known, open)"
		fi
	done
done
exit $fail
