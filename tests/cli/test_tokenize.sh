#!/usr/bin/env bash
# CLI test of `loupe tokenize` on the generator's tiny model (no node needed): usage and
# file errors exit 2 and 1, BOS comes first unless --no-bos, control strings are text
# without --special, and --jsonl gives one output line per input string.
set -euo pipefail
LOUPE_ARG=$1
. "$(dirname "$0")/lib.sh"
cli_setup tokenize "$LOUPE_ARG" "$2"


"$LOUPE" gen-model --preset gemma4-tiny -o "$TMP/tiny.gguf" >/dev/null
M=$TMP/tiny.gguf
expect_exit 2 "exactly one of -m" "$LOUPE" tokenize -p x
expect_exit 2 "exactly one of -p" "$LOUPE" tokenize -m "$M"
expect_exit 2 "unknown option" "$LOUPE" tokenize -m "$M" -p x --frob
expect_exit 1 "$TMP/none.gguf" "$LOUPE" tokenize -m "$TMP/none.gguf" -p x
printf '"a"\nnot json\n' >"$TMP/bad.jsonl"
expect_exit 1 "bad.jsonl:2" "$LOUPE" tokenize -m "$M" --jsonl "$TMP/bad.jsonl"

plain=$("$LOUPE" tokenize -m "$M" -p "<|turn>user")
special=$("$LOUPE" tokenize -m "$M" --special -p "<|turn>user")
nobos=$("$LOUPE" tokenize -m "$M" --no-bos --special -p "<|turn>user")
[ "${special%% *}" = "${plain%% *}" ] || fail "BOS differs: '$plain' vs '$special'"
[ "$special" = "${plain%% *} $nobos" ] || fail "--no-bos: '$nobos' is not '$special' minus BOS"
turn=${nobos%% *}
case " $plain " in *" $turn "*) fail "control id $turn without --special: $plain" ;; esac
pieces=$("$LOUPE" tokenize -m "$M" --no-bos --special --pieces -p $'<|turn>a\tb\n')
[ "${pieces%% *}" = "<|turn>" ] || fail "--pieces: '$pieces'"
case "$pieces" in *'\n'*) ;; *) fail "--pieces does not escape the newline: '$pieces'" ;; esac

printf '"one"\n"two \\n lines"\n""\n' >"$TMP/in.jsonl"
"$LOUPE" tokenize -m "$M" --no-bos --jsonl "$TMP/in.jsonl" >"$TMP/out.txt"
[ "$(wc -l <"$TMP/out.txt")" -eq 3 ] || fail "--jsonl: $(wc -l <"$TMP/out.txt") lines, want 3"
[ -z "$(sed -n 3p "$TMP/out.txt")" ] || fail "--jsonl: the empty string gave ids"
echo "test_tokenize.sh: passed"
