#!/usr/bin/env bash
# sirt triage and sirt rules check as a user runs them: a dry run prints
# the verdict (text, --explain, --json) and stores nothing; a broken rule
# file is reported as FILE:LINE:COL with PCRE2's message; no rules
# directory, or one without rules, is an error naming it.
source "$(dirname "$0")/lib.sh"
mkdir -p "$T/rules"
cat >"$T/sirt.conf" <<CONF
[store]
path = $T/var/sirt.db
[rules]
dir = $T/rules
CONF
cat >"$T/rules/10-test.rules" <<'R'
category ransomware beg-bounty
rule __RANSOM body-unquoted /files (?:have been|are) encrypted/i
meta RANSOM __RANSOM && !BEG
severity RANSOM P1
tag RANSOM ransomware
describe RANSOM A ransom note
rule BEG text /\bbounty\b/i
cap BEG P4
tag BEG beg-bounty
R
cat >"$T/m1.eml" <<'M'
From: Office <office@example.com>
To: security@example.com
Subject: help
Message-ID: <m1@example.com>

Good morning, all our files have been encrypted overnight.
CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H
M
cat >"$T/m2.eml" <<'M'
From: Hunter <h@example.net>
To: security@example.com
Subject: vuln
Message-ID: <m2@example.net>

Your SPF is missing. What bounty do you pay?
CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:Q
M

out=$(sirt -c "$T/sirt.conf" triage "$T/m1.eml" "$T/m2.eml") || fail "triage failed"
contains "$out" "m1.eml: P1 ransomware [ransomware] CVSS 9.8"
contains "$out" "m2.eml: P4 beg-bounty [beg-bounty]"
[ -e "$T/var/sirt.db" ] && fail "triage stored something"

out=$(sirt -c "$T/sirt.conf" triage --explain "$T/m1.eml") || fail "explain failed"
contains "$out" "Severity P1, category ransomware"
contains "$out" "A ransom note."
contains "$out" 'Evidence: "files have been encrypted" (body-unquoted)'
contains "$out" "CVSS: 9.8 (Critical) from CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"

out=$(sirt -c "$T/sirt.conf" --json triage "$T/m2.eml") || fail "json failed"
python3 - "$out" <<'PY' || fail "bad JSON: $out"
import json, sys
o = json.loads(sys.argv[1])
assert o["severity"] == "P4" and o["category"] == "beg-bounty", o
assert o["tags"] == ["beg-bounty"], o
assert o["hits"][0]["rule"] == "BEG" and o["hits"][0]["match"] == "bounty", o
assert o["cvss"] is None and any("malformed" in n for n in o["notes"]), o
assert o["signed"] is False and o["encrypted"] is False and "crypto" in o, o
PY

# a broken rule: file, line, column and PCRE2's words; the exit code says data error
printf 'rule OK body /fine/\nrule BROKEN body /(unclosed/i\n' >"$T/rules/20-broken.rules"
out=$(sirt -c "$T/sirt.conf" rules check 2>&1); rc=$?
[ "$rc" = 65 ] || fail "rules check exited $rc on a broken file"
contains "$out" "20-broken.rules:2:"
contains "$out" "missing closing parenthesis"
out=$(sirt -c "$T/sirt.conf" triage "$T/m1.eml" 2>&1) && fail "triage ran with broken rules"
contains "$out" "20-broken.rules:2:"
rm "$T/rules/20-broken.rules"

# warnings: unknown names in metas, contradictions
printf 'meta NEVER RANSOM && !RANSOM\ntag NEVER x\nmeta GHOSTLY NOSUCHRULE\ntag GHOSTLY y\n' >"$T/rules/30-warn.rules"
out=$(sirt -c "$T/sirt.conf" rules check 2>&1) || fail "rules check failed on warnings: $out"
contains "$out" "meta NEVER can never fire"
contains "$out" "unknown rule NOSUCHRULE"
contains "$out" "rules OK, 3 warnings"

# --json rules check: one object, warnings as objects
out=$(sirt -c "$T/sirt.conf" --json rules check 2>/dev/null) || fail "json rules check failed"
python3 - "$out" <<'PY' || fail "bad rules check JSON: $out"
import json, sys
o = json.loads(sys.argv[1])
assert o["ok"] is True and o["rules"] >= 3 and o["errors"] == [], o
assert any("can never fire" in w["message"] for w in o["warnings"]), o
PY
printf 'rule BROKEN body /(unclosed/i\n' >"$T/rules/20-broken.rules"
out=$(sirt -c "$T/sirt.conf" --json rules check 2>/dev/null); rc=$?
[ "$rc" = 65 ] || fail "json rules check exited $rc on a broken file"
python3 - "$out" <<'PY' || fail "bad rules check JSON on error: $out"
import json, sys
o = json.loads(sys.argv[1])
assert o["ok"] is False and "20-broken.rules:1:" in o["errors"][0]["message"], o
PY
rm "$T/rules/20-broken.rules"

# hits[].tags is an array like the verdict's tags
out=$(sirt -c "$T/sirt.conf" --json triage "$T/m1.eml") || fail "json triage failed"
python3 - "$out" <<'PY' || fail "hit tags not an array: $out"
import json, sys
o = json.loads(sys.argv[1])
assert [h["tags"] for h in o["hits"] if h["rule"] == "RANSOM"] == [["ransomware"]], o
PY
# the reason is a sentence: the description and the rule, no "P1: floor from"
out=$(sirt -c "$T/sirt.conf" triage "$T/m1.eml") || fail "triage failed"
contains "$out" "P1 ransomware [ransomware] CVSS 9.8 - A ransom note; rule RANSOM"

# a directory without rules: triage and rules check fail, naming it
mkdir -p "$T/empty"
sed -i "s|dir = .*|dir = $T/empty|" "$T/sirt.conf"
out=$(sirt -c "$T/sirt.conf" triage "$T/m1.eml" 2>&1); rc=$?
[ "$rc" = 78 ] || fail "triage without rules exited $rc: $out"
contains "$out" "no rules in '$T/empty'"
expect_rc 78 sirt -c "$T/sirt.conf" rules check
# no rules directory at all
sed -i "s|dir = .*|dir = $T/none|" "$T/sirt.conf"
out=$(sirt -c "$T/sirt.conf" triage "$T/m1.eml" 2>&1); rc=$?
[ "$rc" = 66 ] || fail "triage without a rules directory exited $rc: $out"
contains "$out" "'$T/none'"
expect_rc 66 sirt -c "$T/sirt.conf" rules check "$T/none"
exit 0
