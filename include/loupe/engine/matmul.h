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

/* A weight matrix in GGUF order: n_out rows of n_in values, row-major, borrowed. */
typedef struct matmul_weight {
    const void *data;
    tensor_type type;
    int64_t n_in;  /* ne0 */
    int64_t n_out; /* ne1 */
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

#endif
