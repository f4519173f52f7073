#!/usr/bin/env bash
# sirt ingest: the MTA pipe and files, idempotency, threading, exit codes.
source "$(dirname "$0")/lib.sh"
cd "$T"
export SIRT_NOW=2026-11-20T17:00:00Z

cat > a.eml <<'MSG'
From: Ana Researcher <ana@research.example.org>
To: security@example.com
Subject: XSS in search page
Date: Fri, 20 Nov 2026 09:00:00 +0100
Message-ID: <first@research.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

The q parameter of /search is reflected without escaping.
MSG
cat > reply.eml <<'MSG'
From: Ana Researcher <ana@research.example.org>
To: security@example.com
Subject: Re: XSS in search page
Date: Fri, 20 Nov 2026 11:00:00 +0100
Message-ID: <second@research.example.org>
In-Reply-To: <first@research.example.org>
References: <first@research.example.org>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Any news?
MSG
cat > other.eml <<'MSG'
From: Bob <bob@example.net>
To: security@example.com
Subject: Lost phone
Date: Fri, 20 Nov 2026 12:00:00 +0100
Message-ID: <phone@example.net>

I lost my work phone.
MSG

# The MTA pipe: one message on stdin, exit 0 once committed.
out=$(sirt ingest < a.eml) || fail "ingest from stdin failed"
contains "$out" "new case SEC-2026-0001"
[ -f var/sirt.db ] || fail "no database created"
[ "$(stat -c %a var/sirt.db)" = 600 ] || fail "database is not 0600: $(stat -c %a var/sirt.db)"

# The same bytes again: one message, one case, exit 0, says so.
out=$(sirt ingest < a.eml) || fail "second ingest failed"
contains "$out" "duplicate"
contains "$out" "SEC-2026-0001"

# A reply threads onto the case (In-Reply-To), another report opens one.
out=$(sirt ingest reply.eml other.eml) || fail "ingest of files failed"
contains "$out" "follow-up to SEC-2026-0001"
contains "$out" "new case SEC-2026-0002"

# A ref in the subject threads too.
sed -e 's/^Subject: .*/Subject: update on [SEC-2026-0002]/' \
    -e 's/^Message-ID: .*/Message-ID: <phone2@example.net>/' other.eml > ref.eml
out=$(sirt ingest ref.eml) || fail "ingest ref.eml failed"
contains "$out" "follow-up to SEC-2026-0002"

n=$(sirt --json cases | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
[ "$n" = 2 ] || fail "expected 2 cases, got $n"
msgs=$(sirt --json show SEC-2026-0001 | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["messages"]))')
[ "$msgs" = 2 ] || fail "expected 2 messages in SEC-2026-0001, got $msgs"

# --raw gives back the exact bytes.
sirt show SEC-2026-0001 --raw > back.eml
cmp -s a.eml back.eml || fail "show --raw differs from the ingested bytes"
sirt show SEC-2026-0001 --raw --message 2 > back2.eml
cmp -s reply.eml back2.eml || fail "show --raw --message 2 differs"

# Garbage is stored and flagged, never dropped.
head -c 3000 /dev/urandom > junk.bin
out=$(sirt ingest junk.bin) || fail "binary junk was not stored (exit $?)"
contains "$out" "new case"
: > empty.eml
out=$(sirt ingest empty.eml) || fail "empty input was not stored"
sirt --json cases > cases.json
python3 - <<'PY' || fail "unparsed messages are not visible as cases"
import json
cases = json.load(open("cases.json"))
assert len(cases) == 4, len(cases)
flagged = [c for c in cases if c["unparsed"]]
assert len(flagged) >= 1, cases
PY

# Errors: missing file, unknown command, bad option.
expect_rc 66 sirt ingest does-not-exist.eml
expect_rc 64 sirt frobnicate
expect_rc 64 sirt ingest --bogus
expect_rc 66 sirt show SEC-2026-9999

# A locked database is a temporary failure: exit 75 so the MTA retries,
# and nothing is stored.
cat > lock.conf <<CONF
[store]
path = $T/var/sirt.db
busy_timeout = 1
CONF
/usr/bin/python3 -c "
import sqlite3, sys, time
c = sqlite3.connect('var/sirt.db', isolation_level=None)
c.execute('BEGIN EXCLUSIVE')
open('locked', 'w').close()
time.sleep(8)
" &
locker=$!
CLEANUP+=("kill $locker 2>/dev/null")
for i in $(seq 50); do [ -f locked ] && break; sleep 0.1; done
sed 's/^Message-ID: .*/Message-ID: <locked@example.net>/' other.eml > locked.eml
expect_rc 75 sirt -c lock.conf ingest < locked.eml
kill $locker; wait $locker 2>/dev/null
out=$(sirt -c lock.conf ingest < locked.eml) || fail "retry after the lock failed"
contains "$out" "new case"
exit 0
