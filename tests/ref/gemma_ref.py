"""Independent NumPy reference forward pass for Gemma 4 / Gemma 3 GGUF text models.

Written from the spec (gemma4.md §2.2-2.3, Appendix A/B), not from Loupe's C code:
float64 arithmetic on float32-dequantized weights, logits for every position;
--act-quant mimics the engine's Q8_0/Q8_K rounding of matmul inputs.
"""
import argparse
import math
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gguf_reader import GGUFReader  # noqa: E402

F64 = np.float64

# =====================================================================================
# Hyper-parameters (spec §5.1, Appendix A)
# =====================================================================================


class Config:
    """Everything the forward pass needs, read from GGUF metadata; per-layer lists."""

    def __init__(self, md, tensor_names, gemma3_add_one_to_norms=False):
        arch = md.get("general.architecture")
        if arch not in ("gemma4", "gemma3"):
            raise ValueError("general.architecture %r is not gemma4 or gemma3" % (arch,))
        self.arch = arch
        a = arch + "."

        def get(key, default=None):
            return md.get(a + key, default)

        def need(key):
            if a + key not in md:
                raise ValueError("metadata key %s%s missing" % (a, key))
            return md[a + key]

        n = self.n_layer = int(need("block_count"))
        self.n_embd = int(need("embedding_length"))

        def per_layer(key, default=None):
            """A key that may be a scalar (all layers) or an array with one entry per layer."""
            v = get(key, default)
            if v is None:
                raise ValueError("metadata key %s%s missing" % (a, key))
            if isinstance(v, list):
                if len(v) != n:
                    raise ValueError("%s%s has %d entries, block_count is %d" % (a, key, len(v), n))
                return [int(x) for x in v]
            return [int(v)] * n

        self.n_ff = per_layer("feed_forward_length")
        self.n_head = per_layer("attention.head_count")
        self.n_head_kv = per_layer("attention.head_count_kv", self.n_head[0])
        self.eps = float(get("attention.layer_norm_rms_epsilon", 1e-6))

        # unsupported Gemma 4 variants (E-models, MoE): refuse rather than compute wrong logits
        for key in ("embedding_length_per_layer_input", "attention.shared_kv_layers", "expert_count"):
            if int(get(key, 0) or 0) != 0:
                raise ValueError("%s%s != 0: PLE / KV sharing / MoE not in this reference" % (a, key))

        # ---- layer pattern: true = sliding (Appendix A rule, also used for gemma4)
        window = int(get("attention.sliding_window", 0) or 0)
        pat = get("attention.sliding_window_pattern")
        if window == 0:
            sliding = [False] * n
        elif isinstance(pat, list):
            if len(pat) != n:
                raise ValueError("sliding_window_pattern has %d entries, block_count %d" % (len(pat), n))
            sliding = [bool(x) for x in pat]
        else:
            period = int(pat) if pat is not None else 6
            sliding = [il % period < period - 1 for il in range(n)]
        self.sliding = sliding
        self.window = window

        # ---- head dims, RoPE dims and bases per layer
        key_len = int(get("attention.key_length", self.n_embd // self.n_head[0]))
        val_len = int(get("attention.value_length", key_len))
        if arch == "gemma4":
            key_len_swa = int(get("attention.key_length_swa", key_len))
            val_len_swa = int(get("attention.value_length_swa", key_len_swa))
            n_rot = int(get("rope.dimension_count", key_len))
            n_rot_swa = int(get("rope.dimension_count_swa", key_len_swa))
        else:  # gemma3: one head dim and one n_rot on every layer (Appendix A)
            key_len_swa, val_len_swa = key_len, val_len
            n_rot = n_rot_swa = int(get("rope.dimension_count", key_len))
        # AMBIGUITY: spec gives no default for rope.freq_base; 10000 is llama.cpp's generic one
        base = float(get("rope.freq_base", 10000.0))
        base_swa = float(get("rope.freq_base_swa", 10000.0))
        self.head_dim = [key_len_swa if s else key_len for s in sliding]
        self.v_dim = [val_len_swa if s else val_len for s in sliding]
        self.n_rot = [n_rot_swa if s else n_rot for s in sliding]
        self.rope_base = [base_swa if s else base for s in sliding]

        # linear RoPE position scaling: Gemma 3 global layers only (Gemma 4 has none, §2.3)
        self.rope_pos_scale = [1.0] * n
        if arch == "gemma3" and get("rope.scaling.type") == "linear":
            factor = float(get("rope.scaling.factor", 1.0))
            self.rope_pos_scale = [1.0 if s else 1.0 / factor for s in sliding]
        elif arch == "gemma4" and get("rope.scaling.type", "none") not in ("none", None):
            print("gemma_ref: warning: ignoring rope.scaling.type on a gemma4 file (spec §2.3: "
                  "no RoPE scaling on Gemma 4)", file=sys.stderr)

        # proportional RoPE divisors (Gemma 4 full layers only)
        self.has_rope_freqs = arch == "gemma4" and "rope_freqs.weight" in tensor_names

        # ---- attention scale: Gemma 4 1.0; Gemma 3 1/sqrt(key_length), 27B 1/sqrt(n_embd/n_head)
        if arch == "gemma4":
            self.attn_scale = 1.0
        elif n == 62:
            self.attn_scale = 1.0 / math.sqrt(self.n_embd / self.n_head[0])
        else:
            self.attn_scale = 1.0 / math.sqrt(key_len)

        # ---- final soft-cap: gemma4 absent -> 30, gemma3 absent -> none; stored 0 -> none
        cap = get("final_logit_softcapping", 30.0 if arch == "gemma4" else 0.0)
        self.softcap = float(cap or 0.0)

        self.k_eq_v = ["blk.%d.attn_v.weight" % il not in tensor_names for il in range(n)]
        if arch == "gemma3" and any(self.k_eq_v):
            raise ValueError("gemma3 file lacks an attn_v tensor (every Gemma 3 layer has one)")
        # Gemma 3 GGUFs store 1 + w (Appendix A): used as-is unless the caller says otherwise
        self.norm_shift = 1.0 if (arch == "gemma3" and gemma3_add_one_to_norms) else 0.0
        self.tied = "output.weight" not in tensor_names
        self.n_vocab = None  # filled from token_embd


# =====================================================================================
# Activation rounding (spec Appendix B), for --act-quant. Each returns the rounded
# values as float64, i.e. what the integer dot product effectively multiplies.
# =====================================================================================


def fp16_round(x):
    return np.asarray(x, dtype=np.float32).astype(np.float16).astype(F64)


def bf16_round(x):
    """Round-to-nearest-even to bf16 (top 16 bits of f32), as ggml's fp32->bf16."""
    u = np.asarray(x, dtype=np.float32).view(np.uint32).astype(np.uint64)
    u = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    return (u.astype(np.uint32) << 16).view(np.float32).astype(F64)


def quantize_q8_0(x):
    """Round activations x [..., n] (n % 32 == 0) to Q8_0 blocks of 32; return d*q.

    THE EXACT CHOICE (to be aligned with the C kernels; change only here):
      x      -> float32 (the engine's activations are f32)
      amax   = max |x| over the block (f32)
      d      = amax / 127 in f32, STORED as fp16(d); the product uses fp16(d) as f32
      q      = round-half-to-even( x * f32(1 / fp16(d)) ), the multiply done in f32,
               clipped to [-127, 127]; an all-zero block gives d = 0, q = 0.
    Loupe's engine divides by the STORED (fp16) scale, so q is consistent with the value
    the dot product uses; spec Appendix B and ggml's AVX2 path round x*(127/amax) instead
    (a 2^-11 relative difference in the scale, which moves ~5% of the q by one step), and
    ggml's scalar quantize_row_q8_0_ref rounds x*(1/d) with ties away from zero. Q4_1/Q5_1 weights pair with Q8_1 in
    ggml, whose d and q are the same as Q8_0's (it only adds a block sum).
    """
    x32 = np.asarray(x, dtype=np.float32)
    shp = x32.shape
    if shp[-1] % 32:
        raise ValueError("Q8_0 activation rounding needs a multiple of 32, got %d" % shp[-1])
    b = x32.reshape(-1, 32)
    amax = np.max(np.abs(b), axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        d = amax / np.float32(127.0)
    d16 = d.astype(np.float16).astype(np.float32)
    with np.errstate(divide="ignore", invalid="ignore"):
        inv = np.where(d16 > 0, np.float32(1.0) / d16, np.float32(0.0)).astype(np.float32)
    q = np.clip(np.rint(b * inv[:, None]), -127, 127)         # np.rint: half to even
    return (q.astype(F64) * d16.astype(F64)[:, None]).reshape(shp)


def quantize_q8_k(x):
    """Round activations x [..., n] (n % 256 == 0) to Q8_K blocks of 256; return d*q.

    THE EXACT CHOICE: d = max|x| / 127 in f32 (kept in f32, not fp16), q =
    round-half-to-even(x / d) in f32, clipped to [-127, 127]; all-zero block -> 0.
    ggml's quantize_row_q8_K_ref takes the signed value of largest magnitude, max,
    iscale = -127/max, q = nearest_int(iscale*x) (half-even), d = 1/iscale: the same
    grid up to the last ulp of d (and a sign flip of both d and q).
    """
    x32 = np.asarray(x, dtype=np.float32)
    shp = x32.shape
    if shp[-1] % 256:
        raise ValueError("Q8_K activation rounding needs a multiple of 256, got %d" % shp[-1])
    b = x32.reshape(-1, 256)
    amax = np.max(np.abs(b), axis=1)
    d = (amax / np.float32(127.0)).astype(np.float32)
    safe = np.where(d > 0, d, np.float32(1.0)).astype(np.float32)
    q = np.clip(np.rint(b / safe[:, None]), -127, 127)
    q[d == 0] = 0
    return (q.astype(F64) * d.astype(F64)[:, None]).reshape(shp)


Q8_0_PARTNERS = ("Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1")
Q8_K_PARTNERS = ("Q4_K", "Q5_K", "Q6_K", "Q8_K")


def round_activations(x, weight_type, act_quant, act_half):
    """The input a matmul with a `weight_type` weight sees."""
    if act_quant and weight_type in Q8_0_PARTNERS:
        return quantize_q8_0(x)
    if act_quant and weight_type in Q8_K_PARTNERS:
        return quantize_q8_k(x)
    if act_half and weight_type == "F16":
        return fp16_round(x)
    if act_half and weight_type == "BF16":
        return bf16_round(x)
    return x


# =====================================================================================
# Weights
# =====================================================================================


class Model:
    CACHE_MAX = 1 << 24          # cache dequantized tensors up to 16M values
    CHUNK = 1 << 22              # otherwise stream this many values at a time

    def __init__(self, path, act_quant=False, act_half=False, gemma3_add_one_to_norms=False):
        self.r = GGUFReader(path)
        self.cfg = Config(self.r.metadata, set(self.r.tensors), gemma3_add_one_to_norms)
        self.act_quant = act_quant
        self.act_half = act_half
        self.cache = {}
        emb = self.r.tensors["token_embd.weight"]
        if emb.ne[0] != self.cfg.n_embd:
            raise ValueError("token_embd row length %d != embedding_length %d"
                             % (emb.ne[0], self.cfg.n_embd))
        self.cfg.n_vocab = emb.ne[1]

    def has(self, name):
        return name in self.r.tensors

    def vec(self, name):
        """1-D tensor (norms, scales, rope_freqs) as float64."""
        if name not in self.cache:
            self.cache[name] = self.r.tensor(name).astype(F64).reshape(-1)
        return self.cache[name]

    def norm_weight(self, name):
        return self.vec(name) + self.cfg.norm_shift

    def embed(self, tokens):
        """Rows of token_embd, dequantized exactly (no activation rounding)."""
        return np.stack([self.r.rows("token_embd.weight", t, t + 1)[0] for t in tokens]).astype(F64)

    def matmul(self, name, x, expect_out=None):
        """x [n_tok, in] float64 -> x @ W^T, W = dequantized ggml [in, out] matrix."""
        info = self.r.tensors[name]
        n_in, n_out = info.ne[0], info.ne[1]
        if x.shape[-1] != n_in or (expect_out is not None and n_out != expect_out):
            raise ValueError("%s: ne=%s does not fit input %d / output %s"
                             % (name, info.ne, x.shape[-1], expect_out))
        xr = round_activations(x, info.type_name, self.act_quant, self.act_half)
        if info.n_elements <= self.CACHE_MAX:
            if name not in self.cache:
                self.cache[name] = self.r.tensor(name).astype(F64)
            return xr @ self.cache[name].T
        out = np.empty(x.shape[:-1] + (n_out,), F64)
        step = max(1, self.CHUNK // n_in)
        for r0 in range(0, n_out, step):
            r1 = min(n_out, r0 + step)
            out[..., r0:r1] = xr @ self.r.rows(name, r0, r1).astype(F64).T
        return out


# =====================================================================================
# Building blocks
# =====================================================================================


def rms(x, eps):
    """x / sqrt(mean(x^2) + eps) over the last axis."""
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + eps)


def rmsw(x, w, eps):
    """Gemma norm: rms(x) * w, the stored weight used directly (spec §2.2)."""
    return rms(x, eps) * w


def gelu_tanh(z):
    """Exact tanh GELU: 0.5 z (1 + tanh(sqrt(2/pi) (z + 0.044715 z^3)))."""
    return 0.5 * z * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (z + 0.044715 * z ** 3)))


def rope_neox(x, positions, n_rot, base, freq_div=None, pos_scale=1.0):
    """NeoX / rotate-half RoPE on x [n_tok, n_heads, d] (spec §2.3).

    Pair i (0 <= i < n_rot/2) is dimension i with dimension i + n_rot/2, turned by
    angle = (p * pos_scale) * base^(-2i/n_rot) / freq_div[i]; dims >= n_rot unchanged.
    Angles are exact float64 (not ggml's repeated f32 multiplication). A 1e30 divisor
    is applied literally: the angle becomes ~1e-30*p, i.e. cos = 1, sin ~ 0 (identity
    to far below float precision).
    """
    d = x.shape[-1]
    if n_rot > d or n_rot % 2:
        raise ValueError("n_rot %d invalid for head dim %d" % (n_rot, d))
    half = n_rot // 2
    inv_freq = base ** (-2.0 * np.arange(half, dtype=F64) / n_rot)
    if freq_div is not None:
        inv_freq = inv_freq / freq_div
    ang = (np.asarray(positions, F64) * pos_scale)[:, None] * inv_freq[None, :]  # [n_tok, half]
    cos = np.cos(ang)[:, None, :]
    sin = np.sin(ang)[:, None, :]
    x1 = x[..., :half]
    x2 = x[..., half:n_rot]
    out = x.copy()
    out[..., :half] = x1 * cos - x2 * sin
    out[..., half:n_rot] = x2 * cos + x1 * sin
    return out


def attention_mask(n_tok, sliding, window, blocks=None):
    """allowed[i, j]: key j visible from query i. Causal; sliding also needs i - j < window.

    blocks (spec §2.2 masks, §3.6): per-token vision-block ids (0 = none). On sliding layers
    a key is also visible when both tokens are in the same block, still only within the
    window (|i - j| < window); full layers stay causal."""
    i = np.arange(n_tok)[:, None]
    j = np.arange(n_tok)[None, :]
    allowed = j <= i
    if sliding:
        if blocks is not None:
            b = np.asarray(blocks)
            allowed = allowed | ((b[:, None] == b[None, :]) & (b[:, None] != 0))
        allowed &= np.abs(i - j) < window
    return allowed


def attention(q, k, v, allowed, scale):
    """q [T, n_head, d], k [T, n_kv, d], v [T, n_kv, dv] -> [T, n_head * dv].

    Query head h reads KV head floor(h * n_kv / n_head) (consecutive heads share)."""
    n_tok, n_head, _ = q.shape
    n_kv = k.shape[1]
    out = np.empty((n_tok, n_head, v.shape[2]), F64)
    for h in range(n_head):
        g = h * n_kv // n_head
        s = (q[:, h, :] @ k[:, g, :].T) * scale
        s = np.where(allowed, s, -np.inf)
        s = s - s.max(axis=1, keepdims=True)
        p = np.exp(s)
        p /= p.sum(axis=1, keepdims=True)
        out[:, h, :] = p @ v[:, g, :]
    return out.reshape(n_tok, n_head * v.shape[2])


# =====================================================================================
# Forward pass
# =====================================================================================


def layer_forward(m, il, x, positions, blocks=None):
    """One decoder layer (spec §2.2 steps 1-8; Appendix A for gemma3). x [T, n_embd]."""
    c = m.cfg
    eps = c.eps
    g4 = c.arch == "gemma4"
    n_tok = x.shape[0]
    n_head, n_kv = c.n_head[il], c.n_head_kv[il]
    hd, vd = c.head_dim[il], c.v_dim[il]
    if c.k_eq_v[il]:
        vd = hd
    p = "blk.%d." % il

    # 1-2: Q projection, per-head q_norm, RoPE
    h = rmsw(x, m.norm_weight(p + "attn_norm.weight"), eps)
    q = m.matmul(p + "attn_q.weight", h, n_head * hd).reshape(n_tok, n_head, hd)
    q = rmsw(q, m.norm_weight(p + "attn_q_norm.weight"), eps)

    # 3: K and V projections (k_eq_v: V is the raw K projection)
    k_raw = m.matmul(p + "attn_k.weight", h, n_kv * hd).reshape(n_tok, n_kv, hd)
    if c.k_eq_v[il]:
        v = k_raw.copy()
    else:
        v = m.matmul(p + "attn_v.weight", h, n_kv * vd).reshape(n_tok, n_kv, vd)

    # 4: k_norm, RoPE on K; scale-free RMSNorm on V (Gemma 4 only)
    k = rmsw(k_raw, m.norm_weight(p + "attn_k_norm.weight"), eps)
    freq_div = None
    if g4 and not c.sliding[il] and c.has_rope_freqs:
        freq_div = m.vec("rope_freqs.weight")
        if freq_div.size != c.n_rot[il] // 2:
            raise ValueError("rope_freqs.weight has %d entries, n_rot/2 = %d"
                             % (freq_div.size, c.n_rot[il] // 2))
    rope_args = (positions, c.n_rot[il], c.rope_base[il], freq_div, c.rope_pos_scale[il])
    q = rope_neox(q, *rope_args)
    k = rope_neox(k, *rope_args)
    if g4:
        v = rms(v, eps)

    # 5: attention (Gemma 3 scales q after q_norm and RoPE; Gemma 4 scale 1.0), Wo
    allowed = attention_mask(n_tok, c.sliding[il], c.window, blocks)
    a = attention(q, k, v, allowed, c.attn_scale)
    o = m.matmul(p + "attn_output.weight", a, c.n_embd)

    # 6: post-attention norm, residual
    x = x + rmsw(o, m.norm_weight(p + "post_attention_norm.weight"), eps)

    # 7: GeGLU MLP with pre/post norms
    h = rmsw(x, m.norm_weight(p + "ffn_norm.weight"), eps)
    gate = m.matmul(p + "ffn_gate.weight", h, c.n_ff[il])
    up = m.matmul(p + "ffn_up.weight", h, c.n_ff[il])
    f = m.matmul(p + "ffn_down.weight", gelu_tanh(gate) * up, c.n_embd)
    x = x + rmsw(f, m.norm_weight(p + "post_ffw_norm.weight"), eps)

    # 8: per-layer scalar on the whole residual (Gemma 4)
    if g4 and m.has(p + "layer_output_scale.weight"):
        x = x * m.vec(p + "layer_output_scale.weight")[0]
    return x


def forward(m, tokens, layer_outputs=None):
    """tokens (list of ids) -> (logits [T, n_vocab], hidden [T, n_embd]) in float64.

    hidden is the post-final-norm state (the vector the output matrix multiplies).
    If layer_outputs is a list, the residual after each layer is appended to it."""
    c = m.cfg
    tokens = [int(t) for t in tokens]
    if not tokens:
        raise ValueError("no tokens")
    for t in tokens:
        if not 0 <= t < c.n_vocab:
            raise ValueError("token id %d outside [0, %d)" % (t, c.n_vocab))
    # embedding * sqrt(n_embd), the scale as f32 sqrtf(n_embd) (spec §2.2)
    x = m.embed(tokens) * text_scale(c)
    return forward_embeddings(m, x, None, layer_outputs)


def text_scale(c):
    return float(np.sqrt(np.float32(c.n_embd), dtype=np.float32))


def forward_embeddings(m, x, blocks=None, layer_outputs=None):
    """Input rows x [T, n_embd] (text rows already scaled, soft tokens not) and per-token
    block ids -> (logits, hidden). Positions are 0..T-1: one per row (spec §3.5)."""
    c = m.cfg
    positions = np.arange(x.shape[0])
    for il in range(c.n_layer):
        x = layer_forward(m, il, x, positions, blocks)
        if layer_outputs is not None:
            layer_outputs.append(x.copy())

    y = rmsw(x, m.norm_weight("output_norm.weight"), c.eps)
    out_name = "token_embd.weight" if c.tied else "output.weight"
    logits = m.matmul(out_name, y, c.n_vocab)
    if c.softcap != 0.0:
        logits = c.softcap * np.tanh(logits / c.softcap)
    return logits, y


# =====================================================================================
# Multimodal input (spec §3.1-3.6, §5.2): projector, embedders, assembly
# =====================================================================================

PATCH = 48                  # model patch side (16-px teacher patches merged 3x3)
PATCH_VALUES = PATCH * PATCH * 3
AUDIO_FRAME = 640           # samples per audio soft token (40 ms at 16 kHz)
AUDIO_SEGMENT = 750         # tokens per <|audio> block (30 s)
LN_EPS = 1e-5               # PyTorch LayerNorm eps of the vision embedder (§3.2)
AUDIO_EPS = 1e-6            # §3.3: fixed whatever the file says


class Projector:
    """The mmproj GGUF (spec §5.2): metadata checks and the tensors as float64."""

    def __init__(self, path, n_embd):
        r = self.r = GGUFReader(path)
        md = r.metadata
        if md.get("general.type") != "mmproj":
            raise ValueError("%s: general.type is %r, not 'mmproj'" % (path, md.get("general.type")))
        for mod, want in (("vision", "gemma4uv"), ("audio", "gemma4ua")):
            if md.get("clip.%s.projector_type" % mod) != want:
                raise ValueError("%s: clip.%s.projector_type is not %s" % (path, mod, want))
            if int(md["clip.%s.projection_dim" % mod]) != n_embd:
                raise ValueError("%s: clip.%s.projection_dim != %d" % (path, mod, n_embd))
        self.n_embd = n_embd
        self.ev = int(md["clip.vision.embedding_length"])
        self.mean = np.array(md["clip.vision.image_mean"], F64)
        self.std = np.array(md["clip.vision.image_std"], F64)
        self.eps_v = float(md["clip.vision.attention.layer_norm_epsilon"])

        def t(name, shape):
            a = r.tensor(name).astype(F64)
            if a.shape != shape:
                raise ValueError("%s: %s has shape %s, expected %s" % (path, name, a.shape, shape))
            return a

        ev = self.ev
        self.ln1 = (t("v.patch_norm.1.weight", (PATCH_VALUES,)), t("v.patch_norm.1.bias", (PATCH_VALUES,)))
        self.dense_w = t("v.patch_embd.weight", (ev, PATCH_VALUES))      # [out, in], in = CHW
        self.dense_b = t("v.patch_embd.bias", (ev,))
        self.ln2 = (t("v.patch_norm.2.weight", (ev,)), t("v.patch_norm.2.bias", (ev,)))
        self.pos = r.tensor("v.position_embd.weight").astype(F64)        # [2, L, ev]
        if self.pos.shape[0] != 2 or self.pos.shape[2] != ev:
            raise ValueError("%s: v.position_embd.weight shape %s" % (path, self.pos.shape))
        self.ln3 = (t("v.patch_norm.3.weight", (ev,)), t("v.patch_norm.3.bias", (ev,)))
        self.vproj = t("mm.input_projection.weight", (n_embd, ev))
        self.aproj = t("mm.a.input_projection.weight", (n_embd, AUDIO_FRAME))


def layer_norm(x, w, b, eps):
    mu = np.mean(x, axis=-1, keepdims=True)
    var = np.mean((x - mu) ** 2, axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def hf_image_size(w, h, budget):
    """§3.1: output (W', H'), multiples of 48, at most `budget` patches."""
    if budget not in (70, 140, 280, 560, 1120):
        raise ValueError("budget %d" % budget)
    f = math.sqrt(budget * 9 * 256 / (h * w))
    oh = int(math.floor(f * h / PATCH)) * PATCH
    ow = int(math.floor(f * w / PATCH)) * PATCH
    if oh == 0:
        oh, ow = PATCH, min((w // h) * PATCH, budget * PATCH)
    elif ow == 0:
        ow, oh = PATCH, min((h // w) * PATCH, budget * PATCH)
    return ow, oh


def image_patches(rgb, budget, mean, std):
    """rgb uint8 [h, w, 3] -> (patches [N, 6912] in HWC order, positions [(col, row)])."""
    from PIL import Image
    h, w = rgb.shape[:2]
    ow, oh = hf_image_size(w, h, budget)
    img = Image.fromarray(rgb, "RGB")
    if (ow, oh) != (w, h):
        img = img.resize((ow, oh), Image.BICUBIC)
    a = np.asarray(img, dtype=np.float32)
    v = ((a / np.float32(255.0) - mean.astype(np.float32)) / std.astype(np.float32)).astype(F64)
    rows, cols = oh // PATCH, ow // PATCH
    patches, pos = [], []
    for r in range(rows):
        for cc in range(cols):
            patches.append(v[r * PATCH:(r + 1) * PATCH, cc * PATCH:(cc + 1) * PATCH, :].reshape(-1))
            pos.append((cc, r))
    return np.stack(patches), pos


def embed_image(pj, rgb, budget):
    """§3.2: soft tokens [N, n_embd] of one image."""
    p, pos = image_patches(rgb, budget, pj.mean, pj.std)
    # the GGUF stores ln1 and the dense columns channel-major: c*2304 + row*48 + col
    p = p.reshape(-1, PATCH, PATCH, 3).transpose(0, 3, 1, 2).reshape(len(p), -1)
    a = layer_norm(p, pj.ln1[0], pj.ln1[1], LN_EPS)
    b = a @ pj.dense_w.T + pj.dense_b
    c = layer_norm(b, pj.ln2[0], pj.ln2[1], LN_EPS)
    L = pj.pos.shape[1]
    if any(x >= L or y >= L for x, y in pos):
        raise ValueError("image has more patch columns/rows than the position table (%d)" % L)
    c = c + np.stack([pj.pos[0, x] + pj.pos[1, y] for x, y in pos])
    d = layer_norm(c, pj.ln3[0], pj.ln3[1], LN_EPS)
    return rms(d, pj.eps_v) @ pj.vproj.T


def audio_segments(n_samples):
    """§3.3 (Loupe's split): consecutive [start, end) ranges of at most 30 s."""
    seg = AUDIO_SEGMENT * AUDIO_FRAME
    return [(s, min(n_samples, s + seg)) for s in range(0, n_samples, seg)]


def embed_audio(pj, samples):
    """§3.3: soft tokens [ceil(n/640), n_embd]: zero-pad, frames of 640, rms, project."""
    x = np.asarray(samples, F64)
    n = -(-len(x) // AUDIO_FRAME)
    fr = np.zeros(n * AUDIO_FRAME, F64)
    fr[:len(x)] = x
    fr = fr.reshape(n, AUDIO_FRAME)
    return rms(fr, AUDIO_EPS) @ pj.aproj.T


def token_id(m, s):
    toks = m.r.metadata["tokenizer.ggml.tokens"]
    if s not in toks:
        raise ValueError("vocabulary has no %r" % s)
    return toks.index(s)


def assemble(m, pj, parts):
    """parts: ("ids", [..]) | ("image", rgb, budget) | ("frame", rgb, budget) | ("audio", x).

    Returns (x0 [T, n_embd], blocks [T], ids [T] with -1 for soft tokens): markers are
    scaled text rows, soft rows are not; each image / frame is its own block (§3.5-3.6)."""
    scale = text_scale(m.cfg)
    rows, blocks, ids = [], [], []
    n_block = 0

    def text(tok_ids):
        for t in tok_ids:
            rows.append(m.embed([t])[0] * scale)
            blocks.append(0)
            ids.append(t)

    def soft(emb, blk):
        for r in emb:
            rows.append(r)
            blocks.append(blk)
            ids.append(-1)

    for part in parts:
        kind = part[0]
        if kind == "ids":
            text(part[1])
        elif kind in ("image", "frame"):
            n_block += 1
            text([token_id(m, "<|image>")])
            soft(embed_image(pj, part[1], part[2]), n_block)
            text([token_id(m, "<image|>")])
        elif kind == "audio":
            for a, b in audio_segments(len(part[1])):
                text([token_id(m, "<|audio>")])
                soft(embed_audio(pj, part[1][a:b]), 0)
                text([token_id(m, "<audio|>")])
        else:
            raise ValueError("part kind %r" % kind)
    return np.stack(rows), blocks, ids


# =====================================================================================
# CLI
# =====================================================================================


def parse_tokens(s):
    try:
        return [int(t) for t in s.replace(" ", "").split(",") if t != ""]
    except ValueError:
        raise argparse.ArgumentTypeError("--tokens wants comma-separated integers")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("model", help="GGUF file (general.architecture gemma4 or gemma3)")
    ap.add_argument("--tokens", required=True, type=parse_tokens, help="e.g. 2,17,33")
    ap.add_argument("--out", help="write logits as raw little-endian f32 [n_tok x n_vocab]")
    ap.add_argument("--hidden-out", help="write post-final-norm hidden states, f32 [n_tok x n_embd]")
    ap.add_argument("--act-quant", action="store_true",
                    help="round matmul inputs to Q8_0 (Q8_0/Q4_0/Q4_1/Q5_0/Q5_1 weights) or "
                         "Q8_K (K-quant weights) as the engine does")
    ap.add_argument("--act-half", action="store_true",
                    help="round matmul inputs to fp16 / bf16 for F16 / BF16 weights (llama.cpp)")
    ap.add_argument("--gemma3-add-one-to-norms", action="store_true",
                    help="gemma3 only: the file stores raw HF norm weights w; use 1 + w")
    a = ap.parse_args(argv)

    t0 = time.time()
    m = Model(a.model, a.act_quant, a.act_half, a.gemma3_add_one_to_norms)
    logits, hidden = forward(m, a.tokens)
    if a.out:
        logits.astype("<f4").tofile(a.out)
    if a.hidden_out:
        hidden.astype("<f4").tofile(a.hidden_out)
    types = sorted({m.r.tensors[n].type_name for n in m.r.tensors if len(m.r.tensors[n].ne) == 2})
    print("gemma_ref: %s %d layers, %d tokens x %d vocab, weights %s%s%s, max|logit| %.6g, "
          "argmax(last) %d, %.2fs"
          % (m.cfg.arch, m.cfg.n_layer, len(a.tokens), m.cfg.n_vocab, "/".join(types),
             ", act-quant" if a.act_quant else "", ", act-half" if a.act_half else "",
             float(np.max(np.abs(logits))), int(np.argmax(logits[-1])), time.time() - t0),
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
