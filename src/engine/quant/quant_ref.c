/* Scalar reference kernels for every compute type: dequantize, quantize and the
 * dot with the type's activation format. Always built; the tests hold every SIMD
 * table to these, and the SIMD dots are bit-identical to them by construction
 * (same float lanes, exact int32 block sums, shared per-block terms and lanes). */
#include <math.h>
#include <string.h>

#include "quant_impl.h"

/* Unaligned stores: F32/F16/BF16 rows may start at any byte. */
static inline void ref_st_u16(uint8_t *p, uint16_t h)
{
    memcpy(p, &h, sizeof h);
}

/* qh of Q5_0/Q5_1 is a little-endian u32 whatever the host order. */
static inline uint32_t ref_ld_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline void ref_st_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* Round to nearest even after clamping to [lo, hi]; NaN goes to lo, as in SIMD max. */
static inline int ref_qround(float v, float lo, float hi)
{
    v = v > lo ? v : lo;
    v = v < hi ? v : hi;
    return (int)nearbyintf(v);
}

/* The value of largest magnitude (the first, on ties), with its sign. */
static float ref_signed_absmax(const float *x, int n)
{
    float amax = 0.0f, v = 0.0f;
    int i;

    for (i = 0; i < n; i++) {
        if (fabsf(x[i]) > amax) {
            amax = fabsf(x[i]);
            v = x[i];
        }
    }
    return v;
}

static float ref_absmax(const float *x, int n)
{
    float amax = 0.0f;
    int i;

    for (i = 0; i < n; i++)
        if (fabsf(x[i]) > amax)
            amax = fabsf(x[i]);
    return amax;
}

static void ref_minmax(const float *x, int n, float *mn, float *mx)
{
    int i;

    *mn = x[0];
    *mx = x[0];
    for (i = 1; i < n; i++) {
        if (x[i] < *mn)
            *mn = x[i];
        if (x[i] > *mx)
            *mx = x[i];
    }
}

/* Stores f as fp16 and returns the value actually stored, so that quantizers
 * divide by the scale the dequantizer will multiply with. */
static uint16_t ref_fp16_round(float f, float *stored)
{
    uint16_t h = fp16_from_f32(f);

    *stored = fp16_to_f32(h);
    return h;
}

/* ---- F32 / F16 / BF16 ------------------------------------------------------------ */

static void ref_f32_to_f32(const void *x, float *y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

static void ref_f32_from_f32(const float *x, void *y, int64_t n)
{
    memcpy(y, x, (size_t)n * sizeof(float));
}

static void ref_dot_f32(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    float lane[QUANT_LANES] = {0};
    int64_t i;

    for (i = 0; i < n; i++)
        lane[i % QUANT_LANES] += quant_ld_f32(pw + 4 * i) * quant_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

static void ref_f16_to_f32(const void *x, float *y, int64_t n)
{
    const uint8_t *p = x;
    int64_t i;

    for (i = 0; i < n; i++)
        y[i] = fp16_to_f32(quant_ld_u16(p + 2 * i));
}

static void ref_f16_from_f32(const float *x, void *y, int64_t n)
{
    uint8_t *p = y;
    int64_t i;

    for (i = 0; i < n; i++)
        ref_st_u16(p + 2 * i, fp16_from_f32(x[i]));
}

static void ref_dot_f16(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    float lane[QUANT_LANES] = {0};
    int64_t i;

    for (i = 0; i < n; i++)
        lane[i % QUANT_LANES] += fp16_to_f32(quant_ld_u16(pw + 2 * i)) * quant_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

static void ref_axpy(int64_t n, float a, const uint8_t *p, float *y, int kind)
{
    quant_axpy_range(0, n, a, p, y, kind);
}

QUANT_AXPY_ENTRIES(ref)

static void ref_bf16_to_f32(const void *x, float *y, int64_t n)
{
    const uint8_t *p = x;
    int64_t i;

    for (i = 0; i < n; i++)
        y[i] = fp16_bf16_to_f32(quant_ld_u16(p + 2 * i));
}

static void ref_bf16_from_f32(const float *x, void *y, int64_t n)
{
    uint8_t *p = y;
    int64_t i;

    for (i = 0; i < n; i++)
        ref_st_u16(p + 2 * i, fp16_bf16_from_f32(x[i]));
}

static void ref_dot_bf16(int64_t n, float *s, const void *w, const void *a)
{
    const uint8_t *pw = w, *pa = a;
    float lane[QUANT_LANES] = {0};
    int64_t i;

    for (i = 0; i < n; i++)
        lane[i % QUANT_LANES] +=
            fp16_bf16_to_f32(quant_ld_u16(pw + 2 * i)) * quant_ld_f32(pa + 4 * i);
    *s = quant_lanes_sum(lane, QUANT_LANES);
}

/* ---- Q8_0 ------------------------------------------------------------------------ */

static void ref_q8_0_to_f32(const void *x, float *y, int64_t n)
{
    const block_q8_0 *b = x;
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        float d = fp16_to_f32(b[i].d);
        for (j = 0; j < QUANT_QK; j++)
            y[i * QUANT_QK + j] = (float)b[i].qs[j] * d;
    }
}

/* Also the activation quantizer of the 32-block types; quant_avx2.c and
 * quant_avx512.c reproduce it byte for byte. */
static void ref_q8_0_from_f32(const float *x, void *y, int64_t n)
{
    block_q8_0 *b = y;
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        const float *xb = x + i * QUANT_QK;
        float d, id;
        b[i].d = ref_fp16_round(ref_absmax(xb, QUANT_QK) / 127.0f, &d);
        id = d != 0.0f ? 1.0f / d : 0.0f;
        for (j = 0; j < QUANT_QK; j++)
            b[i].qs[j] = quant_round_q8(xb[j] * id);
    }
}

/* Blocks first..first+nb-1 of a Q8_0 dot (at bw and ba) into its lanes. */
static void ref_q8_0_lanes(int64_t nb, const block_q8_0 *bw, const block_q8_0 *ba, int64_t first,
                           float *lane)
{
    int64_t i;
    int j;

    for (i = 0; i < nb; i++) {
        int32_t isum = 0;
        for (j = 0; j < QUANT_QK; j++)
            isum += (int32_t)bw[i].qs[j] * ba[i].qs[j];
        lane[(first + i) % QUANT_BLANES] += quant_term_sym(bw[i].d, ba[i].d, isum);
    }
}

static void ref_dot_q8_0(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q8_0_lanes(n / QUANT_QK, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* ---- Q4_0 / Q4_1 ----------------------------------------------------------------- */

static void ref_q4_0_to_f32(const void *x, float *y, int64_t n)
{
    const block_q4_0 *b = x;
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        float d = fp16_to_f32(b[i].d);
        float *yb = y + i * QUANT_QK;
        for (j = 0; j < 16; j++) {
            yb[j] = (float)((b[i].qs[j] & 0x0f) - 8) * d;
            yb[j + 16] = (float)((b[i].qs[j] >> 4) - 8) * d;
        }
    }
}

/* Scale by the signed extreme so it lands exactly on -8, which gives the
 * asymmetric range [-8, 7] one more usable level than d = absmax / 7. */
static void ref_q4_0_from_f32(const float *x, void *y, int64_t n)
{
    block_q4_0 *b = y;
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        const float *xb = x + i * QUANT_QK;
        float d, id;
        b[i].d = ref_fp16_round(ref_signed_absmax(xb, QUANT_QK) / -8.0f, &d);
        id = d != 0.0f ? 1.0f / d : 0.0f;
        for (j = 0; j < 16; j++) {
            int q0 = ref_qround(xb[j] * id, -8.0f, 7.0f) + 8;
            int q1 = ref_qround(xb[j + 16] * id, -8.0f, 7.0f) + 8;
            b[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

/* Blocks first..first+nb-1 of a Q4_0 dot (at bw and ba) into its lanes. */
static void ref_q4_0_lanes(int64_t nb, const block_q4_0 *bw, const block_q8_0 *ba, int64_t first,
                           float *lane)
{
    int64_t i;
    int j;

    for (i = 0; i < nb; i++) {
        int32_t isum = 0;
        for (j = 0; j < 16; j++) {
            isum += ((bw[i].qs[j] & 0x0f) - 8) * ba[i].qs[j];
            isum += ((bw[i].qs[j] >> 4) - 8) * ba[i].qs[j + 16];
        }
        lane[(first + i) % QUANT_BLANES] += quant_term_sym(bw[i].d, ba[i].d, isum);
    }
}

static void ref_dot_q4_0(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q4_0_lanes(n / QUANT_QK, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

static void ref_q4_1_to_f32(const void *x, float *y, int64_t n)
{
    const block_q4_1 *b = x;
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
        float *yb = y + i * QUANT_QK;
        for (j = 0; j < 16; j++) {
            yb[j] = (float)(b[i].qs[j] & 0x0f) * d + m;
            yb[j + 16] = (float)(b[i].qs[j] >> 4) * d + m;
        }
    }
}

static void ref_q4_1_from_f32(const float *x, void *y, int64_t n)
{
    block_q4_1 *b = y;
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        const float *xb = x + i * QUANT_QK;
        float mn, mx, d, m, id;
        ref_minmax(xb, QUANT_QK, &mn, &mx);
        b[i].d = ref_fp16_round((mx - mn) / 15.0f, &d);
        b[i].m = ref_fp16_round(mn, &m);
        id = d != 0.0f ? 1.0f / d : 0.0f;
        for (j = 0; j < 16; j++) {
            int q0 = ref_qround((xb[j] - m) * id, 0.0f, 15.0f);
            int q1 = ref_qround((xb[j + 16] - m) * id, 0.0f, 15.0f);
            b[i].qs[j] = (uint8_t)(q0 | q1 << 4);
        }
    }
}

/* Blocks first..first+nb-1 of a Q4_1 dot (at bw and ba) into its lanes. */
static void ref_q4_1_lanes(int64_t nb, const block_q4_1 *bw, const block_q8_0 *ba, int64_t first,
                           float *lane)
{
    int64_t i;
    int j;

    for (i = 0; i < nb; i++) {
        int32_t isum = 0, asum = 0;
        for (j = 0; j < 16; j++) {
            isum += (bw[i].qs[j] & 0x0f) * ba[i].qs[j];
            isum += (bw[i].qs[j] >> 4) * ba[i].qs[j + 16];
            asum += ba[i].qs[j] + ba[i].qs[j + 16];
        }
        lane[(first + i) % QUANT_BLANES] += quant_term_off(bw[i].d, bw[i].m, ba[i].d, isum, asum);
    }
}

static void ref_dot_q4_1(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q4_1_lanes(n / QUANT_QK, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* ---- Q5_0 / Q5_1 ----------------------------------------------------------------- */

/* The 5-bit codes 0..31 of one Q5 block, in value order. */
static void ref_q5_codes(const uint8_t *qs, const uint8_t *qh4, int *q)
{
    uint32_t qh = ref_ld_le32(qh4);
    int j;

    for (j = 0; j < 16; j++) {
        q[j] = (qs[j] & 0x0f) | (int)((qh >> j) & 1u) << 4;
        q[j + 16] = (qs[j] >> 4) | (int)((qh >> (j + 16)) & 1u) << 4;
    }
}

static void ref_q5_pack(const int *q, uint8_t *qs, uint8_t *qh4)
{
    uint32_t qh = 0;
    int j;

    for (j = 0; j < 16; j++) {
        qs[j] = (uint8_t)((q[j] & 0x0f) | (q[j + 16] & 0x0f) << 4);
        qh |= (uint32_t)(q[j] >> 4) << j;
        qh |= (uint32_t)(q[j + 16] >> 4) << (j + 16);
    }
    ref_st_le32(qh4, qh);
}

static void ref_q5_0_to_f32(const void *x, float *y, int64_t n)
{
    const block_q5_0 *b = x;
    int q[QUANT_QK];
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        float d = fp16_to_f32(b[i].d);
        ref_q5_codes(b[i].qs, b[i].qh, q);
        for (j = 0; j < QUANT_QK; j++)
            y[i * QUANT_QK + j] = (float)(q[j] - 16) * d;
    }
}

static void ref_q5_0_from_f32(const float *x, void *y, int64_t n)
{
    block_q5_0 *b = y;
    int q[QUANT_QK];
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        const float *xb = x + i * QUANT_QK;
        float d, id;
        b[i].d = ref_fp16_round(ref_signed_absmax(xb, QUANT_QK) / -16.0f, &d);
        id = d != 0.0f ? 1.0f / d : 0.0f;
        for (j = 0; j < QUANT_QK; j++)
            q[j] = ref_qround(xb[j] * id, -16.0f, 15.0f) + 16;
        ref_q5_pack(q, b[i].qs, b[i].qh);
    }
}

/* Blocks first..first+nb-1 of a Q5_0 dot (at bw and ba) into its lanes. */
static void ref_q5_0_lanes(int64_t nb, const block_q5_0 *bw, const block_q8_0 *ba, int64_t first,
                           float *lane)
{
    int q[QUANT_QK];
    int64_t i;
    int j;

    for (i = 0; i < nb; i++) {
        int32_t isum = 0;
        ref_q5_codes(bw[i].qs, bw[i].qh, q);
        for (j = 0; j < QUANT_QK; j++)
            isum += (q[j] - 16) * ba[i].qs[j];
        lane[(first + i) % QUANT_BLANES] += quant_term_sym(bw[i].d, ba[i].d, isum);
    }
}

static void ref_dot_q5_0(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q5_0_lanes(n / QUANT_QK, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

static void ref_q5_1_to_f32(const void *x, float *y, int64_t n)
{
    const block_q5_1 *b = x;
    int q[QUANT_QK];
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        float d = fp16_to_f32(b[i].d), m = fp16_to_f32(b[i].m);
        ref_q5_codes(b[i].qs, b[i].qh, q);
        for (j = 0; j < QUANT_QK; j++)
            y[i * QUANT_QK + j] = (float)q[j] * d + m;
    }
}

static void ref_q5_1_from_f32(const float *x, void *y, int64_t n)
{
    block_q5_1 *b = y;
    int q[QUANT_QK];
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK; i++) {
        const float *xb = x + i * QUANT_QK;
        float mn, mx, d, m, id;
        ref_minmax(xb, QUANT_QK, &mn, &mx);
        b[i].d = ref_fp16_round((mx - mn) / 31.0f, &d);
        b[i].m = ref_fp16_round(mn, &m);
        id = d != 0.0f ? 1.0f / d : 0.0f;
        for (j = 0; j < QUANT_QK; j++)
            q[j] = ref_qround((xb[j] - m) * id, 0.0f, 31.0f);
        ref_q5_pack(q, b[i].qs, b[i].qh);
    }
}

/* Blocks first..first+nb-1 of a Q5_1 dot (at bw and ba) into its lanes. */
static void ref_q5_1_lanes(int64_t nb, const block_q5_1 *bw, const block_q8_0 *ba, int64_t first,
                           float *lane)
{
    int q[QUANT_QK];
    int64_t i;
    int j;

    for (i = 0; i < nb; i++) {
        int32_t isum = 0, asum = 0;
        ref_q5_codes(bw[i].qs, bw[i].qh, q);
        for (j = 0; j < QUANT_QK; j++) {
            isum += q[j] * ba[i].qs[j];
            asum += ba[i].qs[j];
        }
        lane[(first + i) % QUANT_BLANES] += quant_term_off(bw[i].d, bw[i].m, ba[i].d, isum, asum);
    }
}

static void ref_dot_q5_1(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q5_1_lanes(n / QUANT_QK, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* ---- Q4_K / Q5_K: 8 sub-blocks of 32, value = d*sc*q - dmin*m -------------------- */

/* Fits one super-block for codes 0..nmax: per sub-block the range [min(x, 0), max(x)]
 * gives a scale and a min, both quantized to 6 bits against super-block d / dmin;
 * then each sub-block tries the neighbours of its rounded (scale, min) and keeps
 * the pair with the least squared error, since rounding both independently is
 * often one step off. L receives the codes in value order. */
static void ref_kq_fit(const float *x, int nmax, uint16_t *dh, uint16_t *dminh, uint8_t *sc,
                       uint8_t *mn, uint8_t *L)
{
    float scale[8], minv[8], max_scale = 0.0f, max_min = 0.0f, d, dmin, id, idmin;
    int j, l;

    for (j = 0; j < 8; j++) {
        float lo, hi;
        ref_minmax(x + 32 * j, 32, &lo, &hi);
        lo = lo < 0.0f ? lo : 0.0f;
        scale[j] = (hi - lo) / (float)nmax;
        minv[j] = -lo;
        max_scale = scale[j] > max_scale ? scale[j] : max_scale;
        max_min = minv[j] > max_min ? minv[j] : max_min;
    }
    *dh = ref_fp16_round(max_scale / 63.0f, &d);
    *dminh = ref_fp16_round(max_min / 63.0f, &dmin);
    id = d > 0.0f ? 1.0f / d : 0.0f;
    idmin = dmin > 0.0f ? 1.0f / dmin : 0.0f;
    for (j = 0; j < 8; j++) {
        const float *xs = x + 32 * j;
        int s0 = ref_qround(scale[j] * id, 0.0f, 63.0f);
        int m0 = ref_qround(minv[j] * idmin, 0.0f, 63.0f);
        float best = INFINITY;
        int s, m;
        /* kept if every candidate's error is NaN (NaN input) */
        sc[j] = (uint8_t)s0;
        mn[j] = (uint8_t)m0;
        memset(L + 32 * j, 0, 32);
        for (s = s0 - 1; s <= s0 + 1; s++) {
            for (m = m0 - 1; m <= m0 + 1; m++) {
                float ds = d * (float)s, dm = dmin * (float)m, err = 0.0f;
                float ids = ds > 0.0f ? 1.0f / ds : 0.0f;
                uint8_t q[32];
                if (s < 0 || s > 63 || m < 0 || m > 63)
                    continue;
                for (l = 0; l < 32; l++) {
                    float e;
                    q[l] = (uint8_t)ref_qround((xs[l] + dm) * ids, 0.0f, (float)nmax);
                    e = xs[l] - (ds * (float)q[l] - dm);
                    err += e * e;
                }
                if (err < best) {
                    best = err;
                    sc[j] = (uint8_t)s;
                    mn[j] = (uint8_t)m;
                    memcpy(L + 32 * j, q, sizeof q);
                }
            }
        }
    }
}

/* Inverse of quant_k4_scale_min. */
static void ref_k4_pack_scales(const uint8_t *sc, const uint8_t *mn, uint8_t *s)
{
    int j;

    for (j = 0; j < 4; j++) {
        s[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
        s[j + 4] = (uint8_t)(mn[j] | (mn[j + 4] >> 4) << 6);
        s[j + 8] = (uint8_t)((sc[j + 4] & 0x0f) | (mn[j + 4] & 0x0f) << 4);
    }
}

static void ref_q4_K_to_f32(const void *x, float *y, int64_t n)
{
    const block_q4_K *b = x;
    int64_t i;
    int c, l;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
        float *yb = y + i * QUANT_QK_K;
        for (c = 0; c < 4; c++) {
            uint8_t s1, m1, s2, m2;
            float d1, d2, o1, o2;
            quant_k4_scale_min(b[i].scales, 2 * c, &s1, &m1);
            quant_k4_scale_min(b[i].scales, 2 * c + 1, &s2, &m2);
            d1 = d * (float)s1;
            o1 = dmin * (float)m1;
            d2 = d * (float)s2;
            o2 = dmin * (float)m2;
            for (l = 0; l < 32; l++) {
                yb[64 * c + l] = d1 * (float)(b[i].qs[32 * c + l] & 0x0f) - o1;
                yb[64 * c + 32 + l] = d2 * (float)(b[i].qs[32 * c + l] >> 4) - o2;
            }
        }
    }
}

static void ref_q4_K_from_f32(const float *x, void *y, int64_t n)
{
    block_q4_K *b = y;
    uint8_t sc[8], mn[8], L[QUANT_QK_K];
    int64_t i;
    int c, l;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        uint16_t d, dmin;
        ref_kq_fit(x + i * QUANT_QK_K, 15, &d, &dmin, sc, mn, L);
        b[i].d = d;
        b[i].dmin = dmin;
        ref_k4_pack_scales(sc, mn, b[i].scales);
        for (c = 0; c < 4; c++)
            for (l = 0; l < 32; l++)
                b[i].qs[32 * c + l] = (uint8_t)(L[64 * c + l] | L[64 * c + 32 + l] << 4);
    }
}

/* Super-blocks first..first+nb-1 of a Q4_K dot (at bw and ba) into its lanes. */
static void ref_q4_K_lanes(int64_t nb, const block_q4_K *bw, const block_q8_K *ba, int64_t first,
                           float *lane)
{
    int64_t i;
    int c, l;

    for (i = 0; i < nb; i++) {
        const int8_t *q8 = ba[i].qs;
        int32_t isum = 0;
        for (c = 0; c < 4; c++) {
            uint8_t s1, m1, s2, m2;
            int32_t lo = 0, hi = 0;
            quant_k4_scale_min(bw[i].scales, 2 * c, &s1, &m1);
            quant_k4_scale_min(bw[i].scales, 2 * c + 1, &s2, &m2);
            for (l = 0; l < 32; l++) {
                lo += (bw[i].qs[32 * c + l] & 0x0f) * q8[64 * c + l];
                hi += (bw[i].qs[32 * c + l] >> 4) * q8[64 * c + 32 + l];
            }
            isum += (int32_t)s1 * lo + (int32_t)s2 * hi;
        }
        lane[(first + i) % QUANT_BLANES] +=
            quant_term_k(bw[i].d, bw[i].dmin, ba[i].d, isum, quant_k4_msum(bw[i].scales, &ba[i]));
    }
}

static void ref_dot_q4_K(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q4_K_lanes(n / QUANT_QK_K, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* The 5-bit code of value 64c+l (hi = 0) or 64c+32+l (hi = 1) of a Q5_K block. */
static inline int ref_q5_K_code(const block_q5_K *b, int c, int hi, int l)
{
    int low = hi ? b->qs[32 * c + l] >> 4 : b->qs[32 * c + l] & 0x0f;

    return low | ((b->qh[l] >> (2 * c + hi)) & 1) << 4;
}

static void ref_q5_K_to_f32(const void *x, float *y, int64_t n)
{
    const block_q5_K *b = x;
    int64_t i;
    int c, l;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        float d = fp16_to_f32(b[i].d), dmin = fp16_to_f32(b[i].dmin);
        float *yb = y + i * QUANT_QK_K;
        for (c = 0; c < 4; c++) {
            uint8_t s1, m1, s2, m2;
            float d1, d2, o1, o2;
            quant_k4_scale_min(b[i].scales, 2 * c, &s1, &m1);
            quant_k4_scale_min(b[i].scales, 2 * c + 1, &s2, &m2);
            d1 = d * (float)s1;
            o1 = dmin * (float)m1;
            d2 = d * (float)s2;
            o2 = dmin * (float)m2;
            for (l = 0; l < 32; l++) {
                yb[64 * c + l] = d1 * (float)ref_q5_K_code(&b[i], c, 0, l) - o1;
                yb[64 * c + 32 + l] = d2 * (float)ref_q5_K_code(&b[i], c, 1, l) - o2;
            }
        }
    }
}

static void ref_q5_K_from_f32(const float *x, void *y, int64_t n)
{
    block_q5_K *b = y;
    uint8_t sc[8], mn[8], L[QUANT_QK_K];
    int64_t i;
    int c, l;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        uint16_t d, dmin;
        ref_kq_fit(x + i * QUANT_QK_K, 31, &d, &dmin, sc, mn, L);
        b[i].d = d;
        b[i].dmin = dmin;
        ref_k4_pack_scales(sc, mn, b[i].scales);
        memset(b[i].qh, 0, sizeof b[i].qh);
        for (c = 0; c < 4; c++) {
            for (l = 0; l < 32; l++) {
                int q0 = L[64 * c + l], q1 = L[64 * c + 32 + l];
                b[i].qs[32 * c + l] = (uint8_t)((q0 & 0x0f) | (q1 & 0x0f) << 4);
                b[i].qh[l] |= (uint8_t)((q0 >> 4) << (2 * c) | (q1 >> 4) << (2 * c + 1));
            }
        }
    }
}

/* Super-blocks first..first+nb-1 of a Q5_K dot (at bw and ba) into its lanes. */
static void ref_q5_K_lanes(int64_t nb, const block_q5_K *bw, const block_q8_K *ba, int64_t first,
                           float *lane)
{
    int64_t i;
    int c, l;

    for (i = 0; i < nb; i++) {
        const int8_t *q8 = ba[i].qs;
        int32_t isum = 0;
        for (c = 0; c < 4; c++) {
            uint8_t s1, m1, s2, m2;
            int32_t lo = 0, hi = 0;
            quant_k4_scale_min(bw[i].scales, 2 * c, &s1, &m1);
            quant_k4_scale_min(bw[i].scales, 2 * c + 1, &s2, &m2);
            for (l = 0; l < 32; l++) {
                lo += ref_q5_K_code(&bw[i], c, 0, l) * q8[64 * c + l];
                hi += ref_q5_K_code(&bw[i], c, 1, l) * q8[64 * c + 32 + l];
            }
            isum += (int32_t)s1 * lo + (int32_t)s2 * hi;
        }
        lane[(first + i) % QUANT_BLANES] +=
            quant_term_k(bw[i].d, bw[i].dmin, ba[i].d, isum, quant_k4_msum(bw[i].scales, &ba[i]));
    }
}

static void ref_dot_q5_K(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q5_K_lanes(n / QUANT_QK_K, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* ---- Q6_K: 16 sub-blocks of 16, value = d * scale_j * (q - 32) ------------------- */

static void ref_q6_K_to_f32(const void *x, float *y, int64_t n)
{
    const block_q6_K *b = x;
    int64_t i;
    int v;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        float d = fp16_to_f32(b[i].d);
        for (v = 0; v < QUANT_QK_K; v++)
            y[i * QUANT_QK_K + v] =
                d * (float)b[i].scales[v / 16] * (float)(quant_q6_K_code(&b[i], v) - 32);
    }
}

/* Per 16-value sub-block the signed extreme maps onto code 31 or -32, the scale is
 * quantized to 8 bits against super-block d, then the neighbours of the rounded
 * scale are tried, keeping the least squared error. */
static void ref_q6_K_fit(const float *x, uint16_t *dh, int8_t *sc, int *L)
{
    float scale[16], max_scale = 0.0f, d, id;
    int j, l;

    for (j = 0; j < 16; j++) {
        float v = ref_signed_absmax(x + 16 * j, 16);
        scale[j] = v >= 0.0f ? v / 31.0f : -v / 32.0f;
        max_scale = scale[j] > max_scale ? scale[j] : max_scale;
    }
    *dh = ref_fp16_round(max_scale / 127.0f, &d);
    id = d > 0.0f ? 1.0f / d : 0.0f;
    for (j = 0; j < 16; j++) {
        const float *xs = x + 16 * j;
        int s0 = ref_qround(scale[j] * id, 0.0f, 127.0f);
        float best = INFINITY;
        int s;
        sc[j] = (int8_t)s0;
        for (l = 0; l < 16; l++)
            L[16 * j + l] = 32;
        for (s = s0 - 1; s <= s0 + 1; s++) {
            float ds = d * (float)s, err = 0.0f;
            float ids = ds > 0.0f ? 1.0f / ds : 0.0f;
            int q[16];
            if (s < 0 || s > 127)
                continue;
            for (l = 0; l < 16; l++) {
                float e;
                q[l] = ref_qround(xs[l] * ids, -32.0f, 31.0f);
                e = xs[l] - ds * (float)q[l];
                err += e * e;
            }
            if (err < best) {
                best = err;
                sc[j] = (int8_t)s;
                for (l = 0; l < 16; l++)
                    L[16 * j + l] = q[l] + 32;
            }
        }
    }
}

static void ref_q6_K_from_f32(const float *x, void *y, int64_t n)
{
    block_q6_K *b = y;
    int L[QUANT_QK_K];
    int64_t i;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        uint16_t d;
        ref_q6_K_fit(x + i * QUANT_QK_K, &d, b[i].scales, L);
        b[i].d = d;
        quant_q6_K_set_codes(&b[i], L);
    }
}

/* Super-blocks first..first+nb-1 of a Q6_K dot (at bw and ba) into its lanes. */
static void ref_q6_K_lanes(int64_t nb, const block_q6_K *bw, const block_q8_K *ba, int64_t first,
                           float *lane)
{
    int64_t i;
    int j, l;

    for (i = 0; i < nb; i++) {
        int32_t isum = 0;
        for (j = 0; j < 16; j++) {
            int32_t sub = 0;
            for (l = 0; l < 16; l++)
                sub += (quant_q6_K_code(&bw[i], 16 * j + l) - 32) * ba[i].qs[16 * j + l];
            isum += (int32_t)bw[i].scales[j] * sub;
        }
        lane[(first + i) % QUANT_BLANES] += quant_term_f(fp16_to_f32(bw[i].d), ba[i].d, isum);
    }
}

static void ref_dot_q6_K(int64_t n, float *s, const void *w, const void *a)
{
    float lane[QUANT_BLANES] = {0};

    ref_q6_K_lanes(n / QUANT_QK_K, w, a, 0, lane);
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* ---- Q8_K ------------------------------------------------------------------------ */

static void ref_q8_K_to_f32(const void *x, float *y, int64_t n)
{
    const block_q8_K *b = x;
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK_K; i++)
        for (j = 0; j < QUANT_QK_K; j++)
            y[i * QUANT_QK_K + j] = (float)b[i].qs[j] * b[i].d;
}

/* The K-quant activation quantizer; d stays f32, so no fp16 rounding of the scale. */
static void ref_q8_K_from_f32(const float *x, void *y, int64_t n)
{
    block_q8_K *b = y;
    int64_t i;
    int j, g;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        const float *xb = x + i * QUANT_QK_K;
        float d = ref_absmax(xb, QUANT_QK_K) / 127.0f;
        float id = d != 0.0f ? 1.0f / d : 0.0f;
        b[i].d = d;
        for (j = 0; j < QUANT_QK_K; j++)
            b[i].qs[j] = quant_round_q8(xb[j] * id);
        for (g = 0; g < 16; g++) {
            int sum = 0;
            for (j = 0; j < 16; j++)
                sum += b[i].qs[16 * g + j];
            b[i].bsums[g] = (int16_t)sum;
        }
    }
}

static void ref_dot_q8_K(int64_t n, float *s, const void *w, const void *a)
{
    const block_q8_K *bw = w, *ba = a;
    float lane[QUANT_BLANES] = {0};
    int64_t i;
    int j;

    for (i = 0; i < n / QUANT_QK_K; i++) {
        int32_t isum = 0;
        for (j = 0; j < QUANT_QK_K; j++)
            isum += (int32_t)bw[i].qs[j] * ba[i].qs[j];
        lane[i % QUANT_BLANES] += quant_term_f(bw[i].d, ba[i].d, isum);
    }
    *s = quant_lanes_sum(lane, QUANT_BLANES);
}

/* ---- four activation rows ----------------------------------------------------------- */

/* The reference dot4 is four dots by definition: the SIMD dot4s are held to it. */
#define REF_DOT4(name)                                                                             \
    static void ref_dot4_##name(int64_t n, float *s, const void *w, const void *a,                 \
                                size_t a_stride)                                                   \
    {                                                                                              \
        for (int j = 0; j < 4; j++)                                                                \
            ref_dot_##name(n, &s[j], w, (const uint8_t *)a + (size_t)j * a_stride);                \
    }

REF_DOT4(f32)
REF_DOT4(f16)
REF_DOT4(bf16)
REF_DOT4(q8_0)
REF_DOT4(q4_0)
REF_DOT4(q4_1)
REF_DOT4(q5_0)
REF_DOT4(q5_1)
REF_DOT4(q4_K)
REF_DOT4(q5_K)
REF_DOT4(q6_K)
REF_DOT4(q8_K)

/* ---- panels ------------------------------------------------------------------------ */

/* The reference panel kernel is, by definition, the row unpacked and the dot: the
 * row comes back in pieces of 64 blocks, and the lanes carry over. */
#define REF_PANEL(name, block_t, act_t, qk, col_bytes)                                             \
    static void ref_panel_##name(int64_t n, float *s, const void *panel, const void *a,            \
                                 size_t a_stride, int n_tok)                                       \
    {                                                                                              \
        block_t row[64];                                                                           \
        int64_t done, part, nb = n / (qk);                                                         \
        for (int r = 0; r < QUANT_PANEL_ROWS; r++) {                                               \
            float lane[QUANT_PANEL_TOK][QUANT_BLANES] = {{0}};                                     \
            for (done = 0; done < nb; done += part) {                                              \
                part = nb - done < 64 ? nb - done : 64;                                            \
                quant_panel_row_##name(                                                            \
                    part *(qk), (const uint8_t *)panel + (size_t)done * (col_bytes), r, row);      \
                for (int t = 0; t < n_tok; t++)                                                    \
                    ref_##name##_lanes(                                                            \
                        part, row,                                                                 \
                        (const act_t *)((const uint8_t *)a + (size_t)t * a_stride) + done, done,   \
                        lane[t]);                                                                  \
            }                                                                                      \
            for (int t = 0; t < n_tok; t++)                                                        \
                s[t * QUANT_PANEL_ROWS + r] = quant_lanes_sum(lane[t], QUANT_BLANES);              \
        }                                                                                          \
    }

REF_PANEL(q4_0, block_q4_0, block_q8_0, QUANT_QK, QUANT_Q4_0_COL)
REF_PANEL(q8_0, block_q8_0, block_q8_0, QUANT_QK, QUANT_Q8_0_COL)
REF_PANEL(q4_K, block_q4_K, block_q8_K, QUANT_QK_K, QUANT_Q4_K_COL)
REF_PANEL(q4_1, block_q4_1, block_q8_0, QUANT_QK, QUANT_Q4_1_COL)
REF_PANEL(q5_0, block_q5_0, block_q8_0, QUANT_QK, QUANT_Q5_0_COL)
REF_PANEL(q5_1, block_q5_1, block_q8_0, QUANT_QK, QUANT_Q5_1_COL)
REF_PANEL(q5_K, block_q5_K, block_q8_K, QUANT_QK_K, QUANT_Q5_K_COL)
REF_PANEL(q6_K, block_q6_K, block_q8_K, QUANT_QK_K, QUANT_Q6_K_COL)

/* ---- table ----------------------------------------------------------------------- */

static void ref_set(quant_table *t, tensor_type type, quant_to_f32_fn to, quant_from_f32_fn from,
                    quant_dot_fn dot, quant_dot4_fn dot4, tensor_type act)
{
    t->k[type].to_f32 = to;
    t->k[type].from_f32 = from;
    t->k[type].dot = dot;
    t->k[type].dot4 = dot4;
    t->k[type].act_type = act;
}

#define REF_SET_PANEL(t, type, name)                                                               \
    ((t)->k[type].pack = quant_pack_##name, (t)->k[type].unpack = quant_panel_row_##name,          \
     (t)->k[type].panel = ref_panel_##name)

void quant_ref_fill(quant_table *t)
{
    t->k[TENSOR_TYPE_F32].axpy = ref_axpy_f32;
    t->k[TENSOR_TYPE_F16].axpy = ref_axpy_f16;
    t->k[TENSOR_TYPE_BF16].axpy = ref_axpy_bf16;
    ref_set(t, TENSOR_TYPE_F32, ref_f32_to_f32, ref_f32_from_f32, ref_dot_f32, ref_dot4_f32,
            TENSOR_TYPE_F32);
    ref_set(t, TENSOR_TYPE_F16, ref_f16_to_f32, ref_f16_from_f32, ref_dot_f16, ref_dot4_f16,
            TENSOR_TYPE_F32);
    ref_set(t, TENSOR_TYPE_BF16, ref_bf16_to_f32, ref_bf16_from_f32, ref_dot_bf16, ref_dot4_bf16,
            TENSOR_TYPE_F32);
    ref_set(t, TENSOR_TYPE_Q8_0, ref_q8_0_to_f32, ref_q8_0_from_f32, ref_dot_q8_0, ref_dot4_q8_0,
            TENSOR_TYPE_Q8_0);
    ref_set(t, TENSOR_TYPE_Q4_0, ref_q4_0_to_f32, ref_q4_0_from_f32, ref_dot_q4_0, ref_dot4_q4_0,
            TENSOR_TYPE_Q8_0);
    ref_set(t, TENSOR_TYPE_Q4_1, ref_q4_1_to_f32, ref_q4_1_from_f32, ref_dot_q4_1, ref_dot4_q4_1,
            TENSOR_TYPE_Q8_0);
    ref_set(t, TENSOR_TYPE_Q5_0, ref_q5_0_to_f32, ref_q5_0_from_f32, ref_dot_q5_0, ref_dot4_q5_0,
            TENSOR_TYPE_Q8_0);
    ref_set(t, TENSOR_TYPE_Q5_1, ref_q5_1_to_f32, ref_q5_1_from_f32, ref_dot_q5_1, ref_dot4_q5_1,
            TENSOR_TYPE_Q8_0);
    ref_set(t, TENSOR_TYPE_Q4_K, ref_q4_K_to_f32, ref_q4_K_from_f32, ref_dot_q4_K, ref_dot4_q4_K,
            TENSOR_TYPE_Q8_K);
    ref_set(t, TENSOR_TYPE_Q5_K, ref_q5_K_to_f32, ref_q5_K_from_f32, ref_dot_q5_K, ref_dot4_q5_K,
            TENSOR_TYPE_Q8_K);
    ref_set(t, TENSOR_TYPE_Q6_K, ref_q6_K_to_f32, ref_q6_K_from_f32, ref_dot_q6_K, ref_dot4_q6_K,
            TENSOR_TYPE_Q8_K);
    ref_set(t, TENSOR_TYPE_Q8_K, ref_q8_K_to_f32, ref_q8_K_from_f32, ref_dot_q8_K, ref_dot4_q8_K,
            TENSOR_TYPE_Q8_K);
    REF_SET_PANEL(t, TENSOR_TYPE_Q4_0, q4_0);
    REF_SET_PANEL(t, TENSOR_TYPE_Q4_1, q4_1);
    REF_SET_PANEL(t, TENSOR_TYPE_Q5_0, q5_0);
    REF_SET_PANEL(t, TENSOR_TYPE_Q5_1, q5_1);
    REF_SET_PANEL(t, TENSOR_TYPE_Q8_0, q8_0);
    REF_SET_PANEL(t, TENSOR_TYPE_Q4_K, q4_K);
    REF_SET_PANEL(t, TENSOR_TYPE_Q5_K, q5_K);
    REF_SET_PANEL(t, TENSOR_TYPE_Q6_K, q6_K);
}
