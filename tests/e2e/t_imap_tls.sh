#!/usr/bin/env bash
# TLS is verified: a server certificate from an unknown CA is refused
# with a clear error (and no credentials sent) until ca_file names its
# CA; STARTTLS works and is verified the same way; a pinned fingerprint
# accepts exactly that certificate; plain text needs allow_plaintext and
# a loopback host; a wrong password is a clear error with EX_NOPERM (77),
# and the password never shows in the output.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/imap_lib.sh"

dovecot_setup
for i in 1 2; do imap_make_msg "$i" tls | imap_put; done
dovecot_start
cd "$T" || fail "cd"
ncases() { sqlite3 "$T/var/sirt.db" 'SELECT count(*) FROM cases' 2>/dev/null || echo 0; }

# Implicit TLS, CA not configured: refused (EX_UNAVAILABLE), nothing filed.
sirt_conf "$T/sirt.conf" ca_file=
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 69 ] || fail "untrusted certificate: exit $rc, expected 69: $out"
contains "$out" "certificate for 127.0.0.1 not trusted: signer not found; set ca_file"
[ "$(ncases)" = 0 ] || fail "messages filed over an untrusted connection"
# Dovecot logs every login attempt with user=<...>: none may exist yet.
grep -q "user=<$DC_USER>" "$DC_DIR/dovecot.log" &&
	fail "credentials were sent over an untrusted connection"

# The same over STARTTLS.
sirt_conf "$T/sirt.conf" ca_file= tls=starttls port="$DC_PORT"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 69 ] || fail "STARTTLS untrusted: exit $rc: $out"
contains "$out" "not trusted: signer not found"

# Name mismatch: the certificate is for localhost/127.0.0.1, not 127.0.0.2.
sirt_conf "$T/sirt.conf" host=127.0.0.2
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
if [ "$rc" != 75 ]; then  # 75: 127.0.0.2 not reachable on this host
	[ "$rc" = 69 ] || fail "wrong name: exit $rc: $out"
	contains "$out" "name does not match"
fi

# With ca_file: accepted, over STARTTLS.
sirt_conf "$T/sirt.conf" tls=starttls port="$DC_PORT"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "STARTTLS with ca_file: $out"
contains "$out" "2 new messages stored"
grep -q "user=<$DC_USER>" "$DC_DIR/dovecot.log" || fail "dovecot does not log logins (check above is void)"

# By DNS name (SNI) over implicit TLS.
imap_make_msg 3 tls | imap_deliver
sirt_conf "$T/sirt.conf" host=localhost
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "localhost with ca_file: $out"
contains "$out" "1 new message stored"

# A pin of the server certificate is required on top of the chain: the
# right one (with colons, upper case) passes, a wrong one refuses even
# with the CA trusted, and a pin does not replace the CA.
pin=$(openssl x509 -in "$DC_DIR/cert.pem" -outform DER | sha256sum | cut -d' ' -f1)
colons=$(printf '%s' "$pin" | tr a-f A-F | sed 's/../&:/g; s/:$//')
imap_make_msg 4 tls | imap_deliver
sirt_conf "$T/sirt.conf" pin_sha256="$colons"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "pinned: $out"
contains "$out" "1 new message stored"
sirt_conf "$T/sirt.conf" pin_sha256="$(printf '%064d' 0)"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 69 ] || fail "wrong pin: exit $rc: $out"
contains "$out" "does not match pin_sha256"
sirt_conf "$T/sirt.conf" ca_file= pin_sha256="$pin"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 69 ] || fail "pin without the CA: exit $rc: $out"

# A self-signed server certificate: trusted by naming it in ca_file.
dovecot_stop
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=localhost" \
	-addext subjectAltName=DNS:localhost,IP:127.0.0.1 \
	-keyout "$DC_DIR/key.pem" -out "$DC_DIR/cert.pem" 2>/dev/null || fail "openssl self-signed"
dovecot_start
imap_make_msg 44 tls | imap_deliver
sirt_conf "$T/sirt.conf" ca_file=
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 69 ] || fail "self-signed untrusted: exit $rc: $out"
contains "$out" "certificate for 127.0.0.1 not trusted"
sirt_conf "$T/sirt.conf" ca_file="$DC_DIR/cert.pem"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "self-signed in ca_file: $out"
contains "$out" "1 new message stored"
DC_CA=$DC_DIR/cert.pem

# Plain text: refused without allow_plaintext, allowed on loopback with it.
sirt_conf "$T/sirt.conf" tls=none port="$DC_PORT"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 78 ] || fail "tls = none without allow_plaintext: exit $rc: $out"
imap_make_msg 5 tls | imap_deliver
sirt_conf "$T/sirt.conf" tls=none port="$DC_PORT" allow_plaintext=yes
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "tls = none on loopback: $out"
contains "$out" "1 new message stored"

# Wrong password: EX_NOPERM, a clear message, the password not shown.
imap_make_msg 6 tls | imap_deliver
sirt_conf "$T/sirt.conf"
echo 'not-the-password-xyzzy' >"$T/imap.pass"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 77 ] || fail "wrong password: exit $rc, expected 77 (EX_NOPERM): $out"
contains "$out" "login as 'sec' at 127.0.0.1 refused"
lacks "$out" "xyzzy"

# Password from the environment (SIRT_PASSWORD_<SOURCE>).
sed -i '/^password_file/d' "$T/sirt.conf"
out=$(SIRT_PASSWORD_BOX=$DC_PASS sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "env password: $out"
contains "$out" "1 new message stored"
lacks "$out" "$DC_PASS"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 78 ] || fail "no password: exit $rc: $out"
contains "$out" "SIRT_PASSWORD_BOX"
[ "$(ncases)" = 7 ] || fail "expected 7 cases, got $(ncases)"
echo ok
