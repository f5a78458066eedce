#!/usr/bin/env bash
# CLI test of constrained decoding: `loupe run --json` and `--json-schema` on the tiny
# model print one value that parses (and fits the rubric schema), for several seeds;
# an unsupported keyword is refused with the file and its path (exit 1).
set -euo pipefail
LOUPE=$1
TMP=$2/cli_json_$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
HERE=$(cd "$(dirname "$0")" && pwd)
SCHEMA=$HERE/../data/schemas/finding.json

"$LOUPE" gen-model --preset gemma4-tiny --type q8_0 --seed 3 -o "$TMP/m.gguf"
for seed in 1 2 3; do
    "$LOUPE" run -m "$TMP/m.gguf" -p "Review this ad" -n 2000 --seed $seed \
        --json-schema "$SCHEMA" >"$TMP/out" 2>"$TMP/err" || { cat "$TMP/err"; fail "schema run $seed"; }
    /usr/bin/python3 - "$TMP/out" <<'PY' || fail "seed $seed: output does not fit the schema"
import json, sys
v = json.loads(open(sys.argv[1], encoding="utf-8").read())
assert set(v) == {"severity", "evidence", "rationale"}, v
assert v["severity"] in ("pass", "minor", "major", "blocker")
e = v["evidence"]
assert set(e) in ({"quote"}, {"t0", "t1"}), e
assert len(v["rationale"]) <= 400
PY
    grep -q "JSON value complete" "$TMP/err" || fail "seed $seed: generation did not end at the value"
    "$LOUPE" run -m "$TMP/m.gguf" -p "Anything" -n 2000 --seed $seed --json >"$TMP/any" 2>"$TMP/err" \
        || { cat "$TMP/err"; fail "--json run $seed"; }
    /usr/bin/python3 -c 'import json,sys; json.loads(open(sys.argv[1]).read())' "$TMP/any" \
        || fail "seed $seed: --json output does not parse"
done

printf '{"type":"object","properties":{"a":{"type":"string","pattern":"x+"}}}' >"$TMP/bad.json"
rc=0; "$LOUPE" run -m "$TMP/m.gguf" -p hi --json-schema "$TMP/bad.json" >/dev/null 2>"$TMP/e" || rc=$?
[ "$rc" -eq 1 ] || fail "unsupported keyword exited $rc, want 1"
grep -q "bad.json: schema: /properties/a: unsupported keyword 'pattern'" "$TMP/e" \
    || fail "error does not name the file, the path and the keyword: $(cat "$TMP/e")"
rc=0; "$LOUPE" run -m "$TMP/m.gguf" -p hi --json --json-schema "$TMP/bad.json" >/dev/null 2>&1 || rc=$?
[ "$rc" -eq 2 ] || fail "--json with --json-schema exited $rc, want 2"
echo "test_json.sh: 1 passed, 0 failed"
