/* Tests of the tensor type table and the quant kernels: fp16/bf16 conversion against
 * independent references, hand-built blocks that pin every GGUF layout, quantization
 * error bounds, and every ISA table the CPU runs held to the scalar reference
 * (bit-identical quantizers and dots). Fixed-seed data, so every run is the same. */
/* cmocka.h needs these four first, hence its own include block */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/err.h"
#include "loupe/engine/fp16.h"
#include "loupe/engine/quant.h"
#include "loupe/engine/tensor.h"
#include "quant_impl.h"

/* ---- tolerances ----------------------------------------------------------------------
 * Round trip: max |x - deq(quant(x))| over a block, relative to max|x| of that block
 * (the type's block; 32 values for the float types). The bounds follow from the code
 * spacing: Q8_0 rounds to d/2 with d = max/127 (fp16 d adds 2^-11); Q4_0 and Q5_0 map
 * the signed extreme to -8d / -16d, so a value of the other sign near max clamps by a
 * whole step (max/8, max/16); Q4_1/Q5_1 round to half of range/15 or range/31; Q6_K's
 * sub-blocks clamp like Q5_0 with step max/32. Q4_K/Q5_K add 6-bit scale and min
 * rounding, so theirs are measured worst cases (0.066, 0.048) plus about 25%.
 * RMS: the row's RMS error relative to its RMS; it depends on the data (outliers widen
 * the steps of their whole block), so these are the worst of the four data kinds
 * measured, plus about 25%. F16/BF16 bound both by the unit roundoff. */
#define RT_MAX_F16 (1.0 / 2048.0)
#define RT_MAX_BF16 (1.0 / 256.0)
#define RT_MAX_Q8_0 0.0040
#define RT_MAX_Q8_K 0.0040
#define RT_MAX_Q4_0 0.126
#define RT_MAX_Q4_1 0.068
#define RT_MAX_Q5_0 0.063
#define RT_MAX_Q5_1 0.034
#define RT_MAX_Q4_K 0.085
#define RT_MAX_Q5_K 0.060
#define RT_MAX_Q6_K 0.032

#define RT_RMS_F16 (1.0 / 2048.0)
#define RT_RMS_BF16 (1.0 / 256.0)
#define RT_RMS_Q8_0 0.012
#define RT_RMS_Q8_K 0.028
#define RT_RMS_Q4_0 0.20
#define RT_RMS_Q4_1 0.13
#define RT_RMS_Q5_0 0.090
#define RT_RMS_Q5_1 0.065
#define RT_RMS_Q4_K 0.12
#define RT_RMS_Q5_K 0.060
#define RT_RMS_Q6_K 0.035

/* Dot vs the exact (double) dot of the dequantized rows, relative to sum |w_i a_i|:
 * only f32 rounding is left, whose worst case for n <= 4096 is about 8e-6 (128
 * sequential adds per lane or block, the tree, the products); K-quants get twice
 * that because d*isum - dmin*msum may cancel. Measured: below 3e-8. */
#define DOT_DEQ_FLOAT 1e-5
#define DOT_DEQ_INT 1e-5
#define DOT_DEQ_KQUANT 2e-5

/* ISA dot vs scalar dot: 0, i.e. bit-identical. The kernels are built that way
 * (same 32 float lanes and tree; exact int32 block sums; shared float terms). */
#define DOT_ISA_TOL 0.0

typedef struct test_case {
    tensor_type type;
    double rt_max;
    double rt_rms;
    double dot_deq;
} test_case;

static const test_case test_cases[] = {
    {TENSOR_TYPE_F32, 0.0, 0.0, DOT_DEQ_FLOAT},
    {TENSOR_TYPE_F16, RT_MAX_F16, RT_RMS_F16, DOT_DEQ_FLOAT},
    {TENSOR_TYPE_BF16, RT_MAX_BF16, RT_RMS_BF16, DOT_DEQ_FLOAT},
    {TENSOR_TYPE_Q8_0, RT_MAX_Q8_0, RT_RMS_Q8_0, DOT_DEQ_INT},
    {TENSOR_TYPE_Q4_0, RT_MAX_Q4_0, RT_RMS_Q4_0, DOT_DEQ_INT},
    {TENSOR_TYPE_Q4_1, RT_MAX_Q4_1, RT_RMS_Q4_1, DOT_DEQ_INT},
    {TENSOR_TYPE_Q5_0, RT_MAX_Q5_0, RT_RMS_Q5_0, DOT_DEQ_INT},
    {TENSOR_TYPE_Q5_1, RT_MAX_Q5_1, RT_RMS_Q5_1, DOT_DEQ_INT},
    {TENSOR_TYPE_Q4_K, RT_MAX_Q4_K, RT_RMS_Q4_K, DOT_DEQ_KQUANT},
    {TENSOR_TYPE_Q5_K, RT_MAX_Q5_K, RT_RMS_Q5_K, DOT_DEQ_KQUANT},
    {TENSOR_TYPE_Q6_K, RT_MAX_Q6_K, RT_RMS_Q6_K, DOT_DEQ_KQUANT},
    {TENSOR_TYPE_Q8_K, RT_MAX_Q8_K, RT_RMS_Q8_K, DOT_DEQ_INT},
};
#define N_CASES (sizeof test_cases / sizeof test_cases[0])

/* Floats: tails of the 32 lanes; 32-blocks: nb = 1, 3, 25 cover the block-by-block
 * remainder after groups of 8; K-quants: 9 super-blocks does the same. */
static const int64_t test_lengths[] = {1,   7,   33,  100,  1000, 32,  96,
                                       256, 512, 800, 2304, 3840, 4096};
#define N_LENGTHS (sizeof test_lengths / sizeof test_lengths[0])

static quant_isa isa_scalar = QUANT_ISA_SCALAR;
static quant_isa isa_avx2 = QUANT_ISA_AVX2;
static quant_isa isa_avx512 = QUANT_ISA_AVX512;

/* ---- fixed-seed data ------------------------------------------------------------- */

static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
    rng_state = s;
}

static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Uniform in [-1, 1). */
static float rng_uniform(void)
{
    return (float)((double)(rng_next() >> 11) * (1.0 / 4503599627370496.0) - 1.0);
}

/* Roughly normal (Irwin-Hall of 12), no libm so identical everywhere. */
static float rng_normal(void)
{
    double s = 0.0;
    int i;

    for (i = 0; i < 12; i++)
        s += (double)(rng_next() >> 11) * (1.0 / 9007199254740992.0);
    return (float)(s - 6.0);
}

/* kind 0: uniform; 1: weight-like normal(0.02) with rare 10x outliers; 2: all
 * positive (exercises the mins); 3: sparse, with whole zero blocks. */
static void rng_fill(float *x, int64_t n, int kind)
{
    int64_t i;

    for (i = 0; i < n; i++) {
        switch (kind) {
        case 0: x[i] = rng_uniform(); break;
        case 1: x[i] = 0.02f * rng_normal() * ((rng_next() & 63) == 0 ? 10.0f : 1.0f); break;
        case 2: x[i] = 0.5f + 0.5f * rng_uniform(); break;
        default: x[i] = (i / 256) % 3 == 1 || (rng_next() & 7) ? 0.0f : rng_uniform(); break;
        }
    }
}

/* ---- helpers --------------------------------------------------------------------- */

static const quant_table *test_table(quant_isa isa)
{
    const quant_table *t = NULL;
    lp_error err;

    if (!quant_isa_supported(isa)) {
        print_message("skipped: %s not supported by this CPU\n", quant_isa_name(isa));
        skip();
    }
    assert_int_equal(quant_table_get(isa, &t, &err), LP_OK);
    assert_non_null(t);
    return t;
}

static uint64_t test_row_bytes(tensor_type type, int64_t n)
{
    uint64_t bytes = 0;

    assert_int_equal(tensor_row_bytes(type, (uint64_t)n, &bytes, NULL), LP_OK);
    return bytes;
}

static int test_fits(tensor_type type, int64_t n)
{
    return n % tensor_type_get(type)->block == 0;
}

static void *test_alloc(uint64_t bytes)
{
    void *p = lp_alloc((size_t)bytes);

    assert_non_null(p);
    memset(p, 0, (size_t)bytes);
    return p;
}

/* Bytes of wtype's activation row (its blocks and, for Q8_0, the sidecar). */
static uint64_t test_act_bytes(const quant_table *t, tensor_type wtype, int64_t n)
{
    uint64_t bytes = 0;

    assert_int_equal(quant_act_row_bytes(t, wtype, n, &bytes, NULL), LP_OK);
    return bytes;
}

/* The activation row in the weight type's activation format. */
static void test_quant_act(const quant_table *t, tensor_type wtype, const float *a, void *out,
                           int64_t n)
{
    quant_act_from_f32(t, wtype, a, out, n);
}

static uint32_t test_f32_bits(float f)
{
    uint32_t u;

    memcpy(&u, &f, sizeof u);
    return u;
}

static float test_bits_f32(uint32_t u)
{
    float f;

    memcpy(&f, &u, sizeof f);
    return f;
}

/* ---- tensor table ---------------------------------------------------------------- */

static void test_tensor_table(void **state)
{
    static const struct {
        tensor_type type;
        size_t size;
    } blocks[] = {
        {TENSOR_TYPE_Q4_0, sizeof(block_q4_0)}, {TENSOR_TYPE_Q4_1, sizeof(block_q4_1)},
        {TENSOR_TYPE_Q5_0, sizeof(block_q5_0)}, {TENSOR_TYPE_Q5_1, sizeof(block_q5_1)},
        {TENSOR_TYPE_Q8_0, sizeof(block_q8_0)}, {TENSOR_TYPE_Q4_K, sizeof(block_q4_K)},
        {TENSOR_TYPE_Q5_K, sizeof(block_q5_K)}, {TENSOR_TYPE_Q6_K, sizeof(block_q6_K)},
        {TENSOR_TYPE_Q8_K, sizeof(block_q8_K)},
    };
    const quant_table *t = NULL;
    tensor_type ty;
    size_t i;
    uint32_t id;

    (void)state;
    for (i = 0; i < sizeof blocks / sizeof blocks[0]; i++)
        assert_int_equal(tensor_type_get(blocks[i].type)->bytes, blocks[i].size);
    assert_int_equal(tensor_type_get(TENSOR_TYPE_IQ4_XS)->bytes, 136);
    assert_int_equal(tensor_type_get(TENSOR_TYPE_Q2_K)->block, 256);
    assert_null(tensor_type_get(4)); /* Q4_2, removed from ggml */
    assert_null(tensor_type_get(TENSOR_TYPE_COUNT));
    assert_null(tensor_type_get(0xffffffffu));
    assert_string_equal(tensor_type_name(TENSOR_TYPE_Q6_K), "Q6_K");
    assert_string_equal(tensor_type_name(31), "?");
    assert_int_equal(tensor_type_from_name("q4_k", &ty, NULL), LP_OK);
    assert_int_equal(ty, TENSOR_TYPE_Q4_K);
    assert_int_equal(tensor_type_from_name("BF16", &ty, NULL), LP_OK);
    assert_int_equal(ty, TENSOR_TYPE_BF16);
    assert_int_equal(tensor_type_from_name("Q4_2", &ty, NULL), LP_ERR_NOTFOUND);

    /* compute == 1 exactly where the scalar table has all three kernels */
    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &t, NULL), LP_OK);
    for (id = 0; id < TENSOR_TYPE_COUNT; id++) {
        const tensor_type_info *ti = tensor_type_get(id);
        int has = t->k[id].to_f32 && t->k[id].from_f32 && t->k[id].dot;
        int none = !t->k[id].to_f32 && !t->k[id].from_f32 && !t->k[id].dot;
        assert_true(has || none);
        assert_int_equal(has, ti ? ti->compute : 0);
    }
    assert_int_equal(t->k[TENSOR_TYPE_F16].act_type, TENSOR_TYPE_F32);
    assert_int_equal(t->k[TENSOR_TYPE_BF16].act_type, TENSOR_TYPE_F32);
    assert_int_equal(t->k[TENSOR_TYPE_Q5_1].act_type, TENSOR_TYPE_Q8_0);
    assert_int_equal(t->k[TENSOR_TYPE_Q6_K].act_type, TENSOR_TYPE_Q8_K);
}

static void test_tensor_sizes(void **state)
{
    uint64_t ne[4] = {4096, 262144, 1, 1}, big[4] = {256, 1ULL << 40, 1ULL << 30, 1};
    uint64_t out = 7;
    lp_error err;

    (void)state;
    assert_int_equal(tensor_row_bytes(TENSOR_TYPE_Q4_K, 256, &out, NULL), LP_OK);
    assert_int_equal(out, 144);
    assert_int_equal(tensor_row_bytes(TENSOR_TYPE_F32, 3, &out, NULL), LP_OK);
    assert_int_equal(out, 12);
    assert_int_equal(tensor_row_bytes(TENSOR_TYPE_Q8_0, 3840, &out, NULL), LP_OK);
    assert_int_equal(out, 3840 / 32 * 34);

    memset(&err, 0, sizeof err);
    assert_int_equal(tensor_row_bytes(TENSOR_TYPE_Q4_K, 100, &out, &err), LP_ERR_INVALID);
    assert_int_equal(out, 0);
    assert_non_null(strstr(err.msg, "Q4_K"));
    assert_non_null(strstr(err.msg, "100"));

    assert_int_equal(tensor_row_bytes(5, 32, &out, &err), LP_ERR_INVALID);
    assert_int_equal(tensor_row_bytes(TENSOR_TYPE_F32, 1ULL << 63, &out, &err), LP_ERR_LIMIT);
    assert_non_null(strstr(err.msg, "F32"));

    assert_int_equal(tensor_bytes(TENSOR_TYPE_Q6_K, 2, ne, &out, NULL), LP_OK);
    assert_int_equal(out, 4096ULL / 256 * 210 * 262144);
    assert_int_equal(tensor_bytes(TENSOR_TYPE_Q6_K, 3, big, &out, &err), LP_ERR_LIMIT);
    assert_int_equal(out, 0);
    assert_non_null(strstr(err.msg, "Q6_K"));
    assert_int_equal(tensor_bytes(TENSOR_TYPE_F32, 0, ne, &out, &err), LP_ERR_INVALID);
    assert_int_equal(tensor_bytes(TENSOR_TYPE_F32, 5, ne, &out, &err), LP_ERR_INVALID);
}

/* ---- fp16 / bf16 ----------------------------------------------------------------- */

/* |value| of a non-NaN half, from the IEEE definition. */
static double ref_half_value(uint32_t h)
{
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;

    if (e == 0)
        return ldexp((double)m, -24);
    if (e == 31)
        return INFINITY;
    return ldexp((double)(1024 + m), (int)e - 25);
}

/* |value| of a bf16; 0x7f80 counts as 2^128 so that it can be a rounding target. */
static double ref_bf16_value(uint32_t b)
{
    uint32_t e = (b >> 7) & 0xff, m = b & 0x7f;

    if (e == 0)
        return ldexp((double)m, -133);
    if (e == 255)
        return ldexp(1.0, 128);
    return ldexp((double)(128 + m), (int)e - 134);
}

/* Nearest of lo and lo+1 to a, ties to the even pattern. */
static uint32_t ref_pick(double a, uint32_t lo, double vlo, double vhi)
{
    double dlo = a - vlo, dhi = vhi - a;

    if (dlo < dhi)
        return lo;
    if (dhi < dlo)
        return lo + 1;
    return (lo & 1) ? lo + 1 : lo;
}

/* Round-to-nearest-even float -> half by search over all finite halves. */
static uint16_t ref_half_from_f32(float f)
{
    double a = fabs((double)f);
    uint32_t sign = (test_f32_bits(f) >> 16) & 0x8000u, lo = 0, hi = 0x7c00;

    if (a >= 65520.0)
        return (uint16_t)(sign | 0x7c00u);
    while (hi - lo > 1) { /* invariant: value(lo) <= a < value(hi) */
        uint32_t mid = (lo + hi) / 2;
        if (ref_half_value(mid) <= a)
            lo = mid;
        else
            hi = mid;
    }
    return (uint16_t)(sign | ref_pick(a, lo, ref_half_value(lo),
                                      lo + 1 == 0x7c00 ? 65536.0 : ref_half_value(lo + 1)));
}

static uint16_t ref_bf16_from_f32(float f)
{
    double a = fabs((double)f);
    uint32_t sign = (test_f32_bits(f) >> 16) & 0x8000u;
    uint32_t lo = (test_f32_bits(f) & 0x7fffffffu) >> 16;

    return (uint16_t)(sign | ref_pick(a, lo, ref_bf16_value(lo), ref_bf16_value(lo + 1)));
}

static void test_fp16_exhaustive(void **state)
{
    uint32_t h;

    (void)state;
    for (h = 0; h < 65536; h++) {
        float f = fp16_to_f32((uint16_t)h);
        int nan = ((h >> 10) & 0x1f) == 0x1f && (h & 0x3ff);
        if (nan) {
            uint16_t back = fp16_from_f32(f);
            assert_true(isnan(f));
            assert_int_equal(back & 0x7c00, 0x7c00);
            assert_true(back & 0x3ff);
            assert_int_equal(back & 0x8000, h & 0x8000);
            continue;
        }
        if (fabs((double)f) != ref_half_value(h) || (h & 0x8000) != (signbit(f) ? 0x8000 : 0))
            fail_msg("half 0x%04x widened to %a", (unsigned)h, (double)f);
        if (fp16_from_f32(f) != h)
            fail_msg("half 0x%04x round trip gave 0x%04x", (unsigned)h, fp16_from_f32(f));
    }
}

static void test_fp16_random(void **state)
{
    int i;

    (void)state;
    rng_seed(101);
    for (i = 0; i < (1 << 20); i++) {
        uint32_t u = (uint32_t)rng_next();
        float f;
        if (i & 1) { /* exponents around the half range, where rounding is interesting */
            uint32_t e = 127 - 30 + (uint32_t)(rng_next() % 48);
            u = (u & 0x807fffffu) | e << 23;
        }
        if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x7fffffu))
            continue; /* NaN: checked separately */
        f = test_bits_f32(u);
        if (fp16_from_f32(f) != ref_half_from_f32(f))
            fail_msg("fp16_from_f32(%a) = 0x%04x, reference 0x%04x", (double)f, fp16_from_f32(f),
                     ref_half_from_f32(f));
    }
    /* ties: exactly halfway between two halves must go to the even one */
    assert_int_equal(fp16_from_f32(1.0f + 1.0f / 2048.0f), 0x3c00);
    assert_int_equal(fp16_from_f32(1.0f + 3.0f / 2048.0f), 0x3c02);
    assert_int_equal(fp16_from_f32(65519.0f), 0x7bff);
    assert_int_equal(fp16_from_f32(65520.0f), 0x7c00);
    assert_int_equal(fp16_from_f32(ldexpf(1.0f, -25)), 0x0000);
    assert_int_equal(fp16_from_f32(ldexpf(1.5f, -25)), 0x0001);
    assert_true((fp16_from_f32(NAN) & 0x7c00) == 0x7c00 && (fp16_from_f32(NAN) & 0x3ff));
}

static void test_bf16_exhaustive(void **state)
{
    uint32_t b;

    (void)state;
    for (b = 0; b < 65536; b++) {
        float f = fp16_bf16_to_f32((uint16_t)b);
        uint16_t back = fp16_bf16_from_f32(f);
        assert_int_equal(test_f32_bits(f), b << 16);
        if (isnan(f)) {
            assert_int_equal(back, b | 0x40); /* quieted, payload kept */
            continue;
        }
        if (back != b)
            fail_msg("bf16 0x%04x round trip gave 0x%04x", (unsigned)b, back);
    }
}

static void test_bf16_random(void **state)
{
    int i;

    (void)state;
    rng_seed(202);
    for (i = 0; i < (1 << 20); i++) {
        uint32_t u = (uint32_t)rng_next();
        float f;
        if ((u & 0x7f800000u) == 0x7f800000u)
            continue; /* NaN and infinity: checked in the exhaustive test */
        f = test_bits_f32(u);
        if (fp16_bf16_from_f32(f) != ref_bf16_from_f32(f))
            fail_msg("fp16_bf16_from_f32(%a) = 0x%04x, reference 0x%04x", (double)f,
                     fp16_bf16_from_f32(f), ref_bf16_from_f32(f));
    }
    assert_int_equal(fp16_bf16_from_f32(test_bits_f32(0x3f808000u)), 0x3f80); /* tie, even */
    assert_int_equal(fp16_bf16_from_f32(test_bits_f32(0x3f818000u)), 0x3f82); /* tie, odd */
    assert_int_equal(fp16_bf16_from_f32(test_bits_f32(0x7f7fffffu)), 0x7f80); /* overflow */
}

/* ---- dispatch -------------------------------------------------------------------- */

static void test_dispatch(void **state)
{
    const quant_table *t = NULL, *s = NULL;
    const char *env = getenv("LOUPE_ISA");
    char *saved = env ? lp_alloc_strdup(env) : NULL;
    quant_isa isa;
    lp_error err;

    (void)state;
    assert_true(!env || saved);
    assert_int_equal(quant_isa_from_name("avx2", &isa, NULL), LP_OK);
    assert_int_equal(isa, QUANT_ISA_AVX2);
    assert_int_equal(quant_isa_from_name("avx512", &isa, NULL), LP_OK);
    assert_int_equal(isa, QUANT_ISA_AVX512);
    assert_int_equal(quant_isa_from_name("sse9", &isa, &err), LP_ERR_INVALID);
    assert_non_null(strstr(err.msg, "sse9"));
    assert_string_equal(quant_isa_name(QUANT_ISA_SCALAR), "scalar");
    assert_true(quant_isa_supported(QUANT_ISA_SCALAR));

    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &s, NULL), LP_OK);
    assert_string_equal(s->name, "scalar");
    if (!quant_isa_supported(QUANT_ISA_AVX512)) {
        t = s;
        assert_int_equal(quant_table_get(QUANT_ISA_AVX512, &t, &err), LP_ERR_UNSUPPORTED);
        assert_null(t);
        assert_non_null(strstr(err.msg, "avx512"));
    } else {
        assert_int_equal(quant_table_get(QUANT_ISA_AVX512, &t, NULL), LP_OK);
        assert_true(strncmp(t->name, "avx512", 6) == 0);
    }

    assert_int_equal(setenv("LOUPE_ISA", "scalar", 1), 0);
    assert_int_equal(quant_table_default(&t, NULL), LP_OK);
    assert_ptr_equal(t, s);
    assert_int_equal(setenv("LOUPE_ISA", "mmx", 1), 0);
    assert_int_equal(quant_table_default(&t, &err), LP_ERR_INVALID);
    assert_null(t);
    assert_non_null(strstr(err.msg, "LOUPE_ISA"));
    if (!quant_isa_supported(QUANT_ISA_AVX512)) {
        assert_int_equal(setenv("LOUPE_ISA", "avx512", 1), 0);
        assert_int_equal(quant_table_default(&t, &err), LP_ERR_UNSUPPORTED);
    }
    assert_int_equal(unsetenv("LOUPE_ISA"), 0);
    assert_int_equal(quant_table_default(&t, NULL), LP_OK);
    if (quant_isa_supported(QUANT_ISA_AVX2))
        assert_int_not_equal(t->isa, QUANT_ISA_SCALAR);
    print_message("default table here: %s\n", t->name);
    if (saved)
        assert_int_equal(setenv("LOUPE_ISA", saved, 1), 0);
    lp_alloc_free(saved);
}

/* ---- hand-built blocks: the layouts, pinned -------------------------------------- */

static void test_assert_floats(const float *got, const float *want, int n, const char *what)
{
    int i;

    for (i = 0; i < n; i++)
        if (got[i] != want[i])
            fail_msg("%s: value %d is %g, expected %g", what, i, (double)got[i], (double)want[i]);
}

static void test_layout_32(void **state)
{
    const quant_table *t = NULL;
    float got[32], want[32];
    block_q4_0 b40;
    block_q4_1 b41;
    block_q5_0 b50;
    block_q5_1 b51;
    block_q8_0 b80;
    int j;

    (void)state;
    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &t, NULL), LP_OK);

    /* Q4_0, d = 1: byte j holds value j (low nibble) and value j+16 (high nibble) */
    b40.d = 0x3c00;
    for (j = 0; j < 16; j++) {
        b40.qs[j] = (uint8_t)(j | (15 - j) << 4);
        want[j] = (float)(j - 8);
        want[j + 16] = (float)(15 - j - 8);
    }
    t->k[TENSOR_TYPE_Q4_0].to_f32(&b40, got, 32);
    test_assert_floats(got, want, 32, "Q4_0");
    assert_true(got[0] == -8.0f && got[15] == 7.0f && got[16] == 7.0f && got[31] == -8.0f);

    /* Q4_1: value = d*q + m with d = 0.5, m = -1 */
    b41.d = 0x3800;
    b41.m = 0xbc00;
    memcpy(b41.qs, b40.qs, 16);
    for (j = 0; j < 16; j++) {
        want[j] = 0.5f * (float)j - 1.0f;
        want[j + 16] = 0.5f * (float)(15 - j) - 1.0f;
    }
    t->k[TENSOR_TYPE_Q4_1].to_f32(&b41, got, 32);
    test_assert_floats(got, want, 32, "Q4_1");
    assert_true(got[0] == -1.0f && got[16] == 6.5f);

    /* Q5_0: qh = 0x80000001 (LE bytes 01 00 00 80): the 5th bit of values 0 and 31 */
    b50.d = 0x3c00;
    memcpy(b50.qs, b40.qs, 16);
    b50.qh[0] = 0x01;
    b50.qh[1] = 0x00;
    b50.qh[2] = 0x00;
    b50.qh[3] = 0x80;
    for (j = 0; j < 16; j++) {
        want[j] = (float)(j - 16);
        want[j + 16] = (float)(15 - j - 16);
    }
    want[0] = 0.0f;
    want[31] = 0.0f;
    t->k[TENSOR_TYPE_Q5_0].to_f32(&b50, got, 32);
    test_assert_floats(got, want, 32, "Q5_0");
    assert_true(got[1] == -15.0f && got[16] == -1.0f);

    /* Q5_1: bit 16 set (value 16), value = q + 0.5 */
    b51.d = 0x3c00;
    b51.m = 0x3800;
    memcpy(b51.qs, b40.qs, 16);
    b51.qh[0] = 0x00;
    b51.qh[1] = 0x00;
    b51.qh[2] = 0x01;
    b51.qh[3] = 0x00;
    for (j = 0; j < 16; j++) {
        want[j] = (float)j + 0.5f;
        want[j + 16] = (float)(15 - j) + 0.5f;
    }
    want[16] = 31.5f;
    t->k[TENSOR_TYPE_Q5_1].to_f32(&b51, got, 32);
    test_assert_floats(got, want, 32, "Q5_1");

    /* Q8_0, d = 0.25 */
    b80.d = 0x3400;
    for (j = 0; j < 32; j++) {
        b80.qs[j] = (int8_t)(j - 16);
        want[j] = (float)(j - 16) * 0.25f;
    }
    t->k[TENSOR_TYPE_Q8_0].to_f32(&b80, got, 32);
    test_assert_floats(got, want, 32, "Q8_0");
}

/* Scales {1,2,3,4,17,33,50,63} and mins {0,5,10,15,36,8,48,30} packed by hand; the top
 * two bits of scales and mins 4..7 all differ, so swapping their bytes shows. */
static const uint8_t test_k4_scales[12] = {0x41, 0x82, 0xc3, 0xc4, 0x80, 0x05,
                                           0xca, 0x4f, 0x41, 0x81, 0x02, 0xef};
static const int test_k4_sc[8] = {1, 2, 3, 4, 17, 33, 50, 63};
static const int test_k4_mn[8] = {0, 5, 10, 15, 36, 8, 48, 30};

static void test_layout_k(void **state)
{
    const quant_table *t = NULL;
    float *got, *want;
    block_q4_K b4;
    block_q5_K b5;
    block_q6_K b6;
    block_q8_K b8;
    int i, c, l, v;

    (void)state;
    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &t, NULL), LP_OK);
    got = test_alloc(256 * sizeof(float));
    want = test_alloc(256 * sizeof(float));

    /* Q4_K, d = 0.5, dmin = 0.25: value 64c+l from the low nibble of qs[32c+l] with
     * sub-block 2c, value 64c+32+l from its high nibble with sub-block 2c+1 */
    b4.d = 0x3800;
    b4.dmin = 0x3400;
    memcpy(b4.scales, test_k4_scales, 12);
    for (i = 0; i < 128; i++)
        b4.qs[i] = (uint8_t)(i * 7 + 3);
    for (c = 0; c < 4; c++) {
        for (l = 0; l < 32; l++) {
            int q = b4.qs[32 * c + l];
            want[64 * c + l] =
                0.5f * (float)(test_k4_sc[2 * c] * (q & 15)) - 0.25f * (float)test_k4_mn[2 * c];
            want[64 * c + 32 + l] = 0.5f * (float)(test_k4_sc[2 * c + 1] * (q >> 4)) -
                                    0.25f * (float)test_k4_mn[2 * c + 1];
        }
    }
    t->k[TENSOR_TYPE_Q4_K].to_f32(&b4, got, 256);
    test_assert_floats(got, want, 256, "Q4_K");
    assert_true(got[0] == 1.5f && got[32] == -1.25f && got[128] == 16.5f);
    assert_true(got[192] == 63.0f && got[224] == 307.5f && got[255] == 213.0f);

    /* Q5_K: as Q4_K plus bit 2c (low half) / 2c+1 (high half) of qh[l] worth 16 */
    b5.d = 0x3800;
    b5.dmin = 0x3400;
    memcpy(b5.scales, test_k4_scales, 12);
    memcpy(b5.qs, b4.qs, 128);
    for (l = 0; l < 32; l++)
        b5.qh[l] = (uint8_t)(l * 37 + 11);
    for (c = 0; c < 4; c++) {
        for (l = 0; l < 32; l++) {
            int q = b5.qs[32 * c + l];
            int h0 = (b5.qh[l] >> (2 * c)) & 1, h1 = (b5.qh[l] >> (2 * c + 1)) & 1;
            want[64 * c + l] = 0.5f * (float)(test_k4_sc[2 * c] * ((q & 15) + 16 * h0)) -
                               0.25f * (float)test_k4_mn[2 * c];
            want[64 * c + 32 + l] = 0.5f * (float)(test_k4_sc[2 * c + 1] * ((q >> 4) + 16 * h1)) -
                                    0.25f * (float)test_k4_mn[2 * c + 1];
        }
    }
    t->k[TENSOR_TYPE_Q5_K].to_f32(&b5, got, 256);
    test_assert_floats(got, want, 256, "Q5_K");
    /* qh[0] = 11 = 0b1011: values 0, 32 and 96 get +16, value 64 does not */
    assert_true(got[0] == 0.5f * 19.0f && got[32] == 16.0f - 1.25f);
    assert_true(got[64] == 0.5f * 3.0f * 3.0f - 2.5f);

    /* Q6_K, d = 0.5, signed scales j-8: value v = 128h + 32k + l takes the low (k < 2) or
     * high nibble of ql[64h + 32(k&1) + l] and bits 2k..2k+1 of qh[32h + l], minus 32 */
    b6.d = 0x3800;
    for (i = 0; i < 128; i++)
        b6.ql[i] = (uint8_t)(i * 5 + 1);
    for (i = 0; i < 64; i++)
        b6.qh[i] = (uint8_t)(i * 3 + 7);
    for (i = 0; i < 16; i++)
        b6.scales[i] = (int8_t)(i - 8);
    for (v = 0; v < 256; v++) {
        int h = v / 128, k = (v % 128) / 32, ll = v % 32;
        int byte = b6.ql[64 * h + 32 * (k & 1) + ll];
        int q = (k < 2 ? byte & 15 : byte >> 4) | ((b6.qh[32 * h + ll] >> (2 * k)) & 3) << 4;
        want[v] = 0.5f * (float)(b6.scales[v / 16] * (q - 32));
    }
    t->k[TENSOR_TYPE_Q6_K].to_f32(&b6, got, 256);
    test_assert_floats(got, want, 256, "Q6_K");
    assert_true(got[0] == -68.0f && got[255] == 80.5f);

    /* Q8_K: f32 d */
    b8.d = 0.5f;
    for (i = 0; i < 256; i++) {
        b8.qs[i] = (int8_t)(i - 128);
        want[i] = 0.5f * (float)(i - 128);
    }
    t->k[TENSOR_TYPE_Q8_K].to_f32(&b8, got, 256);
    test_assert_floats(got, want, 256, "Q8_K");

    lp_alloc_free(got);
    lp_alloc_free(want);
}

static void test_layout_float(void **state)
{
    static const uint16_t h[4] = {0x3c00, 0xc000, 0x7bff, 0x0001};
    static const uint16_t b[2] = {0x3f80, 0xc2f7};
    const quant_table *t = NULL;
    uint16_t back[4];
    float got[4];

    (void)state;
    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &t, NULL), LP_OK);
    t->k[TENSOR_TYPE_F16].to_f32(h, got, 4);
    assert_true(got[0] == 1.0f && got[1] == -2.0f && got[2] == 65504.0f);
    assert_true(got[3] == ldexpf(1.0f, -24));
    t->k[TENSOR_TYPE_F16].from_f32(got, back, 4);
    assert_memory_equal(back, h, sizeof h);
    t->k[TENSOR_TYPE_BF16].to_f32(b, got, 2);
    assert_true(got[0] == 1.0f && got[1] == -123.5f);
}

/* ---- quantization error, per ISA ------------------------------------------------- */

static void test_check_roundtrip(const quant_table *t, const test_case *tc, int kind)
{
    const int64_t n = 4096;
    const tensor_type_info *ti = tensor_type_get(tc->type);
    int64_t blk = ti->block > 1 ? ti->block : 32, i, j;
    float *x = test_alloc(n * sizeof(float)), *y = test_alloc(n * sizeof(float));
    void *q = test_alloc(test_row_bytes(tc->type, n));
    double worst = 0.0, se = 0.0, sx = 0.0;

    rng_seed(1000 + (uint64_t)tc->type * 16 + (uint64_t)kind);
    rng_fill(x, n, kind);
    t->k[tc->type].from_f32(x, q, n);
    t->k[tc->type].to_f32(q, y, n);
    for (i = 0; i < n; i += blk) {
        double amax = 0.0, emax = 0.0;
        for (j = i; j < i + blk; j++) {
            double e = fabs((double)x[j] - (double)y[j]);
            amax = fmax(amax, fabs((double)x[j]));
            emax = fmax(emax, e);
            se += e * e;
            sx += (double)x[j] * x[j];
        }
        if (amax > 0.0)
            worst = fmax(worst, emax / amax);
        else
            assert_true(emax == 0.0); /* an all-zero block comes back all zero */
    }
    if (worst > tc->rt_max || se > tc->rt_rms * tc->rt_rms * sx)
        fail_msg("%s/%s data %d: max err %.5f of block max (limit %.5f), rms %.5f (limit %.5f)",
                 t->name, tensor_type_name(tc->type), kind, worst, tc->rt_max,
                 sx > 0 ? sqrt(se / sx) : 0.0, tc->rt_rms);
    lp_alloc_free(x);
    lp_alloc_free(y);
    lp_alloc_free(q);
}

static void test_roundtrip(void **state)
{
    const quant_table *t = test_table(*(quant_isa *)*state);
    size_t c;
    int kind;

    for (c = 0; c < N_CASES; c++)
        for (kind = 0; kind < 4; kind++)
            test_check_roundtrip(t, &test_cases[c], kind);
}

/* ---- ISA vs scalar: quantizers and dequantizers byte-identical ------------------- */

static void test_quantize_identical(void **state)
{
    const quant_table *t = test_table(*(quant_isa *)*state), *s = NULL;
    const int64_t n = 4096;
    float *x = test_alloc(n * sizeof(float));
    float *y1 = test_alloc(n * sizeof(float)), *y2 = test_alloc(n * sizeof(float));
    size_t c;
    int kind;

    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &s, NULL), LP_OK);
    for (c = 0; c < N_CASES; c++) {
        tensor_type ty = test_cases[c].type;
        uint64_t bytes = test_row_bytes(ty, n);
        uint8_t *q1 = test_alloc(bytes), *q2 = test_alloc(bytes);
        for (kind = 0; kind < 5; kind++) {
            rng_seed(2000 + (uint64_t)ty * 16 + (uint64_t)kind);
            rng_fill(x, n, kind & 3);
            if (kind == 4) { /* activation edge cases: tiny, huge, NaN, infinity */
                x[0] = 1e-30f;
                x[40] = 3e7f;
                x[70] = NAN;
                x[100] = -INFINITY;
                x[300] = NAN;
                x[600] = INFINITY;
                if (ty != TENSOR_TYPE_Q8_0 && ty != TENSOR_TYPE_Q8_K)
                    continue;
            }
            s->k[ty].from_f32(x, q1, n);
            t->k[ty].from_f32(x, q2, n);
            if (memcmp(q1, q2, (size_t)bytes) != 0)
                fail_msg("%s %s quantizer differs from scalar (data %d)", t->name,
                         tensor_type_name(ty), kind);
            s->k[ty].to_f32(q1, y1, n);
            t->k[ty].to_f32(q1, y2, n);
            if (memcmp(y1, y2, (size_t)n * sizeof(float)) != 0)
                fail_msg("%s %s dequantizer differs from scalar", t->name, tensor_type_name(ty));
        }
        lp_alloc_free(q1);
        lp_alloc_free(q2);
    }
    lp_alloc_free(x);
    lp_alloc_free(y1);
    lp_alloc_free(y2);
}

/* ---- dots ------------------------------------------------------------------------ */

/* Quantized rows of one type for a dot test; w sits one byte off alignment when
 * misalign is set, since rows need not be aligned. */
typedef struct test_rows {
    uint8_t *wbuf;
    void *w;
    void *a;
    float *wf;
    float *af;
} test_rows;

static void test_rows_make(test_rows *r, const quant_table *s, tensor_type ty, int64_t n,
                           int misalign, uint64_t seed)
{
    tensor_type act = s->k[ty].act_type;
    uint64_t wbytes = test_row_bytes(ty, n);

    r->wbuf = test_alloc(wbytes + 1);
    r->w = r->wbuf + (misalign ? 1 : 0);
    r->a = test_alloc(test_act_bytes(s, ty, n));
    r->wf = test_alloc((uint64_t)n * sizeof(float));
    r->af = test_alloc((uint64_t)n * sizeof(float));
    rng_seed(seed);
    rng_fill(r->wf, n, (int)(seed % 4));
    rng_fill(r->af, n, 0);
    s->k[ty].from_f32(r->wf, r->w, n);
    test_quant_act(s, ty, r->af, r->a, n);
    /* from here on wf/af hold what the dot actually sees */
    s->k[ty].to_f32(r->w, r->wf, n);
    if (act != TENSOR_TYPE_F32)
        s->k[act].to_f32(r->a, r->af, n);
}

static void test_rows_free(test_rows *r)
{
    lp_alloc_free(r->wbuf);
    lp_alloc_free(r->a);
    lp_alloc_free(r->wf);
    lp_alloc_free(r->af);
}

static void test_dot_isa(void **state)
{
    const quant_table *t = test_table(*(quant_isa *)*state), *s = NULL;
    size_t c, li;
    int checked = 0;

    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &s, NULL), LP_OK);
    for (c = 0; c < N_CASES; c++) {
        tensor_type ty = test_cases[c].type;
        for (li = 0; li < N_LENGTHS; li++) {
            int64_t n = test_lengths[li];
            float ds = NAN, dt = NAN;
            test_rows r;
            if (!test_fits(ty, n))
                continue;
            test_rows_make(&r, s, ty, n, (int)(li & 1), 3000 + (uint64_t)ty * 64 + li);
            s->k[ty].dot(n, &ds, r.w, r.a);
            t->k[ty].dot(n, &dt, r.w, r.a);
            if (DOT_ISA_TOL == 0.0 ? test_f32_bits(ds) != test_f32_bits(dt)
                                   : fabs((double)ds - dt) > DOT_ISA_TOL * fabs((double)ds))
                fail_msg("%s %s n=%lld: dot %.9g, scalar %.9g", t->name, tensor_type_name(ty),
                         (long long)n, (double)dt, (double)ds);
            checked++;
            test_rows_free(&r);
        }
    }
    assert_true(checked >= (int)N_CASES * 4);
}

/* The int16 bound of the Q4_0 kernels, reached: every code 0 (value -8) against
 * activations of 127 gives each block's products the sum -32512, which the SIMD
 * dots fold in int16 (nb = 9: one group of eight and the remainder). d = 1 in
 * both, so every ISA must give exactly 9 * -32512. */
static void test_dot_q4_0_extreme(void **state)
{
    const quant_table *t = test_table(*(quant_isa *)*state);
    block_q4_0 w[9];
    uint8_t a[9 * (sizeof(block_q8_0) + QUANT_ACT_SIDECAR_PER_BLOCK)];
    float x[9 * QUANT_QK], s = NAN;
    int b, i;

    assert_int_equal(test_act_bytes(t, TENSOR_TYPE_Q4_0, 9 * QUANT_QK), sizeof a);
    for (b = 0; b < 9; b++) {
        w[b].d = 0x3c00; /* fp16 1.0 */
        memset(w[b].qs, 0, sizeof w[b].qs);
    }
    for (i = 0; i < 9 * QUANT_QK; i++)
        x[i] = 127.0f; /* quantizes to d = 1, codes 127 */
    quant_act_from_f32(t, TENSOR_TYPE_Q4_0, x, a, 9 * QUANT_QK);
    assert_int_equal(((const block_q8_0 *)a)[8].d, 0x3c00);
    t->k[TENSOR_TYPE_Q4_0].dot(9 * QUANT_QK, &s, w, a);
    assert_true(s == 9.0f * -32512.0f);
    for (i = 0; i < 9 * QUANT_QK; i++)
        x[i] = -127.0f;
    quant_act_from_f32(t, TENSOR_TYPE_Q4_0, x, a, 9 * QUANT_QK);
    t->k[TENSOR_TYPE_Q4_0].dot(9 * QUANT_QK, &s, w, a);
    assert_true(s == 9.0f * 32512.0f);
}

/* Panels against dot, bit for bit: sixteen different rows (row r quantized from
 * its own data) packed with the type's pack, then met by 1..4 activation rows at
 * an odd stride. Row r's result for token t must be the dot of the unpacked row,
 * so a layout or lane mix-up shows; lengths cover whole groups of eight blocks and
 * remainders. The scalar table's panel (unpack and dot) holds pack to its inverse. */
static void test_panel(void **state)
{
    const quant_table *t = test_table(*(quant_isa *)*state), *s = NULL;
    int checked = 0;

    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &s, NULL), LP_OK);
    for (size_t c = 0; c < N_CASES; c++) {
        tensor_type ty = test_cases[c].type;
        if (!s->k[ty].pack) {
            assert_null(t->k[ty].panel);
            assert_null(t->k[ty].unpack);
            continue;
        }
        assert_non_null(t->k[ty].panel);
        assert_non_null(t->k[ty].unpack);
        for (size_t li = 0; li < N_LENGTHS; li++) {
            int64_t n = test_lengths[li];
            uint64_t row, a_row, stride;
            uint8_t *rows, *panel, *acts;
            float *x, got[QUANT_PANEL_TOK * QUANT_PANEL_ROWS];
            if (!test_fits(ty, n))
                continue;
            row = test_row_bytes(ty, n);
            a_row = test_act_bytes(t, ty, n);
            stride = a_row + 5 + (uint64_t)(li & 1) * 40;
            rows = test_alloc(QUANT_PANEL_ROWS * row);
            panel = test_alloc(QUANT_PANEL_ROWS * row);
            acts = test_alloc(QUANT_PANEL_TOK * stride);
            x = test_alloc((uint64_t)n * sizeof(float));
            rng_seed(7000 + (uint64_t)ty * 64 + li);
            for (int r = 0; r < QUANT_PANEL_ROWS; r++) {
                rng_fill(x, n, r & 3);
                s->k[ty].from_f32(x, rows + (size_t)r * row, n);
            }
            for (int j = 0; j < QUANT_PANEL_TOK; j++) {
                rng_fill(x, n, j & 3);
                test_quant_act(t, ty, x, acts + (size_t)j * stride, n);
            }
            s->k[ty].pack(n, rows, (size_t)row, panel);
            for (int nt = 1; nt <= QUANT_PANEL_TOK; nt++) {
                memset(got, 0xff, sizeof got);
                t->k[ty].panel(n, got, panel, acts, (size_t)stride, nt);
                for (int j = 0; j < nt; j++)
                    for (int r = 0; r < QUANT_PANEL_ROWS; r++) {
                        float want = NAN, g = got[j * QUANT_PANEL_ROWS + r];
                        t->k[ty].dot(n, &want, rows + (size_t)r * row, acts + (size_t)j * stride);
                        if (test_f32_bits(g) != test_f32_bits(want))
                            fail_msg("%s %s n=%lld tokens %d: row %d token %d: panel %.9g, "
                                     "dot %.9g",
                                     t->name, tensor_type_name(ty), (long long)n, nt, r, j,
                                     (double)g, (double)want);
                    }
            }
            checked++;
            lp_alloc_free(rows);
            lp_alloc_free(panel);
            lp_alloc_free(acts);
            lp_alloc_free(x);
        }
    }
    assert_true(checked >= 4);
}

/* dot4 against dot of the same table, bit for bit: four different activation rows
 * (row j is quantized from its own data) at a stride that is not a multiple of the
 * row size, so a kernel that mixes up rows or strides shows. Every length covers
 * the eight-block groups and the remainder. */
static void test_dot4(void **state)
{
    const quant_table *t = test_table(*(quant_isa *)*state), *s = NULL;
    size_t c, li;
    int checked = 0;

    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &s, NULL), LP_OK);
    for (c = 0; c < N_CASES; c++) {
        tensor_type ty = test_cases[c].type;
        if (!t->k[ty].dot4)
            continue;
        for (li = 0; li < N_LENGTHS; li++) {
            int64_t n = test_lengths[li];
            uint64_t a_row, stride;
            float *af;
            uint8_t *acts;
            float got[4], want[4];
            test_rows r;
            int j;
            if (!test_fits(ty, n))
                continue;
            test_rows_make(&r, s, ty, n, (int)(li & 1), 5000 + (uint64_t)ty * 64 + li);
            a_row = test_act_bytes(t, ty, n);
            stride = a_row + 3 + (uint64_t)(li & 1) * 61;
            acts = test_alloc(4 * stride);
            af = test_alloc((uint64_t)n * sizeof(float));
            for (j = 0; j < 4; j++) {
                rng_fill(af, n, j & 3);
                test_quant_act(t, ty, af, acts + (size_t)j * stride, n);
            }
            t->k[ty].dot4(n, got, r.w, acts, (size_t)stride);
            for (j = 0; j < 4; j++) {
                t->k[ty].dot(n, &want[j], r.w, acts + (size_t)j * stride);
                if (test_f32_bits(got[j]) != test_f32_bits(want[j]))
                    fail_msg("%s %s n=%lld row %d: dot4 %.9g, dot %.9g", t->name,
                             tensor_type_name(ty), (long long)n, j, (double)got[j],
                             (double)want[j]);
            }
            checked++;
            lp_alloc_free(af);
            lp_alloc_free(acts);
            test_rows_free(&r);
        }
    }
    if (t->isa == QUANT_ISA_SCALAR)
        assert_true(checked >= (int)N_CASES * 4);
    else
        assert_true(checked > 0);
}

static void test_dot_deq(void **state)
{
    const quant_table *t = test_table(*(quant_isa *)*state), *s = NULL;
    size_t c, li;

    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &s, NULL), LP_OK);
    for (c = 0; c < N_CASES; c++) {
        tensor_type ty = test_cases[c].type;
        for (li = 0; li < N_LENGTHS; li++) {
            int64_t n = test_lengths[li], i;
            double exact = 0.0, mag = 0.0;
            float got = NAN;
            test_rows r;
            if (!test_fits(ty, n))
                continue;
            test_rows_make(&r, s, ty, n, 0, 4000 + (uint64_t)ty * 64 + li);
            for (i = 0; i < n; i++) {
                exact += (double)r.wf[i] * r.af[i];
                mag += fabs((double)r.wf[i] * r.af[i]);
            }
            t->k[ty].dot(n, &got, r.w, r.a);
            if (!(fabs((double)got - exact) <= test_cases[c].dot_deq * mag))
                fail_msg("%s %s n=%lld: dot %.9g, dequantized %.9g (err %.3g of %.3g)", t->name,
                         tensor_type_name(ty), (long long)n, (double)got, exact,
                         fabs((double)got - exact) / (mag > 0 ? mag : 1.0), test_cases[c].dot_deq);
            test_rows_free(&r);
        }
    }
}

/* One cmocka case per (test, ISA), named e.g. "test_dot_isa/avx2". */
#define TEST_ISA(f, isa)                                                                           \
    {                                                                                              \
#f "/" #isa, f, NULL, NULL, &isa_##isa                                                     \
    }

/* axpy of every table against the scalar one, bit for bit, over all test lengths
 * (the eight-wide body and the tail), on rows one byte off alignment; and the
 * scalar one against y + a*x written out here. */
static void test_axpy(void **state)
{
    static const tensor_type types[] = {TENSOR_TYPE_F32, TENSOR_TYPE_F16, TENSOR_TYPE_BF16};
    const quant_table *t = test_table(*(quant_isa *)*state), *s = NULL;
    int checked = 0;

    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &s, NULL), LP_OK);
    for (size_t c = 0; c < sizeof types / sizeof types[0]; c++) {
        tensor_type ty = types[c];
        assert_non_null(t->k[ty].axpy);
        for (size_t li = 0; li < N_LENGTHS; li++) {
            int64_t n = test_lengths[li];
            uint8_t *buf = test_alloc(test_row_bytes(ty, n) + 1), *x = buf + 1;
            float *xf = test_alloc((uint64_t)n * sizeof(float));
            float *y0 = test_alloc((uint64_t)n * sizeof(float));
            float *ys = test_alloc((uint64_t)n * sizeof(float));
            float *yt = test_alloc((uint64_t)n * sizeof(float));
            const float a = -0.371f;
            rng_seed(7000 + (uint64_t)ty * 64 + li);
            rng_fill(xf, n, (int)(li % 4));
            rng_fill(y0, n, 0);
            s->k[ty].from_f32(xf, x, n);
            s->k[ty].to_f32(x, xf, n);
            memcpy(ys, y0, (size_t)n * sizeof(float));
            memcpy(yt, y0, (size_t)n * sizeof(float));
            s->k[ty].axpy(n, a, x, ys);
            t->k[ty].axpy(n, a, x, yt);
            for (int64_t i = 0; i < n; i++) {
                float want = y0[i] + a * xf[i];
                if (test_f32_bits(ys[i]) != test_f32_bits(want) ||
                    test_f32_bits(yt[i]) != test_f32_bits(want))
                    fail_msg("%s %s n=%lld i=%lld: axpy %.9g, scalar %.9g, want %.9g", t->name,
                             tensor_type_name(ty), (long long)n, (long long)i, (double)yt[i],
                             (double)ys[i], (double)want);
            }
            checked++;
            lp_alloc_free(buf);
            lp_alloc_free(xf);
            lp_alloc_free(y0);
            lp_alloc_free(ys);
            lp_alloc_free(yt);
        }
    }
    assert_int_equal(checked, 3 * (int)N_LENGTHS);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tensor_table),
        cmocka_unit_test(test_tensor_sizes),
        cmocka_unit_test(test_fp16_exhaustive),
        cmocka_unit_test(test_fp16_random),
        cmocka_unit_test(test_bf16_exhaustive),
        cmocka_unit_test(test_bf16_random),
        cmocka_unit_test(test_dispatch),
        cmocka_unit_test(test_layout_32),
        cmocka_unit_test(test_layout_k),
        cmocka_unit_test(test_layout_float),
        TEST_ISA(test_roundtrip, scalar),
        TEST_ISA(test_roundtrip, avx2),
        TEST_ISA(test_roundtrip, avx512),
        TEST_ISA(test_quantize_identical, avx2),
        TEST_ISA(test_quantize_identical, avx512),
        TEST_ISA(test_dot_isa, avx2),
        TEST_ISA(test_dot_isa, avx512),
        TEST_ISA(test_dot_q4_0_extreme, scalar),
        TEST_ISA(test_dot_q4_0_extreme, avx2),
        TEST_ISA(test_dot_q4_0_extreme, avx512),
        TEST_ISA(test_dot4, scalar),
        TEST_ISA(test_dot4, avx2),
        TEST_ISA(test_dot4, avx512),
        TEST_ISA(test_panel, scalar),
        TEST_ISA(test_panel, avx2),
        TEST_ISA(test_panel, avx512),
        TEST_ISA(test_dot_deq, scalar),
        TEST_ISA(test_dot_deq, avx2),
        TEST_ISA(test_dot_deq, avx512),
        TEST_ISA(test_axpy, scalar),
        TEST_ISA(test_axpy, avx2),
        TEST_ISA(test_axpy, avx512),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
