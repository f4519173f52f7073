#!/usr/bin/env bash
# IMAP over implicit TLS against a real Dovecot: the first sync files
# every message once and flags it (\Seen $SirtFiled), an incremental
# sync files only the new ones, fetching never sets \Seen by itself
# (after = none), and an oversized message becomes a flagged case with
# its headers.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/imap_lib.sh"

dovecot_setup
for i in 1 2 3 4 5; do imap_make_msg "$i" first | imap_put; done
dovecot_start
cd "$T" || fail "cd"
sirt_conf "$T/sirt.conf"
ncases() { sqlite3 "$T/var/sirt.db" 'SELECT count(*) FROM cases'; }
nmsgs() { sqlite3 "$T/var/sirt.db" 'SELECT count(*) FROM messages'; }

# First sync: five cases, every message flagged at the server.
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "first poll: $out"
contains "$out" "5 new messages stored"
[ "$(ncases)" = 5 ] || fail "expected 5 cases, got $(ncases)"
json=$(sirt -c "$T/sirt.conf" --json cases)
[ "$(printf '%s' "$json" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 5 ] ||
	fail "cases --json does not list 5 cases: $json"
contains "$json" "suspicious login report 3"
for uid in 1 2 3 4 5; do
	fl=$(imap_flags "$uid")
	contains "$fl" '\Seen' "flags of uid $uid"
	contains "$fl" '$SirtFiled' "flags of uid $uid"
done
[ "$(sqlite3 "$T/var/sirt.db" "SELECT value FROM source_state WHERE source='box' AND key='uid/INBOX'")" = 5 ] ||
	fail "state does not record uid 5"

# Nothing new: nothing filed.
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "second poll: $out"
contains "$out" "0 new messages stored"

# Incremental: two live deliveries, only those are filed.
imap_make_msg 6 incr | imap_deliver || fail "doveadm save"
imap_make_msg 7 incr | imap_deliver || fail "doveadm save"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "third poll: $out"
contains "$out" "2 new messages stored"
[ "$(ncases)" = 7 ] || fail "expected 7 cases, got $(ncases)"
[ "$(nmsgs)" = 7 ] || fail "expected 7 messages, got $(nmsgs)"
contains "$(imap_flags 7)" '$SirtFiled'

# The raw bytes stored are the bytes on the server.
raw=$(sqlite3 "$T/var/sirt.db" "SELECT count(*) FROM messages WHERE origin LIKE 'imap:box:uid 6%'")
[ "$raw" = 1 ] || fail "message uid 6 has no imap origin"

# after = none: fetching uses BODY.PEEK, so \Seen stays unset.
sirt_conf "$T/sirt.conf" after=none
imap_make_msg 8 peek | imap_deliver || fail "doveadm save"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "peek poll: $out"
contains "$out" "1 new message stored"
fl=$(imap_flags 8)
lacks "$fl" '\Seen' "flags of uid 8 (after = none)"
lacks "$fl" '$SirtFiled' "flags of uid 8 (after = none)"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "peek poll 2: $out"
contains "$out" "0 new messages stored"

# Oversized: recorded (headers only, flagged for a human), and flagged.
sirt_conf "$T/sirt.conf" after=flag
printf '[limits]\nmax_message_size = 2K\n' >>"$T/sirt.conf"
{ imap_make_msg 9 big; head -c 6000 /dev/zero | tr '\0' 'x' | fold -w 70; } | imap_deliver || fail "doveadm save"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "oversized poll: $out"
contains "$out" "1 new message stored"
row=$(sqlite3 "$T/var/sirt.db" "SELECT length(raw), unparsed FROM messages WHERE origin LIKE 'imap:box:uid 9%'")
[ -n "$row" ] || fail "oversized message not recorded"
[ "${row%|*}" -lt 2048 ] || fail "oversized message stored whole (${row%|*} bytes)"
[ "${row#*|}" = 1 ] || fail "oversized message not flagged for a human: $row"
contains "$(sirt -c "$T/sirt.conf" --json cases)" "report 9" "cases"
contains "$(imap_flags 9)" '$SirtFiled'
[ "$(nmsgs)" = 9 ] || fail "expected 9 messages, got $(nmsgs)"
echo ok
