#!/bin/sh
# Runs each libFuzzer harness for a bounded time on its seeds and a
# working corpus under build/fuzz/corpus; ends with "N passed, N failed".
#   tests/fuzz/run.sh SECONDS FUZZER...
set -u
secs=$1
shift
passed=0
failed=0
for f in "$@"; do
	name=$(basename "$f")
	seeds="tests/fuzz/seeds/${name#fuzz_}"
	corpus="build/fuzz/corpus/$name"
	mkdir -p "$corpus"
	# the ELF parser also starts from the small libraries the tests build
	if [ "$name" = fuzz_elf ]; then
		for so in build/fixtures/lib*.so; do
			[ -f "$so" ] && cp "$so" "$corpus/seed-$(basename "$so")"
		done
	fi
	# the minidump reader also starts from the public test dumps
	if [ "$name" = fuzz_minidump ]; then
		for dmp in ../shared/corpora/minidump/*.dmp /work/shared/corpora/minidump/*.dmp; do
			[ -f "$dmp" ] && cp "$dmp" "$corpus/seed-$(basename "$dmp")"
		done
	fi
	log="build/fuzz/$name.log"
	if "$f" -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
		"$corpus" "$seeds" >"$log" 2>&1; then
		echo "ok   $name ($(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$') runs)"
		passed=$((passed + 1))
	else
		echo "FAIL $name (see $log)"
		tail -40 "$log"
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
