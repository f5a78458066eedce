#!/usr/bin/env bash
# CLI test of `loupe gen-model`: usage errors exit 2 with a message naming the
# option, a good run writes a file `inspect` reads, and the same seed repeats bytes.
set -euo pipefail
LOUPE_ARG=$1
. "$(dirname "$0")/lib.sh"
cli_setup gen "$LOUPE_ARG" "$2"

expect_exit 2 "usage" "$LOUPE" gen-model
expect_exit 2 "unknown 'gemma9'" "$LOUPE" gen-model --preset gemma9 -o "$TMP/x.gguf"
expect_exit 2 "q9_9" "$LOUPE" gen-model --preset gemma4-tiny --type q9_9 -o "$TMP/x.gguf"
expect_exit 2 "seed" "$LOUPE" gen-model --preset gemma4-tiny --seed -4 -o "$TMP/x.gguf"
expect_exit 2 "unknown command" "$LOUPE" frobnicate
expect_exit 1 "$TMP/nodir/x.gguf" "$LOUPE" gen-model --preset gemma4-tiny -o "$TMP/nodir/x.gguf"

"$LOUPE" gen-model --preset gemma4-tiny --type Q4_0 --seed 5 -o "$TMP/a.gguf"
"$LOUPE" gen-model --preset gemma4-tiny --type q4_0 --seed 5 -o "$TMP/b.gguf"
cmp "$TMP/a.gguf" "$TMP/b.gguf"
ls "$TMP" | grep -q tmp && { echo "FAIL: temp file left behind"; exit 1; }
"$LOUPE" inspect "$TMP/a.gguf" >"$TMP/inspect.txt"
grep -q "gemma4" "$TMP/inspect.txt"
grep -q "blk.5.attn_k.weight" "$TMP/inspect.txt"
if grep -q "blk.5.attn_v.weight" "$TMP/inspect.txt"; then
    echo "FAIL: full layer 5 must have no attn_v (k_eq_v)"; exit 1
fi
# The memory plan of the tiny model at context 8192, batch 512, F16 cache, worked by hand:
# sliding layers keep window 16 + batch 511 = 527 slots of 2 heads x 64, the full layer
# 8192 slots of 1 head x 128 (K and V both: V is rms(raw K), not K); activations are
# (3*256 + 2*4*128 + 2*128 + 2*512) floats per batch token.
kv=$(( 5 * 2 * (2 * 64) * 527 * 2 + 2 * (1 * 128) * 8192 * 2 ))
act=$(( (3 * 256 + 2 * 4 * 128 + 2 * 128 + 2 * 512) * 512 * 4 ))
"$LOUPE" inspect --json "$TMP/a.gguf" | /usr/bin/python3 -c "
import json, sys
m = json.load(sys.stdin)['memory']
sys.exit(0 if m['kv_cache_bytes'] == $kv + $act and m['context'] == 8192 else 'FAIL: %r' % m)"
echo "test_gen_model.sh: 1 passed, 0 failed"
