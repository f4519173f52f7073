#!/usr/bin/env bash
# after = move:FOLDER moves each filed message out of the watched
# mailbox (UID MOVE where the server has it, else UID COPY + \Deleted +
# UID EXPUNGE), and a UIDVALIDITY change rescans the mailbox without
# filing anything twice, with a warning.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/imap_lib.sh"

dovecot_setup
for i in 1 2 3 4; do imap_make_msg "$i" mv | imap_put; done
dovecot_start
cd "$T" || fail "cd"
nmsgs() { sqlite3 "$T/var/sirt.db" 'SELECT count(*) FROM messages'; }

# MOVE.
sirt_conf "$T/sirt.conf" after=move:Filed
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "move poll: $out"
contains "$out" "4 new messages stored"
[ "$(imap_count INBOX)" = 0 ] || fail "INBOX still holds $(imap_count INBOX) messages"
[ "$(imap_count Filed)" = 4 ] || fail "Filed holds $(imap_count Filed) messages, expected 4"
[ "$(nmsgs)" = 4 ] || fail "expected 4 messages stored"

# Without MOVE (a server advertising only UIDPLUS): COPY + EXPUNGE.
dovecot_stop
caps="IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE IDLE SORT UIDPLUS"
sed -i "s/^protocols = imap\$/protocols = imap\nimap_capability = $caps/" "$DC_DIR/dovecot.conf"
dovecot_start
imap_make_msg 5 mv | imap_deliver
imap_make_msg 6 mv | imap_deliver
out=$(sirt -c "$T/sirt.conf" -vv poll --once 2>&1) || fail "copy poll: $out"
contains "$out" "2 new messages stored"
lacks "$out" ", MOVE" "capabilities seen"
[ "$(imap_count INBOX)" = 0 ] || fail "INBOX still holds $(imap_count INBOX) messages (COPY path)"
[ "$(imap_count Filed)" = 6 ] || fail "Filed holds $(imap_count Filed) messages, expected 6"

# UIDVALIDITY change: the mailbox is renumbered.  Put the filed
# messages back plus one new, bump the validity, and poll: one new
# message, no duplicates, a warning.
dovecot_stop
sed -i "/^imap_capability/d" "$DC_DIR/dovecot.conf"
for f in "$DC_MAIL"/.Filed/new/* "$DC_MAIL"/.Filed/cur/*; do
	[ -f "$f" ] && mv "$f" "$DC_MAIL/cur/"
done
imap_make_msg 7 mv | imap_put
rm -f "$DC_MAIL"/dovecot.index* "$DC_MAIL"/.Filed/dovecot*
old=$(sqlite3 "$T/var/sirt.db" "SELECT value FROM source_state WHERE key='uidvalidity/INBOX'")
# Dovecot takes the validity from the uidlist header: bump it.
sed -i "1s/ V[0-9]* / V$((old + 12345)) /" "$DC_MAIL/dovecot-uidlist"
dovecot_start
[ "$(imap_count INBOX)" = 7 ] || fail "INBOX holds $(imap_count INBOX), expected 7"
sirt_conf "$T/sirt.conf" after=flag
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "uidvalidity poll: $out"
contains "$out" "UIDVALIDITY of 'INBOX' changed"
contains "$out" "1 new message stored"
[ "$(nmsgs)" = 7 ] || fail "expected 7 messages, got $(nmsgs) (duplicates?)"
[ "$(sqlite3 "$T/var/sirt.db" 'SELECT count(DISTINCT sha256) FROM messages')" = 7 ] || fail "duplicate raw messages"
new=$(sqlite3 "$T/var/sirt.db" "SELECT value FROM source_state WHERE key='uidvalidity/INBOX'")
[ "$new" != "$old" ] || fail "UIDVALIDITY state not updated"
# Every message, old and new, is flagged after the rescan.
n=$(doveadm_ search -u "$DC_USER" mailbox INBOX keyword '$SirtFiled' | wc -l)
[ "$n" = 7 ] || fail "$n of 7 messages flagged after the rescan"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "poll after rescan: $out"
lacks "$out" "UIDVALIDITY"
contains "$out" "0 new messages stored"
echo ok
