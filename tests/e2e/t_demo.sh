#!/usr/bin/env bash
# The demo of the README (make demo): the bundled mailbox delivered into
# the embedded default Maildir ./var/mail and polled.  One case per report,
# follow-ups threaded, every message stored, re-running adds nothing.
source "$(dirname "$0")/lib.sh"
cd "$T"
demo="$SIRT_TOP/contrib/demo/new"
sirt init >/dev/null || fail "init"
# as make demo does: the published demo key opens the PGP demo reports
mkdir -m 0700 var/gnupg
CLEANUP+=("gpgconf --homedir '$T/var/gnupg' --kill all")
gpg --homedir var/gnupg --batch --quiet --import "$SIRT_TOP/contrib/demo/demo-sirt-key.asc" 2>/dev/null \
	|| fail "cannot import the demo key"
cp "$demo"/* var/mail/new/
n=$(ls "$demo" | wc -l)
[ "$n" -ge 15 ] || fail "the demo mailbox has only $n messages"
out=$(sirt poll --once) || fail "poll failed: $out"
contains "$out" "$n new messages stored"

# Expected threads, computed independently from the headers: a message
# whose In-Reply-To/References names another demo message, or whose
# subject carries a case ref, is a follow-up.
want=$(/usr/bin/python3 - "$demo" <<'PY'
import email, os, sys, re
from email import policy
d = sys.argv[1]
msgs = [email.message_from_binary_file(open(os.path.join(d, f), 'rb'), policy=policy.compat32)
        for f in sorted(os.listdir(d))]
ids = {(m['Message-ID'] or '').strip().strip('<>') for m in msgs}
from email.header import decode_header, make_header
def subject(m):
    return str(make_header(decode_header(m['Subject'] or '')))
follow = 0
for m in msgs:
    refs = re.findall(r'<([^>]+)>', (m['In-Reply-To'] or '') + ' ' + (m['References'] or ''))
    # or the subject quotes a case ref (the demo's refs all exist)
    if any(r in ids for r in refs) or re.search(r'\bSEC-\d{4}-\d+\b', subject(m)):
        follow += 1
print(len(msgs) - follow)
PY
)
got=$(sirt --json cases | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$got" = "$want" ] || fail "expected $want cases (one per report), got $got"
stored=$(sqlite3 var/sirt.db 'SELECT count(*) FROM messages')
[ "$stored" = "$n" ] || fail "expected $n stored messages, got $stored"
[ -z "$(ls var/mail/new)" ] || fail "messages left in new/"

# The signed and the encrypted demo reports were opened.
sirt --json cases > cases.json
python3 - <<'PY' || fail "the PGP demo reports were not opened"
import json, subprocess, os
cases = json.load(open("cases.json"))
seen = set()
for c in cases:
    s = json.loads(subprocess.run([os.environ["SIRT_BIN"], "--json", "show", c["ref"]],
                   capture_output=True, check=True).stdout)
    for m in s["messages"]:
        cr = m.get("crypto") or {}
        if cr.get("status") in ("signed", "encrypted", "signed+encrypted"):
            seen.add(cr["status"])
            if cr["status"] != "signed":
                assert cr.get("decrypted"), cr
assert "signed" in seen and ("encrypted" in seen or "signed+encrypted" in seen), seen
PY

# Re-running the demo adds nothing.
cp "$demo"/* var/mail/new/
out=$(sirt poll --once) || fail "second poll failed"
contains "$out" "0 new messages stored"
got2=$(sirt --json cases | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$got2" = "$got" ] || fail "re-running the demo changed the case count: $got -> $got2"

# The malformed demo report is a case a human can see.
sirt --json cases > cases.json
python3 -c '
import json; c = json.load(open("cases.json"))
assert all(x["ref"].startswith("SEC-") for x in c)
' || fail "bad refs"
exit 0
