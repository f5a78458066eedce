/* Matmul tests: for every weight type and ISA, results are bit-identical for 1 and
 * 2 threads, for one batch vs token by token and with the weights packed into
 * panels or not (single rows read back from the panels too), and agree with a double-precision
 * product of the dequantized weights and the activations as the kernel sees them. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "loupe/base/alloc.h"
#include "loupe/base/rng.h"
#include "loupe/engine/matmul.h"

#define N_IN 512
#define N_OUT 37 /* not a multiple of the 16-row work item */
#define N_TOK 9  /* two groups of four (dot4) and one token left */

static const tensor_type mm_types[] = {
    TENSOR_TYPE_F32,  TENSOR_TYPE_F16,  TENSOR_TYPE_BF16, TENSOR_TYPE_Q8_0,
    TENSOR_TYPE_Q4_0, TENSOR_TYPE_Q4_1, TENSOR_TYPE_Q5_0, TENSOR_TYPE_Q5_1,
    TENSOR_TYPE_Q4_K, TENSOR_TYPE_Q5_K, TENSOR_TYPE_Q6_K, TENSOR_TYPE_Q8_K,
};

/* Expected y for weights w (any type) and activations x, computed in double from the
 * scalar dequantization of both (the activations after their own rounding). */
static void mm_reference(const quant_table *ref, tensor_type t, const uint8_t *w, size_t w_row,
                         const float *x, double *y, double *scale)
{
    tensor_type at = ref->k[t].act_type;
    uint64_t a_row = 0;
    float *wr = lp_alloc_array(N_IN, sizeof *wr);
    float *xr = lp_alloc_array(N_IN, sizeof *xr);
    uint8_t *aq = NULL;

    assert_int_equal(tensor_row_bytes(at, N_IN, &a_row, NULL), LP_OK);
    aq = lp_alloc((size_t)a_row);
    assert_non_null(wr);
    assert_non_null(xr);
    assert_non_null(aq);
    for (int tok = 0; tok < N_TOK; tok++) {
        if (at == TENSOR_TYPE_F32)
            memcpy(xr, x + tok * N_IN, N_IN * sizeof *xr);
        else {
            ref->k[at].from_f32(x + tok * N_IN, aq, N_IN);
            ref->k[at].to_f32(aq, xr, N_IN);
        }
        for (int r = 0; r < N_OUT; r++) {
            double s = 0, m = 0;
            if (t == TENSOR_TYPE_F32)
                memcpy(wr, w + (size_t)r * w_row, N_IN * sizeof *wr);
            else
                ref->k[t].to_f32(w + (size_t)r * w_row, wr, N_IN);
            for (int i = 0; i < N_IN; i++) {
                s += (double)wr[i] * (double)xr[i];
                m += fabs((double)wr[i] * (double)xr[i]);
            }
            y[tok * N_OUT + r] = s;
            scale[tok * N_OUT + r] = m;
        }
    }
    lp_alloc_free(wr);
    lp_alloc_free(xr);
    lp_alloc_free(aq);
}

static void mm_check_type(const quant_table *qt, const quant_table *ref, tensor_type t,
                          lp_threadpool *p1, lp_threadpool *p2)
{
    uint64_t w_row = 0;
    uint8_t *w;
    float *x, *y1, *y2, *y3, *row;
    double *yr, *sc, worst = 0;
    matmul_ctx c1, c2;
    matmul_weight mw;
    lp_error err;
    lp_rng rng;

    assert_int_equal(tensor_row_bytes(t, N_IN, &w_row, NULL), LP_OK);
    w = lp_alloc((size_t)w_row * N_OUT);
    x = lp_alloc_array(N_IN * N_TOK, sizeof *x);
    row = lp_alloc_array(N_IN, sizeof *row);
    y1 = lp_alloc_array(N_OUT * N_TOK, sizeof *y1);
    y2 = lp_alloc_array(N_OUT * N_TOK, sizeof *y2);
    y3 = lp_alloc_array(N_OUT * N_TOK, sizeof *y3);
    yr = lp_alloc_array(N_OUT * N_TOK, sizeof *yr);
    sc = lp_alloc_array(N_OUT * N_TOK, sizeof *sc);
    assert_true(w && x && row && y1 && y2 && y3 && yr && sc);
    lp_rng_seed(&rng, 1000 + (uint64_t)t);
    for (int r = 0; r < N_OUT; r++) {
        for (int i = 0; i < N_IN; i++)
            row[i] = lp_rng_signed(&rng) * (1.0f + (float)(i % 7));
        if (t == TENSOR_TYPE_F32)
            memcpy(w + (size_t)r * w_row, row, (size_t)w_row);
        else
            ref->k[t].from_f32(row, w + (size_t)r * w_row, N_IN);
    }
    for (int i = 0; i < N_IN * N_TOK; i++)
        x[i] = lp_rng_signed(&rng) * 3.0f;

    mw = (matmul_weight){w, t, N_IN, N_OUT, NULL};
    matmul_ctx_init(&c1, qt, p1);
    matmul_ctx_init(&c2, qt, p2);
    assert_int_equal(matmul_run(&c1, &mw, x, N_TOK, y1, &err), LP_OK);
    assert_int_equal(matmul_run(&c2, &mw, x, N_TOK, y2, &err), LP_OK);
    for (int tok = 0; tok < N_TOK; tok++)
        assert_int_equal(matmul_run(&c2, &mw, x + tok * N_IN, 1, y3 + tok * N_OUT, &err), LP_OK);
    /* determinism: thread count and batch size never change a single bit */
    assert_memory_equal(y1, y2, N_OUT * N_TOK * sizeof *y1);
    assert_memory_equal(y1, y3, N_OUT * N_TOK * sizeof *y1);
    /* shifted by one token the batch falls into other groups of four (dot4) */
    assert_int_equal(matmul_run(&c2, &mw, x + N_IN, N_TOK - 1, y3, &err), LP_OK);
    assert_memory_equal(y1 + N_OUT, y3, N_OUT * (N_TOK - 1) * sizeof *y1);

    /* packed into panels (rows 0..31; the last five stay rows) nothing changes either */
    assert_int_equal(matmul_pack(&mw, p2, &err), LP_OK);
    if (ref->k[t].pack) {
        assert_non_null(mw.panel);
        assert_int_equal(matmul_panel_bytes(&mw),
                         (size_t)w_row * (N_OUT / QUANT_PANEL_ROWS) * QUANT_PANEL_ROWS);
    } else
        assert_null(mw.panel);
    memset(y3, 0xff, N_OUT * N_TOK * sizeof *y3);
    assert_int_equal(matmul_run(&c1, &mw, x, N_TOK, y3, &err), LP_OK);
    assert_memory_equal(y1, y3, N_OUT * N_TOK * sizeof *y1);
    for (int tok = 0; tok < N_TOK; tok++)
        assert_int_equal(matmul_run(&c2, &mw, x + tok * N_IN, 1, y3 + tok * N_OUT, &err), LP_OK);
    assert_memory_equal(y1, y3, N_OUT * N_TOK * sizeof *y1);
    /* single rows (the embedding lookup) come back byte for byte, the packed ones
     * from the panels: with data pointed at junk they still do */
    {
        uint8_t *junk = lp_alloc((size_t)w_row * N_OUT), *got = lp_alloc((size_t)w_row);
        assert_true(junk && got);
        memset(junk, 0xa5, (size_t)w_row * N_OUT);
        for (int r = 0; r < N_OUT; r++) {
            matmul_row(&mw, r, (size_t)w_row, got);
            assert_memory_equal(got, w + (size_t)r * w_row, (size_t)w_row);
        }
        mw.data = junk;
        for (int r = 0; r < N_OUT; r++) {
            const int packed = mw.panel && r < N_OUT / QUANT_PANEL_ROWS * QUANT_PANEL_ROWS;
            matmul_row(&mw, r, (size_t)w_row, got);
            assert_memory_equal(got, (packed ? w : junk) + (size_t)r * w_row, (size_t)w_row);
        }
        mw.data = w;
        lp_alloc_free(junk);
        lp_alloc_free(got);
    }
    matmul_unpack(&mw);
    assert_null(mw.panel);

    mm_reference(ref, t, w, (size_t)w_row, x, yr, sc);
    for (int i = 0; i < N_OUT * N_TOK; i++) {
        double e = fabs((double)y1[i] - yr[i]) / (sc[i] + 1e-30);
        worst = e > worst ? e : worst;
    }
    /* only float reassociation separates kernel and reference: 1e-5 of sum |w x| */
    if (worst > 1e-5)
        fail_msg("%s %s: relative error %.3g > 1e-5", qt->name, tensor_type_name(t), worst);
    matmul_ctx_free(&c1);
    matmul_ctx_free(&c2);
    lp_alloc_free(w);
    lp_alloc_free(x);
    lp_alloc_free(row);
    lp_alloc_free(y1);
    lp_alloc_free(y2);
    lp_alloc_free(y3);
    lp_alloc_free(yr);
    lp_alloc_free(sc);
}

static void test_matmul_all_types_all_isas(void **state)
{
    const quant_table *ref;
    lp_threadpool *p1, *p2;
    lp_error err;
    int n_isa = 0;
    (void)state;
    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &ref, &err), LP_OK);
    assert_int_equal(lp_threadpool_open(1, &p1, &err), LP_OK);
    assert_int_equal(lp_threadpool_open(2, &p2, &err), LP_OK);
    for (int isa = 0; isa < QUANT_ISA_COUNT; isa++) {
        const quant_table *qt;
        if (!quant_isa_supported((quant_isa)isa)) {
            printf("matmul: %s not supported by this CPU, not tested here\n",
                   quant_isa_name((quant_isa)isa));
            continue;
        }
        assert_int_equal(quant_table_get((quant_isa)isa, &qt, &err), LP_OK);
        for (size_t i = 0; i < sizeof mm_types / sizeof mm_types[0]; i++)
            mm_check_type(qt, ref, mm_types[i], p1, p2);
        n_isa++;
    }
    assert_true(n_isa >= 1);
    lp_threadpool_close(p1);
    lp_threadpool_close(p2);
}

static void test_matmul_refuses_types_without_kernels(void **state)
{
    const quant_table *ref;
    uint8_t w[84 * 2] = {0};
    float x[256] = {0}, y[2];
    matmul_weight mw = {w, TENSOR_TYPE_Q2_K, 256, 2, NULL};
    matmul_ctx c;
    lp_error err;
    (void)state;
    assert_int_equal(quant_table_get(QUANT_ISA_SCALAR, &ref, &err), LP_OK);
    matmul_ctx_init(&c, ref, NULL);
    assert_int_equal(matmul_run(&c, &mw, x, 1, y, &err), LP_ERR_UNSUPPORTED);
    assert_non_null(strstr(err.msg, "Q2_K"));
    matmul_ctx_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_matmul_all_types_all_isas),
        cmocka_unit_test(test_matmul_refuses_types_without_kernels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
