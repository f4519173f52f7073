#!/usr/bin/env bash
# The daemon (`sirt poll` without --once): IMAP IDLE delivers a new
# message into a case without polling (interval one hour), survives a
# server restart (reconnects), watches a second source (a Maildir,
# polled at its interval) in the same process, keeps its old
# configuration when a SIGHUP brings a broken one, exits 0 on SIGTERM,
# and polls at the interval a server without IDLE.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/imap_lib.sh"

dovecot_setup
imap_make_msg 1 idle | imap_put
dovecot_start
cd "$T" || fail "cd"
mkdir -p "$T/md/new" "$T/md/cur" "$T/md/tmp"
sirt_conf "$T/sirt.conf" interval=3600
printf '\n[source drop]\ntype = maildir\npath = %s/md\ninterval = 1\n' "$T" >>"$T/sirt.conf"
cp "$T/sirt.conf" "$T/sirt.conf.good"
nmsgs() { sqlite3 "$T/var/sirt.db" 'SELECT count(*) FROM messages' 2>/dev/null || echo 0; }
# wait_for N SECONDS: until N messages are stored; prints the time taken.
wait_for() {
	local want=$1 max=$2 start=$SECONDS
	while [ "$(nmsgs)" -lt "$want" ]; do
		[ $((SECONDS - start)) -ge "$max" ] && return 1
		kill -0 "$pid" 2>/dev/null || fail "the daemon died: $(tail -5 "$T/daemon.log")"
		sleep 0.05
	done
}

"$SIRT_BIN" -c "$T/sirt.conf" -v poll >"$T/daemon.out" 2>"$T/daemon.log" &
pid=$!
CLEANUP+=("kill $pid 2>/dev/null")
wait_for 1 15 || fail "the first message was not filed: $(cat "$T/daemon.log")"

# IDLE: a live delivery becomes a case within seconds (the interval is
# an hour, so only IDLE can bring it in).
imap_make_msg 2 idle | imap_deliver
wait_for 2 10 || fail "IDLE did not deliver: $(cat "$T/daemon.log")"
contains "$(imap_flags 2)" '$SirtFiled'

# The Maildir source in the same process, polled every second.
imap_make_msg 3 drop >"$T/md/tmp/m3" && mv "$T/md/tmp/m3" "$T/md/new/m3"
wait_for 3 10 || fail "the maildir source was not polled: $(cat "$T/daemon.log")"

# Server restart while idling: the daemon reconnects and goes on.
dovecot_stop
sleep 1
dovecot_start
imap_make_msg 4 idle | imap_deliver
wait_for 4 30 || fail "no reconnect after the server restart: $(cat "$T/daemon.log")"
contains "$(cat "$T/daemon.log")" "reconnecting"

# SIGHUP with a broken configuration: the old one stays in force.
printf '[source bad]\ntype = imap\nbogus_key = 1\n' >"$T/sirt.conf"
kill -HUP "$pid"
for _ in $(seq 1 100); do
	grep -q "keeping the old configuration" "$T/daemon.log" && break
	sleep 0.1
done
contains "$(cat "$T/daemon.log")" "keeping the old configuration"
imap_make_msg 5 idle | imap_deliver
wait_for 5 15 || fail "nothing filed after a failed reload: $(cat "$T/daemon.log")"

# SIGHUP with a good configuration: reloaded.
cp "$T/sirt.conf.good" "$T/sirt.conf"
kill -HUP "$pid"
for _ in $(seq 1 100); do
	grep -q "configuration and rules reloaded" "$T/daemon.log" && break
	sleep 0.1
done
contains "$(cat "$T/daemon.log")" "configuration and rules reloaded"
imap_make_msg 6 idle | imap_deliver
wait_for 6 15 || fail "nothing filed after a reload: $(cat "$T/daemon.log")"

# SIGHUP with a configuration whose rules do not compile: old ones kept.
mkdir -p "$T/badrules"
echo 'rule BROKEN body /(unclosed/' >"$T/badrules/00-bad.rules"
sed "s|^dir = .*/rules\$|dir = $T/badrules|" "$T/sirt.conf.good" >"$T/sirt.conf"
grep -q "badrules" "$T/sirt.conf" || fail "test setup: rules dir not replaced"
kill -HUP "$pid"
for _ in $(seq 1 100); do
	[ "$(grep -c "keeping the old configuration" "$T/daemon.log")" -ge 2 ] && break
	sleep 0.1
done
[ "$(grep -c "keeping the old configuration" "$T/daemon.log")" -ge 2 ] ||
	fail "broken rules were not refused: $(tail -5 "$T/daemon.log")"
imap_make_msg 66 idle | imap_deliver
wait_for 7 15 || fail "nothing filed after refusing broken rules: $(cat "$T/daemon.log")"
cp "$T/sirt.conf.good" "$T/sirt.conf"

# SIGTERM: a clean exit 0, quickly.
kill -TERM "$pid"
start=$SECONDS
wait "$pid"; rc=$?
[ "$rc" = 0 ] || fail "daemon exited $rc on SIGTERM: $(tail -5 "$T/daemon.log")"
[ $((SECONDS - start)) -le 10 ] || fail "SIGTERM took $((SECONDS - start)) s"
[ "$(nmsgs)" = 7 ] || fail "expected 7 messages, got $(nmsgs)"
n=$(doveadm_ search -u "$DC_USER" mailbox INBOX keyword '$SirtFiled' | wc -l)
[ "$n" = 6 ] || fail "$n of 6 IMAP messages flagged"
lacks "$(cat "$T/daemon.log")" "$DC_PASS"

# A server without IDLE: polled at the source's interval instead.
dovecot_stop
caps="IMAP4rev1 LITERAL+ SASL-IR LOGIN-REFERRALS ID ENABLE SORT UIDPLUS MOVE"
sed -i "s/^protocols = imap\$/protocols = imap\nimap_capability = $caps/" "$DC_DIR/dovecot.conf"
grep -q "^imap_capability = " "$DC_DIR/dovecot.conf" || fail "could not take IDLE out of the test server"
dovecot_start
sirt_conf "$T/sirt.conf" interval=2
"$SIRT_BIN" -c "$T/sirt.conf" -vv poll >"$T/daemon.out" 2>"$T/daemon2.log" &
pid=$!
CLEANUP+=("kill $pid 2>/dev/null")
sleep 1
imap_make_msg 7 poll | imap_deliver
wait_for 8 15 || fail "no interval polling without IDLE: $(cat "$T/daemon2.log")"
contains "$(cat "$T/daemon2.log")" "connected to" "daemon log (capabilities line)"
lacks "$(cat "$T/daemon2.log")" ", IDLE" "capabilities seen"
kill -TERM "$pid"
wait "$pid"; rc=$?
[ "$rc" = 0 ] || fail "daemon exited $rc on SIGTERM (no IDLE)"
echo ok
