#!/usr/bin/env bash
# sirt retriage: mail that arrived while no rules were installed is
# triaged again from its stored bytes; a human's override stays; audited.
source "$(dirname "$0")/lib.sh"
cd "$T"
printf '[store]\npath = %s/sirt.db\n[rules]\ndir = %s/none\n' "$T" "$T" > norules.conf
printf '[store]\npath = %s/sirt.db\n[rules]\ndir = %s/rules\n' "$T" "$SIRT_TOP" > rules.conf
demo="$SIRT_TOP/contrib/demo/new"
p1=$(grep -l "exploited in the wild" "$demo"/* | head -1)
[ -n "$p1" ] || fail "no actively exploited report in the demo"
out=$(sirt -c norules.conf ingest "$p1" 2>&1) || fail "ingest: $out"
contains "$out" "P3"
expect_rc 78 sirt -c norules.conf retriage --all
expect_rc 64 sirt -c rules.conf retriage
out=$(SIRT_USER=alice sirt -c rules.conf retriage SEC-2026-0001 --note "rules installed") || fail "retriage: $out"
contains "$out" "P3 -> P1"
sev=$(sirt -c rules.conf --json show SEC-2026-0001 | python3 -c '
import json,sys; c=json.load(sys.stdin)
t=[e for e in c["timeline"] if e["action"]=="retriaged"]
assert t and t[0]["actor"]=="alice" and t[0]["note"]=="rules installed", c["timeline"]
print(c["severity"], c["messages"][0]["verdict"]["severity"])')
[ "$sev" = "P1 P1" ] || fail "after retriage: $sev"
# A human's override stays in force.
sirt -c rules.conf set SEC-2026-0001 --severity P2 --note "contained already" >/dev/null
sirt -c rules.conf retriage --all >/dev/null || fail "retriage --all"
sev=$(sirt -c rules.conf --json show SEC-2026-0001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["severity"])')
[ "$sev" = P2 ] || fail "override lost by retriage: $sev"
expect_rc 66 sirt -c rules.conf retriage SEC-2026-0099
exit 0
