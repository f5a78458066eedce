/* AVX2 (+FMA, F16C) panel kernels for Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K and
 * Q6_K: sixteen repacked rows (quant_impl.h), eight to a vector, each result
 * bit-identical to the row's dot in quant_ref.c. Built with the flags of
 * quant_avx2.c. */
#include <stddef.h>
#include <string.h>

#include "quant_impl.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>

/* p, hidden from the optimiser. Both row halves broadcast the same activations:
 * seen through this, each half makes its own instead of sharing them (hoisted out
 * of the h loop, or merged where it is unrolled), which for 4 tokens spilled them
 * to the stack and back, up to 256 for Q6_K; broadcasting twice measured faster
 * (Q4_1 4-token panels 125 -> 140 GFLOP/s in L2, one thread). */
static inline const uint8_t *avx2_opaque(const uint8_t *p)
{
    __asm__("" : "+r"(p));
    return p;
}

/* As avx512_panel_q4_0 (quant_avx512.c), eight rows to a vector: the panel's 64-byte
 * chunks are two vectors, rows 0..7 and 8..15. maddubs gives each row two int16
 * sums of a pair of codes times activations, at most 2 * 15 * 127 = 3810 each, so
 * a block's eight chunk products add up in int16 (8 * 3810 = 30480) before one
 * madd widens them to the row's exact int32 sum; the offset of 8 then comes off
 * with the sidecar sum, and term and lane are the reference's. Sixteen rows' lanes
 * outnumber the registers, so the float lanes live in acc (memory). Q4_1, Q5_0 and
 * Q5_1 share the kernel: qh_off (0 for none) lifts the 5th bits onto the codes,
 * offset is the code offset taken off with the sidecar sum (8, 16) or -1 where the
 * row's fp16 m meets that sum (quant_term_off: two products, then one add). */
/* The 5-bit codes of a Q5_0/Q5_1 chunk c: the panel's qh word (one per row, in
 * its lane) holds the 5th bit of the low nibbles at bit 2c of each byte and of the
 * high ones at 2c + 1, so one shift per half puts it on bit 4. */
static inline __attribute__((always_inline)) void avx2_q5_chunk(__m256i q, __m256i qh, int c,
                                                                __m256i *lo, __m256i *hi)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m16 = _mm256_set1_epi8(0x10);
    __m256i bl = c < 2 ? _mm256_slli_epi16(qh, 4 - 2 * c) : c == 2 ? qh : _mm256_srli_epi16(qh, 2);
    __m256i bh = c < 2 ? _mm256_slli_epi16(qh, 3 - 2 * c) : _mm256_srli_epi16(qh, 2 * c - 3);

    *lo = _mm256_or_si256(_mm256_and_si256(q, m4), _mm256_and_si256(bl, m16));
    *hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), _mm256_and_si256(bh, m16));
}

static inline __attribute__((always_inline)) void
avx2_panel_q4q5_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,
                    size_t ss_off, const int n_tok, float *acc, const size_t col_bytes,
                    const size_t qh_off, const size_t qs_off, const int offset)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    int h, t, c;

    quant_panel_prefetch(col, col_bytes, n_tok);
#pragma GCC unroll 2
    for (h = 0; h < 2; h++) {
        const uint8_t *ah = avx2_opaque(a);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 16 * h)));
        __m256i lo[4], hi[4];
#pragma GCC unroll 4
        for (c = 0; c < 4; c++) {
            __m256i q = _mm256_loadu_si256((const __m256i *)(col + qs_off + 64 * c + 32 * h));
            if (qh_off) {
                avx2_q5_chunk(q, _mm256_loadu_si256((const __m256i *)(col + qh_off + 32 * h)), c,
                              &lo[c], &hi[c]);
            } else {
                lo[c] = _mm256_and_si256(q, m4);
                hi[c] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
            }
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const uint8_t *at = ah + (size_t)t * a_stride;
            const int8_t *qa = ((const block_q8_0 *)at)[b].qs;
            float *lane =
                acc + ((size_t)t * QUANT_BLANES + (size_t)(b % QUANT_BLANES)) * QUANT_PANEL_ROWS +
                8 * h;
            __m256i p0 = _mm256_setzero_si256(), p1 = _mm256_setzero_si256(), isum;
            int32_t g;
            const __m256 da = _mm256_set1_ps(quant_act_scale(at, sd_off, b));
            const int32_t sum = quant_act_sum(at, ss_off, b);
            __m256 term;
#pragma GCC unroll 4
            for (c = 0; c < 4; c++) {
                memcpy(&g, qa + 4 * c, sizeof g);
                p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(lo[c], _mm256_set1_epi32(g)));
                memcpy(&g, qa + 16 + 4 * c, sizeof g);
                p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(hi[c], _mm256_set1_epi32(g)));
            }
            /* 5-bit pairs reach 7874: four chunks fit an int16, eight do not */
            isum = qh_off
                       ? _mm256_add_epi32(_mm256_madd_epi16(p0, ones), _mm256_madd_epi16(p1, ones))
                       : _mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones);
            if (offset < 0) {
                const __m256 mw = _mm256_cvtph_ps(
                    _mm_loadu_si128((const __m128i *)(col + QUANT_PANEL_COL_QS + 16 * h)));
                term =
                    _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum)),
                                  _mm256_mul_ps(_mm256_mul_ps(mw, da), _mm256_set1_ps((float)sum)));
            } else {
                isum = _mm256_sub_epi32(isum, _mm256_set1_epi32(offset * sum));
                term = _mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum));
            }
            _mm256_storeu_ps(lane, _mm256_add_ps(_mm256_loadu_ps(lane), term));
        }
    }
}

#define AVX2_Q4Q5(name, col_bytes, qh_off, qs_off, offset)                                         \
    static inline __attribute__((always_inline)) void avx2_panel_##name##_col(                     \
        const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,           \
        size_t ss_off, const int n_tok, float *acc)                                                \
    {                                                                                              \
        avx2_panel_q4q5_col(col, a, a_stride, b, sd_off, ss_off, n_tok, acc, col_bytes, qh_off,    \
                            qs_off, offset);                                                       \
    }
AVX2_Q4Q5(q4_0, QUANT_Q4_0_COL, 0, QUANT_PANEL_COL_QS, 8)
AVX2_Q4Q5(q4_1, QUANT_Q4_1_COL, 0, QUANT_Q4_1_COL_QS, -1)
AVX2_Q4Q5(q5_0, QUANT_Q5_0_COL, QUANT_Q5_0_COL_QH, QUANT_Q5_0_COL_QS, 16)
AVX2_Q4Q5(q5_1, QUANT_Q5_1_COL, QUANT_Q5_1_COL_QH, QUANT_Q5_1_COL_QS, -1)

/* Q8_0, eight rows a vector: the codes are signed and maddubs wants one operand
 * unsigned, so |w| meets the activations with w's sign (at most 2 * 128 * 127 =
 * 32512 a pair); each chunk's products are widened by madd, as two cannot share
 * an int16. */
static inline __attribute__((always_inline)) void
avx2_panel_q8_0_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,
                    size_t ss_off, const int n_tok, float *acc)
{
    const __m256i ones = _mm256_set1_epi16(1);
    int h, t, c;

    (void)ss_off;
    quant_panel_prefetch(col, QUANT_Q8_0_COL, n_tok);
#pragma GCC unroll 2
    for (h = 0; h < 2; h++) {
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 16 * h)));
        __m256i q[8], u[8];
#pragma GCC unroll 8
        for (c = 0; c < 8; c++) {
            q[c] =
                _mm256_loadu_si256((const __m256i *)(col + QUANT_PANEL_COL_QS + 64 * c + 32 * h));
            u[c] = _mm256_sign_epi8(q[c], q[c]);
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const uint8_t *at = a + (size_t)t * a_stride;
            const int8_t *qa = ((const block_q8_0 *)at)[b].qs;
            float *lane =
                acc + ((size_t)t * QUANT_BLANES + (size_t)(b % QUANT_BLANES)) * QUANT_PANEL_ROWS +
                8 * h;
            __m256i i0 = _mm256_setzero_si256(), i1 = _mm256_setzero_si256();
            int32_t g;
            const float da = quant_act_scale(at, sd_off, b);
#pragma GCC unroll 4
            for (c = 0; c < 8; c += 2) {
                memcpy(&g, qa + 4 * c, sizeof g);
                i0 = _mm256_add_epi32(
                    i0, _mm256_madd_epi16(_mm256_maddubs_epi16(
                                              u[c], _mm256_sign_epi8(_mm256_set1_epi32(g), q[c])),
                                          ones));
                memcpy(&g, qa + 4 * c + 4, sizeof g);
                i1 = _mm256_add_epi32(
                    i1, _mm256_madd_epi16(
                            _mm256_maddubs_epi16(u[c + 1],
                                                 _mm256_sign_epi8(_mm256_set1_epi32(g), q[c + 1])),
                            ones));
            }
            _mm256_storeu_ps(
                lane, _mm256_add_ps(_mm256_loadu_ps(lane),
                                    _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(da)),
                                                  _mm256_cvtepi32_ps(_mm256_add_epi32(i0, i1)))));
        }
    }
}

/* The 6-bit scales and mins of eight rows of a Q4_K/Q5_K column, one int32 lane
 * a row, from the transposed scale bytes at scb (rows' bytes 16 apart): the bit
 * moves of quant_k4_scale_min on byte vectors. Each scale is put in both int16
 * halves of its lane, so one madd against a pair of int16 sums widens and scales
 * them at once; the mins stay in the low half, for the bsum pairs. */
static inline __attribute__((always_inline)) void avx2_k4_scales(const uint8_t *scb, __m256i *sc,
                                                                 __m256i *mn)
{
    const __m128i m6 = _mm_set1_epi8(63), m4 = _mm_set1_epi8(15), m30 = _mm_set1_epi8(0x30);
    __m128i sb[12];
    int j, k;

#pragma GCC unroll 12
    for (k = 0; k < 12; k++)
        sb[k] = _mm_loadl_epi64((const __m128i *)(scb + 16 * k));
#pragma GCC unroll 4
    for (j = 0; j < 4; j++) {
        sc[j] = _mm256_cvtepu8_epi32(_mm_and_si128(sb[j], m6));
        mn[j] = _mm256_cvtepu8_epi32(_mm_and_si128(sb[j + 4], m6));
        sc[j + 4] = _mm256_cvtepu8_epi32(_mm_or_si128(
            _mm_and_si128(sb[j + 8], m4), _mm_and_si128(_mm_srli_epi16(sb[j], 2), m30)));
        mn[j + 4] =
            _mm256_cvtepu8_epi32(_mm_or_si128(_mm_and_si128(_mm_srli_epi16(sb[j + 8], 4), m4),
                                              _mm_and_si128(_mm_srli_epi16(sb[j + 4], 2), m30)));
    }
#pragma GCC unroll 8
    for (j = 0; j < 8; j++)
        sc[j] = _mm256_or_si256(sc[j], _mm256_slli_epi32(sc[j], 16));
}

/* One token's msum for eight rows: min * (the sub-block's two bsums) summed over
 * the eight sub-blocks, exact in int32 (a bsum pair is at most 32 * 127). */
static inline __attribute__((always_inline)) __m256i avx2_k4_msum(const __m256i *mn,
                                                                  const block_q8_K *ab)
{
    __m256i msum = _mm256_setzero_si256();

#pragma GCC unroll 8
    for (int j = 0; j < 8; j++)
        msum = _mm256_add_epi32(
            msum, _mm256_madd_epi16(mn[j], _mm256_set1_epi16((int16_t)(ab->bsums[2 * j] +
                                                                       ab->bsums[2 * j + 1]))));
    return msum;
}

/* Q4_K, eight rows a vector (see avx512_panel_q4_K_col for the plan). Each chunk
 * is unpacked once and met by every token; a sub-block's eight maddubs products
 * add in int16 (8 * 3810 = 30480), and one madd against the row's scale, put in
 * both int16 halves of its lane, widens and scales them at once. The mins meet the
 * bsum pairs the same way (a pair at most 32 * 127, the min in the low half). */
static inline __attribute__((always_inline)) void
avx2_panel_q4_K_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,
                    size_t ss_off, const int n_tok, float *acc)
{
    const __m256i m4y = _mm256_set1_epi8(0x0f);
    int h, t, k, c;

    (void)sd_off;
    (void)ss_off;
    quant_panel_prefetch(col, QUANT_Q4_K_COL_QS, n_tok);
    for (h = 0; h < 2; h++) {
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 16 * h)));
        const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 32 + 16 * h)));
        __m256i sc[8], mn[8], isum[QUANT_PANEL_TOK], msum[QUANT_PANEL_TOK];
        avx2_k4_scales(col + QUANT_Q4_K_COL_SC + 8 * h, sc, mn);
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const block_q8_K *ab = (const block_q8_K *)(a + (size_t)t * a_stride) + b;
            isum[t] = _mm256_setzero_si256();
            msum[t] = avx2_k4_msum(mn, ab);
        }
        for (c = 0; c < 4; c++) {
            __m256i lo[QUANT_PANEL_TOK], hi[QUANT_PANEL_TOK];
            if (h == 0)
                quant_panel_prefetch(col + QUANT_Q4_K_COL_QS + 8 * 64 * c, 8 * 64, n_tok);
#pragma GCC unroll 4
            for (t = 0; t < n_tok; t++)
                lo[t] = hi[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (k = 0; k < 8; k++) {
                __m256i q = _mm256_loadu_si256(
                    (const __m256i *)(col + QUANT_Q4_K_COL_QS + 64 * (8 * c + k) + 32 * h));
                __m256i ql = _mm256_and_si256(q, m4y);
                __m256i qh = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4y);
#pragma GCC unroll 4
                for (t = 0; t < n_tok; t++) {
                    const int8_t *qa = ((const block_q8_K *)(a + (size_t)t * a_stride) + b)->qs;
                    int32_t g;
                    memcpy(&g, qa + 64 * c + 4 * k, sizeof g);
                    lo[t] = _mm256_add_epi16(lo[t], _mm256_maddubs_epi16(ql, _mm256_set1_epi32(g)));
                    memcpy(&g, qa + 64 * c + 32 + 4 * k, sizeof g);
                    hi[t] = _mm256_add_epi16(hi[t], _mm256_maddubs_epi16(qh, _mm256_set1_epi32(g)));
                }
            }
#pragma GCC unroll 4
            for (t = 0; t < n_tok; t++)
                isum[t] = _mm256_add_epi32(
                    isum[t], _mm256_add_epi32(_mm256_madd_epi16(lo[t], sc[2 * c]),
                                              _mm256_madd_epi16(hi[t], sc[2 * c + 1])));
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const __m256 da =
                _mm256_set1_ps(((const block_q8_K *)(a + (size_t)t * a_stride) + b)->d);
            float *lane =
                acc + ((size_t)t * QUANT_BLANES + (size_t)(b % QUANT_BLANES)) * QUANT_PANEL_ROWS +
                8 * h;
            __m256 term =
                _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t])),
                              _mm256_mul_ps(_mm256_mul_ps(dm, da), _mm256_cvtepi32_ps(msum[t])));
            _mm256_storeu_ps(lane, _mm256_add_ps(_mm256_loadu_ps(lane), term));
        }
    }
}

/* Prefetches the column about to be used, line by line in address order. A Q5_K
 * column is long (2816 bytes) and read out of order (qh chunk k with qs chunks
 * k, 8 + k, ...) by more code than the out-of-order window holds, so its misses
 * came one batch at a time; for several tokens, asking for every line up front
 * beat quant_panel_prefetch's look-ahead. One token takes the look-ahead a chunk
 * at a time instead (below): 17 -> 21 GB/s for a 2-thread matvec on a Xeon. */
static inline void avx2_panel_touch(const uint8_t *col, size_t bytes)
{
    for (size_t off = 0; off < bytes; off += 64)
        __builtin_prefetch(col + off);
}

/* Keeps an int32 accumulator a chain: without it GCC reassociated a K-quant
 * block's madd sum into one tree and spilled every term until the end (Q6_K ran
 * at half speed). The sums are exact either way. */
static inline __m256i avx2_chain(__m256i v)
{
    __asm__("" : "+x"(v));
    return v;
}

/* Q5_K, eight rows a vector: as Q4_K with the 5th bits of qh chunk k % 8 put on
 * the codes (avx2_q5_chunk: bit 2c of a byte for the low nibbles of qs chunk
 * 8c + k, 2c + 1 for the high ones). Pairs now reach 2 * 31 * 127 = 7874, so only
 * four chunks share an int16 (31496) before the madd against the scale. */
static inline __attribute__((always_inline)) void
avx2_panel_q5_K_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,
                    size_t ss_off, const int n_tok, float *acc)
{
    int h, t, k, c, e;

    (void)sd_off;
    (void)ss_off;
    if (n_tok == 1)
        quant_panel_prefetch(col, QUANT_Q5_K_COL_QS, n_tok);
    else
        avx2_panel_touch(col, QUANT_Q5_K_COL);
    for (h = 0; h < 2; h++) {
        const uint8_t *ah = avx2_opaque(a);
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 16 * h)));
        const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 32 + 16 * h)));
        __m256i sc[8], mn[8], isum[QUANT_PANEL_TOK], msum[QUANT_PANEL_TOK];
        avx2_k4_scales(col + QUANT_Q4_K_COL_SC + 8 * h, sc, mn);
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++)
            isum[t] = _mm256_setzero_si256();
        for (c = 0; c < 4; c++) {
            if (h == 0 && n_tok == 1)
                quant_panel_prefetch(col + QUANT_Q5_K_COL_QS + 8 * 64 * c, 8 * 64, n_tok);
#pragma GCC unroll 2
            for (e = 0; e < 8; e += 4) {
                __m256i lo[QUANT_PANEL_TOK], hi[QUANT_PANEL_TOK];
#pragma GCC unroll 4
                for (t = 0; t < n_tok; t++)
                    lo[t] = hi[t] = _mm256_setzero_si256();
#pragma GCC unroll 4
                for (k = e; k < e + 4; k++) {
                    __m256i ql, qh;
                    avx2_q5_chunk(_mm256_loadu_si256((const __m256i *)(col + QUANT_Q5_K_COL_QS +
                                                                       64 * (8 * c + k) + 32 * h)),
                                  _mm256_loadu_si256(
                                      (const __m256i *)(col + QUANT_Q5_K_COL_QH + 64 * k + 32 * h)),
                                  c, &ql, &qh);
#pragma GCC unroll 4
                    for (t = 0; t < n_tok; t++) {
                        const int8_t *qa =
                            ((const block_q8_K *)(ah + (size_t)t * a_stride) + b)->qs;
                        int32_t g;
                        memcpy(&g, qa + 64 * c + 4 * k, sizeof g);
                        lo[t] =
                            _mm256_add_epi16(lo[t], _mm256_maddubs_epi16(ql, _mm256_set1_epi32(g)));
                        memcpy(&g, qa + 64 * c + 32 + 4 * k, sizeof g);
                        hi[t] =
                            _mm256_add_epi16(hi[t], _mm256_maddubs_epi16(qh, _mm256_set1_epi32(g)));
                    }
                }
#pragma GCC unroll 4
                for (t = 0; t < n_tok; t++) {
                    isum[t] = _mm256_add_epi32(
                        isum[t], _mm256_add_epi32(_mm256_madd_epi16(lo[t], sc[2 * c]),
                                                  _mm256_madd_epi16(hi[t], sc[2 * c + 1])));
                    isum[t] = avx2_chain(isum[t]);
                }
            }
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const block_q8_K *ab = (const block_q8_K *)(ah + (size_t)t * a_stride) + b;
            const __m256 da = _mm256_set1_ps(ab->d);
            float *lane =
                acc + ((size_t)t * QUANT_BLANES + (size_t)(b % QUANT_BLANES)) * QUANT_PANEL_ROWS +
                8 * h;
            __m256 term;
            msum[t] = avx2_k4_msum(mn, ab);
            term = _mm256_sub_ps(_mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum[t])),
                                 _mm256_mul_ps(_mm256_mul_ps(dm, da), _mm256_cvtepi32_ps(msum[t])));
            _mm256_storeu_ps(lane, _mm256_add_ps(_mm256_loadu_ps(lane), term));
        }
    }
}

/* Q6_K, eight rows a vector, one 16-value scale group at a time: its words A, B, C
 * (quant_impl.h) give the four code vectors with three masks and six shifts or
 * ors. A maddubs pair of unsigned 6-bit codes is at most 2 * 63 * 127 = 16002, so
 * two chunks share an int16 before the madd with the row's signed scale, put in
 * both halves of its lane. The offset of 32 comes off as 32 * sum of scale *
 * bsum, two groups to a madd. */
static inline __attribute__((always_inline)) void
avx2_panel_q6_K_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,
                    size_t ss_off, const int n_tok, float *acc)
{
    const __m256i m3f = _mm256_set1_epi8(0x3f), mc0 = _mm256_set1_epi8((char)0xc0);
    /* byte r of a broadcast qword to the high bytes of both int16 halves of lane r */
    const __m256i dup = _mm256_setr_epi8(-1, 0, -1, 0, -1, 1, -1, 1, -1, 2, -1, 2, -1, 3, -1, 3, -1,
                                         4, -1, 4, -1, 5, -1, 5, -1, 6, -1, 6, -1, 7, -1, 7);
    int h, t, j;

    (void)sd_off;
    (void)ss_off;
    quant_panel_prefetch(col + QUANT_Q6_K_COL_SC, QUANT_Q6_K_COL - QUANT_Q6_K_COL_SC, n_tok);
    for (h = 0; h < 2; h++) {
        const uint8_t *ah = avx2_opaque(a);
        const __m256 dw =
            _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + QUANT_Q6_K_COL_D + 16 * h)));
        __m256i isum[QUANT_PANEL_TOK];
        {
            __m256i sp[8];
#pragma GCC unroll 8
            for (j = 0; j < 8; j++)
                sp[j] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(
                    _mm_loadl_epi64((const __m128i *)(col + QUANT_Q6_K_COL_SC + 32 * j + 8 * h)),
                    _mm_loadl_epi64(
                        (const __m128i *)(col + QUANT_Q6_K_COL_SC + 32 * j + 16 + 8 * h))));
#pragma GCC unroll 4
            for (t = 0; t < n_tok; t++) {
                const block_q8_K *ab = (const block_q8_K *)(ah + (size_t)t * a_stride) + b;
                __m256i ms = _mm256_setzero_si256();
#pragma GCC unroll 8
                for (j = 0; j < 8; j++) {
                    int32_t g;
                    memcpy(&g, ab->bsums + 2 * j, sizeof g);
                    ms = _mm256_add_epi32(ms, _mm256_madd_epi16(sp[j], _mm256_set1_epi32(g)));
                }
                isum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(ms, 5));
            }
        }
#pragma GCC unroll 2
        for (j = 0; j < 16; j++) {
            const uint8_t *w = col + (size_t)j * 3 * 64 + 32 * h;
            if (h == 0)
                quant_panel_prefetch(w, 3 * 64, n_tok);
            const __m256i xa = _mm256_loadu_si256((const __m256i *)w);
            const __m256i xb = _mm256_loadu_si256((const __m256i *)(w + 64));
            const __m256i xc = _mm256_loadu_si256((const __m256i *)(w + 128));
            const __m256i sc = _mm256_srai_epi16(
                _mm256_shuffle_epi8(
                    _mm256_broadcastq_epi64(_mm_loadl_epi64(
                        (const __m128i *)(col + QUANT_Q6_K_COL_SC + 16 * j + 8 * h))),
                    dup),
                8);
            __m256i v[4], x;
            v[0] = _mm256_and_si256(xa, m3f);
            v[1] = _mm256_and_si256(xb, m3f);
            v[2] = _mm256_and_si256(xc, m3f);
            x = _mm256_and_si256(xc, mc0);
            x = _mm256_or_si256(_mm256_srli_epi16(x, 2), _mm256_and_si256(xb, mc0));
            x = _mm256_or_si256(_mm256_srli_epi16(x, 2), _mm256_and_si256(xa, mc0));
            v[3] = _mm256_srli_epi16(x, 2);
#pragma GCC unroll 4
            for (t = 0; t < n_tok; t++) {
                const int8_t *qa =
                    ((const block_q8_K *)(ah + (size_t)t * a_stride) + b)->qs + 16 * j;
                int32_t g0, g1, g2, g3;
                memcpy(&g0, qa, sizeof g0);
                memcpy(&g1, qa + 4, sizeof g1);
                memcpy(&g2, qa + 8, sizeof g2);
                memcpy(&g3, qa + 12, sizeof g3);
                isum[t] = _mm256_add_epi32(
                    isum[t],
                    _mm256_add_epi32(
                        _mm256_madd_epi16(
                            _mm256_add_epi16(_mm256_maddubs_epi16(v[0], _mm256_set1_epi32(g0)),
                                             _mm256_maddubs_epi16(v[1], _mm256_set1_epi32(g1))),
                            sc),
                        _mm256_madd_epi16(
                            _mm256_add_epi16(_mm256_maddubs_epi16(v[2], _mm256_set1_epi32(g2)),
                                             _mm256_maddubs_epi16(v[3], _mm256_set1_epi32(g3))),
                            sc)));
                isum[t] = avx2_chain(isum[t]);
            }
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const __m256 da =
                _mm256_set1_ps(((const block_q8_K *)(ah + (size_t)t * a_stride) + b)->d);
            float *lane =
                acc + ((size_t)t * QUANT_BLANES + (size_t)(b % QUANT_BLANES)) * QUANT_PANEL_ROWS +
                8 * h;
            _mm256_storeu_ps(lane, _mm256_add_ps(_mm256_loadu_ps(lane),
                                                 _mm256_mul_ps(_mm256_mul_ps(dw, da),
                                                               _mm256_cvtepi32_ps(isum[t]))));
        }
    }
}

/* One driver for both types: block by block into the lanes in acc, then
 * quant_lanes_sum's tree, eight rows at a time. */
#define AVX2_PANEL(name, qk, col_bytes)                                                            \
    static inline __attribute__((always_inline)) void avx2_panel_##name##_tok(                     \
        int64_t n, float *s, const uint8_t *panel, const uint8_t *a, size_t a_stride,              \
        const int n_tok)                                                                           \
    {                                                                                              \
        const int64_t nb = n / (qk);                                                               \
        const size_t sd_off = quant_act_scales_off(nb), ss_off = quant_act_sums_off(nb);           \
        float acc[QUANT_PANEL_TOK * QUANT_BLANES * QUANT_PANEL_ROWS] = {0};                        \
        for (int64_t b = 0; b < nb; b++)                                                           \
            avx2_panel_##name##_col(panel + (size_t)b * (col_bytes), a, a_stride, b, sd_off,       \
                                    ss_off, n_tok, acc);                                           \
        for (int t = 0; t < n_tok; t++) {                                                          \
            const float *l = acc + (size_t)t * QUANT_BLANES * QUANT_PANEL_ROWS;                    \
            for (int k = 0; k < QUANT_PANEL_ROWS; k += 8) {                                        \
                __m256 v[QUANT_BLANES];                                                            \
                for (int j = 0; j < QUANT_BLANES; j++)                                             \
                    v[j] = _mm256_loadu_ps(l + j * QUANT_PANEL_ROWS + k);                          \
                for (int j = 0; j < 4; j++)                                                        \
                    v[j] = _mm256_add_ps(v[j], v[j + 4]);                                          \
                for (int j = 0; j < 2; j++)                                                        \
                    v[j] = _mm256_add_ps(v[j], v[j + 2]);                                          \
                _mm256_storeu_ps(s + t * QUANT_PANEL_ROWS + k, _mm256_add_ps(v[0], v[1]));         \
            }                                                                                      \
        }                                                                                          \
    }                                                                                              \
    static void avx2_panel_##name(int64_t n, float *s, const void *panel, const void *a,           \
                                  size_t a_stride, int n_tok)                                      \
    {                                                                                              \
        switch (n_tok) {                                                                           \
        case 1: avx2_panel_##name##_tok(n, s, panel, a, a_stride, 1); break;                       \
        case 2: avx2_panel_##name##_tok(n, s, panel, a, a_stride, 2); break;                       \
        case 3: avx2_panel_##name##_tok(n, s, panel, a, a_stride, 3); break;                       \
        default: avx2_panel_##name##_tok(n, s, panel, a, a_stride, 4); break;                      \
        }                                                                                          \
    }

AVX2_PANEL(q4_0, QUANT_QK, QUANT_Q4_0_COL)
AVX2_PANEL(q8_0, QUANT_QK, QUANT_Q8_0_COL)
AVX2_PANEL(q4_K, QUANT_QK_K, QUANT_Q4_K_COL)
AVX2_PANEL(q4_1, QUANT_QK, QUANT_Q4_1_COL)
AVX2_PANEL(q5_0, QUANT_QK, QUANT_Q5_0_COL)
AVX2_PANEL(q5_1, QUANT_QK, QUANT_Q5_1_COL)
AVX2_PANEL(q5_K, QUANT_QK_K, QUANT_Q5_K_COL)
AVX2_PANEL(q6_K, QUANT_QK_K, QUANT_Q6_K_COL)

void quant_avx2_panel_fill(quant_table *t)
{
    t->k[TENSOR_TYPE_Q4_0].panel = avx2_panel_q4_0;
    t->k[TENSOR_TYPE_Q8_0].panel = avx2_panel_q8_0;
    t->k[TENSOR_TYPE_Q4_K].panel = avx2_panel_q4_K;
    t->k[TENSOR_TYPE_Q4_1].panel = avx2_panel_q4_1;
    t->k[TENSOR_TYPE_Q5_0].panel = avx2_panel_q5_0;
    t->k[TENSOR_TYPE_Q5_1].panel = avx2_panel_q5_1;
    t->k[TENSOR_TYPE_Q5_K].panel = avx2_panel_q5_K;
    t->k[TENSOR_TYPE_Q6_K].panel = avx2_panel_q6_K;
}

#else

void quant_avx2_panel_fill(quant_table *t)
{
    (void)t;
}

#endif
