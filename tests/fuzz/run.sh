#!/usr/bin/env bash
# Run every libFuzzer binary in DIR for SECONDS each.
#   tests/fuzz/run.sh DIR SECONDS
# The corpus of fuzz_NAME lives in build-fuzz/corpus/NAME (not committed)
# and is seeded on first use from tests/fuzz/seeds/NAME if that exists,
# else from the test mail under tests/data.  tests/fuzz/NAME.dict is used
# when present.  Crashes land in build-fuzz/artifacts/NAME/; the closing
# lines say how many runs each target did and whether it found anything.
set -u
cd "$(dirname "$0")/../.."
dir=${1:?usage: run.sh DIR SECONDS}
secs=${2:?usage: run.sh DIR SECONDS}
status=0
summary=()
for bin in "$dir"/fuzz_*; do
	[ -x "$bin" ] || continue
	name=$(basename "$bin"); short=${name#fuzz_}
	corpus=build-fuzz/corpus/$short
	arts=build-fuzz/artifacts/$short
	mkdir -p "$corpus" "$arts"
	if [ -z "$(ls -A "$corpus")" ]; then
		if [ -d "tests/fuzz/seeds/$short" ]; then
			cp -r "tests/fuzz/seeds/$short/." "$corpus/"
		else
			# seeds: every file of test mail up to 1 MB, flat names
			find tests/data -type f -size -1024k ! -name '*.md' -print0 |
			while IFS= read -r -d '' f; do
				cp "$f" "$corpus/seed-$(printf "%s" "$f" | sha256sum | cut -c1-16)" 2>/dev/null || true
			done
		fi
	fi
	args=(-max_total_time="$secs" -timeout=10 -rss_limit_mb=2560
	      -max_len=65536 -print_final_stats=1 -artifact_prefix="$arts/")
	[ -f "tests/fuzz/$short.dict" ] && args+=(-dict="tests/fuzz/$short.dict")
	log=build-fuzz/fuzz-$short.log
	echo "fuzzing $name for ${secs}s (corpus $corpus, log $log)"
	"$bin" "${args[@]}" "$corpus" >"$log" 2>&1
	rc=$?
	runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -n1)
	found=$(ls -A "$arts" | wc -l)
	summary+=("$name: ${runs:-?} runs, exit $rc, $found artifact(s) in $arts")
	if [ "$rc" -ne 0 ]; then
		status=1
		tail -n 40 "$log"
	fi
done
printf '%s\n' "${summary[@]}"
exit $status
