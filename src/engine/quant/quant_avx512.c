/* AVX-512 (F/BW/VL/DQ) kernels for the hottest paths: F32/F16/BF16 dots, the Q8_0
 * activation quantizer and (VNNI) the panel kernels of every integer type that has
 * panels; everything else comes from the AVX2 table. The row dots of the integer
 * types are AVX2's: two blocks per 512-bit register needed horizontal sums that
 * made them slower on Zen 5 than AVX2's folds. Same contract as quant_avx2.c: bits
 * equal to quant_ref.c. */
#include <string.h>

#include "quant_impl.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512VL__) &&                      \
    defined(__AVX512VNNI__)
#include <immintrin.h>

/* ---- float dots: lane 16k+j of acc[k] is ref's lane (i % 32) --------------------- */

static inline __m512 avx512_ld16_f16(const uint8_t *p)
{
    return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)p));
}

static inline __m512 avx512_ld16_bf16(const uint8_t *p)
{
    __m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));

    return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

static void avx512_dot_f32(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    float lane[QUANT_LANES];
    int64_t i;

    for (i = 0; i + QUANT_LANES <= n; i += QUANT_LANES) {
        quant_row_prefetch(pw + 4 * i, 4 * QUANT_LANES);
        __m512 x0 = _mm512_loadu_ps(pw + 4 * i), x1 = _mm512_loadu_ps(pw + 4 * (i + 16));
        __m512 y0 = _mm512_loadu_ps(pa + 4 * i), y1 = _mm512_loadu_ps(pa + 4 * (i + 16));
        acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(x0, y0));
        acc1 = _mm512_add_ps(acc1, _mm512_mul_ps(x1, y1));
    }
    _mm512_storeu_ps(lane, acc0);
    _mm512_storeu_ps(lane + 16, acc1);
    for (; i < n; i++)
        lane[i % QUANT_LANES] += quant_ld_f32(pw + 4 * i) * quant_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

static void avx512_dot_f16(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    float lane[QUANT_LANES];
    int64_t i;

    for (i = 0; i + QUANT_LANES <= n; i += QUANT_LANES) {
        quant_row_prefetch(pw + 2 * i, 2 * QUANT_LANES);
        __m512 x0 = avx512_ld16_f16(pw + 2 * i), x1 = avx512_ld16_f16(pw + 2 * (i + 16));
        __m512 y0 = _mm512_loadu_ps(pa + 4 * i), y1 = _mm512_loadu_ps(pa + 4 * (i + 16));
        acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(x0, y0));
        acc1 = _mm512_add_ps(acc1, _mm512_mul_ps(x1, y1));
    }
    _mm512_storeu_ps(lane, acc0);
    _mm512_storeu_ps(lane + 16, acc1);
    for (; i < n; i++)
        lane[i % QUANT_LANES] += fp16_to_f32(quant_ld_u16(pw + 2 * i)) * quant_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

static void avx512_dot_bf16(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    float lane[QUANT_LANES];
    int64_t i;

    for (i = 0; i + QUANT_LANES <= n; i += QUANT_LANES) {
        quant_row_prefetch(pw + 2 * i, 2 * QUANT_LANES);
        __m512 x0 = avx512_ld16_bf16(pw + 2 * i), x1 = avx512_ld16_bf16(pw + 2 * (i + 16));
        __m512 y0 = _mm512_loadu_ps(pa + 4 * i), y1 = _mm512_loadu_ps(pa + 4 * (i + 16));
        acc0 = _mm512_add_ps(acc0, _mm512_mul_ps(x0, y0));
        acc1 = _mm512_add_ps(acc1, _mm512_mul_ps(x1, y1));
    }
    _mm512_storeu_ps(lane, acc0);
    _mm512_storeu_ps(lane + 16, acc1);
    for (; i < n; i++)
        lane[i % QUANT_LANES] +=
            fp16_bf16_to_f32(quant_ld_u16(pw + 2 * i)) * quant_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

/* y += a * x, sixteen at a time as a multiply then an add (no FMA: the scalar
 * bits, as avx2_axpy); attention's value sum over the cache, where AVX2's eight
 * lanes took 4.5 % of a 12B 512-token prefill. kind: 0 F32, 1 F16, 2 BF16. */
static inline __attribute__((always_inline)) void avx512_axpy(int64_t n, float a, const uint8_t *p,
                                                              float *y, const int kind)
{
    const __m512 va = _mm512_set1_ps(a);
    int64_t i;

    for (i = 0; i + 16 <= n; i += 16) {
        __m512 x = kind == 0   ? _mm512_loadu_ps(p + 4 * i)
                   : kind == 1 ? avx512_ld16_f16(p + 2 * i)
                               : avx512_ld16_bf16(p + 2 * i);
        _mm512_storeu_ps(y + i, _mm512_add_ps(_mm512_loadu_ps(y + i), _mm512_mul_ps(va, x)));
    }
    quant_axpy_range(i, n, a, p, y, kind);
}

QUANT_AXPY_ENTRIES(avx512)

/* ---- Q4_0 panels (VNNI) -------------------------------------------------------------- */

/* Lane r of every vector is panel row r. A block column's chunk c (quant_impl.h)
 * unpacks to two code vectors, and each takes one 4-byte group of a token's
 * activations, broadcast, in one vpdpbusd: eight of them give the 16 rows' exact
 * code sums of the block with no horizontal step. The codes are unsigned (0..15),
 * so the accumulator starts at -8 * the block's activation sum (sidecar), which
 * makes it the reference's isum; the float term and its lane (block % 8) are the
 * reference's too, one row per vector lane. */
/* Block b of the panel into acc[t] for t < n_tok (acc[t] is that token's lane
 * b % 8). */
static inline __attribute__((always_inline)) void
avx512_panel_q4_0_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)col));
    __m512i lo[4], hi[4];
    int t, c;

    quant_panel_prefetch(col, QUANT_Q4_0_COL, n_tok);

#pragma GCC unroll 4
    for (c = 0; c < 4; c++) {
        __m512i q = _mm512_loadu_si512(col + QUANT_PANEL_COL_QS + 64 * c);
        lo[c] = _mm512_and_si512(q, m4);
        hi[c] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
    }
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++) {
        const uint8_t *at = a + (size_t)t * a_stride;
        const int8_t *qa = ((const block_q8_0 *)at)[b].qs;
        int32_t g;
        const float da = quant_act_scale(at, sd_off, b);
        const int32_t sum = quant_act_sum(at, ss_off, b);
        /* two chains of four, so the latency of one does not hold the other */
        __m512i i0 = _mm512_set1_epi32(-8 * sum), i1 = _mm512_setzero_si512(), isum;
#pragma GCC unroll 4
        for (c = 0; c < 4; c++) {
            memcpy(&g, qa + 4 * c, sizeof g);
            i0 = _mm512_dpbusd_epi32(i0, lo[c], _mm512_set1_epi32(g));
            memcpy(&g, qa + 16 + 4 * c, sizeof g);
            i1 = _mm512_dpbusd_epi32(i1, hi[c], _mm512_set1_epi32(g));
        }
        isum = _mm512_add_epi32(i0, i1);
        acc[t * acc_stride] =
            _mm512_add_ps(acc[t * acc_stride], _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(da)),
                                                             _mm512_cvtepi32_ps(isum)));
    }
}

/* One driver for both types: eight blocks a step, so each lane is a fixed
 * accumulator, then quant_lanes_sum's tree, sixteen rows at once. */
#define AVX512_PANEL(name, qk, col_bytes)                                                          \
    static inline __attribute__((always_inline)) void avx512_panel_##name##_tok(                   \
        int64_t n, float *s, const uint8_t *panel, const uint8_t *a, size_t a_stride,              \
        const int n_tok)                                                                           \
    {                                                                                              \
        const int64_t nb = n / (qk);                                                               \
        const size_t sd_off = quant_act_scales_off(nb), ss_off = quant_act_sums_off(nb);           \
        __m512 acc[QUANT_PANEL_TOK][QUANT_BLANES];                                                 \
        int64_t b;                                                                                 \
        int t, k;                                                                                  \
        for (t = 0; t < n_tok; t++)                                                                \
            for (k = 0; k < QUANT_BLANES; k++)                                                     \
                acc[t][k] = _mm512_setzero_ps();                                                   \
        if ((qk) == QUANT_QK_K) {                                                                  \
            for (b = 0; b < nb; b++)                                                               \
                avx512_panel_##name##_col(panel + (size_t)b * (col_bytes), a, a_stride, b, sd_off, \
                                          ss_off, n_tok, &acc[0][b % QUANT_BLANES], QUANT_BLANES); \
        } else {                                                                                   \
            for (b = 0; b + QUANT_BLANES <= nb; b += QUANT_BLANES)                                 \
                _Pragma("GCC unroll 8") for (k = 0; k < QUANT_BLANES; k++)                         \
                    avx512_panel_##name##_col(panel + (size_t)(b + k) * (col_bytes), a, a_stride,  \
                                              b + k, sd_off, ss_off, n_tok, &acc[0][k],            \
                                              QUANT_BLANES);                                       \
            for (k = 0; b < nb; b++, k++)                                                          \
                avx512_panel_##name##_col(panel + (size_t)b * (col_bytes), a, a_stride, b, sd_off, \
                                          ss_off, n_tok, &acc[0][k], QUANT_BLANES);                \
        }                                                                                          \
        for (t = 0; t < n_tok; t++) {                                                              \
            for (k = 0; k < 4; k++)                                                                \
                acc[t][k] = _mm512_add_ps(acc[t][k], acc[t][k + 4]);                               \
            for (k = 0; k < 2; k++)                                                                \
                acc[t][k] = _mm512_add_ps(acc[t][k], acc[t][k + 2]);                               \
            _mm512_storeu_ps(s + t * QUANT_PANEL_ROWS, _mm512_add_ps(acc[t][0], acc[t][1]));       \
        }                                                                                          \
    }                                                                                              \
    static void avx512_panel_##name(int64_t n, float *s, const void *panel, const void *a,         \
                                    size_t a_stride, int n_tok)                                    \
    {                                                                                              \
        switch (n_tok) {                                                                           \
        case 1: avx512_panel_##name##_tok(n, s, panel, a, a_stride, 1); break;                     \
        case 2: avx512_panel_##name##_tok(n, s, panel, a, a_stride, 2); break;                     \
        case 3: avx512_panel_##name##_tok(n, s, panel, a, a_stride, 3); break;                     \
        default: avx512_panel_##name##_tok(n, s, panel, a, a_stride, 4); break;                    \
        }                                                                                          \
    }

AVX512_PANEL(q4_0, QUANT_QK, QUANT_Q4_0_COL)

/* Q8_0: the codes are signed, so each chunk is made unsigned by flipping its sign
 * bit (w + 128, 0..255) and the accumulator starts at -128 * the block's
 * activation sum; vpdpbusd's int32 sums are exact, so the isum is the reference's. */
static inline __attribute__((always_inline)) void
avx512_panel_q8_0_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    const __m512i flip = _mm512_set1_epi8((char)0x80);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)col));
    __m512i q[8];
    int t, c;

    quant_panel_prefetch(col, QUANT_Q8_0_COL, n_tok);
#pragma GCC unroll 8
    for (c = 0; c < 8; c++)
        q[c] = _mm512_xor_si512(_mm512_loadu_si512(col + QUANT_PANEL_COL_QS + 64 * c), flip);
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++) {
        const uint8_t *at = a + (size_t)t * a_stride;
        const int8_t *qa = ((const block_q8_0 *)at)[b].qs;
        int32_t g;
        const float da = quant_act_scale(at, sd_off, b);
        const int32_t sum = quant_act_sum(at, ss_off, b);
        __m512i i0 = _mm512_set1_epi32(-128 * sum), i1 = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (c = 0; c < 4; c++) {
            memcpy(&g, qa + 4 * c, sizeof g);
            i0 = _mm512_dpbusd_epi32(i0, q[c], _mm512_set1_epi32(g));
            memcpy(&g, qa + 16 + 4 * c, sizeof g);
            i1 = _mm512_dpbusd_epi32(i1, q[c + 4], _mm512_set1_epi32(g));
        }
        acc[t * acc_stride] = _mm512_add_ps(
            acc[t * acc_stride], _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(da)),
                                               _mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1))));
    }
}

AVX512_PANEL(q8_0, QUANT_QK, QUANT_Q8_0_COL)

/* The 6-bit scales and mins of the sixteen rows of a Q4_K/Q5_K column, from the
 * transposed scale bytes at scb (the bit moves of quant_k4_scale_min on 16-byte
 * vectors): sc[j] one int32 lane a row; the mins in pairs, mp[i] holding mins 2i
 * and 2i + 1 in the int16 halves of each row's lane, for avx512_k4_msum. */
static inline __attribute__((always_inline)) void avx512_k4_scales(const uint8_t *scb, __m512i *sc,
                                                                   __m512i *mp)
{
    const __m128i m6 = _mm_set1_epi8(63), m4 = _mm_set1_epi8(15), m30 = _mm_set1_epi8(0x30);
    __m128i sb[12];
    __m512i mn[8];
    int j, k;

#pragma GCC unroll 12
    for (k = 0; k < 12; k++)
        sb[k] = _mm_loadu_si128((const __m128i *)(scb + 16 * k));
#pragma GCC unroll 4
    for (j = 0; j < 4; j++) {
        sc[j] = _mm512_cvtepu8_epi32(_mm_and_si128(sb[j], m6));
        mn[j] = _mm512_cvtepu8_epi32(_mm_and_si128(sb[j + 4], m6));
        /* (x >> 6) << 4 of each byte is (x >> 2) & 0x30 */
        sc[j + 4] = _mm512_cvtepu8_epi32(_mm_or_si128(
            _mm_and_si128(sb[j + 8], m4), _mm_and_si128(_mm_srli_epi16(sb[j], 2), m30)));
        mn[j + 4] =
            _mm512_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(sb[j + 8], 4), m4),
                                              _mm_and_si128(_mm_srli_epi16(sb[j + 4], 2), m30)));
    }
#pragma GCC unroll 4
    for (j = 0; j < 4; j++)
        mp[j] = _mm512_or_si512(mn[2 * j], _mm512_slli_epi32(mn[2 * j + 1], 16));
}

/* msum of one token's super-block: each row's sum of min j * (bsum pair j), the
 * pairs of sub-blocks 2i and 2i + 1 side by side in the int16 halves of a
 * broadcast (a pair is at most 2 * 16 * 128 = 4096, a min 63), so one vpmaddwd
 * takes two sub-blocks where vpmulld took one (as avx2_k4_msum); exact in int32. */
static inline __attribute__((always_inline)) __m512i avx512_k4_msum(const __m512i *mp,
                                                                    const block_q8_K *ab)
{
    __m512i msum = _mm512_setzero_si512();
    int i;

#pragma GCC unroll 4
    for (i = 0; i < 4; i++) {
        uint16_t lo = (uint16_t)(ab->bsums[4 * i] + ab->bsums[4 * i + 1]);
        uint16_t hi = (uint16_t)(ab->bsums[4 * i + 2] + ab->bsums[4 * i + 3]);
        msum = _mm512_add_epi32(
            msum, _mm512_madd_epi16(mp[i], _mm512_set1_epi32((int32_t)((uint32_t)hi << 16 | lo))));
    }
    return msum;
}

/* One token's code sums of a 64-value run (codes lo, hi; activations qa): eight
 * vpdpbusd a half, each half times its sub-block's scale, exact in int32. */
static inline __attribute__((always_inline)) __m512i
avx512_k4_run(const __m512i *lo, const __m512i *hi, const int8_t *qa, __m512i s0, __m512i s1)
{
    __m512i l = _mm512_setzero_si512(), h = _mm512_setzero_si512();
    int32_t g;
    int k;

#pragma GCC unroll 8
    for (k = 0; k < 8; k++) {
        memcpy(&g, qa + 4 * k, sizeof g);
        l = _mm512_dpbusd_epi32(l, lo[k], _mm512_set1_epi32(g));
        memcpy(&g, qa + 32 + 4 * k, sizeof g);
        h = _mm512_dpbusd_epi32(h, hi[k], _mm512_set1_epi32(g));
    }
    return _mm512_add_epi32(_mm512_mullo_epi32(s0, l), _mm512_mullo_epi32(s1, h));
}

/* acc + quant_term_k of a Q4_K/Q5_K super-block for one token: its two products
 * and a subtraction, sixteen rows at once. */
static inline __attribute__((always_inline)) __m512 avx512_k4_term(__m512 acc, __m512 dw, __m512 dm,
                                                                   __m512i isum, const __m512i *mp,
                                                                   const block_q8_K *ab)
{
    const __m512 da = _mm512_set1_ps(ab->d);
    const __m512i msum = avx512_k4_msum(mp, ab);

    return _mm512_add_ps(
        acc, _mm512_sub_ps(_mm512_mul_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(isum)),
                           _mm512_mul_ps(_mm512_mul_ps(dm, da), _mm512_cvtepi32_ps(msum))));
}

/* Q4_K: one column is a super-block of the sixteen rows. Their 6-bit scales and
 * mins are decoded for all rows at once from the transposed scale bytes (the bit
 * moves of quant_k4_scale_min on 16-byte vectors) and widened to one int32 lane a
 * row. A 64-value run's codes are unpacked once for every token (sixteen vectors,
 * as Q5_K: unpacked per token, prefill ran at 360 GFLOP/s against Q5_K's 440);
 * each sub-block's code sums come from eight vpdpbusd (unsigned codes, no
 * offset), then isum += scale * sum and msum += min * (its two bsums), all exact in
 * int32; the term is quant_term_k's two products and a subtraction. */
static inline __attribute__((always_inline)) void
avx512_panel_q4_K_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    const __m512i m4z = _mm512_set1_epi8(0x0f);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)col));
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(col + 32)));
    __m512i sc[8], mp[4], isum[QUANT_PANEL_TOK];
    int t, c, k;

    (void)sd_off;
    (void)ss_off;
    quant_panel_prefetch(col, QUANT_Q4_K_COL_QS, n_tok);
    avx512_k4_scales(col + QUANT_Q4_K_COL_SC, sc, mp);
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++)
        isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (c = 0; c < 4; c++) {
        const uint8_t *ch = col + QUANT_Q4_K_COL_QS + (size_t)c * 8 * 64;
        __m512i lo[8], hi[8];
        quant_panel_prefetch(ch, 8 * 64, n_tok);
#pragma GCC unroll 8
        for (k = 0; k < 8; k++) {
            __m512i q = _mm512_loadu_si512(ch + 64 * k);
            lo[k] = _mm512_and_si512(q, m4z);
            hi[k] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4z);
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const int8_t *qa = ((const block_q8_K *)(a + (size_t)t * a_stride) + b)->qs + 64 * c;
            isum[t] =
                _mm512_add_epi32(isum[t], avx512_k4_run(lo, hi, qa, sc[2 * c], sc[2 * c + 1]));
        }
    }
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++)
        acc[t * acc_stride] = avx512_k4_term(acc[t * acc_stride], dw, dm, isum[t], mp,
                                             (const block_q8_K *)(a + (size_t)t * a_stride) + b);
}

AVX512_PANEL(q4_K, QUANT_QK_K, QUANT_Q4_K_COL)

/* ---- Q4_1, Q5_0, Q5_1 panels (VNNI) --------------------------------------------------- */

/* The 5th bits of a chunk's codes: qh holds them at bit s of each byte (the panel's
 * Q5 order, quant_impl.h), and (qh shifted to bit 4) & 0x10 joins the nibbles in
 * one ternary op (a | (b & c)). */
#define AVX512_OR_AND 0xf8
static inline __attribute__((always_inline)) __m512i avx512_bit5(__m512i nib, __m512i qh,
                                                                 const int s)
{
    __m512i up = s <= 4 ? _mm512_slli_epi32(qh, 4 - s) : _mm512_srli_epi32(qh, s - 4);

    return _mm512_ternarylogic_epi32(nib, up, _mm512_set1_epi8(0x10), AVX512_OR_AND);
}

/* Q4_1, Q5_0 and Q5_1 as avx512_panel_q4_0_col: the codes of one block column
 * (with their 5th bits for Q5), then per token two chains of four vpdpbusd. The
 * unsigned codes' offset comes off through the sidecar sum: Q5_0's -16 * sum
 * starts the chain; Q4_1 and Q5_1 keep isum and asum apart for quant_term_off's
 * two products, as the reference does. bits5 is 0 for Q4_1, qs_off and qh_off the
 * fields' offsets in the column, offset the code offset (Q5_0) or -1 for d*q + m. */
static inline __attribute__((always_inline)) void
avx512_panel_q4q5_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride,
                      const size_t col_bytes, const size_t qh_off, const size_t qs_off,
                      const int offset)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)col));
    __m512i lo[4], hi[4], qh = _mm512_setzero_si512();
    int t, c;

    quant_panel_prefetch(col, col_bytes, n_tok);
    if (qh_off)
        qh = _mm512_loadu_si512(col + qh_off);
#pragma GCC unroll 4
    for (c = 0; c < 4; c++) {
        __m512i q = _mm512_loadu_si512(col + qs_off + 64 * c);
        lo[c] = _mm512_and_si512(q, m4);
        hi[c] = _mm512_and_si512(_mm512_srli_epi16(q, 4), m4);
        if (qh_off) {
            lo[c] = avx512_bit5(lo[c], qh, 2 * c);
            hi[c] = avx512_bit5(hi[c], qh, 2 * c + 1);
        }
    }
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++) {
        const uint8_t *at = a + (size_t)t * a_stride;
        const int8_t *qa = ((const block_q8_0 *)at)[b].qs;
        const float da = quant_act_scale(at, sd_off, b);
        const int32_t sum = quant_act_sum(at, ss_off, b);
        __m512i i0 = _mm512_set1_epi32(offset > 0 ? -offset * sum : 0), i1 = _mm512_setzero_si512();
        __m512 term;
        int32_t g;
#pragma GCC unroll 4
        for (c = 0; c < 4; c++) {
            memcpy(&g, qa + 4 * c, sizeof g);
            i0 = _mm512_dpbusd_epi32(i0, lo[c], _mm512_set1_epi32(g));
            memcpy(&g, qa + 16 + 4 * c, sizeof g);
            i1 = _mm512_dpbusd_epi32(i1, hi[c], _mm512_set1_epi32(g));
        }
        term = _mm512_mul_ps(_mm512_mul_ps(dw, _mm512_set1_ps(da)),
                             _mm512_cvtepi32_ps(_mm512_add_epi32(i0, i1)));
        if (offset < 0) {
            const __m512 mw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(col + 32)));
            term = _mm512_add_ps(term, _mm512_mul_ps(_mm512_mul_ps(mw, _mm512_set1_ps(da)),
                                                     _mm512_set1_ps((float)sum)));
        }
        acc[t * acc_stride] = _mm512_add_ps(acc[t * acc_stride], term);
    }
}

static inline __attribute__((always_inline)) void
avx512_panel_q4_1_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    avx512_panel_q4q5_col(col, a, a_stride, b, sd_off, ss_off, n_tok, acc, acc_stride,
                          QUANT_Q4_1_COL, 0, QUANT_Q4_1_COL_QS, -1);
}

static inline __attribute__((always_inline)) void
avx512_panel_q5_0_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    avx512_panel_q4q5_col(col, a, a_stride, b, sd_off, ss_off, n_tok, acc, acc_stride,
                          QUANT_Q5_0_COL, QUANT_Q5_0_COL_QH, QUANT_Q5_0_COL_QS, 16);
}

static inline __attribute__((always_inline)) void
avx512_panel_q5_1_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    avx512_panel_q4q5_col(col, a, a_stride, b, sd_off, ss_off, n_tok, acc, acc_stride,
                          QUANT_Q5_1_COL, QUANT_Q5_1_COL_QH, QUANT_Q5_1_COL_QS, -1);
}

AVX512_PANEL(q4_1, QUANT_QK, QUANT_Q4_1_COL)
AVX512_PANEL(q5_0, QUANT_QK, QUANT_Q5_0_COL)
AVX512_PANEL(q5_1, QUANT_QK, QUANT_Q5_1_COL)

/* ---- Q5_K, Q6_K panels (VNNI) ------------------------------------------------------ */

/* Q5_K: Q4_K's plan with the 5th bits of qh chunk k joined to qs chunks k, 8 + k,
 * 16 + k and 24 + k. The codes of a 64-value run are made once for every token
 * (sixteen vectors), since lifting the 5th bits costs more than Q4_K's nibbles. */
static inline __attribute__((always_inline)) void
avx512_panel_q5_K_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    const __m512i m4 = _mm512_set1_epi8(0x0f);
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)col));
    const __m512 dm = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(col + 32)));
    __m512i sc[8], mp[4], isum[QUANT_PANEL_TOK];
    int t, c, k;

    (void)sd_off;
    (void)ss_off;
    quant_panel_prefetch(col, QUANT_Q5_K_COL_QS, n_tok);
    avx512_k4_scales(col + QUANT_Q4_K_COL_SC, sc, mp);
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++)
        isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 4
    for (c = 0; c < 4; c++) {
        __m512i lo[8], hi[8];
        quant_panel_prefetch(col + QUANT_Q5_K_COL_QS + 64 * 8 * c, 8 * 64, n_tok);
#pragma GCC unroll 8
        for (k = 0; k < 8; k++) {
            __m512i q = _mm512_loadu_si512(col + QUANT_Q5_K_COL_QS + 64 * (8 * c + k));
            __m512i qh = _mm512_loadu_si512(col + QUANT_Q5_K_COL_QH + 64 * k);
            lo[k] = avx512_bit5(_mm512_and_si512(q, m4), qh, 2 * c);
            hi[k] = avx512_bit5(_mm512_and_si512(_mm512_srli_epi16(q, 4), m4), qh, 2 * c + 1);
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const int8_t *qa = ((const block_q8_K *)(a + (size_t)t * a_stride) + b)->qs + 64 * c;
            isum[t] =
                _mm512_add_epi32(isum[t], avx512_k4_run(lo, hi, qa, sc[2 * c], sc[2 * c + 1]));
        }
    }
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++)
        acc[t * acc_stride] = avx512_k4_term(acc[t * acc_stride], dw, dm, isum[t], mp,
                                             (const block_q8_K *)(a + (size_t)t * a_stride) + b);
}

AVX512_PANEL(q5_K, QUANT_QK_K, QUANT_Q5_K_COL)

/* The four code vectors of Q6_K group j from its words A, B, C (quant_impl.h): the
 * low six bits of each are codes 0..11 of the group; codes 12..15 gather the top
 * two bits of C, B and A, shifted down two at a time (a 32-bit shift brings in
 * only bits that the mask has cleared). */
static inline __attribute__((always_inline)) void avx512_q6_K_codes(const uint8_t *w, __m512i *v)
{
    const __m512i m3f = _mm512_set1_epi8(0x3f), mc0 = _mm512_set1_epi8((char)0xc0);
    __m512i xa = _mm512_loadu_si512(w), xb = _mm512_loadu_si512(w + 64);
    __m512i xc = _mm512_loadu_si512(w + 128), t;

    v[0] = _mm512_and_si512(xa, m3f);
    v[1] = _mm512_and_si512(xb, m3f);
    v[2] = _mm512_and_si512(xc, m3f);
    t = _mm512_and_si512(xc, mc0);
    t = _mm512_ternarylogic_epi32(_mm512_srli_epi32(t, 2), xb, mc0, AVX512_OR_AND);
    t = _mm512_ternarylogic_epi32(_mm512_srli_epi32(t, 2), xa, mc0, AVX512_OR_AND);
    v[3] = _mm512_srli_epi32(t, 2);
}

/* Q6_K: group by group, its four code vectors made once for every token; a
 * group's chain starts at -32 * its bsum, which turns the unsigned codes' sum into
 * the reference's sum of (q - 32) * a, and meets the group's signed scale once. */
static inline __attribute__((always_inline)) void
avx512_panel_q6_K_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b,
                      size_t sd_off, size_t ss_off, const int n_tok, __m512 *acc, size_t acc_stride)
{
    const __m512 dw =
        _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(col + QUANT_Q6_K_COL_D)));
    __m512i isum[QUANT_PANEL_TOK];
    int t, j, m;

    (void)sd_off;
    (void)ss_off;
    quant_panel_prefetch(col + QUANT_Q6_K_COL_SC, QUANT_Q6_K_COL - QUANT_Q6_K_COL_SC, n_tok);
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++)
        isum[t] = _mm512_setzero_si512();
#pragma GCC unroll 2
    for (j = 0; j < 16; j++) {
        __m512i v[4];
        const __m512i sc = _mm512_cvtepi8_epi32(
            _mm_loadu_si128((const __m128i *)(col + QUANT_Q6_K_COL_SC + 16 * j)));
        quant_panel_prefetch(col + (size_t)j * 3 * 64, 3 * 64, n_tok);
        avx512_q6_K_codes(col + (size_t)j * 3 * 64, v);
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const block_q8_K *ab = (const block_q8_K *)(a + (size_t)t * a_stride) + b;
            __m512i s = _mm512_set1_epi32(-32 * (int32_t)ab->bsums[j]);
            int32_t w;
#pragma GCC unroll 4
            for (m = 0; m < 4; m++) {
                memcpy(&w, ab->qs + 16 * j + 4 * m, sizeof w);
                s = _mm512_dpbusd_epi32(s, v[m], _mm512_set1_epi32(w));
            }
            isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s, sc));
        }
    }
#pragma GCC unroll 4
    for (t = 0; t < n_tok; t++) {
        const __m512 da = _mm512_set1_ps(((const block_q8_K *)(a + (size_t)t * a_stride) + b)->d);
        acc[t * acc_stride] = _mm512_add_ps(
            acc[t * acc_stride], _mm512_mul_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(isum[t])));
    }
}

AVX512_PANEL(q6_K, QUANT_QK_K, QUANT_Q6_K_COL)

/* ---- Q8_0 activation quantizer --------------------------------------------------- */

static void avx512_q8_0_from_f32(const float *x, void *y, int64_t n)
{
    const __m512 lo = _mm512_set1_ps(-127.0f), hi = _mm512_set1_ps(127.0f);
    block_q8_0 *b = y;
    int64_t i;

    for (i = 0; i < n / QUANT_QK; i++) {
        const float *xb = x + i * QUANT_QK;
        __m512 v0 = _mm512_loadu_ps(xb), v1 = _mm512_loadu_ps(xb + 16);
        /* NaN-skipping like the reference: max_ps returns its second operand */
        __m512 m =
            _mm512_max_ps(_mm512_abs_ps(v1), _mm512_max_ps(_mm512_abs_ps(v0), _mm512_setzero_ps()));
        uint16_t h = fp16_from_f32(_mm512_reduce_max_ps(m) / 127.0f);
        float d = fp16_to_f32(h);
        __m512 vid = _mm512_set1_ps(d != 0.0f ? 1.0f / d : 0.0f);
        v0 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v0, vid), lo), hi);
        v1 = _mm512_min_ps(_mm512_max_ps(_mm512_mul_ps(v1, vid), lo), hi);
        b[i].d = h;
        _mm_storeu_si128((__m128i *)b[i].qs, _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v0)));
        _mm_storeu_si128((__m128i *)(b[i].qs + 16), _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v1)));
    }
}

void quant_avx512_fill(quant_table *t)
{
    t->k[TENSOR_TYPE_F32].dot = avx512_dot_f32;
    t->k[TENSOR_TYPE_F16].dot = avx512_dot_f16;
    t->k[TENSOR_TYPE_BF16].dot = avx512_dot_bf16;
    t->k[TENSOR_TYPE_F32].axpy = avx512_axpy_f32;
    t->k[TENSOR_TYPE_F16].axpy = avx512_axpy_f16;
    t->k[TENSOR_TYPE_BF16].axpy = avx512_axpy_bf16;
    t->k[TENSOR_TYPE_Q8_0].from_f32 = avx512_q8_0_from_f32;
}

void quant_avx512vnni_fill(quant_table *t)
{
    t->k[TENSOR_TYPE_Q4_0].panel = avx512_panel_q4_0;
    t->k[TENSOR_TYPE_Q8_0].panel = avx512_panel_q8_0;
    t->k[TENSOR_TYPE_Q4_K].panel = avx512_panel_q4_K;
    t->k[TENSOR_TYPE_Q4_1].panel = avx512_panel_q4_1;
    t->k[TENSOR_TYPE_Q5_0].panel = avx512_panel_q5_0;
    t->k[TENSOR_TYPE_Q5_1].panel = avx512_panel_q5_1;
    t->k[TENSOR_TYPE_Q5_K].panel = avx512_panel_q5_K;
    t->k[TENSOR_TYPE_Q6_K].panel = avx512_panel_q6_K;
}

#else

/* Built without AVX-512 (not x86): the dispatcher never offers these tables. */
void quant_avx512_fill(quant_table *t)
{
    (void)t;
}

void quant_avx512vnni_fill(quant_table *t)
{
    (void)t;
}

#endif
