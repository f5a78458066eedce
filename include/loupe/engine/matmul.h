/* Matrix × vector and matrix × matrix over any weight type, parallel over output
 * rows on the thread pool. Each output element is one dot product computed by one
 * thread, so results are identical for every thread count and batch size. */
#ifndef LOUPE_ENGINE_MATMUL_H
#define LOUPE_ENGINE_MATMUL_H

#include <stddef.h>
#include <stdint.h>

#include "loupe/base/err.h"
#include "loupe/base/threadpool.h"
#include "loupe/engine/quant.h"

/* A weight matrix in GGUF order: n_out rows of n_in values, row-major, borrowed.
 * panel, when set (matmul_pack), holds rows 0 .. n_out rounded down to
 * QUANT_PANEL_ROWS again as panels; matmul then reads those rows there and only
 * the rest from data. It is owned by whoever packed it (matmul_unpack frees it). */
typedef struct matmul_weight {
    const void *data;
    tensor_type type;
    int64_t n_in;  /* ne0 */
    int64_t n_out; /* ne1 */
    void *panel;
} matmul_weight;

/* Scratch for activations converted to the weights' activation format. Owned by
 * the caller; one per thread of control (not shared by concurrent matmuls). */
typedef struct matmul_ctx {
    const quant_table *qt;
    lp_threadpool *pool; /* borrowed; NULL runs on the calling thread */
    uint8_t *act;
    size_t act_cap;
} matmul_ctx;

void matmul_ctx_init(matmul_ctx *c, const quant_table *qt, lp_threadpool *pool);
void matmul_ctx_free(matmul_ctx *c);

/* y[t * n_out + r] = sum_i W[r][i] * x[t * n_in + i] for t < n_tok.
 * LP_ERR_UNSUPPORTED for a type without kernels, LP_ERR_NOMEM if scratch cannot grow. */
lp_err matmul_run(matmul_ctx *c, const matmul_weight *w, const float *x, int64_t n_tok, float *y,
                  lp_error *err);

/* Packs w's rows into panels (on pool, which may be NULL) if its type has a panel
 * layout; otherwise leaves w as it is. Same results, faster: the panel kernels
 * need no horizontal sums. LP_ERR_NOMEM if the panels cannot be allocated. */
lp_err matmul_pack(matmul_weight *w, lp_threadpool *pool, lp_error *err);
/* Frees w's panels, if any; w then reads data again. */
void matmul_unpack(matmul_weight *w);
/* Bytes of w's panels (0 if unpacked or unpackable). */
size_t matmul_panel_bytes(const matmul_weight *w);
/* Row r (< n_out) of w as GGUF blocks (row_bytes of them) at out: from the panels
 * where w is packed, so their source pages need not come back, else from data. */
void matmul_row(const matmul_weight *w, int64_t r, size_t row_bytes, void *out);

#endif
