/* Matmul: activations are converted once to the weight type's activation row
 * (quant_act_from_f32: F32, Q8_K, or Q8_0 with its sidecar), then work items of
 * output rows are spread over the pool; inside an item, four tokens at a time meet
 * every row, so their activations stay in cache while the item's rows stream by. */
#include "loupe/engine/matmul.h"

#include <string.h>

#include "loupe/base/alloc.h"

#define MATMUL_ROWS 16     /* weight rows per work item */
#define MATMUL_ROWS_VEC 64 /* the same for matrix x vector */

typedef struct matmul_job {
    const matmul_weight *w;
    int64_t rows; /* per item */
    quant_dot_fn dot;
    quant_dot4_fn dot4; /* NULL: four dots instead */
    size_t w_row_bytes;
    const uint8_t *act;
    size_t a_row_bytes;
    int64_t n_tok;
    float *y;
} matmul_job;

typedef struct matmul_quant_job {
    const quant_table *qt;
    tensor_type wtype;
    const float *x;
    int64_t n_in;
    uint8_t *act;
    size_t a_row_bytes;
} matmul_quant_job;

void matmul_ctx_init(matmul_ctx *c, const quant_table *qt, lp_threadpool *pool)
{
    memset(c, 0, sizeof *c);
    c->qt = qt;
    c->pool = pool;
}

void matmul_ctx_free(matmul_ctx *c)
{
    lp_alloc_free(c->act);
    c->act = NULL;
    c->act_cap = 0;
}

static void matmul_quant_item(void *ctx, int64_t t, int thread)
{
    matmul_quant_job *j = ctx;

    (void)thread;
    quant_act_from_f32(j->qt, j->wtype, j->x + t * j->n_in, j->act + (size_t)t * j->a_row_bytes,
                       j->n_in);
}

static void matmul_item(void *ctx, int64_t item, int thread)
{
    const matmul_job *j = ctx;
    const int64_t r0 = item * j->rows, n_out = j->w->n_out, n_in = j->w->n_in;
    int64_t r1 = r0 + j->rows;
    const uint8_t *wbase = j->w->data;

    (void)thread;
    if (r1 > n_out)
        r1 = n_out;
    /* Four tokens at a time meet every row of the item: their activation rows stay
     * in L1 while the item's weight rows (a few tens of KiB) come from L2. dot4
     * gives each output the bits of dot, so how the tokens fall into groups of
     * four never shows in the result. */
    int64_t t = 0;
    if (j->dot4) {
        for (; t + 4 <= j->n_tok; t += 4) {
            const uint8_t *a = j->act + (size_t)t * j->a_row_bytes;
            for (int64_t r = r0; r < r1; r++) {
                float s[4];
                j->dot4(n_in, s, wbase + (size_t)r * j->w_row_bytes, a, j->a_row_bytes);
                for (int k = 0; k < 4; k++)
                    j->y[(t + k) * n_out + r] = s[k];
            }
        }
    }
    for (; t < j->n_tok; t++)
        for (int64_t r = r0; r < r1; r++)
            j->dot(n_in, &j->y[t * n_out + r], wbase + (size_t)r * j->w_row_bytes,
                   j->act + (size_t)t * j->a_row_bytes);
}

lp_err matmul_run(matmul_ctx *c, const matmul_weight *w, const float *x, int64_t n_tok, float *y,
                  lp_error *err)
{
    const quant_kernels *k = &c->qt->k[w->type];
    uint64_t w_row = 0, a_row = 0;
    matmul_job job;
    size_t need;

    if (!k->dot)
        return lp_err_set(err, LP_ERR_UNSUPPORTED, "matmul: no kernels for type %s",
                          tensor_type_name(w->type));
    if (tensor_row_bytes(w->type, (uint64_t)w->n_in, &w_row, err) != LP_OK ||
        quant_act_row_bytes(c->qt, w->type, w->n_in, &a_row, err) != LP_OK)
        return err ? err->code : LP_ERR_INVALID;

    job.act = (const uint8_t *)x;
    if (k->act_type != TENSOR_TYPE_F32) {
        matmul_quant_job qj;
        if (lp_alloc_mul((size_t)a_row, (size_t)n_tok, &need))
            return lp_err_set(err, LP_ERR_LIMIT, "matmul: activation size overflows");
        if (need > c->act_cap) {
            uint8_t *p = lp_alloc_aligned(64, need);
            if (!p)
                return lp_err_set(err, LP_ERR_NOMEM, "matmul: cannot allocate %zu bytes", need);
            lp_alloc_free(c->act);
            c->act = p;
            c->act_cap = need;
        }
        qj.qt = c->qt;
        qj.wtype = w->type;
        qj.x = x;
        qj.n_in = w->n_in;
        qj.act = c->act;
        qj.a_row_bytes = (size_t)a_row;
        lp_threadpool_run(c->pool, n_tok, matmul_quant_item, &qj);
        job.act = c->act;
    }
    job.w = w;
    job.dot = k->dot;
    job.dot4 = k->dot4;
    job.w_row_bytes = (size_t)w_row;
    job.a_row_bytes = (size_t)a_row;
    job.n_tok = n_tok;
    job.y = y;
    /* A single token streams each weight once: longer runs of rows per item keep
     * each thread's stream contiguous for the prefetchers. */
    job.rows = n_tok == 1 ? MATMUL_ROWS_VEC : MATMUL_ROWS;
    lp_threadpool_run(c->pool, (w->n_out + job.rows - 1) / job.rows, matmul_item, &job);
    return LP_OK;
}
