# Dovecot helpers for the IMAP end-to-end tests and the benchmark
# (sourced after lib.sh).  A private Dovecot runs on 127.0.0.1 with its
# own configuration under $T/dovecot, a passwd-file user, and a
# certificate made now by openssl; it is stopped by PID in the cleanup.
#
#   dovecot_setup          config, CA + server certificate, user, ports
#   dovecot_start          start (waits until both ports answer)
#   dovecot_stop           stop by PID (waits until gone)
#   imap_put NAME          write one message (stdin) straight into the
#                          user's Maildir cur/ (before start, or live:
#                          Dovecot picks it up on its next scan)
#   imap_deliver           deliver one message (stdin) live with
#                          doveadm save (as a real delivery would)
#   imap_make_msg N [TAG]  a distinct fixture message on stdout
#   imap_flags UID         the flags of a message (doveadm fetch)
#   imap_count [MAILBOX]   number of messages in a mailbox
#   sirt_conf FILE KEY=VAL...  write a sirt.conf with one [source box]
#
# Set after dovecot_setup: DC_DIR DC_PORT (143, STARTTLS) DC_PORTS (993,
# implicit TLS) DC_USER DC_PASS DC_CA (the CA certificate to trust)
# DC_MAIL (the user's Maildir).

DC_USER=sec
# These tests are about the IMAP path; compiling the rules' Vectorscan
# prefilter costs seconds per process start (up to a minute on a busy
# machine), so they use the plain PCRE2 path unless told otherwise.
export SIRT_PREFILTER=${SIRT_PREFILTER:-0}
DC_PASS=s3cret-imap-pass

dovecot_available() {
	[ -x /usr/sbin/dovecot ] && command -v doveadm >/dev/null && command -v openssl >/dev/null
}

dovecot_setup() {
	dovecot_available || skip "dovecot-imapd or openssl not installed"
	DC_DIR=$T/dovecot
	mkdir -p "$DC_DIR/run" "$DC_DIR/state" "$DC_DIR/mail"
	# Dovecot's auth and mail processes run as the dovecot user.
	chmod 755 "$T" "$DC_DIR"
	DC_PORT=$(free_port)
	DC_PORTS=$(free_port)
	while [ "$DC_PORTS" = "$DC_PORT" ]; do DC_PORTS=$(free_port); done
	DC_MAIL=$DC_DIR/mail/$DC_USER/Maildir
	mkdir -p "$DC_MAIL/cur" "$DC_MAIL/new" "$DC_MAIL/tmp"
	chown -R dovecot:dovecot "$DC_DIR/mail"
	# A CA and a server certificate signed by it (IP and DNS names).
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sirt test CA" \
		-keyout "$DC_DIR/ca.key" -out "$DC_DIR/ca.pem" \
		-addext basicConstraints=critical,CA:TRUE -addext keyUsage=keyCertSign,cRLSign \
		2>/dev/null || fail "openssl CA"
	openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
		-keyout "$DC_DIR/key.pem" -out "$DC_DIR/req.pem" 2>/dev/null || fail "openssl req"
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$DC_DIR/ext.cnf"
	openssl x509 -req -in "$DC_DIR/req.pem" -CA "$DC_DIR/ca.pem" -CAkey "$DC_DIR/ca.key" \
		-CAcreateserial -days 2 -extfile "$DC_DIR/ext.cnf" -out "$DC_DIR/cert.pem" \
		2>/dev/null || fail "openssl x509"
	DC_CA=$DC_DIR/ca.pem
	echo "$DC_USER:{PLAIN}$DC_PASS" >"$DC_DIR/passwd"
	chmod 644 "$DC_DIR/passwd" "$DC_DIR/cert.pem" "$DC_DIR/ca.pem"
	chmod 600 "$DC_DIR/key.pem"
	cat >"$DC_DIR/dovecot.conf" <<EOF
base_dir = $DC_DIR/run
state_dir = $DC_DIR/state
log_path = $DC_DIR/dovecot.log
instance_name = sirt-test-$$
protocols = imap
listen = 127.0.0.1
ssl = yes
ssl_cert = <$DC_DIR/cert.pem
ssl_key = <$DC_DIR/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 1
mail_location = maildir:$DC_DIR/mail/%u/Maildir
mail_fsync = never
mailbox_idle_check_interval = 1 secs
imap_idle_notify_interval = 2 mins
${DC_EXTRA_CONF:-}
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $DC_DIR/passwd
}
userdb {
  driver = static
  args = uid=dovecot gid=dovecot home=$DC_DIR/mail/%u allow_all_users=yes
}
namespace inbox {
  inbox = yes
  separator = /
  mailbox Filed {
    auto = create
  }
}
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $DC_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $DC_PORTS
    ssl = yes
  }
}
service anvil {
  chroot =
}
service stats {
  unix_listener stats-writer {
    mode = 0666
  }
}
EOF
	CLEANUP+=("dovecot_stop")
}

dovecot_pid() { cat "$DC_DIR/run/master.pid" 2>/dev/null; }

dovecot_start() {
	local i
	/usr/sbin/dovecot -c "$DC_DIR/dovecot.conf" || { cat "$DC_DIR/dovecot.log" >&2; fail "dovecot did not start"; }
	for i in $(seq 1 100); do
		if [ -n "$(dovecot_pid)" ] && port_open "$DC_PORT" && port_open "$DC_PORTS"; then
			return 0
		fi
		sleep 0.1
	done
	cat "$DC_DIR/dovecot.log" >&2
	fail "dovecot did not listen on $DC_PORT/$DC_PORTS"
}

dovecot_stop() {
	local pid i
	pid=$(dovecot_pid)
	[ -n "$pid" ] || return 0
	kill "$pid" 2>/dev/null
	for i in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	# The master leaves its login and mail processes (and with them the
	# clients' connections) behind: stop its process group, which
	# holds only this instance's processes.
	kill -TERM -- "-$pid" 2>/dev/null
	for i in $(seq 1 50); do
		kill -0 -- "-$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL -- "-$pid" 2>/dev/null
	rm -f "$DC_DIR/run/master.pid"
}

port_open() {
	/usr/bin/python3 - "$1" <<'EOF' 2>/dev/null
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
EOF
}

imap_put() { # [MAILBOX-DIR under the Maildir, e.g. .Filed]
	local f="$DC_MAIL/${1:-}/cur/$(date +%s).M$(date +%N)P$BASHPID.sirt-test:2,"
	cat >"$f.tmp" && mv "$f.tmp" "$f" && chown dovecot:dovecot "$f"
}

doveadm_() { doveadm -c "$DC_DIR/dovecot.conf" "$@"; }

imap_deliver() {
	doveadm_ save -u "$DC_USER" -m "${1:-INBOX}"
}

# imap_make_msg N [TAG]: an RFC 5322 message with a distinct body.
imap_make_msg() {
	local n=$1 tag=${2:-r}
	printf 'From: Reporter %s <reporter%s@example.org>\r\n' "$n" "$n"
	printf 'To: security@example.com\r\n'
	printf 'Subject: [%s] suspicious login report %s\r\n' "$tag" "$n"
	printf 'Date: Fri, 20 Nov 2026 10:%02d:00 +0000\r\n' $((n % 60))
	printf 'Message-ID: <%s.%s.%s@example.org>\r\n' "$tag" "$n" "$$"
	printf 'MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n'
	printf 'Hello security team,\r\n\r\nReport %s (%s): we saw a suspicious login on host-%s.\r\n' "$n" "$tag" "$n"
	printf 'Regards,\r\nReporter %s\r\n' "$n"
}

imap_flags() { # UID [MAILBOX]
	doveadm_ fetch -u "$DC_USER" flags mailbox "${2:-INBOX}" uid "$1" | sed -n 's/^flags: //p'
}

imap_count() { # [MAILBOX]
	doveadm_ search -u "$DC_USER" mailbox "${1:-INBOX}" all | wc -l
}

# sirt_conf FILE [KEY=VALUE...]: a configuration with the store in $T
# and one IMAP source "box" against the test server; extra keys are
# added to (or override) the source section.
sirt_conf() {
	local f=$1; shift
	local kv k
	declare -A keys=([type]=imap [host]=127.0.0.1 [port]=$DC_PORTS [tls]=implicit
		[user]=$DC_USER [password_file]=$T/imap.pass [mailbox]=INBOX
		[after]=flag [ca_file]=$DC_CA [batch]=50 [interval]=60)
	printf '%s\n' "$DC_PASS" >"$T/imap.pass"
	chmod 600 "$T/imap.pass"
	for kv in "$@"; do
		k=${kv%%=*}
		keys[$k]=${kv#*=}
	done
	{
		printf '[store]\npath = %s/var/sirt.db\n\n' "$T"
		printf '[rules]\ndir = %s/rules\n\n' "$SIRT_TOP"
		printf '[tracker]\ntype = local\ndir = %s/var/issues\n\n' "$T"
		printf '[source box]\n'
		for k in "${!keys[@]}"; do
			[ -n "${keys[$k]}" ] && printf '%s = %s\n' "$k" "${keys[$k]}"
		done
	} >"$f"
}
