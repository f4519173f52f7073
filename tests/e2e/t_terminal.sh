#!/usr/bin/env bash
# Hostile text never reaches the terminal raw: C0/C1 controls, ESC
# sequences and bidi overrides in subjects, names, bodies and actors are
# replaced in `cases`, `show` and `triage --explain`; `show --raw`
# refuses a terminal.
source "$(dirname "$0")/lib.sh"
cd "$T"
subj=$(printf 'a\xc2\x9b2Jb\xe2\x80\xaegnp.exe\x1b]0;pwned\x07' | base64 -w0)
printf 'From: =?utf-8?b?%s?= <x@example.net>\nSubject: =?utf-8?b?%s?=\nMessage-ID: <c1@x>\n\nhi \xe2\x80\xaegnp.exe and \x1b[2J \xc2\x9b31m\n' \
	"$subj" "$subj" > evil.eml
sirt ingest evil.eml >/dev/null || fail "ingest"
SIRT_USER=$'mallory\e[2J' sirt set SEC-2026-0001 --tag t >/dev/null || fail "set"
bad() { # does stdin hold ESC, BEL, a C1 control or a bidi override?
	/usr/bin/python3 -c '
import sys
b = sys.stdin.buffer.read()
t = b.decode("utf-8", "replace")
bad = [c for c in t if c in "\x1b\x07\x9b" or 0x80 <= ord(c) <= 0x9f or 0x202a <= ord(c) <= 0x202e or 0x2066 <= ord(c) <= 0x2069]
sys.exit(0 if bad else 1)'
}
# Each command's own exit status counts too (a crash prints nothing bad).
out=$(sirt cases) || fail "cases"
bad <<<"$out" && fail "cases printed control or bidi characters"
out=$(sirt show SEC-2026-0001) || fail "show"
bad <<<"$out" && fail "show printed control or bidi characters"
contains "$out" "gnp.exe" "show (text kept, controls replaced)"
contains "$out" "mallory" "show timeline actor"
# The dry run quotes the message in its explanation and its reason.
mkdir -p rules
printf 'rule EVIL body /and .{0,12}31m/s\ndescribe EVIL quotes the body\nseverity EVIL P2\n' >rules/x.rules
printf '[rules]\ndir = %s/rules\n' "$T" >dry.conf
out=$(sirt -c dry.conf triage --explain evil.eml) || fail "triage --explain"
contains "$out" "EVIL" "triage --explain fired the rule"
bad <<<"$out" && fail "triage --explain printed control or bidi characters"
# --raw is exact into a pipe or file, refused on a terminal.
sirt show SEC-2026-0001 --raw >raw.out || fail "show --raw"
cmp -s raw.out evil.eml || fail "raw bytes differ"
if command -v script >/dev/null; then
	script -qec "$SIRT_BIN show SEC-2026-0001 --raw" /dev/null > tty.out 2>&1
	contains "$(cat tty.out)" "refusing" "show --raw on a terminal"
fi
exit 0
