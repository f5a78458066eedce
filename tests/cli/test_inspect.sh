#!/usr/bin/env bash
# CLI test of `loupe inspect`: a small gemma4-shaped GGUF written here by Python's
# struct module (independent of our writer) is shown as text and as JSON with the
# expected fields and KV estimate; a corrupt file exits 1 naming it; usage exits 2.
set -euo pipefail
LOUPE_ARG=$1
PY=/usr/bin/python3
. "$(dirname "$0")/lib.sh"
cli_setup inspect "$LOUPE_ARG" "$2"


# Six layers, 5 sliding : 1 full, the full one without attn_v (K only in the cache).
"$PY" - "$TMP/m.gguf" <<'EOF'
import struct, sys

def s(x):
    b = x.encode()
    return struct.pack('<Q', len(b)) + b

def kv(key, vtype, payload):
    return s(key) + struct.pack('<I', vtype) + payload

def arr(elem, fmt, values):
    return struct.pack('<IQ', elem, len(values)) + b''.join(struct.pack(fmt, v) for v in values)

U32, I32, F32, BOOL, STR, ARR, U64 = 4, 5, 6, 7, 8, 9, 10
kvs = [
    kv('general.architecture', STR, s('gemma4')),
    kv('general.name', STR, s('say "hi"\nbye')),
    kv('gemma4.block_count', U32, struct.pack('<I', 6)),
    kv('gemma4.context_length', U32, struct.pack('<I', 4096)),
    kv('gemma4.attention.head_count_kv', ARR, arr(I32, '<i', [2, 2, 2, 2, 2, 1])),
    kv('gemma4.attention.key_length', U32, struct.pack('<I', 8)),
    kv('gemma4.attention.value_length', U32, struct.pack('<I', 8)),
    kv('gemma4.attention.key_length_swa', U32, struct.pack('<I', 4)),
    kv('gemma4.attention.value_length_swa', U32, struct.pack('<I', 4)),
    kv('gemma4.attention.sliding_window', U32, struct.pack('<I', 16)),
    kv('gemma4.attention.sliding_window_pattern', ARR, arr(BOOL, '<B', [1, 1, 1, 1, 1, 0])),
    kv('gemma4.attention.layer_norm_rms_epsilon', F32, struct.pack('<f', 1e-6)),
    kv('big.u64', U64, struct.pack('<Q', 2**63 + 1)),
    kv('tokenizer.ggml.tokens', ARR,
       struct.pack('<IQ', STR, 10) + b''.join(s('tok%d' % i) for i in range(10))),
    kv('tokenizer.ggml.add_bos_token', BOOL, b'\x01'),
]
tensors = [('token_embd.weight', [8, 4], 0)]               # F32
tensors += [('blk.%d.attn_v.weight' % i, [8, 2], 0) for i in range(5)]
tensors += [('blk.5.attn_q.weight', [32, 2], 8)]           # Q8_0: 2 blocks of 34 bytes
infos, datas, off = b'', b'', 0
for name, ne, t in tensors:
    n = 1
    for d in ne:
        n *= d
    nbytes = n * 4 if t == 0 else n // 32 * 34
    infos += s(name) + struct.pack('<I', len(ne)) + b''.join(struct.pack('<Q', d) for d in ne)
    infos += struct.pack('<IQ', t, off)
    datas += bytes(nbytes) + bytes((-nbytes) % 32)
    off += nbytes + (-nbytes) % 32
head = b'GGUF' + struct.pack('<IQQ', 3, len(tensors), len(kvs)) + b''.join(kvs) + infos
head += bytes((-len(head)) % 32)
open(sys.argv[1], 'wb').write(head + datas)
EOF

# Text.
"$LOUPE" inspect "$TMP/m.gguf" >"$TMP/text" 2>"$TMP/err" || { cat "$TMP/err"; fail "inspect text"; }
[ ! -s "$TMP/err" ] || { cat "$TMP/err"; fail "inspect wrote to stderr"; }
for pat in "file: $TMP/m.gguf" 'GGUF version: 3' 'alignment: 32' 'architecture: "gemma4"' \
    'gemma4.block_count *u32 *6' 'array<i32> *\[6\]: 2, 2, 2, 2, 2, 1' \
    'array<bool> *\[6\]: true, true, true, true, true, false' \
    'say \\"hi\\"\\nbye' 'big.u64 *u64 *9223372036854775809' '1e-06' \
    'array<string> *\[10\]: "tok0", "tok1"' 'tensors (7)' \
    'blk.5.attn_q.weight *Q8_0 *\[32, 2\] *68' 'token_embd.weight *F32 *\[8, 4\] *128' \
    'parameters: 176' "KV cache: not a loadable model: .*'gemma4.embedding_length'"; do
    grep -q -- "$pat" "$TMP/text" || { cat "$TMP/text"; fail "text lacks '$pat'"; }
done

# JSON: one object, exact 64-bit integers; this hand-made file lacks keys a model needs, so
# the memory estimate says which one instead of guessing.
"$LOUPE" inspect "$TMP/m.gguf" --json >"$TMP/json"
"$PY" - "$TMP/json" "$TMP/m.gguf" <<'EOF'
import json, sys
d = json.load(open(sys.argv[1]))
def check(cond, what):
    if not cond:
        sys.exit('FAIL: json ' + what + ': ' + json.dumps(d)[:2000])
check(d['file'] == sys.argv[2], 'file')
check(d['version'] == 3 and d['alignment'] == 32, 'version/alignment')
check(d['architecture'] == 'gemma4', 'architecture')
m = d['metadata']
check(len(m) == 15, 'metadata count')
check(m['gemma4.block_count'] == {'type': 'u32', 'value': 6}, 'block_count')
check(m['big.u64']['value'] == 2**63 + 1, 'u64 exact')
check(m['general.name']['value'] == 'say "hi"\nbye', 'string value')
check(abs(m['gemma4.attention.layer_norm_rms_epsilon']['value'] - 1e-6) < 1e-12, 'f32')
check(m['tokenizer.ggml.add_bos_token'] == {'type': 'bool', 'value': True}, 'bool')
hk = m['gemma4.attention.head_count_kv']
check(hk['type'] == 'array<i32>' and hk['count'] == 6 and hk['head'][:6] == [2, 2, 2, 2, 2, 1],
      'head_count_kv')
tk = m['tokenizer.ggml.tokens']
check(tk['type'] == 'array<string>' and tk['count'] == 10 and tk['head'][0] == 'tok0', 'tokens')
t = d['tensors']
check(len(t) == 7 and t[0] == {'name': 'token_embd.weight', 'type': 'F32', 'shape': [8, 4],
                               'bytes': 128, 'offset': 0}, 'tensor 0')
check(t[6]['type'] == 'Q8_0' and t[6]['bytes'] == 68 and t[6]['offset'] % 32 == 0, 'tensor 6')
tot = d['totals']
check(tot['tensors'] == 7 and tot['parameters'] == 176 and tot['bytes'] == 128 + 5 * 64 + 68,
      'totals')
check(tot['by_type']['F32'] == {'tensors': 6, 'bytes': 448}, 'by_type')
mem = d['memory']
check(mem['kv_cache_bytes'] is None and 'embedding_length' in mem['note'], 'memory note')
check(mem['weights_bytes'] == 516 and mem['total_bytes'] == 516, 'total')
EOF

# A truncated copy: exit 1, the message names the file and nothing reaches stdout.
head -c 300 "$TMP/m.gguf" >"$TMP/cut.gguf"
expect_exit 1 "loupe inspect: $TMP/cut.gguf: " "$LOUPE" inspect "$TMP/cut.gguf"
[ ! -s "$TMP/out" ] || fail "corrupt file printed to stdout"
expect_exit 1 "$TMP/cut.gguf" "$LOUPE" inspect --json "$TMP/cut.gguf"
[ ! -s "$TMP/out" ] || fail "corrupt file printed JSON"
printf 'GGUF\001\000\000\000' >"$TMP/v1.gguf"
expect_exit 1 "version 1" "$LOUPE" inspect "$TMP/v1.gguf"
expect_exit 1 "$TMP/none.gguf" "$LOUPE" inspect "$TMP/none.gguf"

# Usage.
expect_exit 2 "usage: loupe inspect" "$LOUPE" inspect
expect_exit 2 "unknown option '--frob'" "$LOUPE" inspect "$TMP/m.gguf" --frob
expect_exit 2 "one file" "$LOUPE" inspect "$TMP/m.gguf" "$TMP/m.gguf"
"$LOUPE" inspect --help | grep -q "usage: loupe inspect" || fail "--help"

echo "test_inspect: ok"
