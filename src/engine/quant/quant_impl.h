/* Private to the quant kernels: GGUF block layouts as packed structs, the table
 * fillers of each ISA, and the small pieces of float arithmetic that every ISA
 * shares so that all of them round the same way (see docs/internals/quant.md).
 * Byte layouts are ggml's; a size assert guards each one. */
#ifndef LOUPE_ENGINE_QUANT_IMPL_H
#define LOUPE_ENGINE_QUANT_IMPL_H

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "loupe/engine/fp16.h"
#include "loupe/engine/quant.h"

/* Unaligned loads: F32/F16/BF16 rows and block scales may start at any byte. */
static inline float quant_ld_f32(const uint8_t *p)
{
    float f;

    memcpy(&f, p, sizeof f);
    return f;
}

static inline uint16_t quant_ld_u16(const uint8_t *p)
{
    uint16_t h;

    memcpy(&h, p, sizeof h);
    return h;
}

/* Element i of an F32 (kind 0), F16 (1) or BF16 (2) row. */
static inline float quant_ld_float(const uint8_t *p, int64_t i, int kind)
{
    return kind == 0   ? quant_ld_f32(p + 4 * i)
           : kind == 1 ? fp16_to_f32(quant_ld_u16(p + 2 * i))
                       : fp16_bf16_to_f32(quant_ld_u16(p + 2 * i));
}

/* y[i] += a * x[i] for i0 <= i < n, a multiply then an add: the reference axpy,
 * and the tail of every SIMD one (whose lanes do the same, so all give its bits). */
static inline void quant_axpy_range(int64_t i0, int64_t n, float a, const uint8_t *p, float *y,
                                    int kind)
{
    for (int64_t i = i0; i < n; i++)
        y[i] += a * quant_ld_float(p, i, kind);
}

/* The table's three axpy entries, <prefix>_axpy_f32/_f16/_bf16, from
 * <prefix>_axpy(n, a, bytes, y, kind). */
#define QUANT_AXPY_ENTRIES(prefix)                                                                 \
    static void prefix##_axpy_f32(int64_t n, float a, const void *x, float *y)                     \
    {                                                                                              \
        prefix##_axpy(n, a, x, y, 0);                                                              \
    }                                                                                              \
    static void prefix##_axpy_f16(int64_t n, float a, const void *x, float *y)                     \
    {                                                                                              \
        prefix##_axpy(n, a, x, y, 1);                                                              \
    }                                                                                              \
    static void prefix##_axpy_bf16(int64_t n, float a, const void *x, float *y)                    \
    {                                                                                              \
        prefix##_axpy(n, a, x, y, 2);                                                              \
    }

#define QUANT_QK 32    /* values per block of the 32-block types */
#define QUANT_QK_K 256 /* values per super-block of the K-quants */

/* Float dots keep this many partial sums, lane i taking elements i, i+32, ...;
 * every ISA uses the same lanes and the same final tree, so results are bit-equal. */
#define QUANT_LANES 32
/* Integer dots likewise: block b's float term goes to lane b % QUANT_BLANES, so SIMD
 * can add eight blocks' terms in one vector instead of a serial chain. */
#define QUANT_BLANES 8

/* Packed: rows need no alignment, so a block may start at any byte. */
typedef struct __attribute__((packed)) block_q4_0 {
    uint16_t d;     /* fp16 scale */
    uint8_t qs[16]; /* byte j: value j in the low nibble, value j+16 in the high one */
} block_q4_0;

typedef struct __attribute__((packed)) block_q4_1 {
    uint16_t d; /* fp16 scale */
    uint16_t m; /* fp16 offset: value = d*q + m */
    uint8_t qs[16];
} block_q4_1;

typedef struct __attribute__((packed)) block_q5_0 {
    uint16_t d;
    uint8_t qh[4]; /* bit j (little-endian u32) is the 5th bit of value j */
    uint8_t qs[16];
} block_q5_0;

typedef struct __attribute__((packed)) block_q5_1 {
    uint16_t d;
    uint16_t m;
    uint8_t qh[4];
    uint8_t qs[16];
} block_q5_1;

typedef struct __attribute__((packed)) block_q8_0 {
    uint16_t d;
    int8_t qs[32];
} block_q8_0;

typedef struct __attribute__((packed)) block_q4_K {
    uint16_t d;         /* fp16 scale of the 6-bit sub-block scales */
    uint16_t dmin;      /* fp16 scale of the 6-bit sub-block mins */
    uint8_t scales[12]; /* 8 scales + 8 mins, 6 bits each */
    uint8_t qs[128];
} block_q4_K;

typedef struct __attribute__((packed)) block_q5_K {
    uint16_t d;
    uint16_t dmin;
    uint8_t scales[12];
    uint8_t qh[32]; /* byte l, bit 2c / 2c+1: 5th bit of value 64c+l / 64c+32+l */
    uint8_t qs[128];
} block_q5_K;

typedef struct __attribute__((packed)) block_q6_K {
    uint8_t ql[128];   /* low 4 bits */
    uint8_t qh[64];    /* high 2 bits */
    int8_t scales[16]; /* one per 16 values */
    uint16_t d;
} block_q6_K;

typedef struct __attribute__((packed)) block_q8_K {
    float d; /* f32, not fp16: activations keep full scale precision */
    int8_t qs[256];
    int16_t bsums[16]; /* sum of each run of 16 qs, for the K-quant min terms */
} block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "block_q4_0 layout");
_Static_assert(sizeof(block_q4_1) == 20, "block_q4_1 layout");
_Static_assert(sizeof(block_q5_0) == 22, "block_q5_0 layout");
_Static_assert(sizeof(block_q5_1) == 24, "block_q5_1 layout");
_Static_assert(sizeof(block_q8_0) == 34, "block_q8_0 layout");
_Static_assert(sizeof(block_q4_K) == 144, "block_q4_K layout");
_Static_assert(sizeof(block_q5_K) == 176, "block_q5_K layout");
_Static_assert(sizeof(block_q6_K) == 210, "block_q6_K layout");
_Static_assert(sizeof(block_q8_K) == 292, "block_q8_K layout");

/* Byte offsets in a Q8_0 activation row of nb blocks of its sidecar (quant.h): nb
 * f32 scales, then nb int16 code sums. Neither is aligned: read with memcpy or
 * unaligned loads. */
static inline size_t quant_act_scales_off(int64_t nb)
{
    return (size_t)nb * sizeof(block_q8_0);
}

static inline size_t quant_act_sums_off(int64_t nb)
{
    return quant_act_scales_off(nb) + (size_t)nb * sizeof(float);
}

/* Panel layouts (quant.h). A panel is nb block columns, column b holding block b
 * of the sixteen rows: each field of the block, in block order, is cut into groups
 * (2 bytes for an fp16 scale, 1 for a K-quant scale byte, 4 for code bytes) and a
 * field's group k of row r sits at the field's offset + (16k + r) * group. A field
 * of 4-byte groups is thus a run of 64-byte chunks, chunk k holding bytes 4k..4k+3
 * of each row, row after row: one SIMD lane per row, and a 4-byte group of
 * activations broadcast meets a whole chunk in one multiply-add per lane.
 *  Q4_0  d, qs (4 chunks: low nibbles values 4k..4k+3, high nibbles 16 + those)
 *  Q4_1  d, m, qs                      Q8_0  d, qs (8 chunks: values 4k..4k+3)
 *  Q5_0  d, qh, qs                     Q5_1  d, m, qh, qs
 *  Q4_K  d, dmin, scales (12 one-byte groups, so the 6-bit scales of all rows
 *        decode at once), qs (32 chunks: chunk k's low nibbles are values
 *        64(k/8) + 4(k%8) + 0..3, its high nibbles those plus 32)
 *  Q5_K  d, dmin, scales, qh (8 chunks), qs as Q4_K; qh chunk k%8's byte i holds
 *        the 5th bits of qs chunk k's byte i: bit 2(k/8) the low nibble's, bit
 *        2(k/8) + 1 the high nibble's
 *  Q6_K  the only layout that is not GGUF's bytes moved: 48 chunks of whole
 *        6-bit codes, three per 16-value group j (words A, B, C: bytes i hold
 *        codes 16j + i, + 4 + i, + 8 + i in their low six bits and, in their top
 *        two, bits 4-5, 2-3 and 0-1 of code 16j + 12 + i), then scales (16
 *        one-byte groups), d; three masks and six shifts or ors give the four
 *        code vectors of a group, where ql and qh took eighteen operations
 * The 32-bit qh of Q5_0/Q5_1 is the one field not copied as it is: its bits are
 * reordered as Q5_K's (byte i: bit 2c for value 4c + i, 2c + 1 for 16 + 4c + i), so
 * one shift and mask per chunk lifts the 5th bits of every type onto the codes. */
#define QUANT_PANEL_COL_QS (QUANT_PANEL_ROWS * sizeof(uint16_t)) /* after one fp16 */
#define QUANT_Q4_0_COL (QUANT_PANEL_ROWS * sizeof(block_q4_0))
#define QUANT_Q8_0_COL (QUANT_PANEL_ROWS * sizeof(block_q8_0))
#define QUANT_Q4_1_COL (QUANT_PANEL_ROWS * sizeof(block_q4_1))
#define QUANT_Q4_1_COL_QS (2 * QUANT_PANEL_COL_QS)
#define QUANT_Q5_0_COL (QUANT_PANEL_ROWS * sizeof(block_q5_0))
#define QUANT_Q5_0_COL_QH QUANT_PANEL_COL_QS
#define QUANT_Q5_0_COL_QS (QUANT_Q5_0_COL_QH + 4 * QUANT_PANEL_ROWS)
#define QUANT_Q5_1_COL (QUANT_PANEL_ROWS * sizeof(block_q5_1))
#define QUANT_Q5_1_COL_QH (2 * QUANT_PANEL_COL_QS)
#define QUANT_Q5_1_COL_QS (QUANT_Q5_1_COL_QH + 4 * QUANT_PANEL_ROWS)
#define QUANT_Q4_K_COL (QUANT_PANEL_ROWS * sizeof(block_q4_K))
#define QUANT_Q4_K_COL_SC (4 * QUANT_PANEL_ROWS)
#define QUANT_Q4_K_COL_QS (QUANT_Q4_K_COL_SC + 12 * QUANT_PANEL_ROWS)
#define QUANT_Q5_K_COL (QUANT_PANEL_ROWS * sizeof(block_q5_K))
#define QUANT_Q5_K_COL_QH QUANT_Q4_K_COL_QS
#define QUANT_Q5_K_COL_QS (QUANT_Q5_K_COL_QH + 32 * QUANT_PANEL_ROWS)
#define QUANT_Q6_K_COL (QUANT_PANEL_ROWS * sizeof(block_q6_K))
#define QUANT_Q6_K_COL_SC (192 * QUANT_PANEL_ROWS)
#define QUANT_Q6_K_COL_D (QUANT_Q6_K_COL_SC + 16 * QUANT_PANEL_ROWS)

/* How far ahead of the column in use the panel kernels prefetch, and to where:
 * the hardware prefetchers alone left a 2-thread Q4_0 matvec at 0.6 of the read
 * bandwidth on Zen 5 (the AVX-512 kernel outruns them). One token (decode, memory
 * bound) prefetches into L2 (prefetcht1) 8 KiB ahead: into L1, a Q6_K column's 53
 * lines in one burst crowd L1's miss buffers and held it at half the bandwidth,
 * and Q4_0 matvec gained about 10 % too. Several tokens (prefill, bound by the
 * multiplies) prefetch into L1 4 KiB ahead, which measured 10-25 % faster there
 * (Q4_0 VNNI matmat 560-580 against 435-525 GFLOP/s, alternating runs). The
 * K-quant kernels ask for a column's lines a chunk at a time, as they reach it,
 * not in one burst at its start: on a Xeon (Sapphire Rapids class) that took
 * 2-thread matvec from 24 to 27 GB/s (Q4_K VNNI), 22 to 25 (Q5_K VNNI) and 21
 * to 23 (Q4_K, Q6_K AVX2). */
#define QUANT_PANEL_PREFETCH_DECODE 8192
#define QUANT_PANEL_PREFETCH_PREFILL 4096

/* The prefetch of the column (bytes long) one of the distances above past col;
 * n_tok is a constant where the kernels are inlined, so the branch folds away. */
static inline void quant_panel_prefetch(const uint8_t *col, size_t bytes, int n_tok)
{
    for (size_t off = 0; off < bytes; off += 64) {
        if (n_tok == 1)
            __builtin_prefetch(col + QUANT_PANEL_PREFETCH_DECODE + off, 0, 2);
        else
            __builtin_prefetch(col + QUANT_PANEL_PREFETCH_PREFILL + off, 0, 3);
    }
}

/* The float row dots (F32/F16/BF16) prefetch, into L2, the weights this far ahead
 * of the 32 values in use: the hardware prefetcher alone left a 2-thread AVX2 F16
 * matvec at 0.5 of the read bandwidth on Zen 5, with it 0.9. */
#define QUANT_ROW_PREFETCH 8192

/* The prefetch of the bytes (a multiple of 64) of weights at p + QUANT_ROW_PREFETCH. */
static inline void quant_row_prefetch(const uint8_t *p, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(p + QUANT_ROW_PREFETCH + off, 0, 2);
}

/* quant_pack_<t> is the type's quant_pack_fn; quant_panel_row_<t> writes row r of
 * a panel of n values back as GGUF blocks at out. */
#define QUANT_PANEL_DECL(name)                                                                     \
    void quant_pack_##name(int64_t n, const void *rows, size_t row_bytes, void *panel);            \
    void quant_panel_row_##name(int64_t n, const void *panel, int r, void *out);
QUANT_PANEL_DECL(q4_0)
QUANT_PANEL_DECL(q4_1)
QUANT_PANEL_DECL(q5_0)
QUANT_PANEL_DECL(q5_1)
QUANT_PANEL_DECL(q8_0)
QUANT_PANEL_DECL(q4_K)
QUANT_PANEL_DECL(q5_K)
QUANT_PANEL_DECL(q6_K)

/* Block b's sidecar scale and code sum in the Q8_0 activation row at row, whose
 * sidecar offsets (above) are sd_off and ss_off. */
static inline float quant_act_scale(const uint8_t *row, size_t sd_off, int64_t b)
{
    return quant_ld_f32(row + sd_off + (size_t)b * sizeof(float));
}

static inline int32_t quant_act_sum(const uint8_t *row, size_t ss_off, int64_t b)
{
    int16_t v;

    memcpy(&v, row + ss_off + (size_t)b * sizeof v, sizeof v);
    return v;
}

/* The 6-bit code (0..63) of value v (0..255) of a Q6_K block: ql holds low nibbles
 * of values 128h+l / 128h+32+l in bytes 64h+l / 64h+32+l, high nibbles of values
 * 128h+64+l / 128h+96+l in the same bytes; qh byte 32h+l holds the top two bits
 * of the four values 128h+32k+l at bits 2k. */
static inline int quant_q6_K_code(const block_q6_K *b, int v)
{
    int h = v / 128, k = (v % 128) / 32, l = v % 32;
    int byte = b->ql[64 * h + 32 * (k & 1) + l];
    int low = k < 2 ? byte & 0x0f : byte >> 4;
    return low | ((b->qh[32 * h + l] >> (2 * k)) & 3) << 4;
}

/* Writes the 256 codes L (0..63, value order) into b's ql and qh. */
static inline void quant_q6_K_set_codes(block_q6_K *b, const int *L)
{
    for (int h = 0; h < 2; h++) {
        const int *Lh = L + 128 * h;
        for (int l = 0; l < 32; l++) {
            b->ql[64 * h + l] = (uint8_t)((Lh[l] & 0x0f) | (Lh[64 + l] & 0x0f) << 4);
            b->ql[64 * h + 32 + l] = (uint8_t)((Lh[32 + l] & 0x0f) | (Lh[96 + l] & 0x0f) << 4);
            b->qh[32 * h + l] = (uint8_t)((Lh[l] >> 4) | (Lh[32 + l] >> 4) << 2 |
                                          (Lh[64 + l] >> 4) << 4 | (Lh[96 + l] >> 4) << 6);
        }
    }
}

/* Each fills only the entries it implements; see quant_dispatch.c for the order. */
void quant_ref_fill(quant_table *t);
void quant_avx2_fill(quant_table *t);
/* The AVX2 panel kernels (quant_avx2_panel.c); quant_avx2_fill calls it. */
void quant_avx2_panel_fill(quant_table *t);
void quant_avx512_fill(quant_table *t);
/* Replaces the integer dots of quant_avx512_fill with VNNI (vpdpbusd) ones. */
void quant_avx512vnni_fill(quant_table *t);

/* Reduces n (a power of two) partial sums in a fixed pairwise tree: lane i += lane
 * i + n/2, and so on; lane is overwritten. */
static inline float quant_lanes_sum(float *lane, int n)
{
    int w, i;

    for (w = n / 2; w >= 1; w /= 2)
        for (i = 0; i < w; i++)
            lane[i] += lane[i + w];
    return lane[0];
}

/* The 6-bit scale and min of sub-block j (0..7) of a Q4_K/Q5_K block: bytes 0..3
 * hold scales 0..3, bytes 4..7 mins 0..3, their top two bits the high bits of
 * scales/mins 4..7, whose low four bits sit in the nibbles of bytes 8..11. */
static inline void quant_k4_scale_min(const uint8_t *s, int j, uint8_t *sc, uint8_t *mn)
{
    if (j < 4) {
        *sc = s[j] & 63;
        *mn = s[j + 4] & 63;
    } else {
        *sc = (uint8_t)((s[j + 4] & 0x0f) | ((s[j - 4] >> 6) << 4));
        *mn = (uint8_t)((s[j + 4] >> 4) | ((s[j] >> 6) << 4));
    }
}

/* Per-block float terms of the integer dots. Every ISA computes the exact int32
 * sums and then calls these in block order, so the float rounding is shared. */
static inline float quant_term_sym(uint16_t dw, uint16_t da, int32_t isum)
{
    return (fp16_to_f32(dw) * fp16_to_f32(da)) * (float)isum;
}

static inline float quant_term_off(uint16_t dw, uint16_t mw, uint16_t da, int32_t isum,
                                   int32_t asum)
{
    float da_f = fp16_to_f32(da);
    float t = (fp16_to_f32(dw) * da_f) * (float)isum;

    return t + (fp16_to_f32(mw) * da_f) * (float)asum;
}

static inline float quant_term_f(float dw, float da, int32_t isum)
{
    return (dw * da) * (float)isum;
}

static inline float quant_term_k(uint16_t dw, uint16_t dminw, float da, int32_t isum, int32_t msum)
{
    float t = (fp16_to_f32(dw) * da) * (float)isum;

    return t - (fp16_to_f32(dminw) * da) * (float)msum;
}

/* sum over sub-blocks of min_j * (sum of the 32 activations of sub-block j). */
static inline int32_t quant_k4_msum(const uint8_t *scales, const block_q8_K *a)
{
    int32_t msum = 0;
    uint8_t sc, mn;
    int j;

    for (j = 0; j < 8; j++) {
        quant_k4_scale_min(scales, j, &sc, &mn);
        msum += (int32_t)mn * ((int32_t)a->bsums[2 * j] + (int32_t)a->bsums[2 * j + 1]);
    }
    return msum;
}

/* The activation quantizer's clamp and rounding, written the way SIMD max/min
 * behave (NaN becomes -127) so every ISA gives the same bytes. */
static inline int8_t quant_round_q8(float v)
{
    v = v > -127.0f ? v : -127.0f;
    v = v < 127.0f ? v : 127.0f;
    return (int8_t)nearbyintf(v);
}

#endif
