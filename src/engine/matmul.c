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
    quant_dot4_fn dot4;   /* NULL: four dots instead */
    quant_panel_fn panel; /* NULL: w has no panels, or the table no kernel for them */
    int64_t panel_rows;   /* rows read from w->panel: n_out rounded down to panels */
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

/* Rows [r0, r1) of an item, all inside the panels (r0 and r1 whole panels). As in
 * matmul_item, up to four tokens at a time meet every panel of the item. */
static void matmul_item_panels(const matmul_job *j, int64_t r0, int64_t r1)
{
    const int64_t n_out = j->w->n_out, n_in = j->w->n_in;
    const size_t panel_bytes = (size_t)QUANT_PANEL_ROWS * j->w_row_bytes;
    const uint8_t *pbase = j->w->panel;
    float s[QUANT_PANEL_TOK * QUANT_PANEL_ROWS];

    for (int64_t t = 0; t < j->n_tok; t += QUANT_PANEL_TOK) {
        int nt = j->n_tok - t < QUANT_PANEL_TOK ? (int)(j->n_tok - t) : QUANT_PANEL_TOK;
        const uint8_t *a = j->act + (size_t)t * j->a_row_bytes;
        for (int64_t r = r0; r < r1; r += QUANT_PANEL_ROWS) {
            j->panel(n_in, s, pbase + (size_t)(r / QUANT_PANEL_ROWS) * panel_bytes, a,
                     j->a_row_bytes, nt);
            for (int k = 0; k < nt; k++)
                memcpy(&j->y[(t + k) * n_out + r], s + k * QUANT_PANEL_ROWS,
                       QUANT_PANEL_ROWS * sizeof(float));
        }
    }
}

static void matmul_item(void *ctx, int64_t item, int thread)
{
    const matmul_job *j = ctx;
    int64_t r0 = item * j->rows;
    const int64_t n_out = j->w->n_out, n_in = j->w->n_in;
    int64_t r1 = r0 + j->rows;
    const uint8_t *wbase = j->w->data;

    (void)thread;
    if (r1 > n_out)
        r1 = n_out;
    if (j->panel && r0 < j->panel_rows) {
        int64_t pe = r1 < j->panel_rows ? r1 : j->panel_rows;
        matmul_item_panels(j, r0, pe);
        r0 = pe;
        if (r0 == r1)
            return;
    }
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
    job.panel = w->panel ? k->panel : NULL;
    job.panel_rows = w->n_out / QUANT_PANEL_ROWS * QUANT_PANEL_ROWS;
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

typedef struct matmul_pack_job {
    const matmul_weight *w;
    quant_pack_fn pack;
    size_t row_bytes;
} matmul_pack_job;

static void matmul_pack_item(void *ctx, int64_t p, int thread)
{
    const matmul_pack_job *j = ctx;
    const size_t panel_bytes = (size_t)QUANT_PANEL_ROWS * j->row_bytes;

    (void)thread;
    j->pack(j->w->n_in, (const uint8_t *)j->w->data + (size_t)p * panel_bytes, j->row_bytes,
            (uint8_t *)j->w->panel + (size_t)p * panel_bytes);
}

lp_err matmul_pack(matmul_weight *w, lp_threadpool *pool, lp_error *err)
{
    const quant_table *ref = NULL;
    matmul_pack_job job;
    uint64_t row = 0;
    size_t bytes;
    lp_err rc;

    if (w->panel || !w->data || w->n_out < QUANT_PANEL_ROWS)
        return LP_OK;
    /* the layout is the type's, the same in every table: the reference's will do */
    rc = quant_table_get(QUANT_ISA_SCALAR, &ref, err);
    if (rc != LP_OK)
        return rc;
    job.pack = ref->k[w->type].pack;
    if (!job.pack)
        return LP_OK;
    rc = tensor_row_bytes(w->type, (uint64_t)w->n_in, &row, err);
    if (rc != LP_OK)
        return rc;
    if (lp_alloc_mul((size_t)row, (size_t)(w->n_out / QUANT_PANEL_ROWS * QUANT_PANEL_ROWS), &bytes))
        return lp_err_set(err, LP_ERR_LIMIT, "matmul: panel size overflows");
    w->panel = lp_alloc_aligned(64, bytes);
    if (!w->panel)
        return lp_err_set(err, LP_ERR_NOMEM, "matmul: cannot allocate %zu bytes of panels", bytes);
    job.w = w;
    job.row_bytes = (size_t)row;
    lp_threadpool_run(pool, w->n_out / QUANT_PANEL_ROWS, matmul_pack_item, &job);
    return LP_OK;
}

void matmul_unpack(matmul_weight *w)
{
    lp_alloc_free(w->panel);
    w->panel = NULL;
}

void matmul_row(const matmul_weight *w, int64_t r, size_t row_bytes, void *out)
{
    const quant_table *ref = NULL;
    const int64_t packed = w->n_out / QUANT_PANEL_ROWS * QUANT_PANEL_ROWS;

    /* a panel exists only for a type the scalar table packs, so its unpack is there */
    if (w->panel && r < packed && quant_table_get(QUANT_ISA_SCALAR, &ref, NULL) == LP_OK) {
        ref->k[w->type].unpack(w->n_in,
                               (const uint8_t *)w->panel +
                                   (size_t)(r / QUANT_PANEL_ROWS) * QUANT_PANEL_ROWS * row_bytes,
                               (int)(r % QUANT_PANEL_ROWS), out);
        return;
    }
    memcpy(out, (const uint8_t *)w->data + (size_t)r * row_bytes, row_bytes);
}

size_t matmul_panel_bytes(const matmul_weight *w)
{
    uint64_t row = 0;

    if (!w->panel || tensor_row_bytes(w->type, (uint64_t)w->n_in, &row, NULL) != LP_OK)
        return 0;
    return (size_t)row * (size_t)(w->n_out / QUANT_PANEL_ROWS * QUANT_PANEL_ROWS);
}
