/* AVX2 (+FMA, F16C) panel kernels for Q4_0, Q8_0 and Q4_K: sixteen repacked rows
 * (quant_impl.h), eight to a vector, each result bit-identical to the row's dot in
 * quant_ref.c. Built with the flags of quant_avx2.c. */
#include <stddef.h>
#include <string.h>

#include "quant_impl.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>

/* As avx512_panel_q4_0 (quant_avx512.c), eight rows to a vector: the panel's 64-byte
 * chunks are two vectors, rows 0..7 and 8..15. maddubs gives each row two int16
 * sums of a pair of codes times activations, at most 2 * 15 * 127 = 3810 each, so
 * a block's eight chunk products add up in int16 (8 * 3810 = 30480) before one
 * madd widens them to the row's exact int32 sum; the offset of 8 then comes off
 * with the sidecar sum, and term and lane are the reference's. Sixteen rows' lanes
 * outnumber the registers, so the float lanes live in acc (memory). */
static inline __attribute__((always_inline)) void
avx2_panel_q4_0_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,
                    size_t ss_off, const int n_tok, float *acc)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), ones = _mm256_set1_epi16(1);
    int h, t, c;

    quant_panel_prefetch(col, QUANT_Q4_0_COL);

#pragma GCC unroll 2
    for (h = 0; h < 2; h++) {
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 16 * h)));
        __m256i lo[4], hi[4];
#pragma GCC unroll 4
        for (c = 0; c < 4; c++) {
            __m256i q =
                _mm256_loadu_si256((const __m256i *)(col + QUANT_PANEL_COL_QS + 64 * c + 32 * h));
            lo[c] = _mm256_and_si256(q, m4);
            hi[c] = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        }
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const uint8_t *at = a + (size_t)t * a_stride;
            const int8_t *qa = ((const block_q8_0 *)at)[b].qs;
            float *lane =
                acc + ((size_t)t * QUANT_BLANES + (size_t)(b % QUANT_BLANES)) * QUANT_PANEL_ROWS +
                8 * h;
            __m256i p0 = _mm256_setzero_si256(), p1 = _mm256_setzero_si256(), isum;
            int32_t g;
            const float da = quant_act_scale(at, sd_off, b);
            const int32_t sum = quant_act_sum(at, ss_off, b);
#pragma GCC unroll 4
            for (c = 0; c < 4; c++) {
                memcpy(&g, qa + 4 * c, sizeof g);
                p0 = _mm256_add_epi16(p0, _mm256_maddubs_epi16(lo[c], _mm256_set1_epi32(g)));
                memcpy(&g, qa + 16 + 4 * c, sizeof g);
                p1 = _mm256_add_epi16(p1, _mm256_maddubs_epi16(hi[c], _mm256_set1_epi32(g)));
            }
            isum = _mm256_sub_epi32(_mm256_madd_epi16(_mm256_add_epi16(p0, p1), ones),
                                    _mm256_set1_epi32(8 * sum));
            _mm256_storeu_ps(lane,
                             _mm256_add_ps(_mm256_loadu_ps(lane),
                                           _mm256_mul_ps(_mm256_mul_ps(dw, _mm256_set1_ps(da)),
                                                         _mm256_cvtepi32_ps(isum))));
        }
    }
}

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
    quant_panel_prefetch(col, QUANT_Q8_0_COL);
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

/* Q4_K, eight rows a vector (see avx512_panel_q4_K_col for the plan). Each chunk
 * is unpacked once and met by every token; a sub-block's eight maddubs products
 * add in int16 (8 * 3810 = 30480), and one madd against the row's scale, put in
 * both int16 halves of its lane, widens and scales them at once. The mins meet the
 * bsum pairs the same way (a pair at most 32 * 127, the min in the low half). */
static inline __attribute__((always_inline)) void
avx2_panel_q4_K_col(const uint8_t *col, const uint8_t *a, size_t a_stride, int64_t b, size_t sd_off,
                    size_t ss_off, const int n_tok, float *acc)
{
    const __m128i m6 = _mm_set1_epi8(63), m4 = _mm_set1_epi8(15), m30 = _mm_set1_epi8(0x30);
    const __m256i m4y = _mm256_set1_epi8(0x0f);
    int h, t, j, k, c;

    (void)sd_off;
    (void)ss_off;
    quant_panel_prefetch(col, QUANT_Q4_K_COL);
    for (h = 0; h < 2; h++) {
        const __m256 dw = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 16 * h)));
        const __m256 dm = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(col + 32 + 16 * h)));
        __m128i sb[12];
        __m256i sc[8], mn[8], isum[QUANT_PANEL_TOK], msum[QUANT_PANEL_TOK];
#pragma GCC unroll 12
        for (k = 0; k < 12; k++)
            sb[k] = _mm_loadl_epi64((const __m128i *)(col + QUANT_Q4_K_COL_SC + 16 * k + 8 * h));
#pragma GCC unroll 4
        for (j = 0; j < 4; j++) {
            sc[j] = _mm256_cvtepu8_epi32(_mm_and_si128(sb[j], m6));
            mn[j] = _mm256_cvtepu8_epi32(_mm_and_si128(sb[j + 4], m6));
            sc[j + 4] = _mm256_cvtepu8_epi32(_mm_or_si128(
                _mm_and_si128(sb[j + 8], m4), _mm_and_si128(_mm_srli_epi16(sb[j], 2), m30)));
            mn[j + 4] = _mm256_cvtepu8_epi32(
                _mm_or_si128(_mm_and_si128(_mm_srli_epi16(sb[j + 8], 4), m4),
                             _mm_and_si128(_mm_srli_epi16(sb[j + 4], 2), m30)));
        }
#pragma GCC unroll 8
        for (j = 0; j < 8; j++)
            sc[j] = _mm256_or_si256(sc[j], _mm256_slli_epi32(sc[j], 16));
#pragma GCC unroll 4
        for (t = 0; t < n_tok; t++) {
            const block_q8_K *ab = (const block_q8_K *)(a + (size_t)t * a_stride) + b;
            isum[t] = _mm256_setzero_si256();
            msum[t] = _mm256_setzero_si256();
#pragma GCC unroll 8
            for (j = 0; j < 8; j++)
                msum[t] = _mm256_add_epi32(
                    msum[t],
                    _mm256_madd_epi16(mn[j], _mm256_set1_epi16((int16_t)(ab->bsums[2 * j] +
                                                                         ab->bsums[2 * j + 1]))));
        }
        for (c = 0; c < 4; c++) {
            __m256i lo[QUANT_PANEL_TOK], hi[QUANT_PANEL_TOK];
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

void quant_avx2_panel_fill(quant_table *t)
{
    t->k[TENSOR_TYPE_Q4_0].panel = avx2_panel_q4_0;
    t->k[TENSOR_TYPE_Q8_0].panel = avx2_panel_q8_0;
    t->k[TENSOR_TYPE_Q4_K].panel = avx2_panel_q4_K;
}

#else

void quant_avx2_panel_fill(quant_table *t)
{
    (void)t;
}

#endif
