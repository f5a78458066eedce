#!/usr/bin/env bash
# CLI test of `loupe run` and `loupe chat` on the tiny model: answers repeat for a seed
# and for greedy decoding, stdout carries only the answer, chat keeps the conversation,
# and bad input exits 1 (a bad file, naming it) or 2 (usage).
set -euo pipefail
LOUPE_ARG=$1
. "$(dirname "$0")/lib.sh"
cli_setup run "$LOUPE_ARG" "$2"

"$LOUPE" gen-model --preset gemma4-tiny --type q8_0 --seed 2 -o "$TMP/m.gguf"
"$LOUPE" run -m "$TMP/m.gguf" -p "Spring sale" -n 12 --temp 0 >"$TMP/a" 2>"$TMP/a.err"
"$LOUPE" run -m "$TMP/m.gguf" -p "Spring sale" -n 12 --temp 0 -t 1 >"$TMP/b" 2>/dev/null
cmp "$TMP/a" "$TMP/b" || fail "greedy answers differ between 2 threads and 1"
grep -q "prompt .* t/s" "$TMP/a.err" || fail "no timings on stderr"
grep -q "t/s" "$TMP/a" && fail "timings leaked into stdout"
"$LOUPE" run -m "$TMP/m.gguf" -p "Spring sale" -n 12 --seed 7 >"$TMP/c" 2>/dev/null
"$LOUPE" run -m "$TMP/m.gguf" -p "Spring sale" -n 12 --seed 7 >"$TMP/d" 2>/dev/null
cmp "$TMP/c" "$TMP/d" || fail "the same seed gave different answers"

printf 'first\nsecond\n' | "$LOUPE" chat -m "$TMP/m.gguf" -n 4 --temp 0 >/dev/null 2>"$TMP/chat.err"
p1=$(grep -o 'prompt [0-9]* tokens' "$TMP/chat.err" | sed -n 1p | grep -o '[0-9]*')
p2=$(grep -o 'prompt [0-9]* tokens' "$TMP/chat.err" | sed -n 2p | grep -o '[0-9]*')
[ -n "$p1" ] && [ -n "$p2" ] && [ "$p2" -gt "$p1" ] || fail "chat did not keep the first turn"

rc=0; "$LOUPE" run -p hi >/dev/null 2>"$TMP/e" || rc=$?
[ "$rc" -eq 2 ] || fail "missing -m exited $rc, want 2"
head -c 100 "$TMP/m.gguf" >"$TMP/cut.gguf"
rc=0; "$LOUPE" run -m "$TMP/cut.gguf" -p hi >/dev/null 2>"$TMP/e" || rc=$?
[ "$rc" -eq 1 ] || fail "truncated model exited $rc, want 1"
grep -q "cut.gguf" "$TMP/e" || fail "error does not name the file"
rc=0; "$LOUPE" run -m "$TMP/m.gguf" -p hi -c 100000 >/dev/null 2>"$TMP/e" || rc=$?
[ "$rc" -eq 1 ] && grep -q "context" "$TMP/e" || fail "a context over the model's is not refused"
echo "test_run.sh: 1 passed, 0 failed"
