/* AVX2 (+FMA, F16C) kernels: the float dots, the integer dots of every 32-block
 * and K-quant compute type, and the two activation quantizers; built with only
 * these flags. Every result is bit-identical to quant_ref.c: float dots keep its
 * 32 lanes (mul then add, no FMA); integer dots form each block's exact int32 sum
 * and apply the same f32 term into the same 8 block lanes (see quant_impl.h). */
#include <stddef.h>
#include <string.h>

#include "quant_impl.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>

static inline int32_t avx2_hsum_i32(__m256i v)
{
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));

    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(1, 0, 3, 2)));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, _MM_SHUFFLE(2, 3, 0, 1)));
    return _mm_cvtsi128_si32(s);
}

static inline float avx2_hmax_ps(__m256 v)
{
    __m128 h = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));

    h = _mm_max_ps(h, _mm_movehl_ps(h, h));
    h = _mm_max_ps(h, _mm_shuffle_ps(h, h, 1));
    return _mm_cvtss_f32(h);
}

static inline float avx2_ld_f32(const uint8_t *p)
{
    float f;

    memcpy(&f, p, sizeof f);
    return f;
}

static inline uint16_t avx2_ld_u16(const uint8_t *p)
{
    uint16_t h;

    memcpy(&h, p, sizeof h);
    return h;
}

/* ---- float dots: lane k*8+j of acc[k] is ref's lane (i % 32) --------------------- */

static inline __m256 avx2_ld8_f16(const uint8_t *p)
{
    return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p));
}

static inline __m256 avx2_ld8_bf16(const uint8_t *p)
{
    __m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));

    return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

static void avx2_dot_f32(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float lane[QUANT_LANES];
    int64_t i;
    int k;

    for (i = 0; i + QUANT_LANES <= n; i += QUANT_LANES) {
        for (k = 0; k < 4; k++) {
            __m256 x = _mm256_loadu_ps((const float *)(pw + 4 * (i + 8 * k)));
            __m256 y = _mm256_loadu_ps((const float *)(pa + 4 * (i + 8 * k)));
            acc[k] = _mm256_add_ps(acc[k], _mm256_mul_ps(x, y));
        }
    }
    for (k = 0; k < 4; k++)
        _mm256_storeu_ps(lane + 8 * k, acc[k]);
    for (; i < n; i++)
        lane[i % QUANT_LANES] += avx2_ld_f32(pw + 4 * i) * avx2_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

static void avx2_dot_f16(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float lane[QUANT_LANES];
    int64_t i;
    int k;

    for (i = 0; i + QUANT_LANES <= n; i += QUANT_LANES) {
        for (k = 0; k < 4; k++) {
            __m256 x = avx2_ld8_f16(pw + 2 * (i + 8 * k));
            __m256 y = _mm256_loadu_ps((const float *)(pa + 4 * (i + 8 * k)));
            acc[k] = _mm256_add_ps(acc[k], _mm256_mul_ps(x, y));
        }
    }
    for (k = 0; k < 4; k++)
        _mm256_storeu_ps(lane + 8 * k, acc[k]);
    for (; i < n; i++)
        lane[i % QUANT_LANES] += fp16_to_f32(avx2_ld_u16(pw + 2 * i)) * avx2_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

static void avx2_dot_bf16(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float lane[QUANT_LANES];
    int64_t i;
    int k;

    for (i = 0; i + QUANT_LANES <= n; i += QUANT_LANES) {
        for (k = 0; k < 4; k++) {
            __m256 x = avx2_ld8_bf16(pw + 2 * (i + 8 * k));
            __m256 y = _mm256_loadu_ps((const float *)(pa + 4 * (i + 8 * k)));
            acc[k] = _mm256_add_ps(acc[k], _mm256_mul_ps(x, y));
        }
    }
    for (k = 0; k < 4; k++)
        _mm256_storeu_ps(lane + 8 * k, acc[k]);
    for (; i < n; i++)
        lane[i % QUANT_LANES] +=
            fp16_bf16_to_f32(avx2_ld_u16(pw + 2 * i)) * avx2_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

/* ---- 32-block integer dots against Q8_0 ------------------------------------------ */

/* 8 int32 partial sums of w*a. maddubs wants an unsigned operand, so |w| times
 * a with w's sign; a comes from our quantizer (|a| <= 127), so a pair of products
 * stays within int16 even for w = -128. */
static inline __m256i avx2_dot_i8(__m256i w, __m256i a)
{
    __m256i p = _mm256_maddubs_epi16(_mm256_sign_epi8(w, w), _mm256_sign_epi8(a, w));

    return _mm256_madd_epi16(p, _mm256_set1_epi16(1));
}

/* w unsigned (0..31), a signed: 8 int32 partial sums. */
static inline __m256i avx2_dot_u8(__m256i w, __m256i a)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(w, a), _mm256_set1_epi16(1));
}

/* 16 packed bytes to 32 codes in value order: low nibbles are values 0..15. */
static inline __m256i avx2_nibbles(const uint8_t *qs)
{
    __m128i q = _mm_loadu_si128((const __m128i *)qs);
    __m128i m = _mm_set1_epi8(0x0f);

    return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(q, 4), m), _mm_and_si128(q, m));
}

/* Byte j = 0x10 where bit j of the little-endian u32 at qh is set, else 0. */
static inline __m256i avx2_q5_high(const uint8_t *qh)
{
    const __m256i pick =
        _mm256_set_epi64x(0x0303030303030303LL, 0x0202020202020202LL, 0x0101010101010101LL, 0);
    const __m256i bit = _mm256_set1_epi64x((long long)0x8040201008040201ULL);
    uint32_t v;
    __m256i b;

    memcpy(&v, qh, sizeof v);
    b = _mm256_shuffle_epi8(_mm256_set1_epi32((int)v), pick);
    b = _mm256_cmpeq_epi8(_mm256_and_si256(b, bit), bit);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x10));
}

static inline __m256i avx2_ld32(const void *p)
{
    return _mm256_loadu_si256((const __m256i *)p);
}

/* Lane k = the sum of the eight lanes of v[k]: eight blocks' exact totals at once. */
static inline __m256i avx2_hsum8_i32(const __m256i *v)
{
    __m256i a = _mm256_hadd_epi32(_mm256_hadd_epi32(v[0], v[1]), _mm256_hadd_epi32(v[2], v[3]));
    __m256i b = _mm256_hadd_epi32(_mm256_hadd_epi32(v[4], v[5]), _mm256_hadd_epi32(v[6], v[7]));

    /* a's low 128 bits hold half of each of v[0..3]'s sums, its high 128 the other half */
    return _mm256_add_epi32(_mm256_permute2x128_si256(a, b, 0x20),
                            _mm256_permute2x128_si256(a, b, 0x31));
}

/* Lane k = the sum of the sixteen int16 of v[k], exact when every sum of eight of
 * them fits int16 (the caller's bound): hadd_epi16 folds without the per-block madd
 * that would otherwise keep the single vector multiply port busy. */
static inline __m256i avx2_hsum8_i16(const __m256i *v)
{
    __m256i a0 = _mm256_hadd_epi16(v[0], v[1]), a1 = _mm256_hadd_epi16(v[2], v[3]);
    __m256i a2 = _mm256_hadd_epi16(v[4], v[5]), a3 = _mm256_hadd_epi16(v[6], v[7]);
    /* each 128-bit half now holds one half-sum of every block, in block order */
    __m256i c = _mm256_hadd_epi16(_mm256_hadd_epi16(a0, a1), _mm256_hadd_epi16(a2, a3));

    return _mm256_add_epi32(_mm256_cvtepi16_epi32(_mm256_castsi256_si128(c)),
                            _mm256_cvtepi16_epi32(_mm256_extracti128_si256(c, 1)));
}

/* The fp16 field at byte off of eight consecutive blocks of stride bytes, widened
 * (exactly, as fp16_to_f32). Gathered in general registers: eight 2-byte stores
 * read back as one vector would stall on store forwarding. */
static inline __m256 avx2_half8(const void *blocks, size_t stride, size_t off)
{
    const uint8_t *p = (const uint8_t *)blocks + off;
    uint64_t lo = 0, hi = 0;
    int k;

    for (k = 0; k < 4; k++) {
        lo |= (uint64_t)avx2_ld_u16(p + (size_t)k * stride) << (16 * k);
        hi |= (uint64_t)avx2_ld_u16(p + (size_t)(k + 4) * stride) << (16 * k);
    }
    return _mm256_cvtph_ps(_mm_set_epi64x((long long)hi, (long long)lo));
}

/* quant_term_sym of eight blocks, lane k = block k; the same two f32 multiplies. */
static inline __m256 avx2_terms_sym(const void *bw, size_t sw, const void *ba, size_t sa,
                                    const __m256i *v)
{
    __m256 d = _mm256_mul_ps(avx2_half8(bw, sw, 0), avx2_half8(ba, sa, 0));

    return _mm256_mul_ps(d, _mm256_cvtepi32_ps(avx2_hsum8_i32(v)));
}

/* quant_term_off of eight blocks: m sits right after d in Q4_1 and Q5_1. */
_Static_assert(offsetof(block_q4_1, m) == 2 && offsetof(block_q5_1, m) == 2, "m after d");
static inline __m256 avx2_terms_off(const void *bw, size_t sw, const void *ba, size_t sa,
                                    const __m256i *vi, const __m256i *va)
{
    __m256 da = avx2_half8(ba, sa, 0);
    __m256 t = _mm256_mul_ps(_mm256_mul_ps(avx2_half8(bw, sw, 0), da),
                             _mm256_cvtepi32_ps(avx2_hsum8_i32(vi)));

    return _mm256_add_ps(t, _mm256_mul_ps(_mm256_mul_ps(avx2_half8(bw, sw, 2), da),
                                          _mm256_cvtepi32_ps(avx2_hsum8_i32(va))));
}

/* The 32 weights of one block as bytes: Q8_0, Q4_0 and Q5_0 signed (offset removed),
 * Q4_1 and Q5_1 as unsigned codes. */
typedef __m256i (*avx2_weights_fn)(const void *block);

static inline __m256i avx2_w_q8_0(const void *b)
{
    return avx2_ld32(((const block_q8_0 *)b)->qs);
}

static inline __m256i avx2_w_q4_0(const void *b)
{
    return _mm256_sub_epi8(avx2_nibbles(((const block_q4_0 *)b)->qs), _mm256_set1_epi8(8));
}

static inline __m256i avx2_w_q5_0(const void *b)
{
    const block_q5_0 *q5 = b;
    __m256i q = _mm256_or_si256(avx2_nibbles(q5->qs), avx2_q5_high(q5->qh));

    return _mm256_sub_epi8(q, _mm256_set1_epi8(16));
}

static inline __m256i avx2_w_q4_1(const void *b)
{
    return avx2_nibbles(((const block_q4_1 *)b)->qs);
}

static inline __m256i avx2_w_q5_1(const void *b)
{
    const block_q5_1 *q5 = b;

    return _mm256_or_si256(avx2_nibbles(q5->qs), avx2_q5_high(q5->qh));
}

/* Every 32-block dot: eight blocks per step into the lanes of acc, the remainder
 * block by block into the same lanes. off selects the unsigned-with-offset form
 * (term d*da*isum + m*da*asum) over the signed one (d*da*isum). Always inlined,
 * so each wrapper below compiles to a loop with wfn and off constant. */
static inline __attribute__((always_inline)) void avx2_dot_blocks(int64_t n, float *s,
                                                                  const void *w, const void *a,
                                                                  size_t wsize, avx2_weights_fn wfn,
                                                                  int off)
{
    const __m256i one = _mm256_set1_epi8(1);
    const uint8_t *pw = w;
    const block_q8_0 *ba = a;
    int64_t nb = n / QUANT_QK, i;
    __m256 acc = _mm256_setzero_ps();
    float lane[QUANT_BLANES];
    int k;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        const uint8_t *pb = pw + (size_t)i * wsize;
        __m256i vi[QUANT_BLANES], va[QUANT_BLANES];
        for (k = 0; k < QUANT_BLANES; k++) {
            __m256i x = wfn(pb + (size_t)k * wsize), y = avx2_ld32(ba[i + k].qs);
            vi[k] = off ? avx2_dot_u8(x, y) : avx2_dot_i8(x, y);
            va[k] = off ? avx2_dot_u8(one, y) : vi[k];
        }
        if (off)
            acc = _mm256_add_ps(acc, avx2_terms_off(pb, wsize, ba + i, sizeof *ba, vi, va));
        else
            acc = _mm256_add_ps(acc, avx2_terms_sym(pb, wsize, ba + i, sizeof *ba, vi));
    }
    _mm256_storeu_ps(lane, acc);
    for (; i < nb; i++) {
        const uint8_t *pb = pw + (size_t)i * wsize;
        __m256i x = wfn(pb), y = avx2_ld32(ba[i].qs);
        uint16_t d, m;
        memcpy(&d, pb, sizeof d); /* d leads every 32-block struct, m follows it */
        memcpy(&m, pb + 2, sizeof m);
        if (off)
            lane[i % QUANT_BLANES] +=
                quant_term_off(d, m, ba[i].d, avx2_hsum_i32(avx2_dot_u8(x, y)),
                               avx2_hsum_i32(avx2_dot_u8(one, y)));
        else
            lane[i % QUANT_BLANES] += quant_term_sym(d, ba[i].d, avx2_hsum_i32(avx2_dot_i8(x, y)));
    }
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

static void avx2_dot_q8_0(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q8_0), avx2_w_q8_0, 0);
}

static void avx2_dot_q4_0(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q4_0), avx2_w_q4_0, 0);
}

static void avx2_dot_q5_0(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q5_0), avx2_w_q5_0, 0);
}

static void avx2_dot_q4_1(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q4_1), avx2_w_q4_1, 1);
}

static void avx2_dot_q5_1(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q5_1), avx2_w_q5_1, 1);
}

/* ---- K-quant dots against Q8_K --------------------------------------------------- */

/* sc * (w*a) summed in pairs: codes <= 63 and |a| <= 127 keep maddubs in int16. */
static inline __m256i avx2_scaled(__m256i q, __m256i y, __m256i scale16)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), scale16);
}

static void avx2_dot_q4_K(int64_t n, float *s, const void *w, const void *a)
{
    const block_q4_K *bw = w;
    const block_q8_K *ba = a;
    const __m256i m4 = _mm256_set1_epi8(0x0f);
    float lane[QUANT_BLANES] = {0};
    int64_t i;
    int c;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        for (c = 0; c < 4; c++) {
            uint8_t s1, m1, s2, m2;
            __m256i q = avx2_ld32(bw[i].qs + 32 * c);
            quant_k4_scale_min(bw[i].scales, 2 * c, &s1, &m1);
            quant_k4_scale_min(bw[i].scales, 2 * c + 1, &s2, &m2);
            acc = _mm256_add_epi32(acc, avx2_scaled(_mm256_and_si256(q, m4),
                                                    avx2_ld32(ba[i].qs + 64 * c),
                                                    _mm256_set1_epi16(s1)));
            acc = _mm256_add_epi32(acc, avx2_scaled(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4),
                                                    avx2_ld32(ba[i].qs + 64 * c + 32),
                                                    _mm256_set1_epi16(s2)));
        }
        lane[i % QUANT_BLANES] += quant_term_k(bw[i].d, bw[i].dmin, ba[i].d, avx2_hsum_i32(acc),
                                               quant_k4_msum(bw[i].scales, &ba[i]));
    }
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

static void avx2_dot_q5_K(int64_t n, float *s, const void *w, const void *a)
{
    const block_q5_K *bw = w;
    const block_q8_K *ba = a;
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    float lane[QUANT_BLANES] = {0};
    int64_t i;
    int c;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        __m256i acc = _mm256_setzero_si256();
        /* bit 2c of each qh byte belongs to chunk c's low half, 2c+1 to its high
         * half; shifting the whole vector by 2 per chunk keeps both at bits 0, 1 */
        __m256i hb = avx2_ld32(bw[i].qh);
        for (c = 0; c < 4; c++) {
            uint8_t s1, m1, s2, m2;
            __m256i q = avx2_ld32(bw[i].qs + 32 * c);
            __m256i h0 = _mm256_slli_epi16(_mm256_and_si256(hb, one), 4);
            __m256i h1 = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4);
            __m256i q0 = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
            __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
            quant_k4_scale_min(bw[i].scales, 2 * c, &s1, &m1);
            quant_k4_scale_min(bw[i].scales, 2 * c + 1, &s2, &m2);
            acc = _mm256_add_epi32(
                acc, avx2_scaled(q0, avx2_ld32(ba[i].qs + 64 * c), _mm256_set1_epi16(s1)));
            acc = _mm256_add_epi32(
                acc, avx2_scaled(q1, avx2_ld32(ba[i].qs + 64 * c + 32), _mm256_set1_epi16(s2)));
            hb = _mm256_srli_epi16(hb, 2);
        }
        lane[i % QUANT_BLANES] += quant_term_k(bw[i].d, bw[i].dmin, ba[i].d, avx2_hsum_i32(acc),
                                               quant_k4_msum(bw[i].scales, &ba[i]));
    }
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* Codes are taken unsigned (0..63) for maddubs; the -32 offset comes back as
 * 32 * sum_j scale_j * bsum_j, exact in int32. */
static void avx2_dot_q6_K(int64_t n, float *s, const void *w, const void *a)
{
    const block_q6_K *bw = w;
    const block_q8_K *ba = a;
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    float lane[QUANT_BLANES] = {0};
    int64_t i;
    int h, k, j;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        const int8_t *sc = bw[i].scales;
        __m256i acc = _mm256_setzero_si256();
        int32_t bias = 0;
        for (h = 0; h < 2; h++) {
            __m256i l0 = avx2_ld32(bw[i].ql + 64 * h);
            __m256i l1 = avx2_ld32(bw[i].ql + 64 * h + 32);
            __m256i qh = avx2_ld32(bw[i].qh + 32 * h);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(l0, m4),
                                   _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
            q[1] = _mm256_or_si256(_mm256_and_si256(l1, m4),
                                   _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4),
                                   _mm256_and_si256(qh, m2));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                                   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
            for (k = 0; k < 4; k++) {
                int g = 8 * h + 2 * k; /* scale index of the first 16 values */
                __m256i sv = _mm256_set_m128i(_mm_set1_epi16(sc[g + 1]), _mm_set1_epi16(sc[g]));
                acc = _mm256_add_epi32(
                    acc, avx2_scaled(q[k], avx2_ld32(ba[i].qs + 128 * h + 32 * k), sv));
            }
        }
        for (j = 0; j < 16; j++)
            bias += (int32_t)sc[j] * ba[i].bsums[j];
        lane[i % QUANT_BLANES] +=
            quant_term_f(fp16_to_f32(bw[i].d), ba[i].d, avx2_hsum_i32(acc) - 32 * bias);
    }
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* ---- activation quantizers ------------------------------------------------------- */

static inline float avx2_absmax32(const float *x)
{
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_setzero_ps();
    int k;

    /* operand order matters: max_ps returns its second operand for NaN, and the
     * reference skips NaN, so the running max goes second */
    for (k = 0; k < 4; k++)
        m = _mm256_max_ps(_mm256_andnot_ps(sign, _mm256_loadu_ps(x + 8 * k)), m);
    return avx2_hmax_ps(m);
}

/* 32 floats times id, clamped and rounded as quant_round_q8, stored as int8. */
static inline void avx2_round32(const float *x, float id, int8_t *q)
{
    const __m256 lo = _mm256_set1_ps(-127.0f), hi = _mm256_set1_ps(127.0f);
    const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
    __m256 vid = _mm256_set1_ps(id);
    __m256i r[4], p;
    int k;

    for (k = 0; k < 4; k++) {
        __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid);
        v = _mm256_min_ps(_mm256_max_ps(v, lo), hi);
        /* clamping first is equivalent: the bounds are integers */
        r[k] = _mm256_cvtps_epi32(v);
    }
    p = _mm256_packs_epi16(_mm256_packs_epi32(r[0], r[1]), _mm256_packs_epi32(r[2], r[3]));
    _mm256_storeu_si256((__m256i *)q, _mm256_permutevar8x32_epi32(p, order));
}

static void avx2_q8_0_from_f32(const float *x, void *y, int64_t n)
{
    block_q8_0 *b = y;
    int64_t i;

    for (i = 0; i < n / QUANT_QK; i++) {
        const float *xb = x + i * QUANT_QK;
        uint16_t h = fp16_from_f32(avx2_absmax32(xb) / 127.0f);
        float d = fp16_to_f32(h);
        b[i].d = h;
        avx2_round32(xb, d != 0.0f ? 1.0f / d : 0.0f, b[i].qs);
    }
}

static void avx2_q8_K_from_f32(const float *x, void *y, int64_t n)
{
    block_q8_K *b = y;
    int64_t i;
    int k, j;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        const float *xb = x + i * QUANT_QK_K;
        float amax = 0.0f, d, id;
        for (k = 0; k < QUANT_QK_K / 32; k++) {
            float m = avx2_absmax32(xb + 32 * k);
            amax = m > amax ? m : amax;
        }
        d = amax / 127.0f;
        id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = d;
        for (k = 0; k < QUANT_QK_K / 32; k++)
            avx2_round32(xb + 32 * k, id, b[i].qs + 32 * k);
        for (k = 0; k < 16; k++) {
            int sum = 0;
            for (j = 0; j < 16; j++)
                sum += b[i].qs[16 * k + j];
            b[i].bsums[k] = (int16_t)sum;
        }
    }
}

void quant_avx2_fill(quant_table *t)
{
    t->k[TENSOR_TYPE_F32].dot = avx2_dot_f32;
    t->k[TENSOR_TYPE_F16].dot = avx2_dot_f16;
    t->k[TENSOR_TYPE_BF16].dot = avx2_dot_bf16;
    t->k[TENSOR_TYPE_Q8_0].dot = avx2_dot_q8_0;
    t->k[TENSOR_TYPE_Q8_0].from_f32 = avx2_q8_0_from_f32;
    t->k[TENSOR_TYPE_Q4_0].dot = avx2_dot_q4_0;
    t->k[TENSOR_TYPE_Q4_1].dot = avx2_dot_q4_1;
    t->k[TENSOR_TYPE_Q5_0].dot = avx2_dot_q5_0;
    t->k[TENSOR_TYPE_Q5_1].dot = avx2_dot_q5_1;
    t->k[TENSOR_TYPE_Q4_K].dot = avx2_dot_q4_K;
    t->k[TENSOR_TYPE_Q5_K].dot = avx2_dot_q5_K;
    t->k[TENSOR_TYPE_Q6_K].dot = avx2_dot_q6_K;
    t->k[TENSOR_TYPE_Q8_K].from_f32 = avx2_q8_K_from_f32;
}

#else

/* Built without AVX2 (not x86): the dispatcher never offers this table. */
void quant_avx2_fill(quant_table *t)
{
    (void)t;
}

#endif
