#!/usr/bin/env bash
# XOAUTH2 against a real Dovecot (passdb oauth2) whose token endpoint
# is a small local HTTP server that accepts the tokens listed in a file
# (it stands in for the identity provider).  The access token is read
# from oauth2_token_file at every connect: after a rotation the new
# token works without a restart, and a revoked one is refused with
# EX_NOPERM (77).
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/imap_lib.sh"

OPORT=$(free_port)
DC_EXTRA_CONF="auth_mechanisms = plain login xoauth2 oauthbearer"
dovecot_setup
cat >"$DC_DIR/oauth2.conf.ext" <<EOF2
introspection_mode = post
introspection_url = http://127.0.0.1:$OPORT/introspect
tokeninfo_url = http://127.0.0.1:$OPORT/tokeninfo?access_token=
username_attribute = username
active_attribute = active
active_value = true
EOF2
chmod 644 "$DC_DIR/oauth2.conf.ext"
/usr/bin/python3 - "$DC_DIR/dovecot.conf" "$DC_DIR/oauth2.conf.ext" <<'PY'
import sys
p, ext = sys.argv[1], sys.argv[2]
s = open(p).read()
s = s.replace("passdb {\n  driver = passwd-file",
              "passdb {\n  driver = oauth2\n  mechanisms = xoauth2 oauthbearer\n  args = %s\n}\n"
              "passdb {\n  driver = passwd-file\n  mechanisms = plain login" % ext, 1)
open(p, "w").write(s)
PY
grep -q "driver = oauth2" "$DC_DIR/dovecot.conf" || fail "oauth2 passdb not configured"
# The token endpoint: a token is valid while it is listed in $T/valid.
cat >"$T/idp.py" <<'PY'
import http.server, json, sys, urllib.parse
port, valid = int(sys.argv[1]), sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def answer(self, token):
        ok = token in open(valid).read().split()
        body = json.dumps({"active": True, "username": "sec"} if ok else {"active": False}).encode()
        self.send_response(200 if ok else 401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query)
        self.answer(q.get("access_token", [""])[0])
    def do_POST(self):
        n = int(self.headers.get("Content-Length", 0))
        self.answer(urllib.parse.parse_qs(self.rfile.read(n).decode()).get("token", [""])[0])
    def log_message(self, *a):
        pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
PY
echo "tok-one-$$" >"$T/valid"
/usr/bin/python3 "$T/idp.py" "$OPORT" "$T/valid" &
idp=$!
CLEANUP+=("kill $idp")
imap_make_msg 1 oauth | imap_put
dovecot_start
cd "$T" || fail "cd"
sirt_conf "$T/sirt.conf" oauth2_token_file="$T/token" password_file=

echo "tok-one-$$" >"$T/token"
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "XOAUTH2 login: $out"
contains "$out" "1 new message stored"
grep -q "Login: user=<$DC_USER>, method=XOAUTH2" "$DC_DIR/dovecot.log" || fail "no XOAUTH2 login in the server log"

# Rotation by an external refresher: the new token is read at connect.
echo "tok-two-$$" >"$T/valid"
echo "tok-two-$$" >"$T/token"
imap_make_msg 2 oauth | imap_deliver
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1) || fail "rotated token: $out"
contains "$out" "1 new message stored"

# A revoked token: refused, EX_NOPERM, the token not shown.
echo "tok-three-$$" >"$T/valid"
imap_make_msg 3 oauth | imap_deliver
out=$(sirt -c "$T/sirt.conf" poll --once 2>&1); rc=$?
[ "$rc" = 77 ] || fail "revoked token: exit $rc, expected 77: $out"
contains "$out" "login as 'sec' at 127.0.0.1 refused"
lacks "$out" "tok-two"
echo ok
