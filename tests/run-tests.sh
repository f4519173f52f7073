#!/usr/bin/env bash
# Run sirt's tests: the cmocka unit binaries in $BUILD/tests/ and the
# end-to-end scripts tests/e2e/t_*.sh.  A script passes with exit 0, is
# skipped with exit 77, fails otherwise.  Prints one closing line
# "N passed, N failed, N skipped" and exits non-zero if anything failed.
#   tests/run-tests.sh [unit|e2e] [NAME-GLOB]
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export SIRT_BIN="$PWD/$BUILD/sirt" SIRT_TOP="$PWD" BUILD
what=${1:-all}
glob=${2:-*}
pass=0 fail=0 skip=0 failed=()
logdir="$BUILD/test-logs"
mkdir -p "$logdir"

run_one() { # name, command...
	local name=$1; shift
	local log="$logdir/${name//\//_}.log" start=$SECONDS rc
	"$@" >"$log" 2>&1
	rc=$?
	case $rc in
	0)  pass=$((pass + 1)); printf 'PASS %-40s %3ss\n' "$name" $((SECONDS - start));;
	77) skip=$((skip + 1)); printf 'SKIP %-40s %s\n' "$name" "$(tail -n1 "$log")";;
	*)  fail=$((fail + 1)); failed+=("$name")
	    printf 'FAIL %-40s (exit %s) log: %s\n' "$name" "$rc" "$log"
	    tail -n 30 "$log" | sed 's/^/    | /';;
	esac
}

if [ "$what" = all ] || [ "$what" = unit ]; then
	for t in "$BUILD"/tests/test_$glob; do
		[ -x "$t" ] || continue
		run_one "unit/$(basename "$t")" "$t"
	done
fi
if [ "$what" = all ] || [ "$what" = e2e ]; then
	for t in tests/e2e/t_$glob.sh; do
		[ -f "$t" ] || continue
		run_one "e2e/$(basename "$t" .sh)" bash "$t"
	done
fi
echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[*]}"
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
