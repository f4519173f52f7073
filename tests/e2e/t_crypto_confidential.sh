#!/usr/bin/env bash
# [crypto] store_decrypted = no: text that arrived encrypted never reaches
# the database (body, URLs, rule excerpts, a CVSS vector or the note
# quoting a malformed one), the raw encrypted message is
# kept as evidence, and `sirt show` decrypts on demand.  With the default
# (yes) the same words are stored, which proves the check can fail.
source "$(dirname "$0")/lib.sh"
command -v gpg >/dev/null || skip "gpg not installed"
command -v jq >/dev/null || skip "jq not installed"
command -v sqlite3 >/dev/null || skip "sqlite3 not installed"
cd "$T"
export SIRT_NOW=2026-11-20T17:00:00Z
export SIRT_PREFILTER=0  # compiling the prefilter costs a second per command
CLEANUP+=("gpgconf --homedir '$T/fx/sirt-home' --kill all" "gpgconf --homedir '$T/fx/sender-home' --kill all")
bash "$SIRT_TOP/tests/pgp-fixtures.sh" "$T/fx" >fx.log 2>&1 || { cat fx.log; fail "pgp-fixtures.sh failed"; }
mkdir rules
cat >rules/10-test.rules <<'EOF2'
rule     default_password body /default password/
describe default_password a vendor default credential
score    default_password 5
tag      default_password credential-leak
EOF2

conf() { # NAME store_decrypted
	cat >"$1.conf" <<EOF2
[store]
path = $T/$1/sirt.db
[crypto]
gnupg_home = $T/fx/sirt-home
store_decrypted = $2
[rules]
dir = $T/rules
EOF2
}
# Every byte the database holds, WAL included, and its SQL dump.
db_bytes() { cat "$T/$1"/sirt.db* 2>/dev/null; sqlite3 "$T/$1/sirt.db" .dump; }

conf keep yes
conf secret no
for m in encrypted inline-encrypted encrypted-protected; do
	sirt -c keep.conf ingest "fx/msgs/$m.eml" >/dev/null || fail "ingest (keep) $m"
	sirt -c secret.conf ingest "fx/msgs/$m.eml" >/dev/null || fail "ingest (secret) $m"
done
# The words are in the database with store_decrypted = yes ...
for w in "staging database" "db-staging.example.com" "default password" "RCE in the upload" "stagingsecret"; do
	db_bytes keep | grep -aqF "$w" || fail "store_decrypted=yes: '$w' not stored (test cannot fail?)"
done
# ... and nowhere in it with no.
for w in "staging database" "db-staging.example.com" "default password" "RCE in the upload" "stagingsecret"; do
	db_bytes secret | grep -aqF "$w" && fail "store_decrypted=no: '$w' reached the database"
done

# The verdict was still made on the decrypted text.
j=$(sirt -c secret.conf show --json SEC-2026-0001)
contains "$(jq -r '.tags | join(" ")' <<<"$j")" credential-leak "tags"
# show decrypts on demand; the raw evidence is the encrypted original.
expect_body=$(jq -r '.messages[0].body' <<<"$j")
contains "$expect_body" "staging database" "show --json body (decrypted on demand)"
[ "$(jq -r '.messages[0].body_decrypted_now' <<<"$j")" = true ] || fail "body_decrypted_now"
contains "$(sirt -c secret.conf show SEC-2026-0001)" "decrypted now, not stored" "show text"
sirt -c secret.conf show --raw SEC-2026-0001 >raw.eml || fail "show --raw"
cmp -s raw.eml fx/msgs/encrypted.eml || fail "raw evidence differs from the message received"
# Showing did not write the text either.
db_bytes secret | grep -aqF "staging database" && fail "show wrote decrypted text"
echo ok
