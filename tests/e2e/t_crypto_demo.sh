#!/usr/bin/env bash
# The demo's PGP reports open with the published demo SIRT key, the way
# `make demo` sets it up: the key imported into ./var/gnupg (the default
# keyring when no gnupg_home is configured), nothing else configured.
source "$(dirname "$0")/lib.sh"
command -v gpg >/dev/null || skip "gpg not installed"
command -v jq >/dev/null || skip "jq not installed"
cd "$T"
export SIRT_PREFILTER=0
demo="$SIRT_TOP/contrib/demo"
mkdir -p -m 700 var/gnupg
CLEANUP+=("gpgconf --homedir '$T/var/gnupg' --kill all")
gpg --homedir var/gnupg --batch --quiet --import "$demo/demo-sirt-key.asc" 2>/dev/null ||
	fail "cannot import the demo key"
ln -s "$SIRT_TOP/rules" rules
signed=$(ls "$demo"/new/*demo-signed*) encrypted=$(ls "$demo"/new/*demo-encrypted*)

out=$(sirt --json ingest "$signed") || fail "ingest signed: $out"
j=$(sirt show --json "$(jq -r .ref <<<"$out")")
[ "$(jq -r '.messages[0].crypto.signatures[0].status' <<<"$j")" = good ] || fail "demo signature: $j"
contains "$(jq -r '.messages[0].crypto.signatures[0].uid' <<<"$j")" lena.fischer@example.com "signer"

out=$(sirt --json ingest "$encrypted") || fail "ingest encrypted: $out"
j=$(sirt show --json "$(jq -r .ref <<<"$out")")
[ "$(jq -r '.messages[0].crypto.decrypted' <<<"$j")" = true ] || fail "demo not decrypted: $j"
contains "$(jq -r '.messages[0].body' <<<"$j")" "SAML endpoint" "decrypted text"
# The vulnerability is only in the encrypted text: triage saw it.
[ "$(jq -r .severity <<<"$j")" = P2 ] || fail "demo encrypted report: severity $(jq -r .severity <<<"$j"), expected P2"
echo ok
