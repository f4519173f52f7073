#!/usr/bin/env bash
# make bench: triage throughput on one core, and sirt's time against
# pcre2grep running the same shipped patterns over the same files.
#
# 1. Corpus: the labelled reports (tests/data/labelled) plus the real
#    third-party mail in ../shared/corpora (every file that looks like a
#    message; mbox files split into messages), hard-linked over and over
#    into a temporary directory until there are at least $BENCH_MESSAGES
#    (default 100000) message files.
# 2. sirt: build/bench_triage reads, parses, decodes and triages every
#    file on core 0 (nothing stored), prefilter on; CPU time per stage.
#    It loads the compiled prefilter from a cache, as sirt poll and the
#    daemon do once the rules have been compiled; the compile itself
#    (once per change of the rules) is measured apart and shown too.
# 3. pcre2grep -c -U -f PATTERNS (JIT on by default) over the same files
#    on core 0, PATTERNS being the shipped rules' match patterns.
# 4. Prints messages/s of the triage itself (parse, decode and rules,
#    the stages timed around each message, freeing it included) and of
#    the whole run (reading the files too: the process's CPU time), the
#    average message size and the ratio of the two processes' CPU times,
#    for the whole corpus and again for its files of 3.5-5.5 KB (the size
#    the goal is stated for).
# Other benchmarks (tests/bench/bench_*.sh) run too when BENCH_ALL=1.
set -u
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
N=${BENCH_MESSAGES:-100000}
CORPORA=${SIRT_CORPORA:-../shared/corpora}
[ -d "$CORPORA" ] || CORPORA=/work/shared/corpora
B="$PWD/$BUILD/bench_triage"
[ -x "$B" ] || { echo "bench: $B missing (make $BUILD/bench_triage)" >&2; exit 1; }
command -v pcre2grep >/dev/null || { echo "bench: pcre2grep missing (pcre2-utils)" >&2; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/sirt-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
PIN=""
command -v taskset >/dev/null && PIN="taskset -c 0"

# ---- the corpus -------------------------------------------------------
mkdir -p "$W/src" "$W/msgs"
i=0
for f in tests/data/labelled/*.eml; do
	cp "$f" "$W/src/m$i.eml"; i=$((i + 1))
done
if [ -d "$CORPORA" ]; then
	while IFS= read -r f; do
		case "$f" in *.golden|*.asc|*.p12|*.gz|*.crt|*.key|*.pem|*README*|*.md) continue;; esac
		if head -c 4 "$f" | grep -q '^From'; then
			# an mbox: one file per message
			awk -v out="$W/src/mbox$i" 'BEGIN{f = out "-0.eml"} /^From /{close(f); n++; f = out "-" n ".eml"} {print > f}' "$f"
		elif head -c 4096 "$f" | grep -qiE '^(from|subject|date|message-id|content-type|to|received|mime-version|return-path):'; then
			cp "$f" "$W/src/m$i.eml"
		fi
		i=$((i + 1))
	done < <(find "$CORPORA/mime" "$CORPORA/mbox" "$CORPORA/pgp" -type f 2>/dev/null | sort)
fi
nsrc=$(ls "$W/src" | wc -l)
copies=$(( (N + nsrc - 1) / nsrc ))
echo "corpus: $nsrc distinct messages (labelled set + $CORPORA), $copies copies each"
c=0
while [ "$c" -lt "$copies" ]; do
	mkdir -p "$W/msgs/$c"
	ln "$W"/src/* "$W/msgs/$c/"
	c=$((c + 1))
done
find "$W/msgs" -type f | sort >"$W/list"
total=$(wc -l <"$W/list")
bytes=$(find "$W/msgs" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
echo "corpus: $total message files, $bytes bytes, $((bytes / total)) bytes on average"

"$B" --patterns rules >"$W/patterns"
# compile the rules once, cold, into the cache the measured runs load
"$B" --cache "$W/cache" rules /dev/null >"$W/cold.out"
compile_s=$(tr ' ' '\n' <"$W/cold.out" | sed -n 's/^load_s=//p')
echo "rules: compiled in ${compile_s} s (no cache); the runs below load them from the cache"
echo "patterns: $(wc -l <"$W/patterns") match patterns from rules/"
TIMEFORMAT='%3U %3S %3R'

# measure LIST TITLE: sirt then pcre2grep over the files of LIST, on core 0
measure() {
	local list=$1 su ss sr gu gs gr
	echo "== $2"
	# warm the page cache for both contenders
	cat $(head -n 2000 "$list") >/dev/null
	{ time $PIN "$B" --cache "$W/cache" rules "$list" >"$W/sirt.out" 2>"$W/sirt.err"; } 2>"$W/sirt.time"
	cat "$W/sirt.out"
	read -r su ss sr <"$W/sirt.time"
	{ time $PIN pcre2grep -c -U -f "$W/patterns" --file-list="$list" >"$W/grep.out" 2>"$W/grep.err"; } 2>"$W/grep.time"
	read -r gu gs gr <"$W/grep.time"
	[ -s "$W/grep.err" ] && head -3 "$W/grep.err"
	python3 - "$su" "$ss" "$sr" "$gu" "$gs" "$gr" "$W/sirt.out" "$compile_s" <<'PY'
import sys
su, ss, sr, gu, gs, gr = map(float, sys.argv[1:7])
kv = dict(x.split("=", 1) for x in open(sys.argv[7]).read().split())
compile_s = float(sys.argv[8])
n = int(kv["messages"])
sirt_cpu, grep_cpu = su + ss, gu + gs
load = float(kv["load_s"])
print(f"sirt triage:  {n} messages, {sirt_cpu:.2f} s CPU ({sr:.2f} s wall) including "
      f"{load:.2f} s to load the rules ({kv['cached']} prefilter databases from the cache)")
print(f"              triage (parse+decode+rules): {float(kv['triage_msgs_per_s']):.0f} messages/s "
      f"on one core (parse+decode {kv['parse_us']} us, rules {kv['rules_us']} us per message, "
      f"average {kv['avg_bytes']} bytes)")
print(f"              whole run, reading the files too: {n / (sirt_cpu - load):.0f} messages/s "
      f"({(sirt_cpu - load) * 1e6 / n:.1f} us per message)")
print(f"pcre2grep -c: {grep_cpu:.2f} s CPU ({gr:.2f} s wall), "
      f"{grep_cpu * 1e6 / n:.0f} us per message")
print(f"ratio sirt/pcre2grep: {sirt_cpu / grep_cpu:.2f} (whole run), "
      f"{(sirt_cpu - load) / grep_cpu:.2f} (rules already loaded); "
      f"rules alone {float(kv['rules_us']) * n / 1e6 / grep_cpu:.2f}; "
      f"{(sirt_cpu - load + compile_s) / grep_cpu:.2f} compiling the rules in the run")
PY
}

measure "$W/list" "the whole corpus"
# The goal is stated for messages of about 4.5 KB: the same measure over
# the corpus files between 3.5 and 5.5 KB.
# (listed again as often as needed for BENCH_MESSAGES_45 entries, 20000
# by default, so that compiling the rules weighs as little as above)
find "$W/msgs" -type f -size +3500c -size -5501c | sort >"$W/band"
if [ -s "$W/band" ]; then
	n45=${BENCH_MESSAGES_45:-20000}
	: >"$W/list45"
	while [ "$(wc -l <"$W/list45")" -lt "$n45" ]; do cat "$W/band" >>"$W/list45"; done
	echo "corpus: $(wc -l <"$W/band") of those files are 3.5-5.5 KB ($(sed 's|.*/||' "$W/band" | sort -u | wc -l) distinct), listed to $(wc -l <"$W/list45") entries"
	measure "$W/list45" "messages of 3.5-5.5 KB"
fi
rc=0
if [ "${BENCH_ALL:-0}" = 1 ]; then
	for s in tests/bench/bench_*.sh; do
		[ -f "$s" ] || continue
		echo "== $s"
		bash "$s" || rc=1
	done
fi
exit $rc
