/* AVX2 (+FMA, F16C) kernels: float dots, the integer dots of every 32-block and
 * K-quant type (and their four-activation dot4 forms, for prefill), and the two
 * activation quantizers; built with only these flags. The panel kernels are in
 * quant_avx2_panel.c.
 * Bit-identical to quant_ref.c: float dots keep its 32 lanes (mul then add, no FMA);
 * integer dots form each block's exact int32 sum, eight blocks' at once, and apply
 * the shared f32 term into the same 8 block lanes (see quant_impl.h). */
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
        quant_row_prefetch(pw + 4 * i, 4 * QUANT_LANES);
        for (k = 0; k < 4; k++) {
            __m256 x = _mm256_loadu_ps((const float *)(pw + 4 * (i + 8 * k)));
            __m256 y = _mm256_loadu_ps((const float *)(pa + 4 * (i + 8 * k)));
            acc[k] = _mm256_add_ps(acc[k], _mm256_mul_ps(x, y));
        }
    }
    for (k = 0; k < 4; k++)
        _mm256_storeu_ps(lane + 8 * k, acc[k]);
    for (; i < n; i++)
        lane[i % QUANT_LANES] += quant_ld_f32(pw + 4 * i) * quant_ld_f32(pa + 4 * i);
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
        quant_row_prefetch(pw + 2 * i, 2 * QUANT_LANES);
        for (k = 0; k < 4; k++) {
            __m256 x = avx2_ld8_f16(pw + 2 * (i + 8 * k));
            __m256 y = _mm256_loadu_ps((const float *)(pa + 4 * (i + 8 * k)));
            acc[k] = _mm256_add_ps(acc[k], _mm256_mul_ps(x, y));
        }
    }
    for (k = 0; k < 4; k++)
        _mm256_storeu_ps(lane + 8 * k, acc[k]);
    for (; i < n; i++)
        lane[i % QUANT_LANES] += fp16_to_f32(quant_ld_u16(pw + 2 * i)) * quant_ld_f32(pa + 4 * i);
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
        quant_row_prefetch(pw + 2 * i, 2 * QUANT_LANES);
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
            fp16_bf16_to_f32(quant_ld_u16(pw + 2 * i)) * quant_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

/* Four activation rows against one float weight row. Sixteen accumulators (four
 * rows times ref's 32 lanes) would not fit the 16 registers, so the row is walked
 * twice, lanes 0..15 then 16..31: each lane still sees its elements in order, and
 * the weight row is read from L1 the second time. kind: 0 F32, 1 F16, 2 BF16. */
static inline __attribute__((always_inline)) __m256 avx2_ld8_w(const uint8_t *pw, int64_t e,
                                                               int kind)
{
    if (kind == 0)
        return _mm256_loadu_ps((const float *)(pw + 4 * e));
    return kind == 1 ? avx2_ld8_f16(pw + 2 * e) : avx2_ld8_bf16(pw + 2 * e);
}

static inline __attribute__((always_inline)) float avx2_ld1_w(const uint8_t *pw, int64_t e,
                                                              int kind)
{
    if (kind == 0)
        return quant_ld_f32(pw + 4 * e);
    return kind == 1 ? fp16_to_f32(quant_ld_u16(pw + 2 * e))
                     : fp16_bf16_to_f32(quant_ld_u16(pw + 2 * e));
}

static inline __attribute__((always_inline)) void
avx2_dot4_float(int64_t n, float *s, const void *w, const void *a, size_t a_stride, int kind)
{
    const uint8_t *pw = w, *pa = a;
    float lane[4][QUANT_LANES];
    int64_t i = 0, e;
    int h, j, k;

    for (h = 0; h < 2; h++) {
        __m256 acc[4][2];
        for (j = 0; j < 4; j++)
            acc[j][0] = acc[j][1] = _mm256_setzero_ps();
        for (i = 0; i + QUANT_LANES <= n; i += QUANT_LANES) {
#pragma GCC unroll 2
            for (k = 0; k < 2; k++) {
                e = i + 8 * (2 * h + k);
                __m256 x = avx2_ld8_w(pw, e, kind);
#pragma GCC unroll 4
                for (j = 0; j < 4; j++) {
                    __m256 y = _mm256_loadu_ps((const float *)(pa + (size_t)j * a_stride + 4 * e));
                    acc[j][k] = _mm256_add_ps(acc[j][k], _mm256_mul_ps(x, y));
                }
            }
        }
        for (j = 0; j < 4; j++)
            for (k = 0; k < 2; k++)
                _mm256_storeu_ps(lane[j] + 8 * (2 * h + k), acc[j][k]);
    }
    for (j = 0; j < 4; j++) {
        const uint8_t *pj = pa + (size_t)j * a_stride;
        for (e = i; e < n; e++)
            lane[j][e % QUANT_LANES] += avx2_ld1_w(pw, e, kind) * quant_ld_f32(pj + 4 * e);
        s[j] = quant_lanes_sum(lane[j], QUANT_LANES);
    }
}

static void avx2_dot4_f32(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_float(n, s, w, a, a_stride, 0);
}

static void avx2_dot4_f16(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_float(n, s, w, a, a_stride, 1);
}

static void avx2_dot4_bf16(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_float(n, s, w, a, a_stride, 2);
}

/* ---- 32-block integer dots against Q8_0 ------------------------------------------ */

/* y += a * x, eight at a time as a multiply then an add (no FMA: the scalar bits). */
static inline __attribute__((always_inline)) void avx2_axpy(int64_t n, float a, const uint8_t *p,
                                                            float *y, int kind)
{
    const __m256 va = _mm256_set1_ps(a);
    int64_t i;

    for (i = 0; i + 8 <= n; i += 8) {
        __m256 x = kind == 0   ? _mm256_loadu_ps((const float *)(p + 4 * i))
                   : kind == 1 ? avx2_ld8_f16(p + 2 * i)
                               : avx2_ld8_bf16(p + 2 * i);
        _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, x)));
    }
    quant_axpy_range(i, n, a, p, y, kind);
}

QUANT_AXPY_ENTRIES(avx2)

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

/* Software prefetch of the weight stream 512 bytes ahead, one hint per cache line
 * of [p, p + bytes): with two cores sharing the memory bus the hardware prefetcher
 * alone left Q8_0 matvec at about 0.7 of read bandwidth (about 0.8 with it). Hints
 * past the end of the row never fault and warm the next row. */
static inline __attribute__((always_inline)) void avx2_prefetch(const void *p, size_t bytes)
{
    size_t o;

    for (o = 0; o < bytes; o += 64)
        _mm_prefetch((const char *)p + 512 + o, _MM_HINT_T0);
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
 * (exactly, as fp16_to_f32). Inserted word by word into two vectors (two short
 * chains): eight 2-byte stores read back as one vector would stall on store
 * forwarding, and shifting them together in general registers took more
 * instructions (the inserts measured about 6% faster on an in-cache Q4_0 dot). */
static inline __m256 avx2_half8(const void *blocks, size_t stride, size_t off)
{
    const uint8_t *p = (const uint8_t *)blocks + off;
    __m128i lo = _mm_cvtsi32_si128(quant_ld_u16(p)),
            hi = _mm_cvtsi32_si128(quant_ld_u16(p + 4 * stride));

    lo = _mm_insert_epi16(lo, quant_ld_u16(p + stride), 1);
    hi = _mm_insert_epi16(hi, quant_ld_u16(p + 5 * stride), 1);
    lo = _mm_insert_epi16(lo, quant_ld_u16(p + 2 * stride), 2);
    hi = _mm_insert_epi16(hi, quant_ld_u16(p + 6 * stride), 2);
    lo = _mm_insert_epi16(lo, quant_ld_u16(p + 3 * stride), 3);
    hi = _mm_insert_epi16(hi, quant_ld_u16(p + 7 * stride), 3);
    return _mm256_cvtph_ps(_mm_unpacklo_epi64(lo, hi));
}

/* quant_term_sym of eight blocks, lane k = block k, the activation scales read
 * widened from the sidecar at da; the same two f32 multiplies. */
static inline __m256 avx2_terms_sym(const void *bw, size_t sw, const uint8_t *da, __m256i isum)
{
    __m256 d = _mm256_mul_ps(avx2_half8(bw, sw, 0), _mm256_loadu_ps((const float *)da));

    return _mm256_mul_ps(d, _mm256_cvtepi32_ps(isum));
}

/* quant_term_off of eight blocks: m sits right after d in Q4_1 and Q5_1. */
_Static_assert(offsetof(block_q4_1, m) == 2 && offsetof(block_q5_1, m) == 2, "m after d");
static inline __m256 avx2_terms_off(const void *bw, size_t sw, const uint8_t *da_p, __m256i isum,
                                    __m256i asum)
{
    __m256 da = _mm256_loadu_ps((const float *)da_p);
    __m256 t = _mm256_mul_ps(_mm256_mul_ps(avx2_half8(bw, sw, 0), da), _mm256_cvtepi32_ps(isum));

    return _mm256_add_ps(
        t, _mm256_mul_ps(_mm256_mul_ps(avx2_half8(bw, sw, 2), da), _mm256_cvtepi32_ps(asum)));
}

/* The sidecar's code sums of eight blocks at p, widened to int32. */
static inline __m256i avx2_sums8(const uint8_t *p)
{
    return _mm256_cvtepi16_epi32(_mm_loadu_si128((const __m128i *)p));
}

/* The 32 weights of one block as bytes: Q8_0, Q4_0 and Q5_0 signed (offset removed),
 * Q4_1 and Q5_1 as unsigned codes. */
typedef __m256i (*avx2_weights_fn)(const void *block);

static inline __m256i avx2_w_q8_0(const void *b)
{
    return avx2_ld32(((const block_q8_0 *)b)->qs);
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
 * (term d*da*isum + m*da*asum, asum from the sidecar) over the signed one
 * (d*da*isum). Always inlined, so each wrapper below compiles to a loop with wfn
 * and off constant. */
static inline __attribute__((always_inline)) void avx2_dot_blocks(int64_t n, float *s,
                                                                  const void *w, const void *a,
                                                                  size_t wsize, avx2_weights_fn wfn,
                                                                  int off, int narrow)
{
    const uint8_t *pw = w;
    const block_q8_0 *ba = a;
    int64_t nb = n / QUANT_QK, i;
    const uint8_t *sd = (const uint8_t *)a + quant_act_scales_off(nb);
    const uint8_t *ss = (const uint8_t *)a + quant_act_sums_off(nb);
    __m256 acc = _mm256_setzero_ps();
    float lane[QUANT_BLANES];
    int k;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        const uint8_t *pb = pw + (size_t)i * wsize;
        __m256i vi[QUANT_BLANES], si;
        avx2_prefetch(pb, QUANT_BLANES * wsize);
#pragma GCC unroll 8
        for (k = 0; k < QUANT_BLANES; k++) {
            __m256i x = wfn(pb + (size_t)k * wsize), y = avx2_ld32(ba[i + k].qs);
            if (narrow)
                vi[k] = off ? _mm256_maddubs_epi16(x, y)
                            : _mm256_maddubs_epi16(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
            else
                vi[k] = off ? avx2_dot_u8(x, y) : avx2_dot_i8(x, y);
        }
        si = narrow ? avx2_hsum8_i16(vi) : avx2_hsum8_i32(vi);
        if (off)
            acc = _mm256_add_ps(acc, avx2_terms_off(pb, wsize, sd + (size_t)i * sizeof(float), si,
                                                    avx2_sums8(ss + (size_t)i * 2)));
        else
            acc = _mm256_add_ps(acc, avx2_terms_sym(pb, wsize, sd + (size_t)i * sizeof(float), si));
    }
    _mm256_storeu_ps(lane, acc);
    for (; i < nb; i++) {
        const uint8_t *pb = pw + (size_t)i * wsize;
        __m256i x = wfn(pb), y = avx2_ld32(ba[i].qs);
        uint16_t d, m;
        memcpy(&d, pb, sizeof d); /* d leads every 32-block struct, m follows it */
        memcpy(&m, pb + 2, sizeof m);
        if (off)
            lane[i % QUANT_BLANES] += quant_term_off(
                d, m, ba[i].d, avx2_hsum_i32(avx2_dot_u8(x, y)), quant_act_sum(ss, 0, i));
        else
            lane[i % QUANT_BLANES] += quant_term_sym(d, ba[i].d, avx2_hsum_i32(avx2_dot_i8(x, y)));
    }
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

static void avx2_dot_q8_0(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q8_0), avx2_w_q8_0, 0, 0);
}

/* One Q4_0 block's codes (0..15) in value order as two 128-bit halves: the low
 * nibbles are values 0..15 and meet activations 0..15 where they lie, so no
 * cross-lane insert is needed (slow on CPUs that split 256-bit ops). */
static inline void avx2_q4_0_unpack(const block_q4_0 *b, __m128i *lo, __m128i *hi)
{
    const __m128i m4 = _mm_set1_epi8(0x0f);
    __m128i q = _mm_loadu_si128((const __m128i *)b->qs);

    *lo = _mm_and_si128(q, m4);
    *hi = _mm_and_si128(_mm_srli_epi16(q, 4), m4);
}

/* Codes times one activation block as eight int16 partial sums. A pair of
 * products is at most 2*15*127 = 3810 (no maddubs saturation), a lane twice that.
 * The weights' offset of 8 comes off the block totals with the sidecar's sums. */
static inline __m128i avx2_q4_0_mul(__m128i lo, __m128i hi, const block_q8_0 *a)
{
    __m128i y0 = _mm_loadu_si128((const __m128i *)a->qs);
    __m128i y1 = _mm_loadu_si128((const __m128i *)(a->qs + 16));

    return _mm_add_epi16(_mm_maddubs_epi16(lo, y0), _mm_maddubs_epi16(hi, y1));
}

static inline __m128i avx2_q4_0_codes(const block_q4_0 *b, const block_q8_0 *a)
{
    __m128i lo, hi;

    avx2_q4_0_unpack(b, &lo, &hi);
    return avx2_q4_0_mul(lo, hi, a);
}

/* The fold of eight blocks' int16 products to eight totals is a transpose-and-add
 * tree of single-uop unpacks (hadd costs several uops at half the throughput on
 * the CPUs this targets): fold16 of blocks (0,1), (2,3), ..., fold32 of those
 * pairs, then avx2_q4_0_isum_last. The adds wrap (a block's code products reach
 * 32*15*127 = 60960), but every step is exact modulo 2^16 and the true result,
 * sum of (code-8)*a, lies within +-32*8*127 = 32512, so once 8 * sum a is taken
 * off the int16 left is exact. */
static inline __m128i avx2_fold16(__m128i a, __m128i b)
{
    return _mm_add_epi16(_mm_unpacklo_epi16(a, b), _mm_unpackhi_epi16(a, b));
}

static inline __m128i avx2_fold32(__m128i a, __m128i b)
{
    return _mm_add_epi16(_mm_unpacklo_epi32(a, b), _mm_unpackhi_epi32(a, b));
}

/* The tree's last level: s03 and s47 (blocks 0..3 and 4..7 folded) to the eight
 * isums, the offset taken off with the sidecar sums at sums. */
static inline __m256i avx2_q4_0_isum_last(__m128i s03, __m128i s47, const uint8_t *sums)
{
    __m128i c = _mm_add_epi16(_mm_unpacklo_epi64(s03, s47), _mm_unpackhi_epi64(s03, s47));
    __m128i off = _mm_slli_epi16(_mm_loadu_si128((const __m128i *)sums), 3);

    return _mm256_cvtepi16_epi32(_mm_sub_epi16(c, off));
}

/* One block's isum for the remainder loop, in int32 throughout. */
static inline int32_t avx2_q4_0_isum1(const block_q4_0 *b, const block_q8_0 *a, const uint8_t *sum)
{
    int16_t s;

    memcpy(&s, sum, sizeof s);
    return avx2_hsum_i32(_mm256_cvtepi16_epi32(avx2_q4_0_codes(b, a))) - 8 * (int32_t)s;
}

static void avx2_dot_q4_0(int64_t n, float *s, const void *w, const void *a)
{
    const block_q4_0 *bw = w;
    const block_q8_0 *ba = a;
    int64_t nb = n / QUANT_QK, i;
    const uint8_t *sd = (const uint8_t *)a + quant_act_scales_off(nb);
    const uint8_t *ss = (const uint8_t *)a + quant_act_sums_off(nb);
    __m256 acc = _mm256_setzero_ps();
    float lane[QUANT_BLANES];

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        __m128i s03, s47;
        __m256 d;
        avx2_prefetch(bw + i, sizeof *bw * QUANT_BLANES);
        /* folded pair by pair as the products come, which keeps them in registers */
        s03 = avx2_fold32(
            avx2_fold16(avx2_q4_0_codes(&bw[i], &ba[i]), avx2_q4_0_codes(&bw[i + 1], &ba[i + 1])),
            avx2_fold16(avx2_q4_0_codes(&bw[i + 2], &ba[i + 2]),
                        avx2_q4_0_codes(&bw[i + 3], &ba[i + 3])));
        s47 = avx2_fold32(avx2_fold16(avx2_q4_0_codes(&bw[i + 4], &ba[i + 4]),
                                      avx2_q4_0_codes(&bw[i + 5], &ba[i + 5])),
                          avx2_fold16(avx2_q4_0_codes(&bw[i + 6], &ba[i + 6]),
                                      avx2_q4_0_codes(&bw[i + 7], &ba[i + 7])));
        /* the two multiplies of quant_term_sym, the scales widened as it does */
        d = _mm256_mul_ps(avx2_half8(bw + i, sizeof *bw, 0),
                          _mm256_loadu_ps((const float *)(sd + (size_t)i * sizeof(float))));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(d, _mm256_cvtepi32_ps(avx2_q4_0_isum_last(
                                                      s03, s47, ss + (size_t)i * 2))));
    }
    _mm256_storeu_ps(lane, acc);
    for (; i < nb; i++)
        lane[i % QUANT_BLANES] +=
            quant_term_sym(bw[i].d, ba[i].d, avx2_q4_0_isum1(&bw[i], &ba[i], ss + (size_t)i * 2));
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

static void avx2_dot_q5_0(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q5_0), avx2_w_q5_0, 0, 1);
}

static void avx2_dot_q4_1(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q4_1), avx2_w_q4_1, 1, 1);
}

static void avx2_dot_q5_1(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_blocks(n, s, w, a, sizeof(block_q5_1), avx2_w_q5_1, 1, 0);
}

/* avx2_dot_blocks for four activation rows: each group of eight weight blocks is
 * unpacked (and, signed, made absolute) once, its fp16 scales widened once, then
 * every row forms exactly the integer sums and terms of avx2_dot_blocks. */
static inline __attribute__((always_inline)) void
avx2_dot4_blocks(int64_t n, float *s, const void *w, const void *a, size_t a_stride, size_t wsize,
                 avx2_weights_fn wfn, int off, int narrow)
{
    const uint8_t *pw = w;
    int64_t nb = n / QUANT_QK, i;
    const size_t sd_off = quant_act_scales_off(nb), ss_off = quant_act_sums_off(nb);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float lane[4][QUANT_BLANES];
    int j, k;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        const uint8_t *pb = pw + (size_t)i * wsize;
        __m256i xu[QUANT_BLANES], xs[QUANT_BLANES];
        __m256 dw = avx2_half8(pb, wsize, 0), mw = _mm256_setzero_ps();
        if (off)
            mw = avx2_half8(pb, wsize, 2);
#pragma GCC unroll 8
        for (k = 0; k < QUANT_BLANES; k++) {
            __m256i x = wfn(pb + (size_t)k * wsize);
            xu[k] = off ? x : _mm256_sign_epi8(x, x);
            xs[k] = x;
        }
        for (j = 0; j < 4; j++) {
            const uint8_t *aj = (const uint8_t *)a + (size_t)j * a_stride;
            const block_q8_0 *ba = (const block_q8_0 *)aj;
            __m256i vi[QUANT_BLANES], si;
            __m256 da = _mm256_loadu_ps((const float *)(aj + sd_off + (size_t)i * sizeof(float)));
#pragma GCC unroll 8
            for (k = 0; k < QUANT_BLANES; k++) {
                __m256i y = avx2_ld32(ba[i + k].qs);
                __m256i p = _mm256_maddubs_epi16(xu[k], off ? y : _mm256_sign_epi8(y, xs[k]));
                vi[k] = narrow ? p : _mm256_madd_epi16(p, _mm256_set1_epi16(1));
            }
            si = narrow ? avx2_hsum8_i16(vi) : avx2_hsum8_i32(vi);
            /* the operations of avx2_terms_sym / avx2_terms_off, in their order */
            if (off) {
                __m256i sa = avx2_sums8(aj + ss_off + (size_t)i * 2);
                acc[j] = _mm256_add_ps(
                    acc[j],
                    _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(si)),
                                  _mm256_mul_ps(_mm256_mul_ps(mw, da), _mm256_cvtepi32_ps(sa))));
            } else
                acc[j] = _mm256_add_ps(
                    acc[j], _mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(si)));
        }
    }
    for (j = 0; j < 4; j++)
        _mm256_storeu_ps(lane[j], acc[j]);
    for (; i < nb; i++) {
        const uint8_t *pb = pw + (size_t)i * wsize;
        __m256i x = wfn(pb);
        uint16_t d, m;
        memcpy(&d, pb, sizeof d);
        memcpy(&m, pb + 2, sizeof m);
        for (j = 0; j < 4; j++) {
            const uint8_t *aj = (const uint8_t *)a + (size_t)j * a_stride;
            const block_q8_0 *ba = (const block_q8_0 *)aj;
            __m256i y = avx2_ld32(ba[i].qs);
            if (off)
                lane[j][i % QUANT_BLANES] += quant_term_off(
                    d, m, ba[i].d, avx2_hsum_i32(avx2_dot_u8(x, y)), quant_act_sum(aj, ss_off, i));
            else
                lane[j][i % QUANT_BLANES] +=
                    quant_term_sym(d, ba[i].d, avx2_hsum_i32(avx2_dot_i8(x, y)));
        }
    }
    for (j = 0; j < 4; j++)
        s[j] = quant_lanes_sum(lane[j], QUANT_BLANES);
}

/* Blocks b[0..3] against block i..i+3 of four activation rows (stride apart),
 * folded to the tree's s03 level per row. Each pair of blocks is unpacked once
 * and met by every row before the next, so the codes stay in registers (maddubs
 * takes only its signed operand from memory). */
static inline __attribute__((always_inline)) void
avx2_q4_0_fold4(const block_q4_0 *b, const uint8_t *a, size_t stride, int64_t i, __m128i *out)
{
    __m128i lo0, hi0, lo1, hi1, s01[4];
    int j;

    avx2_q4_0_unpack(&b[0], &lo0, &hi0);
    avx2_q4_0_unpack(&b[1], &lo1, &hi1);
#pragma GCC unroll 4
    for (j = 0; j < 4; j++) {
        const block_q8_0 *ba = (const block_q8_0 *)(a + (size_t)j * stride) + i;
        s01[j] = avx2_fold16(avx2_q4_0_mul(lo0, hi0, &ba[0]), avx2_q4_0_mul(lo1, hi1, &ba[1]));
    }
    avx2_q4_0_unpack(&b[2], &lo0, &hi0);
    avx2_q4_0_unpack(&b[3], &lo1, &hi1);
#pragma GCC unroll 4
    for (j = 0; j < 4; j++) {
        const block_q8_0 *ba = (const block_q8_0 *)(a + (size_t)j * stride) + i;
        out[j] = avx2_fold32(
            s01[j], avx2_fold16(avx2_q4_0_mul(lo0, hi0, &ba[2]), avx2_q4_0_mul(lo1, hi1, &ba[3])));
    }
}

/* avx2_dot_q4_0 for four activation rows: each block's codes are unpacked once
 * and its scales widened once; each row then forms the same exact isums (the
 * same int16 tree, modulo 2^16) and float terms as the dot. */
static void avx2_dot4_q4_0(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    const block_q4_0 *bw = w;
    const uint8_t *pa = a;
    int64_t nb = n / QUANT_QK, i;
    const size_t sd_off = quant_act_scales_off(nb), ss_off = quant_act_sums_off(nb);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float lane[4][QUANT_BLANES];
    int j;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        __m128i s03[4], s47[4];
        __m256 dw = avx2_half8(bw + i, sizeof *bw, 0);
        avx2_prefetch(bw + i, sizeof *bw * QUANT_BLANES);
        avx2_q4_0_fold4(bw + i, pa, a_stride, i, s03);
        avx2_q4_0_fold4(bw + i + 4, pa, a_stride, i + 4, s47);
#pragma GCC unroll 4
        for (j = 0; j < 4; j++) {
            const uint8_t *aj = pa + (size_t)j * a_stride;
            __m256 da = _mm256_loadu_ps((const float *)(aj + sd_off + (size_t)i * sizeof(float)));
            __m256i si = avx2_q4_0_isum_last(s03[j], s47[j], aj + ss_off + (size_t)i * 2);
            acc[j] =
                _mm256_add_ps(acc[j], _mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(si)));
        }
    }
    for (j = 0; j < 4; j++)
        _mm256_storeu_ps(lane[j], acc[j]);
    for (; i < nb; i++) {
        for (j = 0; j < 4; j++) {
            const uint8_t *aj = pa + (size_t)j * a_stride;
            const block_q8_0 *ba = (const block_q8_0 *)aj;
            lane[j][i % QUANT_BLANES] += quant_term_sym(
                bw[i].d, ba[i].d, avx2_q4_0_isum1(&bw[i], &ba[i], aj + ss_off + (size_t)i * 2));
        }
    }
    for (j = 0; j < 4; j++)
        s[j] = quant_lanes_sum(lane[j], QUANT_BLANES);
}

static void avx2_dot4_q5_0(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_blocks(n, s, w, a, a_stride, sizeof(block_q5_0), avx2_w_q5_0, 0, 1);
}

static void avx2_dot4_q4_1(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_blocks(n, s, w, a, a_stride, sizeof(block_q4_1), avx2_w_q4_1, 1, 1);
}

static void avx2_dot4_q5_1(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_blocks(n, s, w, a, a_stride, sizeof(block_q5_1), avx2_w_q5_1, 1, 0);
}

/* ---- K-quant dots against Q8_K --------------------------------------------------- */

/* Each super-block's exact int32 sums stay in vectors (8 partial sums each) until
 * eight super-blocks are done; one hadd tree then gives their totals, and the f32
 * terms of quant_term_k / quant_term_f are formed for the eight at once, lane k =
 * block k, which is the reference's lane order. */

/* sc * (w*a) summed in pairs: codes <= 63 and |a| <= 127 keep maddubs in int16. */
static inline __m256i avx2_scaled(__m256i q, __m256i y, __m256i scale16)
{
    return _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), scale16);
}

/* The 8 scales (bytes 0..7) and 8 mins (bytes 8..15) of a Q4_K/Q5_K scales field,
 * as quant_k4_scale_min gives them, decoded four at a time in 32-bit words. */
static inline __m128i avx2_k4_scales(const uint8_t *s)
{
    const uint32_t m6 = 0x3f3f3f3fu, m4 = 0x0f0f0f0fu, m2 = 0x03030303u;
    uint32_t u[3], sc_lo, sc_hi, mn_lo, mn_hi;

    memcpy(u, s, sizeof u);
    sc_lo = u[0] & m6;
    mn_lo = u[1] & m6;
    sc_hi = (u[2] & m4) | ((u[0] >> 6) & m2) << 4;
    mn_hi = ((u[2] >> 4) & m4) | ((u[1] >> 6) & m2) << 4;
    return _mm_set_epi32((int)mn_hi, (int)mn_lo, (int)sc_hi, (int)sc_lo);
}

/* msum of quant_k4_msum as 8 int32 partial sums (upper four zero): mins times the
 * pairwise sums of bsums, exact (|pair| <= 4064). */
static inline __m256i avx2_k4_msum(__m128i scmn, const block_q8_K *a)
{
    __m128i mins = _mm_cvtepu8_epi16(_mm_unpackhi_epi64(scmn, scmn));
    __m128i b0 = _mm_loadu_si128((const __m128i *)a->bsums);
    __m128i b1 = _mm_loadu_si128((const __m128i *)(a->bsums + 8));

    return _mm256_zextsi128_si256(_mm_madd_epi16(mins, _mm_hadd_epi16(b0, b1)));
}

/* The f32 d of eight consecutive Q8_K blocks, lane k = block k. */
static inline __m256 avx2_q8K_d8(const block_q8_K *a)
{
    return _mm256_setr_ps(a[0].d, a[1].d, a[2].d, a[3].d, a[4].d, a[5].d, a[6].d, a[7].d);
}

/* (d*da)*isum - (dmin*da)*msum for eight super-blocks whose d and dmin lead the block. */
static inline __m256 avx2_terms_kd(__m256 dw, __m256 dminw, const block_q8_K *ba, const __m256i *vi,
                                   const __m256i *vm)
{
    __m256 da = avx2_q8K_d8(ba);
    __m256 t = _mm256_mul_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(avx2_hsum8_i32(vi)));

    return _mm256_sub_ps(
        t, _mm256_mul_ps(_mm256_mul_ps(dminw, da), _mm256_cvtepi32_ps(avx2_hsum8_i32(vm))));
}

static inline __m256 avx2_terms_k(const void *bw, size_t sw, const block_q8_K *ba,
                                  const __m256i *vi, const __m256i *vm)
{
    return avx2_terms_kd(avx2_half8(bw, sw, 0), avx2_half8(bw, sw, 2), ba, vi, vm);
}

/* Sub-block scales as int16 pairs for madd: word 2c of sc16 is chunk c's low half,
 * 2c+1 its high half; shuffle masks broadcast one word to the whole vector. */
static inline __m256i avx2_bcast_w(__m256i sc16, int w)
{
    const __m256i idx = _mm256_set1_epi16((short)(0x0100 + 0x0202 * w));

    return _mm256_shuffle_epi8(sc16, idx);
}

/* The int32 partial sums of one Q4_K (qh == NULL) or Q5_K super-block. */
static inline __attribute__((always_inline)) __m256i
avx2_k45_block(const uint8_t *qs, const uint8_t *qh, __m128i scmn, const int8_t *q8)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scmn));
    __m256i acc = _mm256_setzero_si256(), hb = _mm256_setzero_si256();
    int c;

    if (qh)
        hb = avx2_ld32(qh);
#pragma GCC unroll 4
    for (c = 0; c < 4; c++) {
        __m256i q = avx2_ld32(qs + 32 * c);
        __m256i q0 = _mm256_and_si256(q, m4);
        __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        if (qh) {
            /* bit 2c of each qh byte is chunk c's low half, 2c+1 its high half;
             * shifting by 2 per chunk keeps both at bits 0, 1 */
            q0 = _mm256_or_si256(q0, _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
            q1 = _mm256_or_si256(
                q1, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
            hb = _mm256_srli_epi16(hb, 2);
        }
        acc = _mm256_add_epi32(acc,
                               avx2_scaled(q0, avx2_ld32(q8 + 64 * c), avx2_bcast_w(sc16, 2 * c)));
        acc = _mm256_add_epi32(
            acc, avx2_scaled(q1, avx2_ld32(q8 + 64 * c + 32), avx2_bcast_w(sc16, 2 * c + 1)));
    }
    return acc;
}

static inline __attribute__((always_inline)) void
avx2_dot_k45(int64_t n, float *s, const uint8_t *w, const block_q8_K *ba, size_t wsize,
             size_t scales_off, size_t qh_off, size_t qs_off, int has_qh)
{
    int64_t nb = n / QUANT_QK_K, i;
    __m256 acc = _mm256_setzero_ps();
    float lane[QUANT_BLANES];
    int k;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        const uint8_t *pb = w + (size_t)i * wsize;
        __m256i vi[QUANT_BLANES], vm[QUANT_BLANES];
#pragma GCC unroll 8
        for (k = 0; k < QUANT_BLANES; k++) {
            const uint8_t *b = pb + (size_t)k * wsize;
            __m128i scmn = avx2_k4_scales(b + scales_off);
            vi[k] = avx2_k45_block(b + qs_off, has_qh ? b + qh_off : NULL, scmn, ba[i + k].qs);
            vm[k] = avx2_k4_msum(scmn, &ba[i + k]);
        }
        acc = _mm256_add_ps(acc, avx2_terms_k(pb, wsize, ba + i, vi, vm));
    }
    _mm256_storeu_ps(lane, acc);
    for (; i < nb; i++) {
        const uint8_t *b = w + (size_t)i * wsize;
        __m128i scmn = avx2_k4_scales(b + scales_off);
        __m256i vi = avx2_k45_block(b + qs_off, has_qh ? b + qh_off : NULL, scmn, ba[i].qs);
        uint16_t d = quant_ld_u16(b), dmin = quant_ld_u16(b + 2);
        lane[i % QUANT_BLANES] += quant_term_k(d, dmin, ba[i].d, avx2_hsum_i32(vi),
                                               avx2_hsum_i32(avx2_k4_msum(scmn, &ba[i])));
    }
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* avx2_k45_block for four activation rows (row j at q8 + j * a_stride): each
 * 32-value chunk is unpacked once and its scales broadcast once for the four. */
static inline __attribute__((always_inline)) void avx2_k45_block4(const uint8_t *qs,
                                                                  const uint8_t *qh, __m128i scmn,
                                                                  const int8_t *q8, size_t a_stride,
                                                                  __m256i *out)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), one = _mm256_set1_epi8(1);
    const __m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scmn));
    __m256i acc[4], hb = _mm256_setzero_si256();
    int c, j;

    for (j = 0; j < 4; j++)
        acc[j] = _mm256_setzero_si256();
    if (qh)
        hb = avx2_ld32(qh);
#pragma GCC unroll 4
    for (c = 0; c < 4; c++) {
        __m256i q = avx2_ld32(qs + 32 * c);
        __m256i q0 = _mm256_and_si256(q, m4);
        __m256i q1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
        __m256i s0 = avx2_bcast_w(sc16, 2 * c), s1 = avx2_bcast_w(sc16, 2 * c + 1);
        if (qh) {
            q0 = _mm256_or_si256(q0, _mm256_slli_epi16(_mm256_and_si256(hb, one), 4));
            q1 = _mm256_or_si256(
                q1, _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hb, 1), one), 4));
            hb = _mm256_srli_epi16(hb, 2);
        }
#pragma GCC unroll 4
        for (j = 0; j < 4; j++) {
            const int8_t *qa = q8 + (size_t)j * a_stride + 64 * c;
            acc[j] = _mm256_add_epi32(acc[j], avx2_scaled(q0, avx2_ld32(qa), s0));
            acc[j] = _mm256_add_epi32(acc[j], avx2_scaled(q1, avx2_ld32(qa + 32), s1));
        }
    }
    for (j = 0; j < 4; j++)
        out[j] = acc[j];
}

static inline __attribute__((always_inline)) void
avx2_dot4_k45(int64_t n, float *s, const uint8_t *w, const void *a, size_t a_stride, size_t wsize,
              size_t scales_off, size_t qh_off, size_t qs_off, int has_qh)
{
    const block_q8_K *ba0 = a;
    int64_t nb = n / QUANT_QK_K, i;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float lane[4][QUANT_BLANES];
    int j, k;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        const uint8_t *pb = w + (size_t)i * wsize;
        __m256i vi[4][QUANT_BLANES], vm[4][QUANT_BLANES], v4[4];
        __m256 dw = avx2_half8(pb, wsize, 0), dminw = avx2_half8(pb, wsize, 2);
        for (k = 0; k < QUANT_BLANES; k++) {
            const uint8_t *b = pb + (size_t)k * wsize;
            __m128i scmn = avx2_k4_scales(b + scales_off);
            avx2_k45_block4(b + qs_off, has_qh ? b + qh_off : NULL, scmn, ba0[i + k].qs, a_stride,
                            v4);
            for (j = 0; j < 4; j++) {
                const block_q8_K *baj =
                    (const block_q8_K *)((const uint8_t *)&ba0[i + k] + (size_t)j * a_stride);
                vi[j][k] = v4[j];
                vm[j][k] = avx2_k4_msum(scmn, baj);
            }
        }
        for (j = 0; j < 4; j++) {
            const block_q8_K *baj =
                (const block_q8_K *)((const uint8_t *)&ba0[i] + (size_t)j * a_stride);
            acc[j] = _mm256_add_ps(acc[j], avx2_terms_kd(dw, dminw, baj, vi[j], vm[j]));
        }
    }
    for (j = 0; j < 4; j++)
        _mm256_storeu_ps(lane[j], acc[j]);
    for (; i < nb; i++) {
        const uint8_t *b = w + (size_t)i * wsize;
        __m128i scmn = avx2_k4_scales(b + scales_off);
        __m256i v4[4];
        uint16_t d = quant_ld_u16(b), dmin = quant_ld_u16(b + 2);
        avx2_k45_block4(b + qs_off, has_qh ? b + qh_off : NULL, scmn, ba0[i].qs, a_stride, v4);
        for (j = 0; j < 4; j++) {
            const block_q8_K *baj =
                (const block_q8_K *)((const uint8_t *)&ba0[i] + (size_t)j * a_stride);
            lane[j][i % QUANT_BLANES] += quant_term_k(d, dmin, baj->d, avx2_hsum_i32(v4[j]),
                                                      avx2_hsum_i32(avx2_k4_msum(scmn, baj)));
        }
    }
    for (j = 0; j < 4; j++)
        s[j] = quant_lanes_sum(lane[j], QUANT_BLANES);
}

_Static_assert(offsetof(block_q4_K, dmin) == 2 && offsetof(block_q5_K, dmin) == 2, "dmin");

static void avx2_dot_q4_K(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_k45(n, s, w, a, sizeof(block_q4_K), offsetof(block_q4_K, scales), 0,
                 offsetof(block_q4_K, qs), 0);
}

static void avx2_dot_q5_K(int64_t n, float *s, const void *w, const void *a)
{
    avx2_dot_k45(n, s, w, a, sizeof(block_q5_K), offsetof(block_q5_K, scales),
                 offsetof(block_q5_K, qh), offsetof(block_q5_K, qs), 1);
}

static void avx2_dot4_q4_K(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_k45(n, s, w, a, a_stride, sizeof(block_q4_K), offsetof(block_q4_K, scales), 0,
                  offsetof(block_q4_K, qs), 0);
}

static void avx2_dot4_q5_K(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    avx2_dot4_k45(n, s, w, a, a_stride, sizeof(block_q5_K), offsetof(block_q5_K, scales),
                  offsetof(block_q5_K, qh), offsetof(block_q5_K, qs), 1);
}

/* Q6_K half h (128 values): the four 32-code vectors of 6-bit codes (0..63) and the
 * half's eight scales widened to words in both 128-bit lanes, for in-lane broadcasts.
 * Shared by the one-row and four-row kernels so both compute the very same codes. */
static inline __attribute__((always_inline)) void avx2_q6_K_codes(const block_q6_K *b, int h,
                                                                  __m256i q[4], __m256i *sch)
{
    const __m256i m4 = _mm256_set1_epi8(0x0f), m2 = _mm256_set1_epi8(0x30);
    __m256i l0 = avx2_ld32(b->ql + 64 * h);
    __m256i l1 = avx2_ld32(b->ql + 64 * h + 32);
    __m256i qh = avx2_ld32(b->qh + 32 * h);

    *sch = _mm256_broadcastsi128_si256(
        _mm_cvtepi8_epi16(_mm_loadl_epi64((const __m128i *)(b->scales + 8 * h))));
    q[0] =
        _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m2));
    q[1] =
        _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m2));
    q[2] =
        _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m2));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                           _mm256_and_si256(_mm256_srli_epi16(qh, 2), m2));
}

/* Scale words for code vector k of a half: scale 8h+2k in the low 128 bits, 8h+2k+1 in
 * the high ones (each 16 codes share one scale). */
static inline __m256i avx2_q6_K_scale(__m256i sch, int k)
{
    const __m256i idx = _mm256_setr_epi8(
        (char)(4 * k), (char)(4 * k + 1), (char)(4 * k), (char)(4 * k + 1), (char)(4 * k),
        (char)(4 * k + 1), (char)(4 * k), (char)(4 * k + 1), (char)(4 * k), (char)(4 * k + 1),
        (char)(4 * k), (char)(4 * k + 1), (char)(4 * k), (char)(4 * k + 1), (char)(4 * k),
        (char)(4 * k + 1), (char)(4 * k + 2), (char)(4 * k + 3), (char)(4 * k + 2),
        (char)(4 * k + 3), (char)(4 * k + 2), (char)(4 * k + 3), (char)(4 * k + 2),
        (char)(4 * k + 3), (char)(4 * k + 2), (char)(4 * k + 3), (char)(4 * k + 2),
        (char)(4 * k + 3), (char)(4 * k + 2), (char)(4 * k + 3), (char)(4 * k + 2),
        (char)(4 * k + 3));

    return _mm256_shuffle_epi8(sch, idx);
}

/* The int32 partial sums of one Q6_K super-block. Codes are taken unsigned (0..63)
 * for maddubs; the -32 offset comes back as 32 * sum_j scale_j * bsum_j, exact. */
static inline __m256i avx2_q6_K_block(const block_q6_K *b, const block_q8_K *a)
{
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
    __m256i bias = _mm256_madd_epi16(sc16, avx2_ld32(a->bsums));
    __m256i acc = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(bias, 5));
    int h, k;

#pragma GCC unroll 2
    for (h = 0; h < 2; h++) {
        __m256i q[4], sch;
        avx2_q6_K_codes(b, h, q, &sch);
#pragma GCC unroll 4
        for (k = 0; k < 4; k++)
            acc = _mm256_add_epi32(acc, avx2_scaled(q[k], avx2_ld32(a->qs + 128 * h + 32 * k),
                                                    avx2_q6_K_scale(sch, k)));
    }
    return acc;
}

static void avx2_dot_q6_K(int64_t n, float *s, const void *w, const void *a)
{
    const block_q6_K *bw = w;
    const block_q8_K *ba = a;
    int64_t nb = n / QUANT_QK_K, i;
    __m256 acc = _mm256_setzero_ps();
    float lane[QUANT_BLANES];
    int k;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        __m256i vi[QUANT_BLANES];
        __m256 d;
#pragma GCC unroll 8
        for (k = 0; k < QUANT_BLANES; k++)
            vi[k] = avx2_q6_K_block(&bw[i + k], &ba[i + k]);
        d = _mm256_mul_ps(avx2_half8(bw + i, sizeof *bw, offsetof(block_q6_K, d)),
                          avx2_q8K_d8(ba + i));
        acc = _mm256_add_ps(acc, _mm256_mul_ps(d, _mm256_cvtepi32_ps(avx2_hsum8_i32(vi))));
    }
    _mm256_storeu_ps(lane, acc);
    for (; i < nb; i++)
        lane[i % QUANT_BLANES] += quant_term_f(fp16_to_f32(bw[i].d), ba[i].d,
                                               avx2_hsum_i32(avx2_q6_K_block(&bw[i], &ba[i])));
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* avx2_q6_K_block for four activation rows: codes and scale broadcasts once. */
static inline __attribute__((always_inline)) void
avx2_q6_K_block4(const block_q6_K *b, const block_q8_K *a, size_t a_stride, __m256i *out)
{
    const __m256i sc16 = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales));
    __m256i acc[4];
    int h, k, j;

    for (j = 0; j < 4; j++) {
        const block_q8_K *aj = (const block_q8_K *)((const uint8_t *)a + (size_t)j * a_stride);
        __m256i bias = _mm256_madd_epi16(sc16, avx2_ld32(aj->bsums));
        acc[j] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(bias, 5));
    }
#pragma GCC unroll 2
    for (h = 0; h < 2; h++) {
        __m256i q[4], sch;
        avx2_q6_K_codes(b, h, q, &sch);
#pragma GCC unroll 4
        for (k = 0; k < 4; k++) {
            __m256i sc = avx2_q6_K_scale(sch, k);
#pragma GCC unroll 4
            for (j = 0; j < 4; j++) {
                const int8_t *qa = a->qs + (size_t)j * a_stride + 128 * h + 32 * k;
                acc[j] = _mm256_add_epi32(acc[j], avx2_scaled(q[k], avx2_ld32(qa), sc));
            }
        }
    }
    for (j = 0; j < 4; j++)
        out[j] = acc[j];
}

static void avx2_dot4_q6_K(int64_t n, float *s, const void *w, const void *a, size_t a_stride)
{
    const block_q6_K *bw = w;
    const block_q8_K *ba0 = a;
    int64_t nb = n / QUANT_QK_K, i;
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(),
                     _mm256_setzero_ps()};
    float lane[4][QUANT_BLANES];
    int j, k;

    for (i = 0; i + QUANT_BLANES <= nb; i += QUANT_BLANES) {
        __m256i vi[4][QUANT_BLANES], v4[4];
        __m256 dw = avx2_half8(bw + i, sizeof *bw, offsetof(block_q6_K, d));
        for (k = 0; k < QUANT_BLANES; k++) {
            avx2_q6_K_block4(&bw[i + k], &ba0[i + k], a_stride, v4);
            for (j = 0; j < 4; j++)
                vi[j][k] = v4[j];
        }
        for (j = 0; j < 4; j++) {
            const block_q8_K *baj =
                (const block_q8_K *)((const uint8_t *)&ba0[i] + (size_t)j * a_stride);
            __m256 d = _mm256_mul_ps(dw, avx2_q8K_d8(baj));
            acc[j] =
                _mm256_add_ps(acc[j], _mm256_mul_ps(d, _mm256_cvtepi32_ps(avx2_hsum8_i32(vi[j]))));
        }
    }
    for (j = 0; j < 4; j++)
        _mm256_storeu_ps(lane[j], acc[j]);
    for (; i < nb; i++) {
        __m256i v4[4];
        avx2_q6_K_block4(&bw[i], &ba0[i], a_stride, v4);
        for (j = 0; j < 4; j++) {
            const block_q8_K *baj =
                (const block_q8_K *)((const uint8_t *)&ba0[i] + (size_t)j * a_stride);
            lane[j][i % QUANT_BLANES] +=
                quant_term_f(fp16_to_f32(bw[i].d), baj->d, avx2_hsum_i32(v4[j]));
        }
    }
    for (j = 0; j < 4; j++)
        s[j] = quant_lanes_sum(lane[j], QUANT_BLANES);
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
    t->k[TENSOR_TYPE_F32].axpy = avx2_axpy_f32;
    t->k[TENSOR_TYPE_F16].axpy = avx2_axpy_f16;
    t->k[TENSOR_TYPE_BF16].axpy = avx2_axpy_bf16;
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
    t->k[TENSOR_TYPE_F32].dot4 = avx2_dot4_f32;
    t->k[TENSOR_TYPE_F16].dot4 = avx2_dot4_f16;
    t->k[TENSOR_TYPE_BF16].dot4 = avx2_dot4_bf16;
    /* no Q8_0 dot4: its codes need no unpacking, so sharing them saved nothing
     * (measured 0.9x of four dots); matmul makes four dots instead */
    t->k[TENSOR_TYPE_Q4_0].dot4 = avx2_dot4_q4_0;
    t->k[TENSOR_TYPE_Q4_1].dot4 = avx2_dot4_q4_1;
    t->k[TENSOR_TYPE_Q5_0].dot4 = avx2_dot4_q5_0;
    t->k[TENSOR_TYPE_Q5_1].dot4 = avx2_dot4_q5_1;
    t->k[TENSOR_TYPE_Q4_K].dot4 = avx2_dot4_q4_K;
    t->k[TENSOR_TYPE_Q5_K].dot4 = avx2_dot4_q5_K;
    t->k[TENSOR_TYPE_Q6_K].dot4 = avx2_dot4_q6_K;
    quant_avx2_panel_fill(t);
}

#else

/* Built without AVX2 (not x86): the dispatcher never offers this table. */
void quant_avx2_fill(quant_table *t)
{
    (void)t;
}

#endif
