#!/usr/bin/env bash
# mbox source over real-world mailboxes (Mail::Mbox::MessageParser's test
# mailboxes): every message stored (parsed or flagged), none twice, and
# a second run resumes where the first stopped.
source "$(dirname "$0")/lib.sh"
cd "$T"
data="$SIRT_TOP/tests/data/mbox"
[ -d "$data" ] || fail "no test mailboxes in $data"

# An independent count of the distinct messages in an mbox: split at
# From_ lines at the start or after an empty line, undo >From quoting,
# ignore blank lines between messages; the same bytes twice count once.
count_distinct() {
	/usr/bin/python3 - "$1" <<'PY'
import re, sys
b = open(sys.argv[1], 'rb').read().lstrip(b'\r\n')
lines = b.split(b'\n')
msgs, cur, prev_blank = [], None, True
for i, line in enumerate(lines):
    if line.startswith(b'From ') and prev_blank:
        if cur is not None:
            msgs.append(cur)
        cur = []
    else:
        if cur is None:
            cur = []
        cur.append(re.sub(rb'^>(>*From )', rb'\1', line))
    prev_blank = line.rstrip(b'\r') == b''
if cur is not None:
    msgs.append(cur)
norm = set(b'\n'.join(m).strip(b'\r\n') for m in msgs)
print(len(norm))
PY
}

total=0
for mb in mailarc-1.txt mailarc-2.txt mailarc-3.txt mailarc-1-dos.txt malformed.txt \
          mailseparators.txt newlines_at_beginning.txt vm-emacs.txt binary_body.txt \
          hessbug.txt invalid-boundaries.txt; do
	[ -f "$data/$mb" ] || fail "missing $data/$mb"
	name=${mb%.txt}; name=${name//[^a-z0-9]/_}
	cat > "$name.conf" <<CONF
[store]
path = $T/$name.db
[source $name]
type = mbox
path = $data/$mb
CONF
	out=$(sirt -c "$name.conf" poll --once 2>&1) || fail "poll of $mb failed: $out"
	want=$(count_distinct "$data/$mb")
	got=$(sqlite3 "$T/$name.db" 'SELECT count(*) FROM messages')
	[ "$got" = "$want" ] || fail "$mb: stored $got messages, the file has $want distinct ones"
	again=$(sirt -c "$name.conf" poll --once 2>&1) || fail "second poll of $mb failed"
	contains "$again" "0 new messages stored" "$mb second run"
	total=$((total + got))
	echo "$mb: $got stored"
done
[ "$total" -ge 40 ] || fail "only $total messages stored in all"

# mailarc-1 has the classic mailboxes' 16 messages; stored and resumable.
cp "$data/mailarc-1.txt" grow.mbox
cat > grow.conf <<CONF
[store]
path = $T/grow.db
[source g]
type = mbox
path = $T/grow.mbox
CONF
sirt -c grow.conf poll --once >/dev/null || fail "grow poll 1"
n1=$(sqlite3 grow.db 'SELECT count(*) FROM messages')
printf '\nFrom someone@example.org Fri Nov 20 10:00:00 2026\nFrom: someone@example.org\nSubject: appended\nMessage-ID: <appended@example.org>\n\n>From the start, quoted.\n' >> grow.mbox
out=$(sirt -c grow.conf poll --once) || fail "grow poll 2"
contains "$out" "1 new message stored"
n2=$(sqlite3 grow.db 'SELECT count(*) FROM messages')
[ "$n2" = $((n1 + 1)) ] || fail "append: $n1 -> $n2"
ref=$(sirt -c grow.conf --json cases | python3 -c 'import json,sys; print([c["ref"] for c in json.load(sys.stdin) if c["subject"]=="appended"][0])')
raw=$(sirt -c grow.conf show "$ref" --raw)
contains "$raw" "
From the start, quoted." "unquoted body"
exit 0
