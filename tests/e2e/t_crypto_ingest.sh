#!/usr/bin/env bash
# PGP through the real binary: messages signed and encrypted by the gpg
# command line (tests/pgp-fixtures.sh, throwaway keyrings) are ingested,
# and `sirt show --json`, `sirt show` and `sirt triage --json` must report
# what gpg made: good/bad/unknown/expired/revoked signatures, the signer,
# trust, decrypted text, undecryptable reports (P3, tagged), and the
# shipped rules' bad-signature tag.
source "$(dirname "$0")/lib.sh"
command -v gpg >/dev/null || skip "gpg not installed"
command -v jq >/dev/null || skip "jq not installed"
cd "$T"
export SIRT_NOW=2026-11-20T17:00:00Z
export SIRT_PREFILTER=0  # compiling the prefilter costs a second per command
CLEANUP+=("gpgconf --homedir '$T/fx/sirt-home' --kill all" "gpgconf --homedir '$T/fx/sender-home' --kill all")
bash "$SIRT_TOP/tests/pgp-fixtures.sh" "$T/fx" >fx.log 2>&1 || { cat fx.log; fail "pgp-fixtures.sh failed"; }
ALICE=$(cat fx/fpr/alice) MALLORY=$(cat fx/fpr/mallory) EXP=$(cat fx/fpr/exp) REV=$(cat fx/fpr/rev)

cat >sirt.conf <<EOF
[store]
path = $T/var/sirt.db
[crypto]
gnupg_home = $T/fx/sirt-home
trusted_signers = $ALICE
[rules]
dir = $SIRT_TOP/rules
EOF

# ingest NAME: ingest fx/msgs/NAME.eml, print the case ref.
ingest() {
	local out
	out=$(sirt -c sirt.conf --json ingest "fx/msgs/$1.eml") || fail "ingest $1 failed: $out"
	jq -r .ref <<<"$out"
}
# crypto REF JQ: evaluate JQ on the first message's crypto facts.
crypto() { sirt -c sirt.conf show --json "$1" | jq -r ".messages[0].crypto | $2"; }
expect() { [ "$1" = "$2" ] || fail "${3:-value}: got '$1', expected '$2'"; }

r=$(ingest signed-good)
expect "$(crypto "$r" .status)" signed "signed-good status"
expect "$(crypto "$r" '.signatures[0].status')" good "signed-good signature"
expect "$(crypto "$r" '.signatures[0].fingerprint')" "$ALICE" "signed-good signer"
expect "$(crypto "$r" '.signatures[0].uid')" "Alice <alice@example.org>" "signed-good uid"
expect "$(crypto "$r" '.signatures[0].trusted')" true "alice is a trusted signer"
text=$(sirt -c sirt.conf show "$r")
contains "$text" "good signature" "show text"
contains "$text" "$ALICE" "show text"

r=$(ingest signed-bad)
expect "$(crypto "$r" '.signatures[0].status')" bad "signed-bad signature"
expect "$(crypto "$r" '.signatures[0].trusted')" false "a bad signature is never trusted"
tags=$(sirt -c sirt.conf show --json "$r" | jq -r '.tags | join(" ")')
contains "$tags" bad-signature "tags of the bad-signature case"
tj=$(sirt -c sirt.conf triage --json fx/msgs/signed-bad.eml)
expect "$(jq -r '.tags | index("bad-signature") != null' <<<"$tj")" true "triage --json tags"
expect "$(jq -r '.crypto.signatures[0].status' <<<"$tj")" bad "triage --json crypto"

r=$(ingest signed-unknown)
expect "$(crypto "$r" '.signatures[0].status')" missing-key "signed-unknown"
expect "$(crypto "$r" '.signatures[0].fingerprint')" "$MALLORY" "signed-unknown signer"
expect "$(crypto "$r" '.signatures[0].trusted')" false "unknown signer trusted"
r=$(ingest signed-expired)
expect "$(crypto "$r" '.signatures[0].status')" expired-key "signed-expired"
expect "$(crypto "$r" '.signatures[0].fingerprint')" "$EXP" "signed-expired signer"
r=$(ingest signed-revoked)
expect "$(crypto "$r" '.signatures[0].status')" revoked-key "signed-revoked"
expect "$(crypto "$r" '.signatures[0].fingerprint')" "$REV" "signed-revoked signer"

r=$(ingest encrypted)
expect "$(crypto "$r" .status)" encrypted "encrypted status"
expect "$(crypto "$r" .decrypted)" true "encrypted decrypted"
body=$(sirt -c sirt.conf show --json "$r" | jq -r '.messages[0].body')
contains "$body" "staging database at db-staging.example.com" "decrypted body"

r=$(ingest encrypted-protected)
expect "$(sirt -c sirt.conf show --json "$r" | jq -r .subject)" "RCE in the upload endpoint – confidential" "protected subject"

r=$(ingest encrypted-other)
expect "$(crypto "$r" .undecryptable)" true "encrypted-other undecryptable"
contains "$(crypto "$r" .decrypt_error)" "No secret key" "decrypt_error"
j=$(sirt -c sirt.conf show --json "$r")
expect "$(jq -r .severity <<<"$j")" P3 "undecryptable severity"
contains "$(jq -r '.tags | join(" ")' <<<"$j")" undecryptable "undecryptable tag"
contains "$(sirt -c sirt.conf show "$r")" "could not be decrypted" "show text"

# The SIRT gets the missing secret key later: show opens the report now
# (nothing is stored by showing it).
OTHER_REF=$r
gpg --homedir fx/sender-home --batch --armor --export-secret-keys other@example.org >other.sec
gpg --homedir fx/sirt-home --batch --quiet --import other.sec 2>/dev/null || fail "import other's key"
text=$(sirt -c sirt.conf show "$OTHER_REF")
contains "$text" "decrypted now, not stored" "show after the key arrived"
contains "$text" "staging database" "show after the key arrived"
j=$(sirt -c sirt.conf show --json "$OTHER_REF")
expect "$(jq -r '.messages[0].body_decrypted_now' <<<"$j")" true "body_decrypted_now"
contains "$(jq -r '.messages[0].body' <<<"$j")" "staging database" "show --json body"
expect "$(jq -r '.messages[0].crypto.undecryptable' <<<"$j")" true "stored facts unchanged"

for m in sign-then-encrypt sign-encrypt; do
	r=$(ingest $m)
	expect "$(crypto "$r" .status)" signed+encrypted "$m status"
	expect "$(crypto "$r" '.signatures[0].status')" good "$m signature"
	expect "$(crypto "$r" '.signatures[0].fingerprint')" "$ALICE" "$m signer"
	contains "$(sirt -c sirt.conf show --json "$r" | jq -r '.messages[0].body')" "staging database" "$m body"
done

r=$(ingest inline-signed)
expect "$(crypto "$r" '.signatures[0].status')" good "inline-signed"
r=$(ingest inline-encrypted)
expect "$(crypto "$r" .decrypted)" true "inline-encrypted"
contains "$(sirt -c sirt.conf show --json "$r" | jq -r '.messages[0].body')" "staging database" "inline body"
r=$(ingest attach-encrypted)
expect "$(crypto "$r" .decrypted)" true "attach-encrypted"
contains "$(sirt -c sirt.conf show "$r")" "admin panel at /admin" "decrypted attachment"

r=$(ingest plain)
expect "$(crypto "$r" .)" null "plain message crypto"

# A public key is recorded, not imported; `keys import` imports it, audited,
# without owner trust.
r=$(ingest pubkey)
expect "$(crypto "$r" '.keys[0].fingerprint')" "$MALLORY" "recorded key"
gpg --homedir fx/sirt-home --batch --list-keys "$MALLORY" >/dev/null 2>&1 && fail "key imported at intake"
out=$(sirt -c sirt.conf keys import "$r") || fail "keys import failed: $out"
contains "$out" "imported $MALLORY" "keys import output"
gpg --homedir fx/sirt-home --batch --list-keys "$MALLORY" >/dev/null 2>&1 || fail "key not imported"
gpg --homedir fx/sirt-home --batch --export-ownertrust 2>/dev/null | grep -q "$MALLORY" && fail "owner trust was set"
contains "$(sirt -c sirt.conf show --json "$r" | jq -r '.timeline[].action' | tr '\n' ' ')" key-import "timeline"
out=$(sirt -c sirt.conf --json keys import "$r") || fail "second import failed"
expect "$(jq -r '.keys[0].result' <<<"$out")" unchanged "second import"
expect_rc 66 sirt -c sirt.conf keys import "$(ingest plain | head -1)" >/dev/null
expect_rc 66 sirt -c sirt.conf keys import SEC-2026-9999 2>/dev/null
echo ok
