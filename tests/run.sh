#!/bin/sh
# Runs the unit and integration tests against one build directory and
# ends with the total "N passed, N failed".
#   tests/run.sh [BUILD_DIR]
set -u
build=${1:-build}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export VMATLAS_BUILD="$build"
# sanitizer builds: fail on the first report, and find leaks
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

status=0
echo "== unit tests ($build)"
"$build/unit-tests" 2>&1 | tee -a "$log" || status=1
echo "== integration tests ($build)"
python3 tests/integration/run.py 2>&1 | tee -a "$log" || status=1

passed=0
failed=0
for n in $(sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' "$log"); do passed=$((passed + n)); done
for n in $(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' "$log"); do failed=$((failed + n)); done
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "== total ($build)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
