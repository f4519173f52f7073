#!/usr/bin/env bash
# The demo mailbox against its own documentation: contrib/demo/README.md
# has a table of the 20 messages with the severity and tags a SIRT
# member assigns.  The table is parsed here (so README and test cannot
# drift) and every message's dry-run verdict must have exactly that
# severity and carry every listed tag, with the prefilter on and off.
# The demo SIRT key is imported so the encrypted report can be read.
source "$(dirname "$0")/lib.sh"
command -v gpg >/dev/null || skip "gpg not installed"
demo="$SIRT_TOP/contrib/demo"
[ -f "$demo/README.md" ] || skip "no demo"
cd "$T"
mkdir -p -m 700 var/gnupg
CLEANUP+=("gpgconf --homedir '$T/var/gnupg' --kill all")
gpg --homedir var/gnupg --batch --quiet --import "$demo/demo-sirt-key.asc" 2>/dev/null ||
	fail "cannot import the demo key"
cat >sirt.conf <<CONF
[store]
path = $T/var/sirt.db
[rules]
dir = $SIRT_TOP/rules
[crypto]
gnupg_home = $T/var/gnupg
CONF

python3 - "$demo/README.md" >expected.tsv <<'PY' || fail "cannot parse the demo table"
import re, sys
rows = 0
for line in open(sys.argv[1], encoding="utf-8"):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 5 or not cells[0].isdigit():
        continue
    f = re.fullmatch(r"`([^`]+)`", cells[1])
    sev = re.match(r"\*\*(P[1-4])\*\*", cells[3])
    if not f or not sev:
        sys.exit(f"unparsable row: {line}")
    tags = [t.strip() for t in cells[4].split(",") if t.strip() not in ("", "–", "-")]
    print(f"{f.group(1)}\t{sev.group(1)}\t{','.join(tags) or '-'}")
    rows += 1
if rows < 20:
    sys.exit(f"only {rows} rows in the demo table")
PY
files=()
while IFS=$'\t' read -r f sev tags; do
	[ -f "$demo/new/$f" ] || fail "README names $f, not in contrib/demo/new"
	files+=("$demo/new/$f")
done <expected.tsv

SIRT_PREFILTER=1 sirt -c sirt.conf --json triage "${files[@]}" >on.json 2>err.txt ||
	fail "triage failed: $(cat err.txt)"
SIRT_PREFILTER=0 sirt -c sirt.conf --json triage "${files[@]}" >off.json 2>>err.txt ||
	fail "triage without prefilter failed: $(cat err.txt)"

python3 - expected.tsv on.json off.json <<'PY' || exit 1
import json, os, sys
exp, on, off = sys.argv[1:4]
def load(p):
    return {os.path.basename(o["file"]): o for o in map(json.loads, open(p))}
got, got_off = load(on), load(off)
bad = total = 0
for line in open(exp):
    f, sev, tags = line.rstrip("\n").split("\t")
    total += 1
    want = [] if tags == "-" else tags.split(",")
    for name, g in (("prefilter on", got), ("prefilter off", got_off)):
        v = g.get(f)
        if v is None:
            print(f"MISSING {f} ({name})"); bad += 1; continue
        missing = [t for t in want if t not in v["tags"]]
        if v["severity"] != sev or missing:
            bad += 1
            print(f"WRONG {f} ({name}): README says {sev} {want}, got {v['severity']} "
                  f"{v['tags']} ({v['reason']})")
print(f"{total} demo messages, {bad} wrong")
sys.exit(1 if bad else 0)
PY
