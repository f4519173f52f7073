#!/usr/bin/env bash
# make-pgp-demo.sh - regenerate the demo's PGP material (DEMO ONLY).
#
# Writes, with the gpg command line:
#   contrib/demo/demo-sirt-key.asc   the demo SIRT secret key (no passphrase)
#                                    and the public key of a demo employee
#   contrib/demo/new/1799999990.M1P1.demo-signed,S=...    PGP/MIME signed by
#                                    the employee (good signature)
#   contrib/demo/new/1799999991.M1P1.demo-encrypted,S=... PGP/MIME encrypted
#                                    to the demo SIRT key by a researcher
# The keys are published here: they protect nothing.  Never use them for
# real mail.  Run from the top of the source tree.
set -euo pipefail
out=contrib/demo
W=$(mktemp -d)
trap 'gpgconf --homedir "$W/g" --kill all 2>/dev/null || true; rm -rf "$W"' EXIT
mkdir -m 700 "$W/g"
G=(gpg --homedir "$W/g" --batch --quiet --no-tty --pinentry-mode loopback --passphrase '')
"${G[@]}" --quick-gen-key 'sirt demo SIRT (DEMO ONLY - published secret key) <security@example.com>' default default never
"${G[@]}" --quick-gen-key 'Lena Fischer (DEMO ONLY) <lena.fischer@example.com>' default default never
"${G[@]}" --quick-gen-key 'Tomas Varga (DEMO ONLY) <tomas@varga-security.example.net>' default default never

{
	cat <<'EOF'
DEMO ONLY.  This file holds the SECRET key of sirt's demo SIRT
(security@example.com, no passphrase) and the public key of a demo
employee (lena.fischer@example.com).  The secret key is published in
sirt's source tree: it protects nothing.  Never use it for real mail.

    gpg --homedir var/gnupg --import contrib/demo/demo-sirt-key.asc

EOF
	gpg --homedir "$W/g" --batch --armor --export-secret-keys security@example.com
	gpg --homedir "$W/g" --batch --armor --export lena.fischer@example.com
} >"$out/demo-sirt-key.asc"

crlf() { sed 's/$/\r/'; }

# 1. An employee's report, PGP/MIME signed (RFC 3156).
{
	printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
	crlf <<'EOF'
Hi security team,

Between 02:10 and 02:25 tonight my phone showed eleven Okta Verify push
requests for my account that I did not start. I denied all of them. This
morning the Okta dashboard lists sign-in attempts from 203.0.113.77
(a VPS provider in a country where we have no staff) with the correct
password, so I assume my password is known to someone.

I have changed my password at 07:40 and signed out all sessions. I did
not approve any request. Could you check whether anything else happened
with my account (email forwarding rules, OAuth grants)?

I sign this mail with my PGP key so you know it is really me.

Thanks,
Lena Fischer
Finance, Berlin office
EOF
} >"$W/inner"
"${G[@]}" --armor --detach-sign -u lena.fischer@example.com --digest-algo SHA256 -o "$W/sig" "$W/inner"
{
	printf 'Received: from mail.example.com (mail.example.com [192.0.2.25])\r\n\tby mx1.example.com (Postfix) with ESMTPS id 4Fk9Q21Lm0z9sAB\r\n\tfor <security@example.com>; Sun, 22 Nov 2026 08:02:11 +0100\r\n'
	printf 'From: Lena Fischer <lena.fischer@example.com>\r\nTo: security@example.com\r\n'
	printf 'Subject: MFA push requests I did not start - password compromised?\r\n'
	printf 'Date: Sun, 22 Nov 2026 08:02:09 +0100\r\n'
	printf 'Message-ID: <6f1c2a7e-demo-signed@example.com>\r\nMIME-Version: 1.0\r\n'
	printf 'User-Agent: Mozilla Thunderbird 128.4.0\r\n'
	printf 'Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol="application/pgp-signature";\r\n boundary="------------demoSig01"\r\n\r\n'
	printf 'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--------------demoSig01\r\n'
	cat "$W/inner"
	printf '\r\n--------------demoSig01\r\nContent-Type: application/pgp-signature; name="OpenPGP_signature.asc"\r\n'
	printf 'Content-Description: OpenPGP digital signature\r\nContent-Disposition: attachment; filename="OpenPGP_signature.asc"\r\n\r\n'
	crlf <"$W/sig"
	printf '\r\n--------------demoSig01--\r\n'
} | tr -d '\r' >"$W/signed"

# 2. A researcher's report, PGP/MIME encrypted to the SIRT key.
{
	printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
	crlf <<'EOF'
Hello,

I encrypted this report to the key in your security.txt because it
describes an authentication bypass.

Summary: the SAML endpoint https://sso.example.com/saml/acs accepts a
response whose assertion signature has been removed. Any user of a tenant
with SAML enabled can be impersonated by editing the NameID, including
tenant administrators. I confirmed it only against my own trial tenant
("varga-test") by logging in as a second user I created there.

Steps:
1. Start a SAML login to your own tenant and capture the SAMLResponse.
2. Delete the <ds:Signature> element inside <saml:Assertion>.
3. Change <saml:NameID> to another user's e-mail address and replay.
4. You are logged in as that user.

CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:N (9.1)

I have not shared this with anyone and will wait 90 days for a fix
before publishing. Please reply encrypted to my key (attached on request).

Tomas Varga
varga-security.example.net
EOF
} >"$W/inner2"
"${G[@]}" --armor --trust-model always -e -r security@example.com -o "$W/enc" "$W/inner2"
{
	printf 'Received: from mx.varga-security.example.net (mx.varga-security.example.net [198.51.100.61])\r\n\tby mx1.example.com (Postfix) with ESMTPS id 4FkBd70Kq5z9sCD\r\n\tfor <security@example.com>; Sun, 22 Nov 2026 10:47:05 +0100\r\n'
	printf 'From: Tomas Varga <tomas@varga-security.example.net>\r\nTo: security@example.com\r\n'
	printf 'Subject: Encrypted vulnerability report\r\n'
	printf 'Date: Sun, 22 Nov 2026 10:47:03 +0100\r\n'
	printf 'Message-ID: <20261122094703.demo-encrypted@varga-security.example.net>\r\nMIME-Version: 1.0\r\n'
	printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted";\r\n boundary="demoEnc02"\r\n\r\n'
	printf 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n--demoEnc02\r\n'
	printf 'Content-Type: application/pgp-encrypted\r\nContent-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n'
	printf -- '--demoEnc02\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\n'
	printf 'Content-Description: OpenPGP encrypted message\r\nContent-Disposition: inline; filename="encrypted.asc"\r\n\r\n'
	crlf <"$W/enc"
	printf '\r\n--demoEnc02--\r\n'
} | tr -d '\r' >"$W/encrypted"

rm -f "$out"/new/1799999990.M1P1.demo-signed* "$out"/new/1799999991.M1P1.demo-encrypted*
cp "$W/signed" "$out/new/1799999990.M1P1.demo-signed,S=$(stat -c %s "$W/signed")"
cp "$W/encrypted" "$out/new/1799999991.M1P1.demo-encrypted,S=$(stat -c %s "$W/encrypted")"
ls -l "$out"/new/17999999* "$out/demo-sirt-key.asc"
