#!/usr/bin/env bash
# pgp-fixtures.sh DIR - make throwaway GnuPG keyrings and PGP messages for
# the crypto tests, with the real gpg command line (never with sirt).
#
#   DIR/sirt-home     the SIRT's keyring: its own secret key, and the public
#                     keys of alice (known signer), bob (certified by the
#                     SIRT key: full validity), exp (expired), rev (revoked)
#                     and other.  Not mallory's, not other's secret key.
#   DIR/sirt-pw-home  a second SIRT keyring whose key (sirt-pw@example.org)
#                     has the passphrase in DIR/passphrase (agent caching off);
#                     DIR/passphrase-wrong holds a wrong one
#   DIR/sender-home   the senders' keyring: every secret key, SIRT's public.
#   DIR/fpr/NAME      fingerprint of each key (sirt alice bob mallory exp rev other)
#   DIR/msgs/*.eml    messages, LF line endings as a Maildir stores them:
#     plain             no PGP at all
#     signed-good       PGP/MIME signed by alice
#     signed-unknown    PGP/MIME signed by mallory (key unknown to the SIRT)
#     signed-bad        signed-good with one byte of the body changed
#     signed-expired    signed by exp (key expired since)
#     signed-revoked    signed by rev (key revoked since)
#     signed-crlf       signed-good kept with CRLF line endings
#     signed-certified  PGP/MIME signed by bob, whose key the SIRT certified
#     encrypted         PGP/MIME encrypted to the SIRT key
#     encrypted-other   PGP/MIME encrypted to other's key only
#     encrypted-corrupt PGP/MIME whose ciphertext is damaged
#     encrypted-symmetric PGP/MIME encrypted with a password (the same words
#                       as DIR/passphrase), not to a key
#     encrypted-pw      PGP/MIME encrypted to the passphrase-protected key
#     encrypted-protected Thunderbird style: outer Subject "...", the real one
#                       in the encrypted part (protected-headers="v1")
#     sign-then-encrypt multipart/signed (alice) inside multipart/encrypted
#     sign-encrypt      gpg --sign --encrypt in one packet (alice -> SIRT)
#     inline-signed     text/plain with a clear-signed block (alice)
#     inline-encrypted  text/plain with an armored PGP MESSAGE (to SIRT)
#     attach-encrypted  multipart/mixed with report.txt.gpg (binary, to SIRT)
#     attach-signed     multipart/mixed with poc.py and poc.py.sig (alice)
#     attach-signed-bad the same with poc.py changed after signing
#     pubkey            multipart/mixed with mallory's key (application/pgp-keys)
# Exits non-zero if gpg fails.  Stop the agents with
#   gpgconf --homedir DIR/sirt-home --kill all  (and sender-home).
set -euo pipefail
D=${1:?usage: pgp-fixtures.sh DIR}
mkdir -p "$D/sirt-home" "$D/sirt-pw-home" "$D/sender-home" "$D/fpr" "$D/msgs" "$D/tmp"
chmod 700 "$D/sirt-home" "$D/sirt-pw-home" "$D/sender-home"
PW='correct horse battery staple'
printf '%s\n' "$PW" >"$D/passphrase"
printf 'not the passphrase\n' >"$D/passphrase-wrong"
chmod 600 "$D/passphrase" "$D/passphrase-wrong"
printf 'default-cache-ttl 0\nmax-cache-ttl 0\ns2k-count 65536\n' >"$D/sirt-pw-home/gpg-agent.conf"
S="$D/sender-home" K="$D/sirt-home" W="$D/tmp"
G=(gpg --batch --quiet --no-tty --pinentry-mode loopback --passphrase '')

fpr_of() { # home email
	gpg --homedir "$1" --batch --with-colons --list-keys "$2" | awk -F: '/^fpr:/ { print $10; exit }'
}

# Keys.  The SIRT key is made in its own home; the senders' keys in theirs.
"${G[@]}" --homedir "$K" --quick-gen-key 'SIRT <sirt@example.org>' future-default default never
gpg --homedir "$D/sirt-pw-home" --batch --quiet --no-tty --pinentry-mode loopback --passphrase "$PW" \
	--quick-gen-key 'SIRT PW <sirt-pw@example.org>' future-default default never
for who in alice bob mallory other; do
	"${G[@]}" --homedir "$S" --quick-gen-key "${who^} <$who@example.org>" future-default default never
done
# exp: valid for one day in 2020, used then, expired now.
"${G[@]}" --homedir "$S" --faked-system-time 20200101T000000 \
	--quick-gen-key 'Exp <exp@example.org>' ed25519 sign,cert 1d
"${G[@]}" --homedir "$S" --quick-gen-key 'Rev <rev@example.org>' ed25519 sign,cert never
for who in alice bob mallory other exp rev; do
	fpr_of "$S" "$who@example.org" >"$D/fpr/$who"
done
fpr_of "$K" sirt@example.org >"$D/fpr/sirt"

# The SIRT knows alice, exp and rev (not mallory); the senders know SIRT.
{ gpg --homedir "$K" --batch --export --armor sirt@example.org
  gpg --homedir "$D/sirt-pw-home" --batch --export --armor sirt-pw@example.org; } >"$W/sirt.pub"
"${G[@]}" --homedir "$S" --import "$W/sirt.pub"
for who in alice bob exp rev other; do
	gpg --homedir "$S" --batch --export --armor "$who@example.org"
done >"$W/known.pub"
"${G[@]}" --homedir "$K" --import "$W/known.pub"
# The SIRT certifies bob's key (local signature): full validity.
"${G[@]}" --homedir "$K" --quick-lsign-key "$(cat "$D/fpr/bob")" >/dev/null
gpg --homedir "$S" --batch --export --armor mallory@example.org >"$W/mallory.pub"
# other's public key is known to the SIRT but not its secret key.

crlf() { sed 's/$/\r/'; }
lf() { tr -d '\r'; }

# A signed PGP/MIME message: signer, subject, body text, output.
# The signed entity is canonical CRLF; the stored message is LF.
inner_text() { # body
	printf 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n'
	printf '%s\n' "$1" | crlf
}
sign_entity() { # signer entity-file -> multipart/signed entity on stdout (CRLF)
	local signer=$1 ent=$2 extra=(${3:-})
	"${G[@]}" --homedir "$S" "${extra[@]}" --armor --detach-sign -u "$signer@example.org" \
		--digest-algo SHA256 -o "$W/sig.asc" --yes "$ent"
	printf 'Content-Type: multipart/signed; boundary="sig-bnd"; micalg=pgp-sha256;\r\n'
	printf ' protocol="application/pgp-signature"\r\n\r\n'
	printf 'This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n'
	printf -- '--sig-bnd\r\n'
	cat "$ent"
	printf '\r\n--sig-bnd\r\n'
	printf 'Content-Type: application/pgp-signature; name="signature.asc"\r\n'
	printf 'Content-Description: OpenPGP digital signature\r\n\r\n'
	crlf <"$W/sig.asc"
	printf '\r\n--sig-bnd--\r\n'
}
headers() { # from subject
	printf 'From: %s\r\nTo: security@example.com\r\nSubject: %s\r\n' "$1" "$2"
	printf 'Date: Fri, 20 Nov 2026 16:00:00 +0000\r\nMessage-ID: <%s@test.example>\r\nMIME-Version: 1.0\r\n' \
		"$(echo "$2" | tr -c 'a-zA-Z0-9\n' - | head -c 60)"
}
encrypt_entity() { # file, gpg options... -> multipart/encrypted entity
	local ent=$1; shift
	"${G[@]}" --homedir "$S" --armor --trust-model always "$@" -o "$W/enc.asc" --yes "$ent"
	printf 'Content-Type: multipart/encrypted; boundary="enc-bnd";\r\n'
	printf ' protocol="application/pgp-encrypted"\r\n\r\n'
	printf 'This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n'
	printf -- '--enc-bnd\r\nContent-Type: application/pgp-encrypted\r\n'
	printf 'Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n'
	printf -- '--enc-bnd\r\nContent-Type: application/octet-stream; name="encrypted.asc"\r\n'
	printf 'Content-Disposition: inline; filename="encrypted.asc"\r\n\r\n'
	crlf <"$W/enc.asc"
	printf '\r\n--enc-bnd--\r\n'
}

BODY_SIGNED='Hello SIRT,

I found an SQL injection in https://shop.example.com/search?q= (the q
parameter).  Proof of concept attached on request.

-- 
Alice'
inner_text "$BODY_SIGNED" >"$W/inner-signed"

{ headers 'Alice <alice@example.org>' 'Signed report'; sign_entity alice "$W/inner-signed"; } >"$D/msgs/signed-crlf.eml"
lf <"$D/msgs/signed-crlf.eml" >"$D/msgs/signed-good.eml"
# One byte changed in the signed body: "SQL" -> "SQM".
sed 's/found an SQL injection/found an SQM injection/' "$D/msgs/signed-good.eml" >"$D/msgs/signed-bad.eml"
cmp -s "$D/msgs/signed-good.eml" "$D/msgs/signed-bad.eml" && { echo "signed-bad unchanged" >&2; exit 1; }

{ headers 'Bob <bob@example.org>' 'Signed by a certified key'; sign_entity bob "$W/inner-signed"; } | lf >"$D/msgs/signed-certified.eml"
{ headers 'Mallory <mallory@example.org>' 'Signed by unknown key'; sign_entity mallory "$W/inner-signed"; } | lf >"$D/msgs/signed-unknown.eml"
{ headers 'Exp <exp@example.org>' 'Signed by expired key'
  sign_entity exp "$W/inner-signed" '--faked-system-time 20200101T010000'; } | lf >"$D/msgs/signed-expired.eml"
{ headers 'Rev <rev@example.org>' 'Signed by revoked key'; sign_entity rev "$W/inner-signed"; } | lf >"$D/msgs/signed-revoked.eml"
# Now revoke rev's key and give the SIRT the revocation.
revfile="$S/openpgp-revocs.d/$(cat "$D/fpr/rev").rev"
sed 's/^:-----BEGIN/-----BEGIN/' "$revfile" >"$W/rev.rev"
"${G[@]}" --homedir "$S" --import "$W/rev.rev"
"${G[@]}" --homedir "$K" --import "$W/rev.rev"

BODY_ENC='Hello SIRT,

Confidential: the staging database at db-staging.example.com accepts the
default password (admin console: https://db-staging.example.com/console).
Rating: CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/stagingsecret
Please keep this private.

-- 
Alice'
inner_text "$BODY_ENC" >"$W/inner-enc"
{ headers 'Alice <alice@example.org>' 'Encrypted report'
  encrypt_entity "$W/inner-enc" -e -r sirt@example.org; } | lf >"$D/msgs/encrypted.eml"
{ printf 'Content-Type: text/plain; charset=utf-8; protected-headers="v1"\r\n'
  printf 'Subject: =?utf-8?q?RCE_in_the_upload_endpoint_=E2=80=93_confidential?=\r\n\r\n'
  printf '%s\n' "$BODY_ENC" | crlf; } >"$W/inner-protected"
{ headers 'Alice <alice@example.org>' '...'
  encrypt_entity "$W/inner-protected" -e -r sirt@example.org; } | lf >"$D/msgs/encrypted-protected.eml"
{ headers 'Alice <alice@example.org>' 'Encrypted to someone else'
  encrypt_entity "$W/inner-enc" -e -r other@example.org; } | lf >"$D/msgs/encrypted-other.eml"
# Damage the ciphertext: change a character in the middle of the armor.
awk 'BEGIN{n=0} /^-----BEGIN PGP MESSAGE-----/{inb=1} inb && length($0)==64 && ++n==2 { $0 = (substr($0,1,10) == "AAAAAAAAAA") ? "B" substr($0,2) : "AAAAAAAAAA" substr($0,11) } {print}' \
	"$D/msgs/encrypted.eml" | sed 's/Encrypted report/Corrupt encrypted report/' >"$D/msgs/encrypted-corrupt.eml"

{ headers 'Alice <alice@example.org>' 'Encrypted to a protected key'
  encrypt_entity "$W/inner-enc" -e -r sirt-pw@example.org; } | lf >"$D/msgs/encrypted-pw.eml"
gpg --homedir "$S" --batch --quiet --no-tty --pinentry-mode loopback --passphrase "$PW" \
	--s2k-count 65536 --armor --symmetric -o "$W/sym.asc" --yes "$W/inner-enc"
{ headers 'Alice <alice@example.org>' 'Password encrypted report'
  printf 'Content-Type: multipart/encrypted; boundary="enc-bnd";\r\n protocol="application/pgp-encrypted"\r\n\r\n'
  printf -- '--enc-bnd\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n'
  printf -- '--enc-bnd\r\nContent-Type: application/octet-stream\r\n\r\n'
  crlf <"$W/sym.asc"
  printf '\r\n--enc-bnd--\r\n'; } | lf >"$D/msgs/encrypted-symmetric.eml"

sign_entity alice "$W/inner-enc" >"$W/signed-entity"
{ headers 'Alice <alice@example.org>' 'Signed then encrypted'
  encrypt_entity "$W/signed-entity" -e -r sirt@example.org; } | lf >"$D/msgs/sign-then-encrypt.eml"
{ headers 'Alice <alice@example.org>' 'Signed and encrypted'
  encrypt_entity "$W/inner-enc" --sign -u alice@example.org -e -r sirt@example.org; } | lf >"$D/msgs/sign-encrypt.eml"

printf '%s\n' "$BODY_SIGNED" >"$W/inline.txt"
"${G[@]}" --homedir "$S" --clearsign -u alice@example.org -o "$W/inline.txt.asc" --yes "$W/inline.txt"
{ headers 'Alice <alice@example.org>' 'Inline signed report' | lf
  printf 'Content-Type: text/plain; charset=utf-8\n\n'
  cat "$W/inline.txt.asc"; } >"$D/msgs/inline-signed.eml"
printf '%s\n' "$BODY_ENC" >"$W/inline-enc.txt"
"${G[@]}" --homedir "$S" --trust-model always --armor -e -r sirt@example.org -o "$W/inline-enc.asc" --yes "$W/inline-enc.txt"
{ headers 'Alice <alice@example.org>' 'Inline encrypted report' | lf
  printf 'Content-Type: text/plain; charset=us-ascii\n\n'
  printf 'Please find my report below.\n\n'
  cat "$W/inline-enc.asc"; } >"$D/msgs/inline-encrypted.eml"

printf 'Attached report: the admin panel at /admin has no authentication.\n' >"$W/report.txt"
"${G[@]}" --homedir "$S" --trust-model always -e -r sirt@example.org -o "$W/report.txt.gpg" --yes "$W/report.txt"
{ headers 'Alice <alice@example.org>' 'Encrypted attachment' | lf
  printf 'Content-Type: multipart/mixed; boundary="mix"\n\n--mix\n'
  printf 'Content-Type: text/plain\n\nSee the encrypted attachment.\n\n--mix\n'
  printf 'Content-Type: application/octet-stream; name="report.txt.gpg"\n'
  printf 'Content-Disposition: attachment; filename="report.txt.gpg"\n'
  printf 'Content-Transfer-Encoding: base64\n\n'
  base64 <"$W/report.txt.gpg"
  printf '\n--mix--\n'; } >"$D/msgs/attach-encrypted.eml"

printf 'import requests\nrequests.get("https://shop.example.com/search?q=%%27")\n' >"$W/poc.py"
"${G[@]}" --homedir "$S" --detach-sign -u alice@example.org -o "$W/poc.py.sig" --yes "$W/poc.py"
attach_signed() { # subject file-to-attach
	headers 'Alice <alice@example.org>' "$1" | lf
	printf 'Content-Type: multipart/mixed; boundary="mix"\n\n--mix\n'
	printf 'Content-Type: text/plain\n\nProof of concept and its signature attached.\n\n--mix\n'
	printf 'Content-Type: text/x-python; name="poc.py"\n'
	printf 'Content-Disposition: attachment; filename="poc.py"\nContent-Transfer-Encoding: base64\n\n'
	base64 <"$2"
	printf '\n--mix\nContent-Type: application/pgp-signature; name="poc.py.sig"\n'
	printf 'Content-Disposition: attachment; filename="poc.py.sig"\nContent-Transfer-Encoding: base64\n\n'
	base64 <"$W/poc.py.sig"
	printf '\n--mix--\n'
}
attach_signed 'Signed attachment' "$W/poc.py" >"$D/msgs/attach-signed.eml"
sed 's/%27/%22/' "$W/poc.py" >"$W/poc-changed.py"
attach_signed 'Signed attachment, changed' "$W/poc-changed.py" >"$D/msgs/attach-signed-bad.eml"

{ headers 'Mallory <mallory@example.org>' 'My public key' | lf
  printf 'Content-Type: multipart/mixed; boundary="mix"\n\n--mix\n'
  printf 'Content-Type: text/plain\n\nHere is my key, please encrypt replies.\n\n--mix\n'
  printf 'Content-Type: application/pgp-keys; name="mallory.asc"\n'
  printf 'Content-Disposition: attachment; filename="mallory.asc"\n\n'
  cat "$W/mallory.pub"
  printf '\n--mix--\n'; } >"$D/msgs/pubkey.eml"

{ headers 'Bob <bob@example.org>' 'Plain report' | lf
  printf 'Content-Type: text/plain\n\nNo PGP here.\n'; } >"$D/msgs/plain.eml"
rm -rf "$W"
