#!/usr/bin/env bash
# `loupe batch`: six small copy-only packets and a bad one reviewed checks-only (every good one
# gets review.json, the bad one fails, exit 1); a rerun reviews nothing twice; a packet left
# "running" after its review was audited (a kill in that window) is recovered, not redone; a
# concurrent run of the same job is refused; shards 1/2 + 2/2 cover each packet once; --jobs 2
# gives the same review ids as --jobs 1; and a real kill -9 mid-run with the tiny model, then a
# rerun, leaves exactly one review audit entry per packet.
set -euo pipefail
LOUPE_ARG=$1
. "$(dirname "$0")/lib.sh"
cli_setup batch "$LOUPE_ARG" "$2"
PY=/usr/bin/python3

mkpkt() { # folder, packet id, headline
    mkdir -p "$1"
    cat >"$1/packet.yaml" <<EOF
packet: $2
brand:
  name: Acme
  avoid_words: [cheapest]
  required_disclaimers: ["Terms apply."]
sensitivity: internal
rubric: default@1
assets:
  - id: headline
    text: "$3"
    kind: copy
    field: headline
    placements: [meta_feed_square]
    variant: A
  - id: body
    text: "Walk the trails this spring. Terms apply."
    kind: copy
    field: primary_text
    placements: [meta_feed_square]
    variant: A
EOF
}
for i in 1 2 3 4 5 6; do mkpkt "$TMP/pk/p$i" "pkt-$i" "Spring sale number $i"; done
mkpkt "$TMP/pk/p3" pkt-3 "The cheapest boots"   # a failed check is still a finished review
mkpkt "$TMP/pk/bad" bad x
sed -i 's#    text: "x"#    file: missing.txt#' "$TMP/pk/bad/packet.yaml"
echo "not a packet" >"$TMP/pk/notes.txt"     # neither a folder with a manifest nor a zip

# review audit entries per packet path, counted from the log itself
reviews_per_packet() { # workspace -> "path count" lines
    $PY - "$1/audit.jsonl" <<'PY'
import collections, json, sys
c = collections.Counter(json.loads(l)["data"]["packet"]["path"]
                        for l in open(sys.argv[1]) if json.loads(l)["event"] == "review")
for p, n in sorted(c.items()):
    print(p, n)
PY
}

# 1. checks only: 6 reviewed, 1 failed (exit 1, named), one review.json per good packet
WS=$TMP/ws
rc=0; "$LOUPE" batch "$TMP/pk" --workspace "$WS" -o "$TMP/res" >"$TMP/o1" 2>"$TMP/e1" || rc=$?
[ "$rc" -eq 1 ] || { cat "$TMP/e1"; fail "batch exited $rc, want 1 (one bad packet)"; }
grep -q "7 packets, 6 reviewed, 1 failed" "$TMP/o1" || { cat "$TMP/o1"; fail "summary"; }
grep -q "failed: $TMP/pk/bad: .*missing.txt" "$TMP/o1" || fail "the failure is not named"
[ "$(grep -c '^batch: [0-9]/7 done' "$TMP/e1")" -eq 7 ] || { cat "$TMP/e1"; fail "progress lines"; }
grep -q "p3 -> r-[0-9a-f]\{16\} (needs approval)" "$TMP/e1" || fail "progress lacks the flag"
for i in 1 2 3 4 5 6; do
    [ -s "$TMP/res/p$i/review.json" ] || fail "no review.json for p$i"
    $PY -c "import json,sys; assert json.load(open(sys.argv[1]))['packet']['id'] == sys.argv[2]" \
        "$TMP/res/p$i/review.json" "pkt-$i" || fail "p$i review.json is not pkt-$i's"
done
[ ! -e "$TMP/res/bad/review.json" ] || fail "the bad packet got a review.json"
reviews_per_packet "$WS" >"$TMP/c1"
[ "$(wc -l <"$TMP/c1")" -eq 6 ] && ! grep -qv ' 1$' "$TMP/c1" || { cat "$TMP/c1"; fail "counts"; }
$PY - "$WS/audit.jsonl" <<'PY' || fail "batch audit entries"
import json, sys
b = [json.loads(l)["data"] for l in open(sys.argv[1]) if json.loads(l)["event"] == "batch"]
assert [x["phase"] for x in b] == ["start", "end"], b
assert b[0]["packets"] == 7 and b[0]["shard"] == "all", b[0]
assert b[1]["done"] == 6 and b[1]["failed"] == 1, b[1]
PY
"$LOUPE" audit verify --workspace "$WS" >/dev/null || fail "audit log broken"

# 2. the same command again: nothing reviewed twice, the failure still reported
rc=0; "$LOUPE" batch "$TMP/pk" --workspace "$WS" -o "$TMP/res" >"$TMP/o2" 2>/dev/null || rc=$?
[ "$rc" -eq 1 ] || fail "rerun exited $rc, want 1"
grep -q "this run: 0 reviewed" "$TMP/o2" || { cat "$TMP/o2"; fail "rerun reviewed again"; }
reviews_per_packet "$WS" | cmp - "$TMP/c1" || fail "rerun added review entries"

# 3. a kill after p2's audit entry but before its row was marked done: the row is 'running'
# and the claim marker written before the review is there. The rerun must see the audited
# review and mark it done without a second review; a packet whose review.json is gone (p4)
# counts as unfinished and is reviewed again.
job=$(grep -o '^batch [^:]*' "$TMP/o1" | cut -d' ' -f2)
$PY - "$WS/loupe.db" "$job" "$TMP/pk/p2" "$TMP/pk/p4" <<'PY'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
for p in sys.argv[3:]:
    db.execute("UPDATE batch SET state='running' WHERE job=? AND packet_path=?", (sys.argv[2], p))
db.commit()
PY
mkdir -p "$WS/batch-$job.claims"
echo 0 >"$WS/batch-$job.claims/p2"
echo 0 >"$WS/batch-$job.claims/p4"
rm "$TMP/res/p4/review.json"
"$LOUPE" batch "$TMP/pk" --workspace "$WS" -o "$TMP/res" >"$TMP/o3" 2>"$TMP/e3" || true
grep -q "this run: 1 reviewed, 1 recovered" "$TMP/o3" || { cat "$TMP/o3" "$TMP/e3"; fail "recovery"; }
grep -q "p2 -> r-.*not redone" "$TMP/e3" || fail "p2 not reported as recovered"
reviews_per_packet "$WS" >"$TMP/c3"
grep -q "/p2 1$" "$TMP/c3" && grep -q "/p4 2$" "$TMP/c3" || { cat "$TMP/c3"; fail "recovery counts"; }
[ -s "$TMP/res/p4/review.json" ] || fail "p4 not reviewed again"

# 4. a second run of a job that is running is refused while the first holds the lock
exec 9>"$WS/batch-$job.lock"
flock -n 9 || fail "could not take the lock for the test"
expect_exit 1 "already running in another process" "$LOUPE" batch "$TMP/pk" --workspace "$WS" \
    -o "$TMP/res"
exec 9>&-

# 5. shards 1/2 and 2/2 of a list file split the packets, each exactly once
printf '# the good ones\np1\n\np2\np3\n%s/pk/p4\np5\np6\n' "$TMP" >"$TMP/pk/list.txt"
for s in 1 2; do
    "$LOUPE" batch "$TMP/pk/list.txt" --shard $s/2 --workspace "$TMP/ws5" -o "$TMP/s$s" \
        >"$TMP/o5$s" 2>/dev/null || fail "shard $s/2 failed"
    grep -q "3 packets, 3 reviewed, 0 failed" "$TMP/o5$s" || fail "shard $s/2 does not hold 3"
done
ls "$TMP/s1" "$TMP/s2" | grep '^p' | sort >"$TMP/shards"
printf 'p%s\n' 1 2 3 4 5 6 | cmp - "$TMP/shards" || { cat "$TMP/shards"; fail "shards overlap"; }
expect_exit 2 "shard" "$LOUPE" batch "$TMP/pk/list.txt" --shard 3/2 --workspace "$TMP/ws5"
expect_exit 2 "which packets" "$LOUPE" batch --workspace "$TMP/ws5"

# 6. --jobs 2 gives the same review ids as --jobs 1
ids() { $PY -c "import json,sys
print('\n'.join(sorted(json.loads(l)['data']['review_id'] for l in open(sys.argv[1])
      if json.loads(l)['event'] == 'review')))" "$1/audit.jsonl"; }
"$LOUPE" batch "$TMP/pk/list.txt" --jobs 2 --workspace "$TMP/ws6" -o "$TMP/j2" >"$TMP/o6" \
    2>/dev/null || fail "--jobs 2 failed"
grep -q "6 packets, 6 reviewed" "$TMP/o6" || fail "--jobs 2 summary"
"$LOUPE" batch "$TMP/pk/list.txt" --workspace "$TMP/ws7" -o "$TMP/j1" >/dev/null 2>&1 \
    || fail "--jobs 1 failed"
[ "$(ids "$TMP/ws6" | wc -l)" -eq 6 ] || fail "--jobs 2 did not review 6"
ids "$TMP/ws6" | cmp - <(ids "$TMP/ws7") || fail "--jobs 2 and --jobs 1 review ids differ"

# 7. kill -9 mid-run with the tiny model, then the same command to completion: every packet
# reviewed exactly once (one-asset packets and -n 16 keep each review to a few seconds)
"$LOUPE" gen-model --preset gemma4-tiny --type q8_0 -o "$TMP/m.gguf" >/dev/null
for i in 1 2 3; do
    mkpkt "$TMP/km/k$i" "k-$i" "Trail boots number $i"
    sed -i '/  - id: body/,$d' "$TMP/km/k$i/packet.yaml"
done
KW=$TMP/wsk
KB=("$LOUPE" batch "$TMP/km" -m "$TMP/m.gguf" -n 16 -t 2 --workspace "$KW" -o "$TMP/ko")
"${KB[@]}" >/dev/null 2>"$TMP/ek" &
pid=$!
for _ in $(seq 1 600); do
    [ -f "$KW/audit.jsonl" ] && grep -q '"event":"review"' "$KW/audit.jsonl" && break
    kill -0 $pid 2>/dev/null || break
    sleep 0.1
done
kill -9 $pid 2>/dev/null || fail "the batch finished before it could be killed"
wait $pid 2>/dev/null || true
for f in "$KW"/batch-*.lock; do flock -w 20 "$f" true; done # the workers die with the parent
n_before=$(grep -c '"event":"review"' "$KW/audit.jsonl" || true)
[ "$n_before" -ge 1 ] && [ "$n_before" -lt 3 ] || fail "$n_before reviews before the kill"
"${KB[@]}" >"$TMP/ok" 2>"$TMP/ek2" || { cat "$TMP/ek2"; fail "rerun after kill -9 failed"; }
grep -q "3 packets, 3 reviewed, 0 failed" "$TMP/ok" || { cat "$TMP/ok"; fail "after kill"; }
reviews_per_packet "$KW" >"$TMP/ck"
[ "$(wc -l <"$TMP/ck")" -eq 3 ] && ! grep -qv ' 1$' "$TMP/ck" || { cat "$TMP/ck"; fail "twice"; }
for i in 1 2 3; do [ -s "$TMP/ko/k$i/review.json" ] || fail "k$i has no review.json"; done
"$LOUPE" audit verify --workspace "$KW" >/dev/null || fail "audit log broken by the kill"
echo "ok"
