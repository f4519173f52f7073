#!/usr/bin/env bash
# Maildir source: new/ -> cur/:2,S only after commit; unseen cur/ too;
# nothing twice; the embedded default mailbox is ./var/mail.
source "$(dirname "$0")/lib.sh"
cd "$T"
sirt init >/dev/null || fail "init"
for d in var/mail/new var/mail/cur var/mail/tmp var/issues; do
	[ -d "$d" ] || fail "init did not create $d"
done
sirt init >/dev/null || fail "init is not idempotent"

mk() { # name subject msgid
	printf 'From: Rep <rep@example.org>\nTo: security@example.com\nSubject: %s\nMessage-ID: <%s>\nDate: Fri, 20 Nov 2026 10:00:00 +0000\n\nbody of %s\n' "$2" "$3" "$3"
}
mk a "first" a@x > var/mail/new/1000.A.host
mk b "second" b@x > var/mail/new/1001.B.host
mk c "unseen in cur" c@x > 'var/mail/cur/1002.C.host:2,F'
mk d "already seen" d@x > 'var/mail/cur/1003.D.host:2,S'

out=$(sirt poll --once) || fail "poll failed: $out"
contains "$out" "3 new messages stored"
[ -z "$(ls var/mail/new)" ] || fail "new/ not emptied: $(ls var/mail/new)"
[ -f 'var/mail/cur/1000.A.host:2,S' ] || fail "1000.A not moved to cur/ with S: $(ls var/mail/cur)"
[ -f 'var/mail/cur/1002.C.host:2,FS' ] || fail "cur/ flags not extended in order: $(ls var/mail/cur)"
[ -f 'var/mail/cur/1003.D.host:2,S' ] || fail "a seen message was touched"
n=$(sirt --json cases | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 3 ] || fail "expected 3 cases, got $n"

# A symbolic link or a directory in new/ is skipped, never followed.
echo "secret" > outside.txt
ln -s "$T/outside.txt" var/mail/new/1500.LINK.host
mkdir var/mail/new/1501.DIR.host
out=$(sirt poll --once 2>&1) || fail "a symlink in new/ made poll fail: $out"
contains "$out" "symbolic link"
lacks "$(sirt --json cases)" "secret"
rm -f var/mail/new/1500.LINK.host; rmdir var/mail/new/1501.DIR.host

# The same message delivered again is stored once.
mk a "first" a@x > var/mail/new/2000.A2.host
out=$(sirt --json poll --once) || fail "second poll failed"
/usr/bin/python3 -c '
import json, sys
o = json.loads(sys.argv[1])
assert o["stored"] == 0 and o["duplicates"] == 1, o
cases = json.loads(sys.argv[2])
first = [c["ref"] for c in cases if c["subject"] == "first"]
assert o["messages"][0]["duplicate"] and [o["messages"][0]["ref"]] == first, (o, first)
' "$out" "$(sirt --json cases)" || fail "poll --json: $out"
[ -f 'var/mail/cur/2000.A2.host:2,S' ] || fail "duplicate not acknowledged"

# A missing maildir is a configuration error naming the path.
cat > bad.conf <<CONF
[source broken]
type = maildir
path = $T/nowhere
CONF
out=$(sirt -c bad.conf poll --once 2>&1); rc=$?
[ "$rc" = 78 ] || fail "missing maildir: exit $rc, expected 78: $out"
contains "$out" "nowhere"

# Unknown configuration keys are refused with file:line.
printf '[source x]\ntype = maildir\npath = /tmp\ncolour = blue\n' > typo.conf
out=$(sirt -c typo.conf cases 2>&1); rc=$?
[ "$rc" = 78 ] || fail "typo.conf: exit $rc"
contains "$out" "typo.conf:4"
contains "$out" "colour"
printf '[source x]\ntype = imap\nhost = h\nuser = u\npassword = hunter2\n' > pw.conf
out=$(sirt -c pw.conf cases 2>&1) && fail "a password in the config was accepted"
lacks "$out" "hunter2"

# The documented example configuration is valid as shipped.
sed -e "s#/var/lib/sirt#$T/lib#g" -e "s#/var/mail/security#$T/mail#" "$SIRT_TOP/contrib/sirt.conf.example" > example.conf
out=$(sirt -c example.conf init 2>&1) || fail "contrib/sirt.conf.example does not load: $out"
[ -d "$T/mail/new" ] || fail "init did not create the example's maildir"
exit 0
