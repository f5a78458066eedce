#!/usr/bin/env bash
# CLI test of `loupe audit verify` and `loupe audit show`: a log and head written here by
# Python (json with sorted keys + hashlib: an implementation independent of ours) must verify;
# then each kind of tampering exits 1 naming the first bad line; show prints the entries and
# --last N; usage exits 2; a missing workspace exits 1.
set -euo pipefail
LOUPE_ARG=$1
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
cli_setup audit "$LOUPE_ARG" "$2"

WS=$TMP/ws
mkdir -p "$WS"

# write_log N [MODE]: N entries chained by Python; MODE tampers with the result.
write_log() {
    "$PY" - "$WS" "$@" <<'EOF'
import hashlib, json, sys
ws, n = sys.argv[1], int(sys.argv[2])
mode = sys.argv[3] if len(sys.argv) > 3 else ''
def line(seq, prev, data):
    e = {'seq': seq, 'prev': prev, 'at': '2027-03-01T12:00:%02dZ' % (seq % 60), 'who': 'ann',
         'loupe': '0.1.0-dev', 'event': 'review', 'data': data}
    return json.dumps(e, sort_keys=True, separators=(',', ':'), ensure_ascii=False)
lines, prev = [], '0' * 64
for s in range(1, n + 1):
    l = line(s, prev, {'input_sha256': hashlib.sha256(b'%d' % s).hexdigest(), 'n': s})
    lines.append(l)
    prev = hashlib.sha256(l.encode()).hexdigest()
head = '%d %s\n' % (n, prev)
if mode == 'edit':
    lines[15] = lines[15].replace('"n":16', '"n":61')
elif mode == 'drop_mid':
    del lines[4]
elif mode == 'drop_last':
    del lines[-1]
elif mode == 'swap':
    lines[2], lines[3] = lines[3], lines[2]
elif mode == 'badjson':
    lines[6] = lines[6][:-1]
tail = '{"at":"2027' if mode == 'partial' else ''
open(ws + '/audit.jsonl', 'w').write(''.join(l + '\n' for l in lines) + tail)
open(ws + '/audit.head', 'w').write(head)
EOF
}

write_log 20
"$LOUPE" audit verify --workspace "$WS" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "verify of a good log"; }
grep -q "audit.jsonl: 20 entries, chain intact" "$TMP/out" || { cat "$TMP/out"; fail "verify output"; }

write_log 20 edit
expect_exit 1 "audit.jsonl:17: hash chain broken (entry edited or reordered)" \
    "$LOUPE" audit verify --workspace "$WS"
write_log 20 drop_mid
expect_exit 1 "audit.jsonl:5: seq gap: expected 5, found 6" "$LOUPE" audit verify --workspace "$WS"
write_log 20 drop_last
expect_exit 1 "audit.jsonl:20: missing: audit.head records 20 entries, the log ends at 19" \
    "$LOUPE" audit verify --workspace "$WS"
write_log 20 swap
expect_exit 1 "audit.jsonl:3: seq gap: expected 3, found 4" "$LOUPE" audit verify --workspace "$WS"
write_log 20 badjson
expect_exit 1 "audit.jsonl:7: not a JSON object (bad JSON line)" \
    "$LOUPE" audit verify --workspace "$WS"
write_log 5 partial
expect_exit 1 "audit.jsonl:6: incomplete last line (crash during append?)" \
    "$LOUPE" audit verify --workspace "$WS"
rm "$WS/audit.head"
expect_exit 1 "audit.head: missing while audit.jsonl holds 5 entries" \
    "$LOUPE" audit verify --workspace "$WS"

# $LOUPE_HOME is the default workspace
write_log 3
LOUPE_HOME=$WS "$LOUPE" audit verify >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "LOUPE_HOME"; }
grep -q "3 entries, chain intact" "$TMP/out" || fail "LOUPE_HOME output"

# show: every entry, then the last 2; --json gives the stored lines
"$LOUPE" audit show --workspace "$WS" >"$TMP/show"
[ "$(wc -l <"$TMP/show")" -eq 3 ] || { cat "$TMP/show"; fail "show line count"; }
grep -q '^1  2027-03-01T12:00:01Z  ann  review  {"input_sha256":"6b86b273' "$TMP/show" ||
    { cat "$TMP/show"; fail "show format"; }
"$LOUPE" audit show --workspace "$WS" --last 2 >"$TMP/show"
[ "$(cut -d' ' -f1 "$TMP/show" | tr '\n' ' ')" = "2 3 " ] || { cat "$TMP/show"; fail "--last 2"; }
"$LOUPE" audit show --workspace "$WS" --json --last 1 >"$TMP/show"
cmp -s "$TMP/show" <(tail -n 1 "$WS/audit.jsonl") || fail "--json differs from the stored line"

# usage and a missing workspace
expect_exit 2 "usage: loupe audit" "$LOUPE" audit
expect_exit 2 "unknown sub-command 'frob'" "$LOUPE" audit frob
expect_exit 2 "unknown option '--x'" "$LOUPE" audit verify --x
expect_exit 2 "--last" "$LOUPE" audit show --last many
expect_exit 1 "no workspace there" "$LOUPE" audit verify --workspace "$TMP/none"

echo "test_audit: ok"
