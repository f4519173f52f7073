#!/usr/bin/env bash
# sirt set: state, tags, severity override; every change audited.
source "$(dirname "$0")/lib.sh"
cd "$T"
export SIRT_NOW=2026-11-20T17:00:00Z
printf 'From: a@example.org\nSubject: odd login\nMessage-ID: <x1@example.org>\n\nSomething odd.\n' > a.eml
sirt ingest a.eml >/dev/null || fail "ingest"

SIRT_USER=alice SIRT_NOW=2026-11-20T18:00:00Z sirt set SEC-2026-0001 --state investigating --note "looking at auth logs" >/dev/null \
	|| fail "set --state"
SIRT_USER=bob sirt set SEC-2026-0001 --tag breach >/dev/null || fail "set --tag"
SIRT_USER=bob sirt set SEC-2026-0001 --untag breach --note "no data left" >/dev/null || fail "set --untag"
expect_rc 64 sirt set SEC-2026-0001 --severity P1
SIRT_USER=carol sirt set SEC-2026-0001 --severity P1 --note "confirmed exploitation" >/dev/null || fail "set --severity"
expect_rc 64 sirt set SEC-2026-0001 --state bogus
expect_rc 64 sirt set SEC-2026-0001
expect_rc 64 sirt set SEC-2026-0001 --tag 'x y'
expect_rc 66 sirt set SEC-2026-0042 --state closed

sirt --json show SEC-2026-0001 > show.json
python3 - <<'PY' || fail "show --json does not reflect the changes"
import json
c = json.load(open("show.json"))
assert c["state"] == "investigating", c["state"]
assert c["severity"] == "P1" and c["severity_override"] == "P1", c
assert "breach" not in c["tags"], c["tags"]
tl = c["timeline"]
acts = [(e["actor"], e["action"], e.get("detail"), e.get("note")) for e in tl]
assert acts[0][0] == "sirt" and acts[0][1] == "created", acts
assert ("alice", "state", "new -> investigating", "looking at auth logs") in acts, acts
assert ("bob", "tag", "+breach", None) in acts, acts
assert ("bob", "tag", "-breach", "no data left") in acts, acts
assert ("carol", "severity", "P3 -> P1", "confirmed exploitation") in acts, acts
alice = [e for e in tl if e["actor"] == "alice"][0]
assert alice["at"] == "2026-11-20T18:00:00Z", alice
PY
out=$(sirt show SEC-2026-0001)
contains "$out" "looking at auth logs"
contains "$out" "set by a human"

# The audit table is append-only, even for someone with the database.
if command -v sqlite3 >/dev/null; then
	sqlite3 var/sirt.db "DELETE FROM audit" 2>/dev/null && fail "audit rows could be deleted"
	sqlite3 var/sirt.db "UPDATE audit SET actor='mallory'" 2>/dev/null && fail "audit rows could be changed"
fi
# Back to the automatic severity.
sirt set SEC-2026-0001 --severity auto --note "override withdrawn" >/dev/null || fail "severity auto"
sev=$(sirt --json show SEC-2026-0001 | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c["severity_override"])')
[ "$sev" = None ] || fail "override not cleared: $sev"

# Removing a tag the case does not have is refused (and does not block
# that tag from arriving later).
expect_rc 64 sirt set SEC-2026-0001 --untag ransomware
# A note alone is recorded; a state set to what it is records nothing.
sirt set SEC-2026-0001 --note "called the reporter back" >/dev/null || fail "note alone"
n1=$(sirt --json show SEC-2026-0001 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["timeline"]))')
sirt set SEC-2026-0001 --state investigating >/dev/null || fail "no-op state"
n2=$(sirt --json show SEC-2026-0001 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["timeline"]))')
[ "$n1" = "$n2" ] || fail "a no-op state change was audited"
contains "$(sirt show SEC-2026-0001)" "called the reporter back"

# A follow-up on a closed case reopens it, and a severity change by a
# message is on the timeline.
sirt set SEC-2026-0001 --state closed --note done >/dev/null || fail "close"
printf 'From: a@example.org\nSubject: Re: odd login\nMessage-ID: <x2@example.org>\nIn-Reply-To: <x1@example.org>\n\nIt happened again.\n' > b.eml
out=$(sirt ingest b.eml) || fail "follow-up ingest"
contains "$out" "follow-up to SEC-2026-0001"
st=$(sirt --json show SEC-2026-0001 | python3 -c 'import json,sys; print(json.load(sys.stdin)["state"])')
[ "$st" = new ] || fail "closed case not reopened by a follow-up: $st"
contains "$(sirt show SEC-2026-0001)" "reopened"

# Read-only commands do not create a database where there is none.
printf '[store]\npath = %s/elsewhere/sirt.db\n' "$T" > ro.conf
expect_rc 66 sirt -c ro.conf cases
[ -e elsewhere/sirt.db ] && fail "cases created a database"
expect_rc 64 env SIRT_NOW=garbage "$SIRT_BIN" cases
exit 0
