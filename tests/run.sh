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
# the live Windows tests again on 32-bit programs (WoW64) read by the
# 64-bit build, then by the 32-bit build (tests/integration/winlive.py);
# they need Wine's 32-bit side (scripts/deps.sh wine32), and the Windows
# build is not sanitized
if [ -x /usr/lib/wine/wine ] && [ "$(basename "$build")" != san ]; then
	for arrangement in "VMATLAS_WINFIX=win32" "VMATLAS_WINARCH=win32"; do
		echo "== Windows tests on 32-bit programs ($arrangement)"
		env "$arrangement" python3 tests/integration/run.py test_win test_cpuwin 2>&1 | tee -a "$log" || status=1
	done
fi

passed=0
failed=0
for n in $(sed -n 's/^\([0-9]*\) passed, [0-9]* failed$/\1/p' "$log"); do passed=$((passed + n)); done
for n in $(sed -n 's/^[0-9]* passed, \([0-9]*\) failed$/\1/p' "$log"); do failed=$((failed + n)); done
[ "$status" -ne 0 ] && [ "$failed" -eq 0 ] && failed=1
echo "== total ($build)"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
