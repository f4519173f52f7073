#!/usr/bin/env bash
# The shipped policy (rules/) against the labelled reports in
# tests/data/labelled: every report must get exactly its expected
# severity and carry every expected tag (expected.tsv: file, severity,
# tags separated by commas or "-").  Then the same verdicts must come
# out with the Vectorscan prefilter on from the first message
# (SIRT_PREFILTER=1) and off (SIRT_PREFILTER=0).
source "$(dirname "$0")/lib.sh"
D="$SIRT_TOP/tests/data/labelled"
R="$SIRT_TOP/tests/data/triage-regress"
[ -f "$D/expected.tsv" ] || skip "no labelled set"
cat >"$T/sirt.conf" <<CONF
[store]
path = $T/var/sirt.db
[rules]
dir = $SIRT_TOP/rules
CONF
files=()
while IFS=$'\t' read -r f sev tags; do
	[ -n "$f" ] && files+=("$D/$f")
done <"$D/expected.tsv"
[ ${#files[@]} -ge 60 ] || fail "only ${#files[@]} labelled reports"
# and the regression cases found while testing on unseen mail
while IFS=$'\t' read -r f sev tags; do
	[ -n "$f" ] && files+=("$R/$f")
done <"$R/expected.tsv"
cat "$D/expected.tsv" "$R/expected.tsv" >"$T/expected.tsv"

SIRT_PREFILTER=1 sirt -c "$T/sirt.conf" --json triage "${files[@]}" >"$T/on.json" ||
	fail "triage failed"
SIRT_PREFILTER=0 sirt -c "$T/sirt.conf" --json triage "${files[@]}" >"$T/off.json" ||
	fail "triage without prefilter failed"

python3 - "$T/expected.tsv" "$T/on.json" "$T/off.json" <<'PY' || exit 1
import json, os, sys
exp, on, off = sys.argv[1:4]
def load(p):
    return {os.path.basename(o["file"]): o for o in map(json.loads, open(p))}
got, got_off = load(on), load(off)
bad = 0
for line in open(exp):
    if not line.strip():
        continue
    f, sev, tags = line.rstrip("\n").split("\t")
    v = got.get(f)
    if v is None:
        print(f"MISSING {f}"); bad += 1; continue
    want = [] if tags == "-" else tags.split(",")
    missing = [t for t in want if t not in v["tags"]]
    if v["severity"] != sev or missing:
        bad += 1
        print(f"WRONG {f}: want {sev} {want}, got {v['severity']} {v['tags']} "
              f"({v['reason']}; hits {[h['rule'] for h in v['hits']]})")
    o = got_off.get(f)
    key = lambda x: (x["severity"], x["category"], x["tags"],
                     [(h["rule"], h.get("match")) for h in x["hits"]])
    if o is None or key(o) != key(v):
        bad += 1
        print(f"PREFILTER DIFFERS {f}: on {key(v)} off {key(o) if o else None}")
total = sum(1 for l in open(exp) if l.strip())
print(f"{total - bad} of {total} labelled and regression reports right")
sys.exit(1 if bad else 0)
PY
